package deploy

import (
	"context"
	"fmt"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// The promotion guard: a target with "requires": "staging" deploys an image
// only if that image's latest deployment to staging succeeded. The
// workflow's own execution history is the record; nothing else is stored.

// Guard is what the promotion guard decided, in the state's turn.
type Guard struct {
	Requires string `json:"requires"`
	Digest   string `json:"digest"`
	// Verdict is passed, waiting or overridden.
	Verdict string `json:"verdict"`
	// Evidence is the execution of the required environment it judged by.
	Evidence string `json:"evidence,omitempty"`
	Reason   string `json:"reason"`
}

// Guard verdicts.
const (
	GuardPassed     = "passed"
	GuardWaiting    = "waiting"
	GuardOverridden = "overridden"
)

// JudgeGuard decides the guard from the required environment's latest
// attempt at the image (nil: never tried), and whether the wait is over.
func JudgeGuard(ev *executions.Execution, requires, digest string, waitOver bool, waited time.Duration) (verdict string, blocked *PromotionBlocked, reason string) {
	switch {
	case ev == nil && waited < guardListGrace:
		return GuardWaiting, nil, fmt.Sprintf("no execution of %s with %s is listed yet (Step Functions lists a new one after a moment); checks again until this one is %s old", requires, digest, guardListGrace)
	case ev == nil:
		return "", neverDeployedThere(digest, requires, executions.AttemptScan), ""
	case ev.Status == sfntypes.ExecutionStatusSucceeded:
		return GuardPassed, nil, fmt.Sprintf("%s deployed %s successfully", ev.Name, digest)
	case ev.Status == sfntypes.ExecutionStatusRunning && !waitOver:
		return GuardWaiting, nil, fmt.Sprintf("%s is deploying %s to %s; waiting for it to end", ev.Name, digest, requires)
	case ev.Status == sfntypes.ExecutionStatusRunning:
		return "", stillDeployingThere(ev.Name, digest, requires, waited.Round(time.Second)), ""
	}
	return "", notPassedThere(digest, requires, ev.Name, ev.Status, withError(ev.Error)), ""
}

func withError(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// guardAtTurn runs the guard when the queue says GO and the target requires
// another environment first (until the guard has passed); held says the
// turn WAITs for it.
func (d *Deployer) guardAtTurn(ctx context.Context, s *State, now time.Time) (held bool, err error) {
	t := &s.Turn
	if t.Requires == "" || (t.Guard != nil && t.Guard.Verdict != GuardWaiting) {
		return false, nil
	}
	g, err := d.checkGuard(ctx, *s, now)
	if err != nil {
		return false, err
	}
	t.Guard = &g
	if g.Verdict != GuardWaiting {
		return false, nil
	}
	t.Decision, t.Reason, t.WaitSeconds = TurnWait, "promotion guard: "+g.Reason, s.queueWaitSeconds(now)
	d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "decision", TurnWait, "guard", g.Reason)
	return true, nil
}

// checkGuard applies the promotion guard at the turn. It returns a
// PromotionBlocked error, or the guard decided (waiting: the turn waits).
func (d *Deployer) checkGuard(ctx context.Context, s State, now time.Time) (Guard, error) {
	g := Guard{Requires: s.Turn.Requires, Digest: s.Image.Digest}
	if s.Turn.OverrideGuard {
		g.Verdict, g.Reason = GuardOverridden, "overridden by a manual start: "+s.Trigger.Reason
		return g, nil
	}
	ev, err := d.executions(s.Execution.StateMachine).LatestAttempt(ctx, s.Turn.Requires, s.Image.Digest, SubjectOf(d.Config))
	if err != nil {
		return g, err
	}
	waited := now.Sub(s.Execution.StartTime)
	verdict, blocked, reason := JudgeGuard(ev, s.Turn.Requires, s.Image.Digest, waited > time.Duration(s.Turn.RequiresWaitSeconds)*time.Second, waited)
	if blocked != nil {
		return g, blocked
	}
	g.Verdict, g.Reason = verdict, reason
	if ev != nil {
		g.Evidence = ev.Name
	}
	return g, nil
}
