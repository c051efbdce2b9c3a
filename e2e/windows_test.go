package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// Deployment windows, through the CLI and the real binaries: target
// "windowed" deploys only from 03:00 to 03:01 UTC. Outside it, the execution
// waits in WaitingForWindow until the window opens (the local stack plays
// every Wait state in a moment) and then deploys; a manual start may
// override the window with a reason.
func TestDeploymentWindow(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	cfg, err := config.LoadFile(filepath.Join(root, "local", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := cfg.ByEnvironment("windowed")

	t.Run("outside the window it waits until the window opens, then deploys", func(t *testing.T) {
		arn := startExecution(t, "windowed")
		r, st := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		open, at := target.Windows.Open(st.Execution.StartTime)
		w := st.Window
		if w == nil {
			t.Fatal("no window decision in the output")
		}
		if open {
			// The run started inside 03:00-03:01 UTC: nothing to wait for.
			expect(t, w.Decision == deploy.WindowOpen && w.WaitUntil == nil && !visited(r, "WaitingForWindow"), "inside the window: %+v", w)
			return
		}
		expect(t, w.Decision == deploy.WindowWaiting && w.WaitUntil != nil && w.WaitUntil.Equal(at.UTC().Truncate(time.Second)), "window = %+v, want waiting until %s", w, at)
		expect(t, strings.Contains(w.Reason, "Mon-Sun 03:00-03:01 UTC") && strings.Contains(w.Reason, "waits until it opens at "+at.UTC().Format(time.RFC3339)), "reason %q", w.Reason)
		expect(t, visited(r, "WaitingForWindow") && st.Deployment.Done, "did not wait in WaitingForWindow, then deploy")
		// The work's own bounds count from the window's opening.
		expect(t, st.Deployment.LatestEnd != nil && st.Deployment.LatestEnd.After(at.Add(23*time.Hour)), "latest end %v, want a day after the window opens", st.Deployment.LatestEnd)
		_, out, _ := deployer(t, "history", lastPart(arn))
		expect(t, strings.Contains(out, "window waiting: outside the deployment window") && strings.Contains(out, "WaitingForWindow"), "history:\n%s", out)
	})

	t.Run("a manual start overrides the window with a reason", func(t *testing.T) {
		code, out, errOut := deployer(t, "start", "windowed", "--override-window", "--reason", "hotfix for INC-42", "--follow")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		expect(t, !strings.Contains(out, "WaitingForWindow"), "the override waited:\n%s", out)
		rows := s.SFN.Results()
		_, st := result(t, s, pushed{arn: rows[len(rows)-1].ExecutionARN, name: rows[len(rows)-1].Name})
		if open, _ := target.Windows.Open(st.Execution.StartTime); !open {
			expect(t, st.Window != nil && st.Window.Decision == deploy.WindowOverridden && strings.Contains(st.Window.Reason, "hotfix for INC-42"), "window = %+v", st.Window)
		}
	})

	t.Run("an override needs a reason", func(t *testing.T) {
		code, _, errOut := deployer(t, "start", "windowed", "--override-window")
		expect(t, code == 2 && strings.Contains(errOut, "--override-window needs --reason"), "exit %d %s", code, errOut)
	})
}

// visited says the execution entered a state.
func visited(r *rig.Result, state string) bool {
	for _, ev := range r.Events {
		if ev.Type == "StateEntered" && ev.State != nil && ev.State.Name == state {
			return true
		}
	}
	return false
}
