package deploy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// SFNAPI is the part of Step Functions CheckTurn and the guard read.
type SFNAPI = executions.API

// CheckTurn decides whether this execution may migrate and deploy now, must
// wait, or ends because it is superseded or a duplicate. See DecideTurn.
//
// Step Functions' ListExecutions is eventually consistent: an execution
// started a moment ago may not be listed yet, so two executions of a
// service that start together may each see no other. The turns table
// (turns.go) settles that: the turn is taken with a conditional write, and
// an execution holding it that the list does not show yet is waited for.
// QueueSettle (0 by default) delays the first check, so that pushes in
// quick succession are listed to each other and the newest supersedes the
// others rather than queueing behind the first.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
//
// The step reads in order: this execution (self), the queue and the turns
// table (decideHeld, queue.go and turns.go), the promotion guard (guard.go);
// then it takes the turn or says why not (applyTurn).
func (d *Deployer) CheckTurn(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	t := &s.Turn
	t.Checks++
	q := newQueueRead(ctx)
	defer q.cancel()
	me, waiting, err := d.self(q, &s)
	if err != nil || waiting {
		return s, err
	}
	if d.Turns == nil || d.TurnsTable == "" {
		return s, errors.New("CheckTurn needs the turns table (TURNS_TABLE) to take a service's turn")
	}
	now := d.now()
	// One that waited for its window also reads the executions of its service
	// that started after it and deployed, however long ago they ended.
	var since time.Time
	if me.waitedForWindow() {
		since = me.Start
	}
	read, err := d.decideHeld(q.ctx, s.Execution, me, now, time.Duration(t.DuplicateWindowSeconds)*time.Second, since)
	if err != nil {
		return q.waitIfThrottled(d, s, err)
	}
	dec := read.dec
	t.Throttled = 0
	t.Decision, t.WaitingFor, t.SupersededBy, t.DuplicateOf, t.WaitSeconds, t.Note = dec.Kind, "", "", "", 0, read.note
	if dec.Kind == TurnGo {
		if waits, err := d.regate(q.ctx, &s, me, now); err != nil || waits {
			if err != nil {
				return q.waitIfThrottled(d, s, err)
			}
			return s, nil
		}
		held, err := d.guardAtTurn(q.ctx, &s, now)
		if err != nil {
			return q.waitIfThrottled(d, s, err)
		}
		if held {
			return s, nil
		}
		if waits, err := d.waitForECS(q.ctx, &s, me, now); err != nil || waits {
			if executions.Denied(err) {
				return s, d.deniedAtTurn(q.ctx, s, err)
			}
			if err != nil {
				return q.waitIfThrottled(d, s, err)
			}
			return s, nil
		}
	}
	err = d.applyTurn(ctx, &s, me, dec, read.turns, now)
	return s, err
}

// queueRead bounds the queue's reads. They may be throttled
// (ListExecutions: 5/s for the account, DescribeExecution 15/s, and many
// executions starting at once): the SDK retries, and what the reads could
// not finish within queueReadBudget (or before the function's own time runs
// out) becomes a WAIT, not a failure. The execution then waits in a Wait
// state, which costs nothing, rather than in a Lambda that holds one of the
// account's concurrent executions; the warm instance keeps what it read, so
// the next check goes further.
type queueRead struct {
	parent, ctx context.Context
	cancel      context.CancelFunc
}

func newQueueRead(ctx context.Context) queueRead {
	readBy := time.Now().Add(queueReadBudget)
	if deadline, ok := ctx.Deadline(); ok && deadline.Add(-queueReadMargin).Before(readBy) {
		readBy = deadline.Add(-queueReadMargin)
	}
	qctx, cancel := context.WithDeadline(ctx, readBy)
	return queueRead{parent: ctx, ctx: qctx, cancel: cancel}
}

// throttled says a read failed for throttling: a code the SDK's retryer
// itself takes as throttling (ThrottlingException; DynamoDB's
// ProvisionedThroughputExceeded…), or the read budget ran out.
func (q queueRead) throttled(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
			return true
		}
	}
	return q.ctx.Err() != nil && q.parent.Err() == nil
}

// waitIfThrottled turns a throttled read into a WAIT, spread out with
// ThrottledWait; any other error is the step's error.
func (q queueRead) waitIfThrottled(d *Deployer, s State, err error) (State, error) {
	if !q.throttled(err) {
		return s, err
	}
	t := &s.Turn
	t.Throttled++
	t.Decision, t.WaitingFor, t.WaitSeconds = TurnWait, "", ThrottledWait(t.PollSeconds, t.Throttled, rand.Float64())
	t.Reason = fmt.Sprintf("could not read the queue in time (Step Functions throttled its reads: %v); checks again in %d s", err, t.WaitSeconds)
	d.log().WarnContext(q.parent, "queue read throttled", "execution", s.Execution.ID, "error", err)
	return s, nil
}

