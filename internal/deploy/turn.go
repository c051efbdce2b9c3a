package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// SFNAPI is the part of Step Functions CheckTurn reads.
type SFNAPI interface {
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// Turn decisions.
const (
	TurnGo         = "GO"
	TurnWait       = "WAIT"
	TurnSuperseded = "SUPERSEDED"
	TurnDuplicate  = "DUPLICATE"
)

// Candidate is an execution as the queue sees it.
type Candidate struct {
	Name   string
	Start  time.Time
	Status string // RUNNING or SUCCEEDED
	Stop   time.Time
	// Services are "cluster/service" for each service it deploys.
	Services []string
	// Key is "repository:tag@digest" for a push, and for a rollback (the
	// tag it moves back); empty for a manual start, which is deliberate and
	// never a duplicate.
	Key string
	// Deployed says a SUCCEEDED execution did deploy: one that ended as
	// Superseded or Duplicate succeeded without deploying anything.
	Deployed bool
	// Ready is when it may take its turn: when its deployment window opens
	// if it started outside one (WaitingForWindow), else its start.
	Ready time.Time
}

// waitsForWindow says a candidate is still in WaitingForWindow at now.
func (c Candidate) waitsForWindow(now time.Time) bool { return c.Ready.After(now) }

// waitedForWindow says a candidate started outside its window and waited.
func (c Candidate) waitedForWindow() bool { return c.Ready.After(c.Start) }

// shares says two executions deploy a service in common: they queue.
func shares(a, b Candidate) bool {
	return slices.ContainsFunc(a.Services, func(s string) bool { return slices.Contains(b.Services, s) })
}

// covers says a deploys every service b does: a newer a supersedes b.
func covers(a, b Candidate) bool {
	return !slices.ContainsFunc(b.Services, func(s string) bool { return !slices.Contains(a.Services, s) })
}

// label names the services for people.
func (c Candidate) label() string { return strings.Join(c.Services, ", ") }

// before is the queue order: start time, then name, so that two executions
// started in the same millisecond still have one order everybody agrees on.
func before(a, b Candidate) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	return a.Name < b.Name
}

// TurnDecision is what CheckTurn concludes.
type TurnDecision struct {
	Kind string
	// Other is the execution waited for, the newer one that supersedes, or
	// the one this duplicates.
	Other string
}

// DecideTurn is the queue's rule for one execution, given the others of the
// state machine (RUNNING ones, and SUCCEEDED ones for duplicates):
//
//  1. A push whose repository:tag@digest another push is already deploying
//     (RUNNING and earlier), or deployed within the window with nothing else
//     deployed to the service since, is a DUPLICATE.
//  2. With no RUNNING execution of the same service ahead of it, it is its
//     turn (GO). The turn lasts while the execution runs; its end, however it
//     ends, hands the turn on.
//  3. A waiting execution with a newer one of the same service behind it is
//     SUPERSEDED: only the newest waits. Duplicates behind it do not count.
//  4. Otherwise it waits for the one ahead (WAIT).
//
// Deployment windows: an execution still waiting for its window is not in
// the queue yet (neither ahead of nor behind anyone). One that waited for
// its window is SUPERSEDED when an execution of its service that started
// after it is running or has deployed: only the newest deploys, and the
// waiter's image is older.
func DecideTurn(me Candidate, others []Candidate, now time.Time, window time.Duration) TurnDecision {
	all := append([]Candidate{me}, others...)
	sort.SliceStable(all, func(i, j int) bool { return before(all[i], all[j]) })
	if dup, ok := duplicateOf(me, all, now, window); ok {
		return TurnDecision{Kind: TurnDuplicate, Other: dup}
	}
	if me.waitedForWindow() {
		for i := len(all) - 1; i >= 0; i-- {
			o := all[i]
			if o.Name == me.Name || !covers(o, me) || !before(me, o) {
				continue
			}
			if _, dup := duplicateOf(o, all, now, window); dup && o.Status == "RUNNING" {
				continue // it ends as a duplicate, of me or another
			}
			if (o.Status == "RUNNING" && !o.waitsForWindow(now)) || (o.Status == "SUCCEEDED" && o.Deployed) {
				return TurnDecision{Kind: TurnSuperseded, Other: o.Name}
			}
		}
	}
	var ahead, behind []Candidate
	for _, o := range all {
		if o.Name == me.Name || o.Status != "RUNNING" || !shares(o, me) || o.waitsForWindow(now) {
			continue
		}
		if before(o, me) {
			ahead = append(ahead, o)
		} else if _, dup := duplicateOf(o, all, now, window); !dup && covers(o, me) {
			behind = append(behind, o)
		}
	}
	switch {
	case len(ahead) == 0:
		return TurnDecision{Kind: TurnGo}
	case len(behind) > 0:
		return TurnDecision{Kind: TurnSuperseded, Other: behind[len(behind)-1].Name}
	default:
		return TurnDecision{Kind: TurnWait, Other: ahead[0].Name}
	}
}

