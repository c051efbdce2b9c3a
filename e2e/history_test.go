package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// TestHistoryBudgetBoundsCountedEvents checks the history-limit formula
// (config.Budget, statemachine.CycleEvents and PathEvents) against the events
// an execution actually records: each loop turned several times (events lost,
// so every wait ends on its safety poll; capacity refused twice), the history
// read back through GetExecutionHistory, and every turn of every loop and
// the whole execution must stay within what the formula charges.
func TestHistoryBudgetBoundsCountedEvents(t *testing.T) {
	stack := startStack(t)
	stack.SetTokenTimeout(300 * time.Millisecond)
	sc := emulator.Scenario{
		Events:           emulator.EventsScript{Drop: true},
		CapacityFailures: 2,
		Migration:        emulator.MigrationScript{Seconds: 2},
		Rollout:          emulator.RolloutScript{Seconds: 2},
	}
	r, err := stack.Run(t.Context(), rig.SamplePushEvent("staging", emulator.Digest), sc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "SUCCEEDED" {
		t.Fatalf("ended %s %s: %s", r.Status, r.Error, r.Cause)
	}
	events := executionHistory(t, stack, r.ExecutionARN)

	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(filepath.Join(root, "local", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	target, ok := cfg.ByEnvironment("staging")
	if !ok {
		t.Fatal("no staging target")
	}
	budget, err := cfg.Budget(target)
	if err != nil {
		t.Fatal(err)
	}

	// Split the history at each entry of a loop's head state.
	heads := map[string]int{"WaitingForTurn": 0, "WaitForCapacity": 0, "WaitForMigration": 0, "WaitForDeployment": 0}
	turnStart, turnHead := -1, ""
	bound := doc.PathEvents() + budget.Retries
	for i, ev := range events {
		name := enteredName(ev)
		if _, isHead := heads[name]; !isHead {
			continue
		}
		if name == turnHead {
			// One full turn of turnHead's loop: from its entry to its next one.
			n, limit := i-turnStart, doc.CycleEvents(name)
			if n > limit {
				t.Errorf("one turn of %s recorded %d events, the formula charges %d", name, n, limit)
			}
		}
		heads[name]++
		bound += doc.CycleEvents(name)
		turnStart, turnHead = i, name
	}
	for _, h := range []string{"WaitForCapacity", "WaitForMigration", "WaitForDeployment"} {
		if heads[h] < 2 {
			t.Errorf("%s was entered %d times; the case must turn each loop at least twice", h, heads[h])
		}
	}
	if len(events) > bound {
		t.Errorf("the execution recorded %d events; the formula, given the turns it took (%v), charges at most %d", len(events), heads, bound)
	}
	if len(events) > budget.Total {
		t.Errorf("the execution recorded %d events, more than the target's worst case %s", len(events), budget)
	}
	t.Logf("recorded %d events; formula for these turns %d; target's worst case %d; turns %v", len(events), bound, budget.Total, heads)

	// The same bounds from aws-local-stepfunctions' own log, not from the
	// history the local Step Functions API builds from it: the states the
	// interpreter entered and the retries it made, each charged what AWS's
	// history records for it (statemachine.StateEvents, RetryEvents).
	charged, turn, turnOf := 2, 0, ""
	for _, ev := range r.Events {
		switch {
		case ev.Type == "StateEntered" && ev.State != nil:
			st, ok := doc.States[ev.State.Name]
			if !ok {
				t.Fatalf("the interpreter entered %s, which the ASL does not have", ev.State.Name)
			}
			if _, isHead := heads[ev.State.Name]; isHead {
				if ev.State.Name == turnOf && turn > doc.CycleEvents(turnOf) {
					t.Errorf("the interpreter's turn of %s is charged %d events, the formula %d", turnOf, turn, doc.CycleEvents(turnOf))
				}
				turn, turnOf = 0, ev.State.Name
			}
			turn += statemachine.StateEvents(st)
			charged += statemachine.StateEvents(st)
		case ev.Type == "StateRetried":
			turn += statemachine.RetryEvents
			charged += statemachine.RetryEvents
		}
	}
	if charged < len(events)/2 {
		t.Fatalf("the interpreter's log charges %d events for a history of %d: it was not read", charged, len(events))
	}
	if charged > bound || charged > budget.Total {
		t.Errorf("the interpreter's log charges %d events; the formula for these turns %d, the worst case %d", charged, bound, budget.Total)
	}
	t.Logf("the interpreter's log charges %d events", charged)
}

// executionHistory reads an execution's whole history through the SDK, as
// Step Functions serves it.
func executionHistory(t *testing.T, s *rig.Stack, arn string) []sfntypes.HistoryEvent {
	t.Helper()
	client := sfn.NewFromConfig(s.AdminConfig())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out []sfntypes.HistoryEvent
	pages := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 100})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
	}
	return out
}

func enteredName(ev sfntypes.HistoryEvent) string {
	if d := ev.StateEnteredEventDetails; d != nil {
		return aws.ToString(d.Name)
	}
	return ""
}
