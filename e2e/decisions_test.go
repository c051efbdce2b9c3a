package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// People answer a deployment from the CLI, under the operator policy:
// continue or roll back one that waits at a pause hook, roll back one in
// flight, and, with nothing in flight, deploy the previous image again.
// Each decision is recorded in the execution with who made it.
func TestDecisions(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	// Longer than the runs: waits end on ECS's events, the hook's included.
	s.SetTokenTimeout(20 * time.Second)
	const operator = "arn:aws:iam::" + emulator.Account + ":user/operator"
	paused := emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 5, BakeSeconds: 0.5,
		Hooks: []emulator.HookScript{{Stage: "POST_TEST_TRAFFIC_SHIFT", Type: "PAUSE", TimeoutMinutes: 60, TimeoutSeconds: 60}}}}

	t.Run("paused, then continued", func(t *testing.T) {
		s.SetScenario(paused)
		arn := startExecution(t, "staging")
		// The history shows the pause before anyone answers it, and so does status.
		waitHistoryHas(t, s, arn, "waiting for a decision at POST_TEST_TRAFFIC_SHIFT")
		_, status, _ := deployer(t, "status", "staging")
		expect(t, strings.Contains(status, "paused at POST_TEST_TRAFFIC_SHIFT: deployer continue staging"), "status does not say the deployment is paused:\n%s", status)
		out := untilExit0(t, "continue", "staging", "--reason", "green looks fine")
		for _, want := range []string{"Continued the deployment of staging at POST_TEST_TRAFFIC_SHIFT", "ContinueServiceDeployment CONTINUE", "as " + operator, "Recorded in execution"} {
			expect(t, strings.Contains(out, want), "continue says %q, want %q", out, want)
		}
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		st := output(t, r)
		d := st.Deployment.Decisions
		expect(t, len(d) == 1 && d[0].Action == "CONTINUE" && d[0].By == operator && d[0].Reason == "green looks fine" && d[0].Stage == "POST_TEST_TRAFFIC_SHIFT",
			"decisions = %+v", d)
		sawPause := false
		for _, look := range checkDeploymentOutputs(t, r) {
			if p := look.Paused; p != nil {
				sawPause = p.Stage == "POST_TEST_TRAFFIC_SHIFT" && strings.Contains(look.Progress, "waiting for a decision at POST_TEST_TRAFFIC_SHIFT") &&
					strings.Contains(p.Answer, "deployer continue staging")
			}
		}
		expect(t, sawPause, "no CheckDeployment showed the pause and how to answer it")
		expect(t, wokenBy(t, r, "ECS Hook State Change"), "the hook's event did not wake the wait")
	})

	t.Run("paused, then rolled back", func(t *testing.T) {
		s.SetScenario(paused)
		arn := startExecution(t, "staging")
		waitPaused(t, s)
		untilExit0(t, "rollback", "staging", "--reason", "errors on green")
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		want := operator + " asked for it at POST_TEST_TRAFFIC_SHIFT (errors on green)"
		if r.Status != "FAILED" || r.Error != "DeploymentRolledBack" || !strings.Contains(r.Cause, want) {
			t.Fatalf("ended %s %s (%s), want DeploymentRolledBack saying %q", r.Status, r.Error, r.Cause, want)
		}
	})

	t.Run("rollback of a deployment in flight stops it", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 4}})
		arn := startExecution(t, "staging")
		out := untilExit0(t, "rollback", "staging", "--reason", "wrong config")
		expect(t, strings.Contains(out, "StopServiceDeployment ROLLBACK"), "rollback says %q", out)
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "FAILED" || r.Error != "DeploymentRolledBack" || !strings.Contains(r.Cause, operator+" asked for it") {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
	})

	t.Run("with nothing in flight, rollback deploys the previous image again", func(t *testing.T) {
		// The service's rollouts have no hooks any more.
		s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Strategy: "ROLLING", Hooks: []emulator.HookScript{}}})
		// staging runs emulator.Digest (the first subtest); promote sha-2 over it.
		if code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow"); code != 0 {
			t.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
		}
		migrations := len(s.Emulator.Calls("RunTask"))
		code, out, errOut := deployer(t, "rollback", "staging", "--reason", "sha-2 breaks checkout", "--follow")
		if code != 0 {
			t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"Rolling back staging from " + emulator.NewDigest + " to " + emulator.Digest, "without the migration", "Result: SUCCEEDED"} {
			expect(t, strings.Contains(out, want), "rollback says:\n%s\nwant %q", out, want)
		}
		waitAll(t, s)
		expect(t, len(s.Emulator.Calls("RunTask")) == migrations, "the rollback ran the migration")
		expect(t, s.Emulator.RunningDigest("staging", "staging-service", "app") == emulator.Digest, "the service runs %s", s.Emulator.RunningDigest("staging", "staging-service", "app"))
		img, err := ecr.NewFromConfig(s.AdminConfig()).BatchGetImage(t.Context(), &ecr.BatchGetImageInput{RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("staging")}}})
		if err != nil || len(img.Images) != 1 {
			t.Fatalf("read tag staging: %v", err)
		}
		expect(t, aws.ToString(img.Images[0].ImageId.ImageDigest) == emulator.Digest, "tag staging names %s, want the image rolled back to", aws.ToString(img.Images[0].ImageId.ImageDigest))
		// The retag's push started an execution, which deployed nothing.
		var rollback, duplicate bool
		for _, r := range s.SFN.Results() {
			var st deploy.State
			if json.Unmarshal(r.Output, &st) != nil {
				continue
			}
			if rb := st.Rollback; rb != nil && r.Status == "SUCCEEDED" {
				rollback = rb.Of == emulator.NewDigest && rb.To == emulator.Digest && rb.Retagged && rb.By == operator && st.Migration.Skipped
			}
			duplicate = duplicate || (st.Trigger.Type == "push" && st.Image.Digest == emulator.Digest && st.Turn.Decision == deploy.TurnDuplicate)
		}
		expect(t, rollback, "no execution's output says it rolled back from %s to %s, retagged, by the operator, without the migration", emulator.NewDigest, emulator.Digest)
		expect(t, duplicate, "the push of the retag was not a duplicate of the rollback")
	})

	t.Run("start --follow --until traffic-shifted returns before the bake ends", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 30, BakeSeconds: 4, Hooks: []emulator.HookScript{}}})
		code, out, errOut := deployer(t, "start", "staging", "--follow", "--until", "traffic-shifted")
		returned := time.Now()
		if code != 0 || !strings.Contains(out, "Reached traffic-shifted") || !strings.Contains(out, "keeps watching") || strings.Contains(out, "Result:") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		name := strings.Fields(out[strings.Index(out, "Started ")+len("Started "):])[0]
		r, _ := result(t, s, pushed{arn: s.ExecutionARN(name), name: name})
		expect(t, r.Status == "SUCCEEDED", "the execution went on to %s %s", r.Status, r.Error)
		// It ended on ECS's final status, after the bake the CLI did not wait for.
		end := time.UnixMilli(r.Events[len(r.Events)-1].Timestamp)
		expect(t, end.After(returned), "the execution ended %s before the CLI returned, want after it", returned.Sub(end))
	})

	t.Run("bad command lines", func(t *testing.T) {
		for _, args := range [][]string{
			{"start", "staging", "--until", "baking"},
			{"start", "staging", "--follow", "--until", "shipped"},
			{"rollback", "staging"},
			{"rollback", "staging", "--reason", "x", "--to", "sha-2"},
			{"continue"},
		} {
			code, _, errOut := deployer(t, args...)
			expect(t, code == 2, "%v: exit %d (%s), want 2", args, code, errOut)
		}
		code, _, errOut := deployer(t, "continue", "staging")
		expect(t, code == 1 && strings.Contains(errOut, "no deployment of staging is in progress"), "continue with nothing in flight: exit %d %s", code, errOut)
	})
}