func duplicateOf(c Candidate, all []Candidate, now time.Time, window time.Duration) (string, bool) {
	if c.Key == "" {
		return "", false
	}
	for _, o := range all {
		if o.Name == c.Name || o.Key != c.Key {
			continue
		}
		if o.Status == "RUNNING" && before(o, c) {
			return o.Name, true
		}
		if o.Status == "SUCCEEDED" && o.Deployed && now.Sub(o.Stop) <= window && !deployedSince(o, all) {
			return o.Name, true
		}
	}
	return "", false
}

// deployedSince says another execution deployed to o's service after o did:
// promoting an older image back is then a deployment, not a duplicate.
func deployedSince(o Candidate, all []Candidate) bool {
	for _, x := range all {
		if x.Name != o.Name && shares(x, o) && x.Status == "SUCCEEDED" && x.Deployed && x.Key != o.Key && x.Stop.After(o.Stop) {
			return true
		}
	}
	return false
}

// notYetVisibleWait is how long CheckTurn waits when DescribeExecution does
// not know its own execution yet.
const notYetVisibleWait = 2

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
func (d *Deployer) CheckTurn(ctx context.Context, s State) (State, error) {
	t := &s.Turn
	t.Checks++
	// Reading the queue may be throttled (ListExecutions: 5/s for the
	// account, DescribeExecution 15/s, and many executions starting at once):
	// the SDK retries, and what the reads could not finish within
	// queueReadBudget (or before the function's own time runs out) becomes a
	// WAIT, not a failure. The execution then waits in a Wait state, which
	// costs nothing, rather than in a Lambda that holds one of the account's
	// concurrent executions; the warm instance keeps what it read, so the
	// next check goes further.
	readBy := time.Now().Add(queueReadBudget)
	if deadline, ok := ctx.Deadline(); ok && deadline.Add(-queueReadMargin).Before(readBy) {
		readBy = deadline.Add(-queueReadMargin)
	}
	qctx, cancel := context.WithDeadline(ctx, readBy)
	defer cancel()
	throttled := func(err error) bool {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			// The codes the SDK's retryer itself takes as throttling
			// (ThrottlingException; DynamoDB's ProvisionedThroughputExceeded…).
			if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
				return true
			}
		}
		return qctx.Err() != nil && ctx.Err() == nil
	}
	waitThrottled := func(err error) (State, error) {
		t.Throttled++
		t.Decision, t.WaitingFor, t.WaitSeconds = TurnWait, "", ThrottledWait(t.PollSeconds, t.Throttled, rand.Float64())
		t.Reason = fmt.Sprintf("could not read the queue in time (Step Functions throttled its reads: %v); checks again in %d s", err, t.WaitSeconds)
		d.log().WarnContext(ctx, "queue read throttled", "execution", s.Execution.ID, "error", err)
		return s, nil
	}
	// The queue orders by the start time Step Functions lists, so read our own
	// from the same source.
	self, err := d.SFN.DescribeExecution(qctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(s.Execution.ID)})
	if gone(err) {
		// "This operation is eventually consistent. The results are best
		// effort and may not reflect very recent updates and changes"
		// (DescribeExecution): a moment after the start it may not know
		// this very execution yet.
		t.Decision, t.WaitingFor, t.WaitSeconds = TurnWait, "", notYetVisibleWait
		t.Reason = "Step Functions does not describe this execution yet (its reads are eventually consistent); checks again"
		return s, nil
	}
	if err != nil {
		if throttled(err) {
			return waitThrottled(err)
		}
		return s, fmt.Errorf("describe this execution: %w", err)
	}
	start := aws.ToTime(self.StartDate)
	now := d.now()
	if wait := time.Duration(t.SettleSeconds)*time.Second - now.Sub(start); wait > 0 {
		t.Decision, t.Reason, t.WaitSeconds = TurnWait, "letting other executions that started at the same time be listed", int(math.Ceil(wait.Seconds()))
		return s, nil
	}
	me := Candidate{Name: s.Execution.Name, Start: start, Ready: start, Status: "RUNNING", Services: servicesOf(s.Cluster, s.ServiceNames())}
	if w := s.Window; w != nil && w.WaitUntil != nil {
		me.Ready = *w.WaitUntil
	}
	if s.Trigger.Type == "push" || s.Rollback != nil {
		me.Key = fmt.Sprintf("%s:%s@%s", s.Image.Repository, s.Image.Tag, s.Image.Digest)
	}
	// One that waited for its window also reads the executions of its service
	// that started after it and deployed, however long ago they ended.
	var since time.Time
	if me.waitedForWindow() {
		since = start
	}
	if d.Turns == nil || d.TurnsTable == "" {
		return s, errors.New("CheckTurn needs the turns table (TURNS_TABLE) to take a service's turn")
	}
	dec, turns, err := d.decideHeld(qctx, s.Execution, me, now, time.Duration(t.DuplicateWindowSeconds)*time.Second, since)
	if err != nil {
		if throttled(err) {
			return waitThrottled(err)
		}
		return s, err
	}
	t.Throttled = 0
	t.Decision, t.WaitingFor, t.SupersededBy, t.DuplicateOf, t.WaitSeconds = dec.Kind, "", "", "", 0
	if dec.Kind == TurnGo && t.Requires != "" && (t.Guard == nil || t.Guard.Verdict == GuardWaiting) {
		g, err := d.checkGuard(ctx, s, now)
		if err != nil {
			return s, err
		}
		t.Guard = &g
		if g.Verdict == GuardWaiting {
			t.Decision, t.Reason, t.WaitSeconds = TurnWait, "promotion guard: "+g.Reason, t.PollSeconds
			d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "decision", TurnWait, "guard", g.Reason)
			return s, nil
		}
	}
	switch dec.Kind {
	case TurnGo:
		took, err := d.takeTurns(ctx, s.Execution, turns, now)
		if err != nil {
			return s, err
		}
		if !took {
			t.Decision, t.WaitSeconds = TurnWait, t.PollSeconds
			t.Reason = "another execution took the turn of " + me.label() + " a moment ago; checks again"
			d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "service", me.label(), "decision", TurnWait, "reason", "turn taken")
			return s, nil
		}
		t.Reason = "no other deployment of " + me.label() + " is running"
		if g := t.Guard; g != nil {
			t.Reason += "; promotion guard " + g.Verdict + ": " + g.Reason
		}
		s.Phases.QueueSeconds = seconds(s.Execution.StartTime, now)
		s.Deployment.NotBefore = ptrTime(now)
	case TurnWait:
		// Waiting longer would leave too little of the work span for this
		// execution's own migration and deployment.
		if target, ok := d.Config.ByEnvironment(s.Environment); ok && !s.workStart().IsZero() {
			if left := WorkSpan - target.TurnSpan(); now.Sub(s.workStart()) > left {
				return s, &QueueTimedOut{newf("Waited %s for execution %s, which is deploying %s, past the %s this execution may wait (%s of work, less what its own approval, migration and deployment may take): nothing ran. Check that execution (deployer status %s), then start this one again.",
					now.Sub(s.workStart()).Round(time.Second), dec.Other, me.label(), left.Round(time.Minute), WorkSpan, s.Environment)}
			}
		}
		t.WaitingFor, t.WaitSeconds = dec.Other, t.PollSeconds
		t.Reason = "execution " + dec.Other + " is deploying " + me.label()
	case TurnSuperseded:
		t.SupersededBy = dec.Other
		t.Reason = "a newer execution, " + dec.Other + ", is waiting to deploy " + me.label() + "; only the newest waits, so this one deploys nothing"
	case TurnDuplicate:
		t.DuplicateOf = dec.Other
		t.Reason = "execution " + dec.Other + " already deploys (or just deployed) " + me.Key + "; this one deploys nothing"
	}
	d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "service", me.label(), "decision", dec.Kind, "other", dec.Other)
	return s, nil
}