// deniedAtTurn judges an AccessDenied on the target's own service at the
// turn. A stack update replaces the policies before CloudFormation
// publishes the new outputs, so the deployment that removed this target
// (or changed its services) can deny the read of the service after
// CheckTurn read the old outputs: the outputs are read again, and a target
// gone ends TargetRemoved, as regate ends it. A target still published
// keeps the denial: a permission is missing.
func (d *Deployer) deniedAtTurn(ctx context.Context, s State, denied error) error {
	live, err := d.liveTargets(ctx)
	if err != nil {
		return errors.Join(denied, fmt.Errorf("read the stack's targets again: %w", err))
	}
	target, found := live.ByEnvironment(s.Environment)
	if _, err := Regate(s, target, found, d.now()); err != nil {
		return err
	}
	return denied
}

// self reads this execution as the queue sees it. The queue orders by the
// start time Step Functions lists, so it reads its own from the same
// source. waiting says the step has decided to WAIT already: Step Functions
// does not describe it yet, its reads were throttled, or it lets others
// that started with it be listed first (SettleSeconds).
func (d *Deployer) self(q queueRead, s *State) (Candidate, bool, error) {
	t := &s.Turn
	e, err := d.executions(s.Execution.StateMachine).Reread(q.ctx, s.Execution.ID)
	switch {
	case executions.Gone(err):
		// "This operation is eventually consistent. The results are best
		// effort and may not reflect very recent updates and changes"
		// (DescribeExecution): a moment after the start it may not know
		// this very execution yet.
		t.Decision, t.WaitingFor, t.WaitSeconds = TurnWait, "", notYetVisibleWait
		t.Reason = "Step Functions does not describe this execution yet (its reads are eventually consistent); checks again"
		return Candidate{}, true, nil
	case err != nil:
		waited, err := q.waitIfThrottled(d, *s, err)
		*s = waited
		return Candidate{}, err == nil, err
	}
	if wait := time.Duration(t.SettleSeconds)*time.Second - d.now().Sub(e.Start); wait > 0 {
		t.Decision, t.Reason, t.WaitSeconds = TurnWait, "letting other executions that started at the same time be listed", int(math.Ceil(wait.Seconds()))
		return Candidate{}, true, nil
	}
	me := Candidate{Name: s.Execution.Name, Start: e.Start, Ready: e.Start, Status: "RUNNING", Services: d.serviceKeys(d.placeOf(*s), s.Cluster, s.ServiceNames())}
	if w := s.Window; w != nil && w.WaitUntil != nil {
		me.Ready = *w.WaitUntil
	}
	if s.Trigger.Type == "push" || s.Rollback != nil {
		me.Key = fmt.Sprintf("%s:%s@%s", s.Image.Repository, s.Image.Tag, s.Image.Digest)
	}
	return me, false, nil
}

// applyTurn acts on the decision: GO takes the turns (a lost conditional
// write WAITs), WAIT ends in QueueTimedOut past the work span, and every
// decision says why in Reason.
func (d *Deployer) applyTurn(ctx context.Context, s *State, me Candidate, dec TurnDecision, turns []held, now time.Time) error {
	t := &s.Turn
	switch dec.Kind {
	case TurnGo:
		took, err := d.takeTurns(ctx, s.Execution, turns, now)
		if err != nil {
			return err
		}
		if !took {
			t.Decision, t.WaitSeconds = TurnWait, t.PollSeconds
			t.Reason = "another execution took the turn of " + me.label() + " a moment ago; checks again"
			d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "service", me.label(), "decision", TurnWait, "reason", "turn taken")
			return nil
		}
		t.Reason = "no other deployment of " + me.label() + " is running"
		if t.Note != "" {
			t.Reason += "; " + t.Note
		}
		if g := t.Guard; g != nil {
			t.Reason += "; promotion guard " + g.Verdict + ": " + g.Reason
		}
		s.Phases.QueueSeconds = seconds(s.Execution.StartTime, now)
		s.Deployment.NotBefore = ptrTime(now)
	case TurnWait:
		if err := d.queueTimedOut(*s, me, "execution "+dec.Other, now); err != nil {
			return err
		}
		t.WaitingFor, t.WaitSeconds = dec.Other, s.queueWaitSeconds(now)
		t.Reason = "execution " + dec.Other + " is deploying " + me.label()
	case TurnSuperseded:
		t.SupersededBy = dec.Other
		t.Reason = "a newer execution, " + dec.Other + ", is waiting to deploy " + me.label() + "; only the newest waits, so this one deploys nothing"
	case TurnDuplicate:
		t.DuplicateOf = dec.Other
		t.Reason = "execution " + dec.Other + " already deploys (or just deployed) " + me.Key + "; this one deploys nothing"
	}
	d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "service", me.label(), "decision", dec.Kind, "other", dec.Other)
	return nil
}

// queueTimedOut ends a wait (for other: "execution …", "ECS service
// deployment …") that would leave too little of the work span for this
// execution's own migration and deployment.
func (d *Deployer) queueTimedOut(s State, me Candidate, other string, now time.Time) error {
	span := time.Duration(s.Turn.SpanSeconds) * time.Second
	if target, ok := d.Config.ByEnvironment(s.Environment); span == 0 && ok {
		span = target.TurnSpan() // an execution started before SpanSeconds
	}
	if span == 0 || s.workStart().IsZero() {
		return nil
	}
	if left := WorkSpan - span; now.Sub(s.workStart()) > left {
		return waitedPastWorkSpan(now.Sub(s.workStart()).Round(time.Second), other, me.label(), left.Round(time.Minute), WorkSpan, s.Environment)
	}
	return nil
}
