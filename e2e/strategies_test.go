package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// Every deployment strategy, judged by ECS's service deployment record
// (DescribeServiceDeployments): success only once ECS says SUCCESSFUL, after
// the bake; each way a deployment can end otherwise in its own Fail state.
func TestDeploymentStrategies(t *testing.T) {
	cases := map[string]struct {
		rollout emulator.RolloutScript
		status  string
		error   string
		// causeHas lists strings the cause must contain.
		causeHas []string
		// stages lists lifecycle stages some CheckDeployment must have seen.
		stages []string
		// stepped: some look saw production traffic strictly between 0 and 100%.
		stepped bool
	}{
		"ROLLING": {
			rollout: emulator.RolloutScript{Seconds: 1},
			status:  "SUCCEEDED",
		},
		"ROLLING with alarms stays in progress through the alarm bake": {
			rollout: emulator.RolloutScript{Seconds: 1, Alarms: []string{"app-5xx"}, BakeSeconds: 2},
			status:  "SUCCEEDED",
		},
		"BLUE_GREEN succeeds after the bake": {
			rollout: emulator.RolloutScript{Seconds: 1.5, Strategy: "BLUE_GREEN", BakeTimeMinutes: 10, BakeSeconds: 2},
			status:  "SUCCEEDED",
			stages:  []string{"BAKE_TIME"},
		},
		"LINEAR shifts traffic in steps": {
			rollout: emulator.RolloutScript{Seconds: 3, Strategy: "LINEAR", BakeTimeMinutes: 5, BakeSeconds: 1},
			status:  "SUCCEEDED",
			stages:  []string{"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"},
			stepped: true,
		},
		"CANARY": {
			rollout: emulator.RolloutScript{Seconds: 1.5, Strategy: "CANARY", BakeTimeMinutes: 5, BakeSeconds: 1},
			status:  "SUCCEEDED",
			stages:  []string{"BAKE_TIME"},
		},
		"ROLLING circuit breaker rolls back": {
			rollout: emulator.RolloutScript{Seconds: 1, Outcome: emulator.OutcomeRolledBack},
			status:  "FAILED",
			error:   "DeploymentRolledBack",
			causeHas: []string{"circuit breaker", "tasks failed", "ECS rolled it back", "service-deployment/staging/staging-service/",
				// Why the tasks stopped, and the first one's log, read from ECS and CloudWatch Logs.
				"of its tasks stopped; the latest: ", "Essential container in task exited (container app exited 1)",
				"lines of the log of task ", "panic: config: DATABASE_URL is not set", "console.aws.amazon.com/ecs/v2/clusters/staging/services/staging-service/deployments"},
		},
		"ROLLING alarm during the bake rolls back": {
			rollout:  emulator.RolloutScript{Seconds: 1, Alarms: []string{"app-5xx"}, BakeSeconds: 2, Outcome: emulator.OutcomeAlarm},
			status:   "FAILED",
			error:    "DeploymentRolledBack",
			causeHas: []string{"alarms in ALARM: app-5xx", "ECS rolled it back"},
		},
		"BLUE_GREEN alarm during the bake rolls back": {
			rollout:  emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 10, BakeSeconds: 2, Alarms: []string{"api-latency"}, Outcome: emulator.OutcomeAlarm},
			status:   "FAILED",
			error:    "DeploymentRolledBack",
			causeHas: []string{"alarms in ALARM: api-latency"},
			stages:   []string{"BAKE_TIME"},
		},
		"circuit breaker without rollback": {
			rollout:  emulator.RolloutScript{Seconds: 1, Outcome: emulator.OutcomeRolledBack, NoRollback: true},
			status:   "FAILED",
			error:    "DeploymentFailed",
			causeHas: []string{"Rollback is off", "tasks failed", "Essential container in task exited", "DATABASE_URL is not set"},
		},
		"stopped by a person": {
			rollout:  emulator.RolloutScript{Seconds: 2, Outcome: emulator.OutcomeStopped},
			status:   "FAILED",
			error:    "DeploymentStopped",
			causeHas: []string{"stopped by a user", "no newer deployment replaced it"},
		},
		"BLUE_GREEN with a Lambda hook that passes": {
			rollout: emulator.RolloutScript{Seconds: 1.5, Strategy: "BLUE_GREEN", BakeTimeMinutes: 5, BakeSeconds: 1,
				Hooks: []emulator.HookScript{{Stage: "POST_TEST_TRAFFIC_SHIFT", Type: "AWS_LAMBDA"}}},
			status: "SUCCEEDED",
			stages: []string{"BAKE_TIME"},
		},
		"LINEAR with a Lambda hook that fails rolls back": {
			rollout: emulator.RolloutScript{Seconds: 2, Strategy: "LINEAR", BakeTimeMinutes: 5, BakeSeconds: 1,
				Hooks: []emulator.HookScript{{Stage: "PRE_PRODUCTION_TRAFFIC_SHIFT", Type: "AWS_LAMBDA", Result: "FAILED"}}},
			status:   "FAILED",
			error:    "DeploymentRolledBack",
			causeHas: []string{"Lifecycle hook arn:aws:lambda:", "returned FAILED at PRE_PRODUCTION_TRAFFIC_SHIFT", "ECS rolled it back"},
		},
		"CANARY pause hook nobody answers rolls back at its timeout": {
			rollout: emulator.RolloutScript{Seconds: 1, Strategy: "CANARY", BakeTimeMinutes: 5, BakeSeconds: 1,
				Hooks: []emulator.HookScript{{Stage: "POST_SCALE_UP", Type: "PAUSE", TimeoutMinutes: 30, TimeoutSeconds: 1.5}}},
			status:   "FAILED",
			error:    "DeploymentRolledBack",
			causeHas: []string{"pause hook", "POST_SCALE_UP (timed out)"},
			stages:   []string{"POST_SCALE_UP"},
		},
		"BLUE_GREEN pause hook that continues at its timeout": {
			rollout: emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 5, BakeSeconds: 1,
				Hooks: []emulator.HookScript{{Stage: "POST_PRODUCTION_TRAFFIC_SHIFT", Type: "PAUSE", TimeoutMinutes: 30, TimeoutSeconds: 1.5, TimeoutAction: "CONTINUE"}}},
			status: "SUCCEEDED",
			stages: []string{"POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"},
		},
		"BLUE_GREEN superseded": {
			rollout:  emulator.RolloutScript{Seconds: 2, Strategy: "BLUE_GREEN", BakeTimeMinutes: 1, BakeSeconds: 1, Outcome: emulator.OutcomeSuperseded},
			status:   "FAILED",
			error:    "DeploymentSuperseded",
			causeHas: []string{"was replaced by deployment ecs-svc/", "service deployment arn:aws:ecs:"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stack := startStack(t)
			stack.SetTokenTimeout(300 * time.Millisecond)
			r, err := stack.Run(t.Context(), rig.SamplePushEvent("staging", emulator.Digest), emulator.Scenario{Rollout: tc.rollout})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status || r.Error != tc.error {
				t.Fatalf("ended %s %s (%s), want %s %s", r.Status, r.Error, r.Cause, tc.status, tc.error)
			}
			for _, s := range tc.causeHas {
				expect(t, strings.Contains(r.Cause, s), "cause %q does not contain %q", r.Cause, s)
			}
			looks := checkDeploymentOutputs(t, r)
			seen := map[string]bool{}
			stepped := false
			for _, d := range looks {
				expect(t, d.JudgedBy == "serviceDeployment", "judged by %q, want ECS's service deployment record", d.JudgedBy)
				seen[d.Stage] = true
				stepped = stepped || (d.TrafficPercent != nil && *d.TrafficPercent > 0 && *d.TrafficPercent < 100)
				if d.Stage == "BAKE_TIME" {
					expect(t, strings.Contains(d.Progress, "BAKE_TIME") && strings.Contains(d.Progress, "min"), "progress %q during the bake", d.Progress)
				}
			}
			for _, st := range tc.stages {
				expect(t, seen[st], "no look saw stage %s (saw %v)", st, seen)
			}
			expect(t, !tc.stepped || stepped, "no look saw a traffic step between 0 and 100%%")
			if tc.status == "SUCCEEDED" {
				out := output(t, r)
				expect(t, out.Deployment.ServiceDeploymentStatus == "SUCCESSFUL", "service deployment status %q", out.Deployment.ServiceDeploymentStatus)
				// Success never comes before ECS's: the look that first said
				// done came after the service deployment ended SUCCESSFUL
				// (bake included), as the emulator's ground truth records it.
				var doneAt time.Time
				for _, ev := range r.Events {
					if ev.Type != "StateExited" || ev.State == nil || ev.State.Name != "CheckDeployment" || !doneAt.IsZero() {
						continue
					}
					var st deploy.State
					if json.Unmarshal(ev.State.Output, &st) == nil && st.Deployment.Done {
						doneAt = time.UnixMilli(ev.Timestamp)
					}
				}
				var ended []time.Time
				for _, sp := range stack.Emulator.Spans() {
					if sp.Kind == "deployment" {
						ended = append(ended, sp.End)
					}
				}
				expect(t, !doneAt.IsZero() && len(ended) == 1, "done at %s; ECS's deployment spans end %v: want one, and a look that said done", doneAt, ended)
				for _, end := range ended {
					expect(t, !doneAt.Before(end.Add(-50*time.Millisecond)), "the workflow said deployed at %s, before ECS's deployment ended at %s", doneAt, end)
				}
			}
		})
	}
}