// servicesOf is the queue's name of each service: "cluster/service".
func servicesOf(cluster string, services []string) []string {
	out := make([]string, len(services))
	for i, svc := range services {
		out[i] = cluster + "/" + svc
	}
	return out
}

// MaxWindowWait is the longest an execution waits for a deployment window:
// windows are weekly, so the next one opens within a week.
const MaxWindowWait = 7 * 24 * time.Hour

// WorkSpan is how long an execution's work may last once it may begin (its
// window opened, or it started): queue, approval, migration and deployment.
const WorkSpan = config.WorkSpan

// MaxExecution is the state machine's overall timeout (TimeoutSeconds in
// deployer.asl.json): no execution runs longer.
const MaxExecution = MaxWindowWait + WorkSpan

// ThrottledWait is how long a check that could not read the queue waits
// before the next: the poll interval, doubled with each such check in a row
// up to maxThrottledWait, plus up to half of it again at random (r in
// [0,1)). Many executions started at once and throttled together then
// spread their next reads out instead of coming back together.
func ThrottledWait(pollSeconds, inARow int, r float64) int {
	base := max(pollSeconds, 1)
	for i := 1; i < inARow && base < maxThrottledWait; i++ {
		base *= 2
	}
	base = min(base, maxThrottledWait)
	return base + int(r*float64(base)/2)
}