// untilOutputHas runs a command line until its output says text (what it
// reports follows the execution, which moves on its own).
func untilOutputHas(t *testing.T, text string, args ...string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, out, _ = deployer(t, args...); strings.Contains(out, text) {
			return
		}
	}
	t.Fatalf("%v never said %q:\n%s", args, text, out)
}

// startExecution starts a deployment of env through the CLI and returns its ARN.
func startExecution(t *testing.T, env string) string {
	t.Helper()
	code, out, errOut := deployer(t, "start", env, "--output", "json")
	var started struct {
		ExecutionARN string `json:"executionArn"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &started) != nil {
		t.Fatalf("start: exit %d\n%s%s", code, out, errOut)
	}
	return started.ExecutionARN
}

// untilExit0 runs a command line until it succeeds: a decision can only be
// made once the deployment has reached the point it answers.
func untilExit0(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, out, errOut := deployer(t, args...)
		if code == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHistoryHas waits until a state's output in the execution's history
// contains text.
func waitHistoryHas(t *testing.T, s *rig.Stack, arn, text string) {
	t.Helper()
	c := sfn.NewFromConfig(s.AdminConfig())
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		h, err := c.GetExecutionHistory(t.Context(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h.Events {
			if d := ev.StateExitedEventDetails; d != nil && strings.Contains(aws.ToString(d.Output), text) {
				return
			}
		}
	}
	t.Fatalf("the history of %s never showed %q", arn, text)
}

// waitPaused waits until the service's current deployment waits at a pause hook.
func waitPaused(t *testing.T, s *rig.Stack) {
	t.Helper()
	c := ecs.NewFromConfig(s.AdminConfig())
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		svc, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
		if err != nil {
			t.Fatal(err)
		}
		sd, err := c.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(svc.Services[0].CurrentServiceDeployment)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range sd.ServiceDeployments {
			for _, h := range d.LifecycleHookDetails {
				if h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
					return
				}
			}
		}
	}
	t.Fatal("the deployment never paused")
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// wokenBy says some wait of the run was ended by an event of that detail-type.
func wokenBy(t *testing.T, r *rig.Result, detailType string) bool {
	t.Helper()
	for _, ev := range r.Events {
		if ev.Type != "StateExited" || ev.State == nil || ev.State.Name != "WaitForDeployment" {
			continue
		}
		var st deploy.State
		if json.Unmarshal(ev.State.Output, &st) == nil && st.Wake != nil && strings.HasPrefix(st.Wake.Reason, detailType) {
			return true
		}
	}
	return false
}

// The approval gate: "gated" waits for a person before anything runs.
func TestApproval(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	s.SetTokenTimeout(20 * time.Second)
	approver := rig.PersonARN(rig.ApproverAccessKey)

	t.Run("approved, it deploys and keeps who approved", func(t *testing.T) {
		arn := startExecution(t, "gated")
		waitHistoryHas(t, s, arn, `"answer":"deployer approve gated`)
		expect(t, len(s.Emulator.Calls("RunTask")) == 0, "the migration ran before the approval")
		untilOutputHas(t, "awaiting approval: deployer approve gated", "status", "gated")
		// The topic was told what waits and how to answer it.
		var notice *emulator.Publication
		for deadline := time.Now().Add(15 * time.Second); notice == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, p := range s.Emulator.Published() {
				if strings.Contains(p.Message, arn) && strings.Contains(p.Subject, "waits for approval") {
					notice = &p
				}
			}
		}
		if notice == nil {
			t.Fatalf("no approval notice was published: %+v", s.Emulator.Published())
		}
		email := notice.For("email")
		expect(t, strings.Contains(email, "deployer approve gated --reason") && strings.Contains(email, "deployer reject gated --reason") && strings.Contains(email, "Waits until:"),
			"the notice says:\n%s", email)
		// The operator started it: another approver decides.
		as(t, rig.ApproverAccessKey)
		out := untilExit0(t, "approve", "gated", "--reason", "release notes reviewed")
		expect(t, strings.Contains(out, "Approved the deployment of ") && strings.Contains(out, approver), "approve says %q", out)
		r, st := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		d := st.Approval.Decision
		expect(t, d != nil && d.Approved && d.By == approver && d.Reason == "release notes reviewed" && d.Digest == st.Image.Digest && d.Verified != "", "decision %+v", d)
	})

	t.Run("rejected, it ends Rejected and nothing runs", func(t *testing.T) {
		migrations := len(s.Emulator.Calls("RunTask"))
		arn := startExecution(t, "gated")
		as(t, rig.ApproverAccessKey)
		untilExit0(t, "reject", "gated", "--reason", "freeze until the incident is closed")
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "FAILED" || r.Error != "Rejected" || !strings.Contains(r.Cause, approver+" rejected the deployment") || !strings.Contains(r.Cause, "freeze until the incident is closed") {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		expect(t, len(s.Emulator.Calls("RunTask")) == migrations, "the migration ran")
		// A failed execution has no output: audit and stats read the
		// rejection from its history.
		code, out, errOut := deployer(t, "audit", "gated", "--output", "json")
		var audit struct {
			Decisions []cli.AuditRow `json:"decisions"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &audit) != nil {
			t.Fatalf("audit: exit %d %s%s", code, out, errOut)
		}
		rejected := false
		for _, row := range audit.Decisions {
			rejected = rejected || (row.Execution == lastPart(arn) && row.Kind == deploy.AuditRejected && row.By == approver && row.Verified != "")
		}
		expect(t, rejected, "audit lists no verified rejection of %s: %s", lastPart(arn), out)
		code, out, errOut = deployer(t, "stats", "gated", "--output", "json")
		var stats struct {
			Environments []cli.Stats `json:"environments"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &stats) != nil || len(stats.Environments) != 1 {
			t.Fatalf("stats: exit %d %s%s", code, out, errOut)
		}
		g := stats.Environments[0]
		expect(t, g.Decisions[deploy.AuditRejected] == 1 && g.Decisions[deploy.AuditApproved] == 1 && g.Decisions[deploy.AuditStart] == 2 && g.Unverified == 0,
			"stats' decisions: %+v", g)
	})

	t.Run("nobody decides: ApprovalTimedOut", func(t *testing.T) {
		s.SetTokenTimeout(300 * time.Millisecond) // the local stack's stand-in for approval.timeout
		defer s.SetTokenTimeout(20 * time.Second)
		arn := startExecution(t, "gated")
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		expect(t, r.Status == "FAILED" && r.Error == "ApprovalTimedOut" && strings.Contains(r.Cause, "deployer approve"), "ended %s %s (%s)", r.Status, r.Error, r.Cause)
		// The wait read its timeout from the target's approval.timeout (1h in
		// local/targets.json) through $.approval.timeoutSeconds, and ended
		// by timing out, not by a decision.
		h, err := sfn.NewFromConfig(s.AdminConfig()).GetExecutionHistory(t.Context(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		scheduled, timedOut := int64(0), false
		for _, ev := range h.Events {
			if d := ev.TaskScheduledEventDetails; d != nil && strings.Contains(aws.ToString(d.Parameters), `"waitingFor":"approval"`) {
				scheduled = aws.ToInt64(d.TimeoutInSeconds)
			}
			timedOut = timedOut || ev.Type == sfntypes.HistoryEventTypeTaskTimedOut
		}
		expect(t, scheduled == 3600, "the approval wait was scheduled with a %d s timeout, want 3600 (approval.timeout 1h)", scheduled)
		expect(t, timedOut, "no TaskTimedOut in the history: the approval did not end by its timeout")
	})

	// Approved = deployed: "gated" pins the approved digest (digest mode, the
	// default), so a push during its migration deploys nothing of its own;
	// it waits for its own approval.
	t.Run("a push during the approved migration does not deploy its image", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 2}})
		defer s.SetScenario(emulator.Scenario{})
		migrations := len(s.Emulator.Calls("RunTask"))
		a := push(t, s, "gated")
		waitHistoryHas(t, s, a.arn, `"answer":"deployer approve gated`)
		untilExit0(t, "approve", "gated", "--reason", "release notes of a reviewed") // a push: who pushed is not known
		waitUntil(t, "the approved migration started", func() bool { return len(s.Emulator.Calls("RunTask")) > migrations })
		b := push(t, s, "gated")
		r, out := result(t, s, a)
		if r.Status != "SUCCEEDED" {
			t.Fatalf("a ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		deployments := s.Emulator.DeploymentCount("gated", "gated-service")
		if running := s.Emulator.RunningDigest("gated", "gated-service", "app"); running != a.digest || out.Image.DeployedDigest != a.digest || out.Image.Mode != "digest" {
			t.Errorf("the service runs %s (a reports %+v), want the approved %s, not %s", running, out.Image, a.digest, b.digest)
		}
		rt := lastRequest(t, s, "RunTask")
		expect(t, rt["taskDefinition"] == out.Image.PinnedTaskDefinition, "the migration ran %v, not the revision pinned to the approved digest %s", rt["taskDefinition"], out.Image.PinnedTaskDefinition)
		// b waits for a person; nothing of it ran.
		waitHistoryHas(t, s, b.arn, `"answer":"deployer approve gated`)
		expect(t, len(s.Emulator.Calls("RunTask")) == migrations+1, "%d migrations ran, want a's one", len(s.Emulator.Calls("RunTask"))-migrations)
		untilExit0(t, "reject", "gated", "--reason", "not this one")
		rb, _ := result(t, s, b)
		expect(t, rb.Error == "Rejected" && s.Emulator.DeploymentCount("gated", "gated-service") == deployments, "b ended %s %s, %d deployments since a's", rb.Status, rb.Error, s.Emulator.DeploymentCount("gated", "gated-service")-deployments)
	})

	t.Run("bad command lines", func(t *testing.T) {
		code, _, errOut := deployer(t, "reject", "gated")
		expect(t, code == 2 && strings.Contains(errOut, "--reason is required to reject"), "reject without a reason: exit %d %s", code, errOut)
		code, _, errOut = deployer(t, "approve", "gated")
		expect(t, code == 1 && strings.Contains(errOut, "no deployment of gated waits for approval"), "approve with nothing waiting: exit %d %s", code, errOut)
	})
}

