package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// A push goes through the push rule to the Trigger function, which starts
// the execution under a name that says its environment, image and event;
// the same event delivered again starts nothing more.
func TestPushStartsANamedExecution(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	if code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow"); code != 0 {
		t.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
	}
	rs := s.SFN.Results()
	if len(rs) != 1 || rs[0].Status != "SUCCEEDED" {
		t.Fatalf("executions %+v, want the push's one, succeeded", rs)
	}
	short := strings.TrimPrefix(emulator.NewDigest, "sha256:")[:12]
	if env, ok := executions.EnvironmentOfName(rs[0].Name); !ok || env != "staging" || !strings.HasPrefix(rs[0].Name, "staging-"+short+"-") {
		t.Errorf("the push's execution is named %q, want staging-%s-<time>-<event id>", rs[0].Name, short)
	}

	// The same event twice, as EventBridge may deliver it.
	ev := rig.SamplePushEvent("staging", emulator.Digest)
	invoke := func() deploy.TriggerOutput {
		out, err := s.Trigger(ev)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// While it runs, StartExecution answers the same execution for the same
	// name and input; once it has ended, ExecutionAlreadyExists (Again).
	first, second := invoke(), invoke()
	if first.Again || first.Execution != second.Execution {
		t.Errorf("twice the same event: %+v then %+v, want one execution", first, second)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.SFN.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if third := invoke(); !third.Again || third.Execution != first.Execution {
		t.Errorf("the same event after its execution ended: %+v, want Again", third)
	}
	if n := len(s.SFN.Results()); n != 2 {
		t.Errorf("%d executions, want the push's and the event's", n)
	}
}

// make demo's push goes through the Trigger function too (Stack.RunPush).
func TestRunPushGoesThroughTrigger(t *testing.T) {
	s := startStack(t)
	r, err := s.RunPush(t.Context(), nil, emulator.Scenario{})
	if err != nil {
		t.Fatal(err)
	}
	if env, ok := executions.EnvironmentOfName(r.Name); r.Status != "SUCCEEDED" || !ok || env != "staging" || s.Invocations("trigger") != 1 {
		t.Errorf("%s ended %s (%s); Trigger invoked %d times", r.Name, r.Status, r.Cause, s.Invocations("trigger"))
	}
}
