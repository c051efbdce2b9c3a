package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// builds are which builds wrote the State documents the workflow's own
// functions returned in an execution, in order.
func builds(t *testing.T, r *rig.Result) []string {
	t.Helper()
	steps := map[string]bool{}
	for _, f := range statemachine.Functions {
		steps[f.Name] = !f.Event
	}
	var out []string
	for _, ev := range r.Events {
		if ev.Type != "StateExited" || ev.State == nil || !steps[ev.State.Name] {
			continue
		}
		var st deploy.State
		if json.Unmarshal(ev.State.Output, &st) != nil || st.Environment == "" {
			continue
		}
		if st.Version != deploy.StateVersion {
			t.Errorf("%s wrote a version %d document, want %d", ev.State.Name, st.Version, deploy.StateVersion)
		}
		out = append(out, ev.State.Name+"@"+st.Build)
	}
	return out
}

// An upgrade in place while deployments wait in it (one for its approval,
// one at a pause hook, one in the queue behind it): each ends on the
// release it started on, every step of it run by that release's functions,
// and a push after the upgrade runs the new release. The new release's
// Notify tells the old executions' ends.
func TestUpgradeInPlace(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	s.SetTokenTimeout(20 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin2 := t.TempDir()
	if err := rig.BuildRelease(ctx, root, bin2, "r2"); err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(s.AdminConfig())
	startedOn := func(arn string) string {
		d, err := c.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(d.StateMachineAliasArn) + " " + aws.ToString(d.StateMachineVersionArn)
	}
	live := s.SFN.StateMachineARN + ":" + statemachine.AliasName

	// Release 1: an approval waits; a push waits at a pause hook, another
	// queues behind it.
	gated := startExecution(t, "gated")
	waitHistoryHas(t, s, gated, `"answer":"deployer approve gated`)
	s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 1, Strategy: "BLUE_GREEN", BakeTimeMinutes: 5, BakeSeconds: 0.5,
		Hooks: []emulator.HookScript{{Stage: "POST_TEST_TRAFFIC_SHIFT", Type: "PAUSE", TimeoutMinutes: 60, TimeoutSeconds: 60}}}})
	first := push(t, s, "staging")
	waitHistoryHas(t, s, first.arn, "waiting for a decision at POST_TEST_TRAFFIC_SHIFT")
	queued := push(t, s, "staging")
	waitHistoryHas(t, s, queued.arn, `"waitingFor":"`+first.name+`"`)
	if got := startedOn(gated); got != live+" "+s.SFN.StateMachineARN+":1" {
		t.Fatalf("deployer start started on %q, want the alias's release 1", got)
	}

	if err := s.Upgrade(ctx, rig.UpgradeOptions{BinDir: bin2}); err != nil {
		t.Fatal(err)
	}
	// The service's hooks are the scenario's: none from now on.
	s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Strategy: "ROLLING", Hooks: []emulator.HookScript{}}})
	as(t, rig.ApproverAccessKey) // the operator started it: another approver decides
	untilExit0(t, "approve", "gated", "--reason", "approved after the upgrade")
	as(t, rig.OperatorAccessKey)
	untilExit0(t, "continue", "staging", "--reason", "continued after the upgrade")
	// A push after the upgrade, as EventBridge hands it to Trigger.
	digest := s.Emulator.PushManifest(emulator.Repository, "pinned", emulator.SampleManifest(9001))
	started, err := s.Trigger(rig.SamplePushEvent("pinned", digest))
	if err != nil {
		t.Fatal(err)
	}
	after := pushed{digest: digest, arn: started.Execution}

	for _, tc := range []struct {
		name, arn, build string
	}{
		{"the approval", gated, "dev"}, {"the paused push", first.arn, "dev"}, {"the queued push", queued.arn, "dev"},
		{"the push after the upgrade", after.arn, "r2"},
	} {
		r, err := s.SFN.Result(ctx, tc.arn)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != "SUCCEEDED" || endState(r) != "Deployed" {
			t.Errorf("%s: %s %s (%s)", tc.name, r.Status, endState(r), r.Cause)
			continue
		}
		steps := builds(t, r)
		if len(steps) < 5 {
			t.Errorf("%s: only %v", tc.name, steps)
		}
		for _, st := range steps {
			if !strings.HasSuffix(st, "@"+tc.build) {
				t.Errorf("%s: %s, want every step run by build %s: %v", tc.name, st, tc.build, steps)
				break
			}
		}
		if tc.arn == gated {
			// Its approval notice names it too: only that Notify counted its end.
			if _, err := s.Notified(ctx, r.ExecutionARN); err != nil {
				t.Error(err)
			}
			continue
		}
		checkNotified(t, s, r, nil)
	}
	if got := startedOn(after.arn); got != live+" "+s.SFN.StateMachineARN+":2" {
		t.Errorf("Trigger started the push after the upgrade on %q, want the alias's release 2", got)
	}
}

// The stack is deployed again without a target while one of its
// executions waits for its turn (here behind a rollout ECS is doing that
// no execution holds): at its next turn the execution reads the deployed
// stack's targets, finds its own gone, and ends TargetRemoved with nothing
// run, although the release it runs on still has the target.
//
// CloudFormation replaces the policies before it publishes the outputs, so
// CheckTurn may read the target (still published) and then be denied its
// read of the service: IAM refusing that one call is AWS's behaviour here,
// any other refusal fails the test.
func TestTargetRemovedWhileWaiting(t *testing.T) {
	s := startStackWith(t, "")
	t.Cleanup(func() {
		for _, d := range s.Denied() {
			if !strings.Contains(d, "CheckTurnRole") || !strings.Contains(d, "ecs:ListServiceDeployments on resource: arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service") {
				t.Errorf("IAM refused a Lambda's request: %s", d)
			}
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// targets.json without staging, and its stack.
	var doc map[string]any
	b, err := os.ReadFile(filepath.Join(root, "local", "targets.json"))
	if err != nil || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("read local/targets.json: %v", err)
	}
	var kept []any
	for _, tg := range doc["targets"].([]any) {
		if m := tg.(map[string]any); m["tag"] != "staging" {
			if m["requires"] == "staging" {
				delete(m, "requires")
			}
			kept = append(kept, m)
		}
	}
	doc["targets"] = kept
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "targets.json")
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := rig.SynthTemplate(ctx, root, cfgFile, filepath.Join(dir, "cdk.out"))
	if err != nil {
		t.Fatal(err)
	}

	// Someone else's rollout of the service: the push waits for it.
	s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 30}})
	if _, err := ecs.NewFromConfig(s.AdminConfig()).UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	waiting := push(t, s, "staging")
	waitHistoryHas(t, s, waiting.arn, `"inFlight":{"service":"staging/staging-service"`)
	if err := s.Upgrade(ctx, rig.UpgradeOptions{BinDir: binDir, ConfigFile: cfgFile, Template: tpl}); err != nil {
		t.Fatal(err)
	}
	r, _ := result(t, s, waiting)
	if r.Status != "FAILED" || r.Error != "TargetRemoved" || !strings.Contains(r.Cause, "Target staging was removed from targets.json") {
		t.Fatalf("%s %s (%s), want FAILED TargetRemoved", r.Status, r.Error, r.Cause)
	}
	if n := len(s.Emulator.Calls("RunTask")); n != 0 {
		t.Errorf("%d migrations ran, want none", n)
	}
}
