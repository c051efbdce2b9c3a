package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

func TestRegate(t *testing.T) {
	// Wednesday 2026-11-25 12:00 UTC.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	target := func(t *testing.T, extra string) (config.Published, bool) {
		t.Helper()
		cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"prod","environment":"prod","cluster":"prod"`+extra+`},{"repository":"app","tag":"staging"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		r, ok := cfg.ByEnvironment("prod")
		return r.Published(), ok
	}
	base := State{Environment: "prod", Cluster: "prod", Service: "prod-service", Turn: Turn{}}
	weekdays, _ := target(t, `,"windows":[{"days":"Mon-Fri","from":"09:00","to":"17:00","timeZone":"UTC"}]`)
	open := base
	open.Window = &Window{Schedule: weekdays.Windows.String(), Decision: WindowOpen}
	overridden := base
	overridden.Window = &Window{Schedule: "Sat 00:00-01:00 UTC", Decision: WindowOverridden}
	guarded := base
	guarded.Turn.Requires = "staging"
	approved := base
	approved.Approval = &Approval{TimeoutSeconds: 60}
	cases := []struct {
		name          string
		state         State
		extra         string
		removed       bool
		wantErr       string
		approval      bool
		requires      string
		windowChanged bool
		opensAt       time.Time
		notesContain  string
	}{
		{name: "unchanged", state: base},
		{name: "removed", state: base, removed: true, wantErr: "was removed from targets.json"},
		{name: "another cluster", state: base, extra: `,"cluster":"prod-2"`, wantErr: "cluster prod-2"},
		{name: "another account", state: base, extra: `,"account":"222222222222","region":"us-east-1"`, wantErr: "now deploys in account 222222222222, Region us-east-1, not in the deployer stack's own account and Region"},
		{name: "back home", state: State{Environment: "prod", Cluster: "prod", Service: "prod-service", Account: "222222222222", Region: "us-east-1"}, wantErr: "now deploys in the deployer stack's own account and Region, not in account 222222222222"},
		{name: "the same account", state: State{Environment: "prod", Cluster: "prod", Service: "prod-service", Account: "222222222222", Region: "us-east-1"}, extra: `,"account":"222222222222","region":"us-east-1"`},
		{name: "other services", state: base, extra: `,"services":["api","worker"]`, wantErr: "now deploys api, worker"},
		{name: "the same services in another order", state: State{Environment: "prod", Cluster: "prod", Service: "worker", Services: []ServiceRollout{{Service: "worker"}, {Service: "api"}}},
			extra: `,"services":["api","worker"]`},
		{name: "approval added", state: base, extra: `,"approval":{"timeout":"1h"}`, approval: true, notesContain: "approval"},
		{name: "approval kept when removed", state: approved},
		{name: "requires added", state: base, extra: `,"requires":"staging"`, requires: "staging", notesContain: "requires staging"},
		{name: "requires unchanged", state: guarded, extra: `,"requires":"staging"`},
		{name: "requires added under an override", state: State{Environment: "prod", Cluster: "prod", Service: "prod-service", Turn: Turn{OverrideGuard: true}}, extra: `,"requires":"staging"`},
		{name: "window added, open", state: base, extra: `,"windows":[{"days":"Mon-Fri","from":"09:00","to":"17:00","timeZone":"UTC"}]`, windowChanged: true, notesContain: "open"},
		{name: "window added, closed", state: base, extra: `,"windows":[{"days":"Sat","from":"10:00","to":"12:00","timeZone":"UTC"}]`, windowChanged: true,
			opensAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), notesContain: "opens at 2026-11-28T10:00:00Z"},
		{name: "window unchanged: checked once, at the start", state: open, extra: `,"windows":[{"days":"Mon-Fri","from":"09:00","to":"17:00","timeZone":"UTC"}]`},
		{name: "window changed under an override", state: overridden, extra: `,"windows":[{"days":"Sat","from":"10:00","to":"12:00","timeZone":"UTC"}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tgt, found := target(t, tc.extra)
			if tc.removed {
				found = false
			}
			r, err := Regate(tc.state, tgt, found, now)
			var removed *TargetRemoved
			if tc.wantErr != "" {
				if !errors.As(err, &removed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want TargetRemoved saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			schedule := ""
			if tc.windowChanged {
				schedule = tgt.Windows.String()
			}
			if (r.Approval != nil) != tc.approval || r.Requires != tc.requires || r.Schedule != schedule || !r.WindowOpens.Equal(tc.opensAt) {
				t.Fatalf("Regate = %+v; want approval %v, requires %q, schedule %q opening %v", r, tc.approval, tc.requires, schedule, tc.opensAt)
			}
			if notes := strings.Join(r.Notes, "; "); (tc.notesContain == "") != (notes == "") || !strings.Contains(notes, tc.notesContain) {
				t.Fatalf("notes %q, want them to say %q", notes, tc.notesContain)
			}
		})
	}
}

// At GO, CheckTurn applies the target as targets.json says now: a closed
// window added while it waited makes it WAIT (at most windowRecheck), or
// end in QueueTimedOut at once when it opens too late for the work left;
// the budget it started with holds.
func TestCheckTurnRegatesAtGo(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // Wednesday
	check := func(t *testing.T, targets string, started time.Time, span int) (State, error) {
		t.Helper()
		cfg, err := config.Parse("t.json", []byte(`{"targets":[`+targets+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": started}},
			status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
		turns := &fakeTurns{}
		d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
		s := State{Execution: Execution{ID: "me", Name: "me", StartTime: started, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
			Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15, SpanSeconds: span}}
		out, err := d.CheckTurn(context.Background(), s)
		if err == nil && out.Turn.Decision == TurnGo && turns.holder("staging/staging-service") != "me" {
			t.Fatalf("GO without taking the turn")
		}
		return out, err
	}
	t.Run("a closed window opening in an hour: waits, checking every 5 minutes", func(t *testing.T) {
		out, err := check(t, `{"repository":"app","tag":"staging","windows":[{"days":"Wed","from":"13:00","to":"14:00","timeZone":"UTC"}]}`, now.Add(-time.Hour), 0)
		if err != nil || out.Turn.Decision != TurnWait || out.Turn.WaitSeconds != windowRecheck || !strings.Contains(out.Turn.Reason, "2026-11-25T13:00:00Z") {
			t.Fatalf("%s %d s (%s), %v; want WAIT %d s until 13:00", out.Turn.Decision, out.Turn.WaitSeconds, out.Turn.Reason, err, windowRecheck)
		}
	})
	t.Run("a closed window opening in a minute: waits that minute", func(t *testing.T) {
		out, err := check(t, `{"repository":"app","tag":"staging","windows":[{"days":"Wed","from":"12:01","to":"14:00","timeZone":"UTC"}]}`, now.Add(-time.Hour), 0)
		if err != nil || out.Turn.Decision != TurnWait || out.Turn.WaitSeconds != 60 {
			t.Fatalf("%s %d s (%s), %v; want WAIT 60 s", out.Turn.Decision, out.Turn.WaitSeconds, out.Turn.Reason, err)
		}
	})
	t.Run("a closed window opening after the work span: QueueTimedOut now", func(t *testing.T) {
		_, err := check(t, `{"repository":"app","tag":"staging","windows":[{"days":"Sat","from":"10:00","to":"12:00","timeZone":"UTC"}]}`, now.Add(-time.Hour), 0)
		var timedOut *QueueTimedOut
		if !errors.As(err, &timedOut) || !strings.Contains(err.Error(), "deployment window") {
			t.Fatalf("err = %v, want QueueTimedOut naming the window", err)
		}
	})
	t.Run("the target removed: TargetRemoved, no turn taken", func(t *testing.T) {
		_, err := check(t, `{"repository":"app","tag":"prod"}`, now.Add(-time.Hour), 0)
		var removed *TargetRemoved
		if !errors.As(err, &removed) {
			t.Fatalf("err = %v, want TargetRemoved", err)
		}
	})
	// Started with a 1-hour span 23 hours ago: 23 h of the 24 h work span
	// are left for waiting, so it may go. Read from targets.json now (a
	// 3-hour migration timeout), it would have timed out.
	t.Run("the budget it started with holds", func(t *testing.T) {
		out, err := check(t, `{"repository":"app","tag":"staging","migrationTimeout":"3h"}`, now.Add(-23*time.Hour+time.Minute), 3600)
		if err != nil || out.Turn.Decision != TurnGo {
			t.Fatalf("%s (%s), %v; want GO", out.Turn.Decision, out.Turn.Reason, err)
		}
	})
}

// At GO, the gates the stack publishes now are applied to the execution:
// an approval added makes it wait for a person (state.approval is set for
// NeedsApproval), a requires added runs the promotion guard (here with no
// evidence: PromotionBlocked).
func TestCheckTurnAppliesGatesAddedWhileItWaited(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, target string
		check        func(State, error) bool
	}{
		{"approval", `{"repository":"app","tag":"staging","approval":{"timeout":"1h"}}`,
			func(s State, err error) bool {
				return err == nil && s.Turn.Decision == TurnGo && s.Approval != nil && s.Approval.TimeoutSeconds == 3600
			}},
		{"requires", `{"repository":"app","tag":"staging","requires":"qa"},{"repository":"app","tag":"qa"}`,
			func(s State, err error) bool {
				var blocked *PromotionBlocked
				return errors.As(err, &blocked) && s.Turn.Requires == "qa"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.json", []byte(`{"targets":[`+tc.target+`]}`))
			if err != nil {
				t.Fatal(err)
			}
			start := now.Add(-time.Minute)
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": start}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
			d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: start, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Image: Image{Digest: "sha256:" + strings.Repeat("a", 64)}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if !tc.check(out, err) {
				t.Fatalf("%s (%s), approval %+v, requires %q, err %v", out.Turn.Decision, out.Turn.Reason, out.Approval, out.Turn.Requires, err)
			}
		})
	}
}
