// Package e2e runs the deployer end to end on the local stack: the shipped
// bootstrap binaries under the Lambda RIE, the ASL in aws-local-stepfunctions,
// and the ECS/ECR emulator scripted per case.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

var root, binDir string

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	var err error
	if root, err = lambdabuild.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = filepath.Join(root, "bin")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := rig.Build(ctx, root, binDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// want is what a case expects of the execution and of the calls ECS received.
type want struct {
	status string
	error  string
	// causeHas lists strings the cause must contain.
	causeHas []string
	// calls counts requests per operation, retries and throttled ones included.
	calls map[string]int
	// tasks is the number of migration tasks ECS started.
	tasks int
	// deployments is the number of deployments UpdateService started.
	deployments int
	service     string
	cluster     string
}

func TestDeployScenarios(t *testing.T) {
	push := func(tag string) json.RawMessage { return rig.SamplePushEvent(tag, emulator.Digest) }
	manual := func(s string) json.RawMessage { return json.RawMessage(s) }
	cases := map[string]struct {
		input    json.RawMessage
		scenario emulator.Scenario
		// safetyPoll, when set, bounds the waits for an ECS event (10 s by default).
		safetyPoll time.Duration
		want       want
		check      func(t *testing.T, s *rig.Stack, r *rig.Result)
	}{
		"happy path EC2": {
			input: push("staging"),
			want:  want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 1, "UpdateService": 1, "StopTask": 0}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				rt := lastRequest(t, s, "RunTask")
				expect(t, rt["launchType"] == "EC2", "RunTask launchType = %v, want EC2", rt["launchType"])
				expect(t, rt["networkConfiguration"] == nil, "RunTask sent a networkConfiguration for a bridge-mode service")
				expect(t, rt["startedBy"] == "ecr-deployer/"+r.Name, "startedBy = %v, want the execution's name", rt["startedBy"])
				ov := fmt.Sprint(rt["overrides"])
				expect(t, strings.Contains(ov, "name:app") && strings.Contains(ov, "goose -dir migrations up"), "overrides = %s", ov)
				out := output(t, r)
				expect(t, out.Environment == "staging" && out.Cluster == "staging" && out.Service == "staging-service", "target = %+v", out)
				expect(t, out.Image.Digest == emulator.Digest, "digest = %s", out.Image.Digest)
				expect(t, out.Migration.ExitCode != nil && *out.Migration.ExitCode == 0 && out.Migration.TaskARN != "", "migration = %+v", out.Migration)
				expect(t, out.Migration.LogStream == "app/app/"+out.Migration.TaskARN[strings.LastIndex(out.Migration.TaskARN, "/")+1:], "log stream = %s", out.Migration.LogStream)
				expect(t, strings.HasPrefix(out.Deployment.ID, "ecs-svc/") && out.Deployment.RolloutState == "COMPLETED", "deployment = %+v", out.Deployment)
				expect(t, out.Phases.MigrationSeconds > 0 && out.Phases.DeploymentSeconds > 0 && out.Phases.TotalSeconds >= out.Phases.DeploymentSeconds, "phases = %+v", out.Phases)
				expect(t, out.Image.DeployedDigest == emulator.Digest && out.Image.Note == "", "deployed digest = %s (%s)", out.Image.DeployedDigest, out.Image.Note)
				expect(t, out.Turn.Decision == "GO" && out.Image.Mode == "tag", "turn = %+v, mode %s", out.Turn, out.Image.Mode)
				// Neither wait needed its safety poll (10 s here).
				for _, st := range []string{"WaitForMigration", "WaitForDeployment"} {
					w := wakeOf(t, r, st)
					expect(t, w.By != "" && w.Error == "", "%s ended by %+v, want an event or Watch", st, w)
				}
			},
		},
		"both waits end on ECS events": {
			input: push("staging"),
			// Long enough that Watch finds both still under way.
			scenario: emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 3}, Rollout: emulator.RolloutScript{Seconds: 3}},
			want:     want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 1, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				for _, st := range []string{"WaitForMigration", "WaitForDeployment"} {
					w := wakeOf(t, r, st)
					expect(t, w.By == "event" && w.EventID != "", "%s ended by %+v, want an ECS event", st, w)
				}
				expect(t, strings.Contains(wakeOf(t, r, "WaitForMigration").Reason, "STOPPED"), "migration wake = %+v", wakeOf(t, r, "WaitForMigration"))
				expect(t, strings.Contains(wakeOf(t, r, "WaitForDeployment").Reason, "SERVICE_DEPLOYMENT_COMPLETED"), "deployment wake = %+v", wakeOf(t, r, "WaitForDeployment"))
				expect(t, s.Invocations("wake") == s.EventsDelivered(), "Wake invoked %d times for %d events: an invocation failed and was retried", s.Invocations("wake"), s.EventsDelivered())
				// The events named the execution (the task's startedBy, the
				// service's tag): Wake read it without listing executions.
				expect(t, s.SFN.CallsBy("ListExecutions", "Wake") == 0 && len(s.Emulator.Calls("ListTagsForResource")) > 0,
					"Wake listed executions %d times, read the service's tags %d times", s.SFN.CallsBy("ListExecutions", "Wake"), len(s.Emulator.Calls("ListTagsForResource")))
				expect(t, output(t, r).Deployment.WakeTag == "ecr-deployer:execution="+r.Name, "wake tag = %q", output(t, r).Deployment.WakeTag)
			},
		},
		"ECS events lost: the safety poll deploys": {
			input:      push("staging"),
			scenario:   emulator.Scenario{Events: emulator.EventsScript{Drop: true}, Migration: emulator.MigrationScript{Seconds: 0.5}},
			safetyPoll: 300 * time.Millisecond,
			want:       want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 1, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				expect(t, s.Emulator.DroppedEvents() >= 3 && s.Invocations("wake") == 0, "dropped %d events, Wake invoked %d times", s.Emulator.DroppedEvents(), s.Invocations("wake"))
				// Each visit ends on the safety poll, or on Watch when the change
				// came just before it looked: never on an event.
				timeouts := 0
				for _, w := range wakesOf(r, "WaitForDeployment") {
					expect(t, w.By != "event", "a wait ended by an event that was dropped: %+v", w)
					if w.Error == "States.Timeout" {
						timeouts++
					}
				}
				expect(t, timeouts > 0, "no deployment wait ended on its safety poll")
			},
		},
		"ECS events duplicated and late: one wake each, no failed invocation": {
			input: push("staging"),
			scenario: emulator.Scenario{Events: emulator.EventsScript{Duplicate: true, DelaySeconds: 0.3},
				Migration: emulator.MigrationScript{Seconds: 2}, Rollout: emulator.RolloutScript{Seconds: 2}},
			want: want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 1, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				expect(t, wakeOf(t, r, "WaitForMigration").By == "event" && wakeOf(t, r, "WaitForDeployment").By == "event", "waits not ended by events")
				// The second copy finds the token used (TaskTimedOut): not an error.
				expect(t, s.Invocations("wake") == s.EventsDelivered(), "Wake invoked %d times for %d events", s.Invocations("wake"), s.EventsDelivered())
			},
		},
		"migration stopped before the wait began: Watch ends it": {
			input: push("staging"),
			// The task stops 1 ms after RunTask and its event is lost: only Watch can see it.
			scenario:   emulator.Scenario{Events: emulator.EventsScript{Drop: true}, Migration: emulator.MigrationScript{Seconds: 0.001}},
			safetyPoll: 300 * time.Millisecond,
			want:       want{status: "SUCCEEDED", tasks: 1, deployments: 1},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				w := wakeOf(t, r, "WaitForMigration")
				expect(t, w.By == "watch" && strings.Contains(w.Reason, "stopped"), "migration wait ended by %+v, want Watch", w)
			},
		},
		"happy path Fargate with capacity providers": {
			input: push("prod"),
			want:  want{status: "SUCCEEDED", tasks: 1, deployments: 1, service: "prod-service", cluster: "prod", calls: map[string]int{"RunTask": 1, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				rt := lastRequest(t, s, "RunTask")
				expect(t, rt["launchType"] == nil, "RunTask sent launchType %v with a capacity provider strategy", rt["launchType"])
				cps := fmt.Sprint(rt["capacityProviderStrategy"])
				expect(t, strings.Contains(cps, "FARGATE_SPOT") && strings.Contains(cps, "capacityProvider:FARGATE "), "strategy = %s", cps)
				nc := fmt.Sprint(rt["networkConfiguration"])
				expect(t, strings.Contains(nc, "subnet-0a1b2c3d") && strings.Contains(nc, "sg-0123456789abcdef0") && strings.Contains(nc, "DISABLED"), "network = %s", nc)
			},
		},
		"skip migration": {
			input: manual(`{"environment":"staging","skipMigration":true,"reason":"hotfix without schema change"}`),
			want:  want{status: "SUCCEEDED", tasks: 0, deployments: 1, calls: map[string]int{"RunTask": 0, "UpdateService": 1, "ListTasks": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				out := output(t, r)
				expect(t, out.Migration.Skipped && out.Trigger.Type == "manual" && out.Trigger.Reason == "hotfix without schema change", "output = %+v", out)
			},
		},
		"migration exits 1": {
			input:    push("staging"),
			scenario: emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 1}},
			want: want{status: "FAILED", error: "MigrationFailed", tasks: 1, calls: map[string]int{"UpdateService": 0},
				causeHas: []string{"exited with code 1", "arn:aws:ecs:us-west-2:123456789012:task/staging/", "log group /ecs/app", "stream app/app/", "console.aws.amazon.com",
					// The log's last lines, read from CloudWatch Logs.
					"Last 4 lines of its log (/ecs/app, app/app/", "ERROR 20261126093000_add_email_index.sql", "exit status 1"}},
		},
		"migration exits 2 on prod, its own log lines in the cause": {
			input: push("prod"),
			scenario: emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 2, LogLines: append(
				[]string{strings.Repeat("x", 400)}, func() []string {
					var l []string
					for i := range 60 {
						l = append(l, fmt.Sprintf("line %d", i))
					}
					return l
				}()...)}},
			want: want{status: "FAILED", error: "MigrationFailed", tasks: 1, cluster: "prod", service: "prod-service", calls: map[string]int{"UpdateService": 0},
				causeHas: []string{"exited with code 2", "Last 50 lines of its log", "line 10\n", "line 59"}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				expect(t, !strings.Contains(r.Cause, "line 9\n") && !strings.Contains(r.Cause, strings.Repeat("x", 301)), "the tail is not bounded: %s", r.Cause)
			},
		},
		"image pull failure leaves no exit code": {
			input:    push("staging"),
			scenario: emulator.Scenario{Migration: emulator.MigrationScript{FailToStart: "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"}},
			want: want{status: "FAILED", error: "MigrationFailedToStart", tasks: 1, calls: map[string]int{"UpdateService": 0},
				causeHas: []string{"no exit code", "TaskFailedToStart", "CannotPullContainerError"}},
		},
		"capacity failure clears after retries": {
			input:    push("staging"),
			scenario: emulator.Scenario{CapacityFailures: 2},
			want:     want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 3, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				tokens := map[any]bool{}
				for _, c := range s.Emulator.Calls("RunTask") {
					tokens[decodeCall(t, c)["clientToken"]] = true
				}
				expect(t, len(tokens) == 3, "each RunTask attempt must have its own client token, got %d distinct", len(tokens))
			},
		},
		"capacity failure does not clear": {
			input:    push("staging"),
			scenario: emulator.Scenario{CapacityFailures: -1},
			want: want{status: "FAILED", error: "MigrationCapacityUnavailable", tasks: 0, calls: map[string]int{"RunTask": 4, "UpdateService": 0},
				causeHas: []string{"after 4 attempts", "RESOURCE:MEMORY"}},
		},
		"Fargate capacity (a failures[] sentence) clears after retries": {
			input:    push("prod"),
			scenario: emulator.Scenario{CapacityFailures: 2},
			want:     want{status: "SUCCEEDED", tasks: 1, deployments: 1, cluster: "prod", service: "prod-service", calls: map[string]int{"RunTask": 3, "UpdateService": 1}},
		},
		"capacity limit raised as an error clears after retries": {
			input:    push("prod"),
			scenario: emulator.Scenario{CapacityFailures: 1, CapacityError: true},
			want:     want{status: "SUCCEEDED", tasks: 1, deployments: 1, cluster: "prod", service: "prod-service", calls: map[string]int{"RunTask": 2, "UpdateService": 1}},
		},
		"Fargate capacity does not clear": {
			input:    push("prod"),
			scenario: emulator.Scenario{CapacityFailures: -1},
			want: want{status: "FAILED", error: "MigrationCapacityUnavailable", tasks: 0, cluster: "prod", service: "prod-service", calls: map[string]int{"RunTask": 4, "UpdateService": 0},
				causeHas: []string{"after 4 attempts", "Capacity is unavailable at this time"}},
		},
		"CODE_DEPLOY service refused before anything runs": {
			input: manual(`{"environment":"legacy"}`),
			want: want{status: "FAILED", error: "UnsupportedDeploymentController", tasks: 0, cluster: "legacy", service: "legacy-service", calls: map[string]int{"RunTask": 0, "UpdateService": 0},
				causeHas: []string{"legacy/legacy-service", "CODE_DEPLOY", "CodeDeploy deployment"}},
		},
		"task definition outside the target's IAM scope refused before the migration": {
			input: manual(`{"environment":"misconfigured"}`),
			want: want{status: "FAILED", error: "TargetMisconfigured", tasks: 0, cluster: "prod", service: "prod-service", calls: map[string]int{"RunTask": 0, "UpdateService": 0},
				causeHas: []string{`set "taskDefinitionFamily": "app-fargate"`, `add "app-task" to "taskRoles"`, `add "app-execution" to "taskRoles"`}},
		},
		"Lambda retried after RunTask succeeded starts one task": {
			input:    push("staging"),
			scenario: emulator.Scenario{LambdaFaults: map[string]int{"RunMigration": 1}},
			want:     want{status: "SUCCEEDED", tasks: 1, deployments: 1, calls: map[string]int{"RunTask": 2, "UpdateService": 1}},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				calls := s.Emulator.Calls("RunTask")
				expect(t, len(calls) == 2 && decodeCall(t, calls[0])["clientToken"] == decodeCall(t, calls[1])["clientToken"],
					"the retried invocation must send the same client token")
			},
		},
		"circuit breaker rollback": {
			input:    push("staging"),
			scenario: emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 1, Outcome: emulator.OutcomeRolledBack}},
			want: want{status: "FAILED", error: "DeploymentRolledBack", tasks: 1, deployments: 2,
				causeHas: []string{"rolled it back", "circuit breaker", "deployment failed"}},
		},
		"deployment superseded": {
			input:    push("staging"),
			scenario: emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 2, Outcome: emulator.OutcomeSuperseded}},
			want:     want{status: "FAILED", error: "DeploymentSuperseded", tasks: 1, deployments: 2, causeHas: []string{"was replaced by deployment ecs-svc/"}},
		},
		"deployment timeout": {
			input:    push("qa"),
			scenario: emulator.Scenario{Rollout: emulator.RolloutScript{Outcome: emulator.OutcomeStuck}},
			want: want{status: "FAILED", error: "DeploymentTimedOut", tasks: 1, deployments: 1, service: "qa-service", cluster: "qa",
				causeHas: []string{"had not completed after 4s", "IN_PROGRESS"}},
		},
		"migration timeout stops the task": {
			input:    push("qa"),
			scenario: emulator.Scenario{Migration: emulator.MigrationScript{Hang: true}},
			want: want{status: "FAILED", error: "MigrationTimedOut", tasks: 1, service: "qa-service", cluster: "qa",
				calls: map[string]int{"StopTask": 1, "UpdateService": 0}, causeHas: []string{"3s migration timeout", "stopped it"}},
		},
		"migration task lost": {
			input:      push("staging"),
			safetyPoll: 300 * time.Millisecond, // a lost task sends no event
			scenario:   emulator.Scenario{Migration: emulator.MigrationScript{Disappear: true, Seconds: 2}},
			want:       want{status: "FAILED", error: "MigrationLost", tasks: 1, calls: map[string]int{"UpdateService": 0}, causeHas: []string{"MISSING"}},
		},
		"throttling bursts are ridden out": {
			input: push("staging"),
			scenario: emulator.Scenario{Throttle: map[string]int{
				"DescribeImages": 2, "DescribeServices": 4, "RunTask": 2, "DescribeTasks": 4, "UpdateService": 2,
			}},
			want: want{status: "SUCCEEDED", tasks: 1, deployments: 1},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result) {
				throttled := 0
				for _, c := range s.Emulator.Calls("") {
					if c.Error == "ThrottlingException" {
						throttled++
					}
				}
				expect(t, throttled == 14, "throttled calls = %d, want 14", throttled)
			},
		},
		"unknown environment": {
			input: manual(`{"environment":"production"}`),
			want:  want{status: "FAILED", error: "UnknownTarget", causeHas: []string{`"production"`, "dev, fleet1, fleet2, fleet3, fleet4, fleet5, gated, legacy, misconfigured, pinned, prod, qa, release, staging, suite, suite-pinned, windowed"}, calls: map[string]int{"DescribeServices": 0}},
		},
		"malformed input": {
			input: manual(`{"env":"staging"}`),
			want:  want{status: "FAILED", error: "InvalidInput", causeHas: []string{`unknown field "env"`, `{"environment":"staging"}`}},
		},
		"documented sample event with tag latest": {
			input: push("latest"),
			want:  want{status: "FAILED", error: "UnknownTarget", causeHas: []string{"app:latest", "app:staging|prod|qa|dev|pinned|fleet1|fleet2|fleet3|fleet4|fleet5"}},
		},
		"image deleted before the run": {
			input:    push("staging"),
			scenario: emulator.Scenario{DeleteImage: true},
			want:     want{status: "FAILED", error: "ImageNotFound", causeHas: []string{"no image with digest " + emulator.Digest}},
		},
		"service missing": {
			input: push("dev"),
			want:  want{status: "FAILED", error: "ServiceNotFound", causeHas: []string{"dev-service was not found in cluster staging (MISSING)"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stack := startStack(t)
			if tc.safetyPoll > 0 {
				stack.SetTokenTimeout(tc.safetyPoll)
			}
			r, err := stack.Run(t.Context(), tc.input, tc.scenario)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			w := tc.want
			if r.Status != w.status || r.Error != w.error {
				t.Fatalf("ended %s %s (%s), want %s %s", r.Status, r.Error, r.Cause, w.status, w.error)
			}
			for _, s := range w.causeHas {
				if !strings.Contains(r.Cause, s) {
					t.Errorf("cause %q does not contain %q", r.Cause, s)
				}
			}
			if w.status == "FAILED" && !endsInFailState(r, w.error) {
				t.Errorf("the execution did not end in the Fail state %s", w.error)
			}
			for op, n := range w.calls {
				if got := len(stack.Emulator.Calls(op)); got != n {
					t.Errorf("%s calls = %d, want %d", op, got, n)
				}
			}
			if got := stack.Emulator.TaskCount(); got != w.tasks {
				t.Errorf("migration tasks started = %d, want %d", got, w.tasks)
			}
			cluster, service := w.cluster, w.service
			if cluster == "" {
				cluster, service = "staging", "staging-service"
			}
			// The seeded deployment counts as one.
			if got := stack.Emulator.DeploymentCount(cluster, service) - 1; got != w.deployments {
				t.Errorf("deployments of %s = %d, want %d", service, got, w.deployments)
			}
			checkNotified(t, stack, r, w.causeHas)
			if tc.check != nil {
				tc.check(t, stack, r)
			}
			if t.Failed() {
				var b strings.Builder
				rig.RenderHistory(&b, r)
				t.Log("\n" + b.String())
			}
		})
	}
}