// A person rolls our deployment back from the console
// (StopServiceDeployment ROLLBACK) while the workflow waits for it: the
// execution ends DeploymentRolledBack with the person's reason, once ECS's
// rollback has settled.
func TestStopServiceDeploymentDuringOurs(t *testing.T) {
	stack := startStack(t)
	stack.SetTokenTimeout(300 * time.Millisecond)
	client := ecs.NewFromConfig(stack.AdminConfig())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	seeded, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
	if err != nil {
		t.Fatal(err)
	}
	before := aws.ToString(seeded.Services[0].CurrentServiceDeployment)
	stopped := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
			if err != nil {
				stopped <- err
				return
			}
			if cur := aws.ToString(out.Services[0].CurrentServiceDeployment); cur != before {
				_, err := client.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(cur), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
				stopped <- err
				return
			}
		}
		stopped <- ctx.Err()
	}()
	r, err := stack.Run(t.Context(), rig.SamplePushEvent("staging", emulator.Digest), emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("StopServiceDeployment: %v", err)
	}
	if r.Status != "FAILED" || r.Error != "DeploymentRolledBack" || !strings.Contains(r.Cause, "Rollback requested by a user") {
		t.Fatalf("ended %s %s (%s), want DeploymentRolledBack with the person's reason", r.Status, r.Error, r.Cause)
	}
	// The execution held the service until ECS's rollback had settled.
	for _, sp := range stack.Emulator.Spans() {
		if sp.Kind == "rollback" {
			expect(t, !sp.End.IsZero(), "the execution ended while ECS's rollback was still in progress")
		}
	}
}

// checkDeploymentOutputs is the deployment as each CheckDeployment look
// that did not fail recorded it.
func checkDeploymentOutputs(t *testing.T, r *rig.Result) []deploy.Deployment {
	t.Helper()
	var out []deploy.Deployment
	for _, s := range stateOutputs(t, r, "CheckDeployment") {
		out = append(out, s.Deployment)
	}
	return out
}

// stateOutputs are the State outputs of each time the execution left state,
// in order (a caught error leaves it with the error instead: skipped).
func stateOutputs(t *testing.T, r *rig.Result, state string) []deploy.State {
	t.Helper()
	var out []deploy.State
	for _, ev := range r.Events {
		if ev.Type == "StateExited" && ev.State != nil && ev.State.Name == state {
			var s deploy.State
			if err := json.Unmarshal(ev.State.Output, &s); err != nil {
				t.Fatal(err)
			}
			if s.Execution.ID != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