// maxThrottledWait bounds ThrottledWait's doubling, in seconds.
const maxThrottledWait = 240

// queueReadMargin is the time CheckTurn keeps, before its function's
// timeout, to answer WAIT when throttled reads have not finished.
const queueReadMargin = 10 * time.Second

// queueReadBudget is how long one check reads the queue before a throttled
// read becomes a WAIT: a few of the SDK's retries (jittered, exponential).
// With 1,000 executions starting at once, checks that rode throttling out
// for the function's whole minute held up to 1,000 Lambdas at a time.
const queueReadBudget = 5 * time.Second

// listPage is ListExecutions' largest page ("maxResults … 1000"): with
// many executions running, each check reads them in a tenth of the calls.
const listPage = 1000

// longestExecution is the longest an execution of this configuration can
// run: its work span, and a week more if a target waits for deployment
// windows.
func (d *Deployer) longestExecution() time.Duration {
	for _, t := range d.Config.Targets() {
		if len(t.Windows) > 0 {
			return MaxExecution
		}
	}
	return WorkSpan
}

// listCandidates lists the other RUNNING executions and the SUCCEEDED ones
// candidates reads, without describing them.
func (d *Deployer) listCandidates(ctx context.Context, stateMachine, me string, now time.Time, window time.Duration, since time.Time) (running, succeeded []sfntypes.ExecutionListItem, err error) {
	pages := sfn.NewListExecutionsPaginator(d.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachine),
		StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: listPage})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list running executions: %w", err)
		}
		for _, ex := range page.Executions {
			if aws.ToString(ex.Name) != me {
				running = append(running, ex)
			}
		}
	}
	if window == 0 && since.IsZero() {
		return running, nil, nil
	}
	// Executions are listed by start time, newest first, not by stop time:
	// one that stopped within the window started within the window plus
	// the longest an execution can run, and the listing stops past that.
	longest := d.longestExecution()
	pages = sfn.NewListExecutionsPaginator(d.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachine),
		StatusFilter: sfntypes.ExecutionStatusSucceeded, MaxResults: listPage})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list succeeded executions: %w", err)
		}
		for _, ex := range page.Executions {
			started := aws.ToTime(ex.StartDate)
			afterSince := !since.IsZero() && started.After(since)
			if now.Sub(started) > window+longest && !afterSince {
				return running, succeeded, nil
			}
			if now.Sub(aws.ToTime(ex.StopDate)) > window && !afterSince {
				continue
			}
			succeeded = append(succeeded, ex)
		}
	}
	return running, succeeded, nil
}