// startStack starts the local stack with local/template.json's IAM
// policies enforced: a request one of them refuses fails the test.
func startStack(t *testing.T) *rig.Stack {
	t.Helper()
	s := startStackWith(t, "")
	t.Cleanup(func() {
		for _, d := range s.Denied() {
			t.Errorf("IAM refused a Lambda's request: %s", d)
		}
	})
	return s
}

// startStackWith starts the local stack with the IAM policies of a template
// ("": local/template.json).
func startStackWith(t *testing.T, template string) *rig.Stack {
	t.Helper()
	s := startRig(t, filepath.Join(root, "local", "targets.json"), template)
	s.Emulator.PushImage(emulator.Repository, "dev", emulator.Digest)
	return s
}

// startRig starts the local stack for a targets file and a template ("":
// local/template.json) and seeds its standard world.
func startRig(t *testing.T, configFile, template string) *rig.Stack {
	t.Helper()
	opts := rig.Options{
		Root: root, BinDir: binDir, ConfigFile: configFile,
		Wait: 100 * time.Millisecond, Retry: 20 * time.Millisecond, Template: template,
	}
	if os.Getenv("E2E_LAMBDA_LOG") != "" {
		opts.LambdaLog = os.Stderr // the functions' logs, to debug a test
	}
	s, err := rig.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Emulator.SeedStandardWorld(); err != nil {
		t.Fatal(err)
	}
	return s
}

