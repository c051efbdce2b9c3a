package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// The target read again at GO. An execution may wait for hours or days
// (a deployment window, the queue, a paused holder) while the stack is
// deployed again with another targets.json. Before anything runs, CheckTurn
// reads the execution's target in the configuration the function has now:
//
//   - removed, or deploying other services: the execution ends in
//     TargetRemoved, nothing ran (its IAM and wake rules may be gone);
//   - gates added or tightened (an approval, a requires, a deployment
//     window): they apply, whatever the execution started with. A window
//     is read again only when targets.json changed it: as at the start, a
//     window is checked once, and one that closes while the execution
//     queues does not stop it. A changed window that is closed now is
//     waited for, checking every windowRecheck, unless it opens too late
//     for the work the execution may still do (QueueTimedOut at once);
//   - gates removed or loosened: the execution keeps those it started with
//     (a gate is never dropped mid-flight);
//   - the budget (Turn.SpanSeconds: its approval, migration and deployment
//     time) is the one it started with.

// Regated is what the configuration read at GO changes.
type Regated struct {
	// Approval is the gate to add (nil: none added).
	Approval *Approval
	// Requires is the promotion guard's environment to apply, when it changed.
	Requires            string
	RequiresWaitSeconds int
	// Schedule is the deployment window when targets.json changed it;
	// WindowOpens is when it opens, if it is closed now.
	Schedule    string
	WindowOpens time.Time
	// Notes say what changed, for Turn.Note.
	Notes []string
}

// placeName names an account and Region as targets.json gives them.
func placeName(account, region string) string {
	if account == "" {
		return "the deployer stack's own account and Region"
	}
	return "account " + account + ", Region " + region
}

// Regate compares what an execution started with to its target as the
// deployed stack publishes it now. It reports TargetRemoved when the target
// is gone or deploys other services.
func Regate(s State, target config.Published, found bool, now time.Time) (Regated, error) {
	services := s.ServiceNames()
	switch {
	case !found:
		return Regated{}, targetRemoved(s.Environment, "was removed from targets.json")
	case target.Cluster != s.Cluster || !slices.Equal(sorted(target.ServiceNames()), sorted(services)):
		return Regated{}, targetRemoved(s.Environment, fmt.Sprintf("now deploys %s in cluster %s, not %s in cluster %s",
			strings.Join(target.ServiceNames(), ", "), target.Cluster, strings.Join(services, ", "), s.Cluster))
	case target.Account != s.Account || target.Region != s.Region:
		// Its services are another account's or Region's now: the roles
		// this execution would act with there may be gone.
		return Regated{}, targetRemoved(s.Environment, fmt.Sprintf("now deploys in %s, not in %s", placeName(target.Account, target.Region), placeName(s.Account, s.Region)))
	}
	var r Regated
	if s.Approval == nil && target.ApprovalSeconds > 0 {
		r.Approval = newApproval(target.Environment, target.ApprovalSeconds)
		r.Notes = append(r.Notes, "targets.json now asks for an approval: it applies")
	}
	if target.Requires != "" && target.Requires != s.Turn.Requires && !s.Turn.OverrideGuard {
		r.Requires, r.RequiresWaitSeconds = target.Requires, target.RequiresWaitSeconds
		r.Notes = append(r.Notes, "targets.json now requires "+target.Requires+" first: the promotion guard applies")
	}
	overridden := s.Window != nil && s.Window.Decision == WindowOverridden
	if ws := target.Windows; len(ws) > 0 && !overridden && (s.Window == nil || s.Window.Schedule != ws.String()) {
		r.Schedule = ws.String()
		open, at := ws.Open(now)
		switch {
		case open:
			r.Notes = append(r.Notes, "targets.json's deployment window is now "+r.Schedule+": open")
		default:
			r.WindowOpens = at.UTC().Truncate(time.Second)
			r.Notes = append(r.Notes, "targets.json's deployment window is now "+r.Schedule+": closed, opens at "+r.WindowOpens.Format(time.RFC3339))
		}
	}
	return r, nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// approvalOf is the approval gate of a target.
func approvalOf(target config.Resolved) *Approval {
	if target.Approval == nil {
		return nil
	}
	return newApproval(target.Environment, int(time.Duration(target.Approval.Timeout)/time.Second))
}

func newApproval(environment string, timeoutSeconds int) *Approval {
	return &Approval{TimeoutSeconds: timeoutSeconds,
		Answer: fmt.Sprintf("deployer approve %s | deployer reject %s --reason …", environment, environment)}
}

// LiveTargets reads the targets as the deployed stack publishes them now
// (its outputs): an execution runs the functions of the release it started
// on, whose own targets.json may be older than the stack's.
type LiveTargets interface {
	Targets(ctx context.Context) (config.Targets, error)
}

// liveTargets is what regate compares with: the stack's published targets,
// or (without Live: tests, a stack without STACK_NAME) the function's own.
func (d *Deployer) liveTargets(ctx context.Context) (config.Targets, error) {
	if d.Live != nil {
		return d.Live.Targets(ctx)
	}
	var out config.Targets
	for _, t := range d.Config.Targets() {
		out = append(out, t.Published())
	}
	return out, nil
}

// regate applies Regate at GO: it adds the gates, and WAITs (reporting
// true) for a deployment window that is closed now, unless that window
// opens too late for the work the execution started with.
func (d *Deployer) regate(ctx context.Context, s *State, me Candidate, now time.Time) (bool, error) {
	live, err := d.liveTargets(ctx)
	if err != nil {
		return false, fmt.Errorf("read the stack's targets: %w", err)
	}
	target, found := live.ByEnvironment(s.Environment)
	r, err := Regate(*s, target, found, now)
	if err != nil {
		return false, err
	}
	t := &s.Turn
	if r.Approval != nil {
		s.Approval = r.Approval
	}
	if r.Requires != "" {
		t.Requires, t.RequiresWaitSeconds = r.Requires, r.RequiresWaitSeconds
	}
	t.Note = joinNotes(t.Note, strings.Join(r.Notes, "; "))
	switch {
	case r.Schedule == "":
		return false, nil
	case r.WindowOpens.IsZero():
		// Open: recorded, keeping when the execution's work began.
		w := &Window{Schedule: r.Schedule, Decision: WindowOpen, Reason: "targets.json changed the deployment window to " + r.Schedule + " while this execution waited; open at " + now.Format(time.RFC3339)}
		if s.Window != nil {
			w.WaitUntil = s.Window.WaitUntil
		}
		s.Window = w
		return false, nil
	}
	if err := d.queueTimedOut(*s, me, "the deployment window ("+r.Schedule+") to open at "+r.WindowOpens.Format(time.RFC3339), r.WindowOpens); err != nil {
		return false, err
	}
	t.Decision, t.WaitingFor = TurnWait, ""
	t.WaitSeconds = max(min(int(r.WindowOpens.Sub(now)/time.Second), windowRecheck), 1)
	t.Reason = "targets.json changed the deployment window to " + r.Schedule + " while this execution waited, and it is closed now: waits until it opens at " + r.WindowOpens.Format(time.RFC3339)
	return true, nil
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
