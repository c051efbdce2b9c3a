package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// The promotion guard: "release" requires staging. An image goes to release
// only once its latest deployment to staging succeeded; it waits for one
// under way; a manual start may override it with a reason.
func TestPromotionGuard(t *testing.T) {
	s := startStack(t)

	t.Run("an image never deployed to staging is blocked", func(t *testing.T) {
		digest := s.Emulator.PushManifest(emulator.Repository, "release", emulator.SampleManifest(501))
		r, _ := result(t, s, startPush(t, s, "release", digest, "release-never"))
		if r.Status != "FAILED" || r.Error != "PromotionBlocked" || !strings.Contains(r.Cause, digest+" was never deployed to staging") ||
			!strings.Contains(r.Cause, "overrideGuard") {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		expect(t, len(s.Emulator.Calls("RunTask")) == 0 && len(s.Emulator.Calls("UpdateService")) == 0, "something ran")
	})

	t.Run("an image staging deployed goes on, naming the evidence", func(t *testing.T) {
		staging := push(t, s, "staging")
		if r, _ := result(t, s, staging); r.Status != "SUCCEEDED" {
			t.Fatalf("staging: %s %s", r.Status, r.Cause)
		}
		s.Emulator.PushImage(emulator.Repository, "release", staging.digest)
		r, out := result(t, s, startPush(t, s, "release", staging.digest, "release-passed"))
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		g := out.Turn.Guard
		expect(t, g != nil && g.Verdict == deploy.GuardPassed && g.Evidence == staging.name && g.Requires == "staging", "guard = %+v", g)
		expect(t, strings.Contains(out.Turn.Reason, "promotion guard passed"), "turn reason %q", out.Turn.Reason)
	})

	t.Run("an image whose staging deployment failed is blocked, with what staging did", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 1}})
		staging := push(t, s, "staging")
		r, _ := result(t, s, staging)
		s.SetScenario(emulator.Scenario{})
		if r.Error != "MigrationFailed" {
			t.Fatalf("staging: %s %s", r.Status, r.Error)
		}
		s.Emulator.PushImage(emulator.Repository, "release", staging.digest)
		r, _ = result(t, s, startPush(t, s, "release", staging.digest, "release-failed"))
		if r.Status != "FAILED" || r.Error != "PromotionBlocked" || !strings.Contains(r.Cause, "execution "+staging.name+", ended FAILED (MigrationFailed)") {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
	})

	t.Run("a deployment waits for staging's deployment of the same image", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 4}})
		staging := push(t, s, "staging")
		s.Emulator.PushImage(emulator.Repository, "release", staging.digest)
		release := startPush(t, s, "release", staging.digest, "release-waits")
		rs, _ := result(t, s, staging)
		rr, out := result(t, s, release)
		s.SetScenario(emulator.Scenario{})
		if rs.Status != "SUCCEEDED" || rr.Status != "SUCCEEDED" || out.Turn.Guard == nil || out.Turn.Guard.Verdict != deploy.GuardPassed {
			t.Fatalf("staging %s, release %s %s (%s), guard %+v", rs.Status, rr.Status, rr.Error, rr.Cause, out.Turn.Guard)
		}
		var waited bool
		for _, ev := range rr.Events {
			if ev.Type == "StateExited" && ev.State != nil && ev.State.Name == "CheckTurn" {
				var st deploy.State
				waited = waited || (json.Unmarshal(ev.State.Output, &st) == nil && strings.Contains(st.Turn.Reason, "is deploying "+staging.digest+" to staging; waiting"))
			}
		}
		expect(t, waited, "no CheckTurn said it waits for staging")
	})

	t.Run("a manual start may override the guard with a reason", func(t *testing.T) {
		s.Emulator.PushManifest(emulator.Repository, "release", emulator.SampleManifest(502))
		arn, err := s.SFN.Start("release-override", json.RawMessage(`{"environment":"release","overrideGuard":true,"reason":"hotfix, staging is down"}`))
		if err != nil {
			t.Fatal(err)
		}
		r, out := result(t, s, pushed{arn: arn, name: "release-override"})
		if r.Status != "SUCCEEDED" || out.Turn.Guard == nil || out.Turn.Guard.Verdict != deploy.GuardOverridden || !strings.Contains(out.Turn.Guard.Reason, "hotfix, staging is down") {
			t.Fatalf("ended %s %s (%s), guard %+v", r.Status, r.Error, r.Cause, out.Turn.Guard)
		}
		r2, err := s.Run(t.Context(), json.RawMessage(`{"environment":"release","overrideGuard":true}`), emulator.Scenario{})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, r2.Error == "InvalidInput" && strings.Contains(r2.Cause, `"overrideGuard" needs a "reason"`), "override without a reason: %s %s", r2.Error, r2.Cause)
	})
}