// wakesOf is what ended each visit of a wait state: the state's output's
// wake (an event, Watch, or the safety poll's States.Timeout).
func wakesOf(r *rig.Result, state string) []deploy.Wake {
	var out []deploy.Wake
	for _, ev := range r.Events {
		if ev.Type == "StateExited" && ev.State != nil && ev.State.Name == state {
			var s deploy.State
			if json.Unmarshal(ev.State.Output, &s) == nil && s.Wake != nil {
				out = append(out, *s.Wake)
			} else {
				out = append(out, deploy.Wake{Error: "no wake in the output"})
			}
		}
	}
	return out
}

// wakeOf is what ended the last visit of a wait state.
func wakeOf(t *testing.T, r *rig.Result, state string) deploy.Wake {
	t.Helper()
	ws := wakesOf(r, state)
	if len(ws) == 0 {
		t.Fatalf("%s never exited", state)
	}
	return ws[len(ws)-1]
}

func endsInFailState(r *rig.Result, name string) bool {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if ev := r.Events[i]; ev.Type == "StateEntered" {
			return ev.State.Name == name && ev.State.Type == "Fail"
		}
	}
	return false
}

func output(t *testing.T, r *rig.Result) deploy.State {
	t.Helper()
	var s deploy.State
	if err := json.Unmarshal(r.Output, &s); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return s
}

func lastRequest(t *testing.T, s *rig.Stack, op string) map[string]any {
	t.Helper()
	calls := s.Emulator.Calls(op)
	if len(calls) == 0 {
		t.Fatalf("no %s call", op)
	}
	return decodeCall(t, calls[len(calls)-1])
}

func decodeCall(t *testing.T, c emulator.Call) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Request, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func expect(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}