// describeCandidates describes listed executions (a warm instance from its
// cache) into candidates, leaving out those that deploy nothing.
func (d *Deployer) describeCandidates(ctx context.Context, items []sfntypes.ExecutionListItem) ([]Candidate, error) {
	var out []Candidate
	for _, ex := range items {
		c, ok, err := d.candidate(ctx, ex)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// decide runs DecideTurn, describing no more executions than the decision
// needs: the RUNNING ones that started before this one and the SUCCEEDED
// ones decide GO, DUPLICATE and who is ahead; the RUNNING ones that started
// after it matter only when it would wait (one of them may supersede it) or
// when it waited for its window. With many executions started at once, each
// first check describes half as many on average (DescribeExecution: 15/s).
//
// holders are the executions the turns table names (withHolders).
func (d *Deployer) decide(ctx context.Context, stateMachine string, me Candidate, now time.Time, window time.Duration, since time.Time, holders []Candidate) (TurnDecision, error) {
	running, succeeded, err := d.listCandidates(ctx, stateMachine, me.Name, now, window, since)
	if err != nil {
		return TurnDecision{}, err
	}
	running, succeeded = d.mayShare(me, running), d.mayShare(me, succeeded)
	var older, newer []sfntypes.ExecutionListItem
	for _, ex := range running {
		if before(Candidate{Name: aws.ToString(ex.Name), Start: aws.ToTime(ex.StartDate)}, me) {
			older = append(older, ex)
		} else {
			newer = append(newer, ex)
		}
	}
	arns := map[string]*string{}
	for _, ex := range running {
		arns[aws.ToString(ex.Name)] = ex.ExecutionArn
	}
	others, err := d.describeCandidates(ctx, append(older, succeeded...))
	if err != nil {
		return TurnDecision{}, err
	}
	others = withHolders(others, holders)
	dec, err := d.confirmWait(ctx, me, others, arns, now, window)
	if err != nil || (dec.Kind != TurnWait && !me.waitedForWindow()) {
		return dec, err
	}
	more, err := d.describeCandidates(ctx, newer)
	if err != nil {
		return TurnDecision{}, err
	}
	return d.confirmWait(ctx, me, withHolders(append(others, more...), holders), arns, now, window)
}

// confirmWait decides, and before it waits for a listed execution reads
// that execution's status again (DescribeExecution): ListExecutions lags,
// so one that ended a moment ago may still be listed RUNNING. An ended
// status is never stale, so it wins; a RUNNING one waits as listed.
func (d *Deployer) confirmWait(ctx context.Context, me Candidate, cands []Candidate, arns map[string]*string, now time.Time, window time.Duration) (TurnDecision, error) {
	cands = slices.Clone(cands)
	read := map[string]bool{}
	for {
		dec := DecideTurn(me, cands, now, window)
		i := slices.IndexFunc(cands, func(c Candidate) bool { return c.Name == dec.Other && c.Status == "RUNNING" })
		if dec.Kind != TurnWait || i < 0 || arns[dec.Other] == nil || read[dec.Other] {
			return dec, nil
		}
		read[dec.Other] = true
		desc, info, err := d.reread(ctx, arns[dec.Other])
		if err != nil {
			return TurnDecision{}, fmt.Errorf("describe execution %s: %w", dec.Other, err)
		}
		if desc.Status == sfntypes.ExecutionStatusRunning {
			return dec, nil
		}
		cands[i].Status, cands[i].Stop, cands[i].Deployed = string(desc.Status), aws.ToTime(desc.StopDate), info.final && info.deployed
	}
}

// reread describes an execution now, whatever the cache holds (its status
// may have changed), and keeps what it deploys in the cache, as candidate
// does.
func (d *Deployer) reread(ctx context.Context, arn *string) (*sfn.DescribeExecutionOutput, described, error) {
	desc, err := d.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: arn})
	if err != nil {
		return nil, described{}, err
	}
	info := describe(d, desc, desc.Status == sfntypes.ExecutionStatusSucceeded)
	d.turnCache.put(aws.ToString(arn), info)
	return desc, info, nil
}