// waitAllPaused waits until the current deployment of every service of
// the cluster waits at a pause hook.
func waitAllPaused(t *testing.T, s *rig.Stack, cluster string, services ...string) {
	t.Helper()
	c := ecs.NewFromConfig(s.AdminConfig())
	paused := func() bool {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services})
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range out.Services {
			sd, err := c.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(svc.CurrentServiceDeployment)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.ServiceDeployments) != 1 || !slices.ContainsFunc(sd.ServiceDeployments[0].LifecycleHookDetails, func(h ecstypes.DeploymentLifecycleHookDetail) bool {
				return h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction
			}) {
				return false
			}
		}
		return len(out.Services) == len(services)
	}
	waitUntil(t, "every service paused", paused)
}

// A target of several services pauses at each one's hook: continue asks
// which service without --service and answers each with it; rollback
// without --service rolls back every one in flight. Each service records
// its decision.
func TestSeveralServicesPausedAtOnce(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	s.SetTokenTimeout(20 * time.Second)
	const operator = "arn:aws:iam::" + emulator.Account + ":user/operator"
	s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 5, BakeSeconds: 0.5,
		Hooks: []emulator.HookScript{{Stage: "POST_TEST_TRAFFIC_SHIFT", Type: "PAUSE", TimeoutMinutes: 60, TimeoutSeconds: 60}}}})

	t.Run("continue answers each paused service by name", func(t *testing.T) {
		arn := startExecution(t, "suite")
		waitAllPaused(t, s, "suite", "app-web", "app-worker")
		// Several wait: each is a decision of its own, so continue asks which.
		code, _, errOut := deployer(t, "continue", "suite", "--reason", "both green")
		expect(t, code == 2 && strings.Contains(errOut, "app-web and app-worker wait at pause hooks") && strings.Contains(errOut, "--service"),
			"continue without --service: exit %d %s", code, errOut)
		untilExit0(t, "continue", "suite", "--service", "app-web", "--reason", "both green")
		untilExit0(t, "continue", "suite", "--service", "app-worker", "--reason", "both green")
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		st := output(t, r)
		expect(t, len(st.Services) == 2, "services %+v", st.Services)
		for _, svc := range st.Services {
			d := svc.Deployment.Decisions
			expect(t, svc.Outcome == deploy.OutcomeDeployed && len(d) == 1 && d[0].Action == "CONTINUE" && d[0].By == operator && d[0].Reason == "both green",
				"%s: %s, decisions %+v", svc.Service, svc.Outcome, d)
		}
	})

	t.Run("rollback rolls back every paused service", func(t *testing.T) {
		arn := startExecution(t, "suite")
		waitAllPaused(t, s, "suite", "app-web", "app-worker")
		untilExit0(t, "rollback", "suite", "--reason", "errors on green")
		r, _ := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "FAILED" {
			t.Fatalf("ended %s %s, want FAILED", r.Status, r.Error)
		}
		for _, name := range []string{"app-web", "app-worker"} {
			expect(t, strings.Contains(r.Cause, name) && strings.Contains(r.Cause, "errors on green"), "the cause does not say %s was rolled back on request: %s", name, r.Cause)
		}
	})
}