// withHolders adds the turn holders to the listed candidates. A holder
// replaces the listed execution of its name when it says that execution
// ended: both reads are eventually consistent, and an ended status is never
// stale.
func withHolders(listed, holders []Candidate) []Candidate {
	out := slices.Clone(listed)
	for _, h := range holders {
		i := slices.IndexFunc(out, func(c Candidate) bool { return c.Name == h.Name })
		switch {
		case i < 0:
			out = append(out, h)
		case h.Status != "RUNNING":
			out[i] = h
		}
	}
	return out
}

// mayShare keeps the executions that may deploy a service of me's: those
// whose name does not say an environment of this configuration (read them
// to know), and those whose environment shares a service. An execution
// ecr-deployer started is named after its environment (ExecutionName;
// ResolveTarget refuses a name that says another environment than the
// input), so with many executions running, a check reads only the few
// that concern it rather than all of them (DescribeExecution: 15 a second).
func (d *Deployer) mayShare(me Candidate, items []sfntypes.ExecutionListItem) []sfntypes.ExecutionListItem {
	var out []sfntypes.ExecutionListItem
	for _, ex := range items {
		if env, ok := EnvironmentOfName(aws.ToString(ex.Name)); ok {
			if t, known := d.Config.ByEnvironment(env); known && !shares(me, Candidate{Services: servicesOf(t.Cluster, t.ServiceNames())}) {
				continue
			}
		}
		out = append(out, ex)
	}
	return out
}

// described is what DescribeExecution told about an execution. Its input
// never changes, nor its output once it succeeded, so a warm instance keeps
// it: with N executions queued, each check would otherwise make N calls
// (DescribeExecution is throttled at 15 a second per account and Region).
type described struct {
	ok              bool // a valid input with a configured target
	services        []string
	key             string
	final, deployed bool // read while SUCCEEDED, and whether it deployed
	// windows are its target's deployment windows, unless its start
	// overrode them.
	windows config.Windows
}

func (d *Deployer) candidate(ctx context.Context, ex sfntypes.ExecutionListItem) (Candidate, bool, error) {
	arn := aws.ToString(ex.ExecutionArn)
	succeeded := ex.Status == sfntypes.ExecutionStatusSucceeded
	info, cached := d.turnCache.get(arn)
	if !cached || (succeeded && !info.final) {
		desc, err := d.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
		if err != nil {
			return Candidate{}, false, fmt.Errorf("describe execution %s: %w", aws.ToString(ex.Name), err)
		}
		info = describe(d, desc, succeeded)
		d.turnCache.put(arn, info)
	}
	if !info.ok {
		return Candidate{}, false, nil // it ends in InvalidInput or UnknownTarget and deploys nothing
	}
	start := aws.ToTime(ex.StartDate)
	ready := start
	if open, at := info.windows.Open(start); len(info.windows) > 0 && !open {
		ready = at.UTC().Truncate(time.Second)
	}
	return Candidate{Name: aws.ToString(ex.Name), Start: start, Ready: ready, Status: string(ex.Status), Stop: aws.ToTime(ex.StopDate),
		Services: info.services, Key: info.key, Deployed: succeeded && info.deployed}, true, nil
}

func describe(d *Deployer, desc *sfn.DescribeExecutionOutput, succeeded bool) described {
	req, err := ParseInput(json.RawMessage(aws.ToString(desc.Input)))
	if err != nil {
		return described{}
	}
	target, err := d.lookup(req)
	if err != nil {
		return described{}
	}
	info := described{ok: true, services: servicesOf(target.Cluster, target.ServiceNames()), final: succeeded}
	if !req.OverrideWindow {
		info.windows = target.Windows
	}
	switch {
	case req.Trigger.Type == "push":
		info.key = fmt.Sprintf("%s:%s@%s", req.Repository, req.Tag, req.Digest)
	case req.Rollback != nil:
		// A rollback moves the tag back to its digest: the push that causes
		// is a duplicate of it.
		info.key = fmt.Sprintf("%s:%s@%s", target.Repository, target.Tag, req.Digest)
	}
	var out State
	if succeeded && json.Unmarshal([]byte(aws.ToString(desc.Output)), &out) == nil {
		info.deployed = out.Deployment.Done
	}
	return info
}
