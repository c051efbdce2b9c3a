package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// The queue read: which executions CheckTurn lists and describes, and how
// it turns them into Candidates for DecideTurn.

// servicesOf is the queue's name of each service: "cluster/service".
func servicesOf(cluster string, services []string) []string {
	out := make([]string, len(services))
	for i, svc := range services {
		out[i] = cluster + "/" + svc
	}
	return out
}

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
func (d *Deployer) listCandidates(ctx context.Context, r *executions.Reader, me string, now time.Time, window time.Duration, since time.Time) (running, succeeded []sfntypes.ExecutionListItem, err error) {
	err = r.List(ctx, executions.Query{Status: sfntypes.ExecutionStatusRunning, PageSize: listPage}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		if aws.ToString(ex.Name) != me {
			running = append(running, ex)
		}
		return false, nil
	})
	if err != nil || (window == 0 && since.IsZero()) {
		return running, nil, err
	}
	// Executions are listed by start time, newest first, not by stop time:
	// one that stopped within the window started within the window plus
	// the longest an execution can run, and the listing stops past that.
	longest := d.longestExecution()
	err = r.List(ctx, executions.Query{Status: sfntypes.ExecutionStatusSucceeded, PageSize: listPage}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		started := aws.ToTime(ex.StartDate)
		afterSince := !since.IsZero() && started.After(since)
		if now.Sub(started) > window+longest && !afterSince {
			return true, nil
		}
		if now.Sub(aws.ToTime(ex.StopDate)) <= window || afterSince {
			succeeded = append(succeeded, ex)
		}
		return false, nil
	})
	return running, succeeded, err
}

// describeCandidates describes listed executions (a warm instance from its
// cache) into candidates, leaving out those that deploy nothing.
func (d *Deployer) describeCandidates(ctx context.Context, r *executions.Reader, items []sfntypes.ExecutionListItem) ([]Candidate, error) {
	var out []Candidate
	for _, ex := range items {
		c, ok, err := d.candidate(ctx, r, ex)
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
func (d *Deployer) decide(ctx context.Context, r *executions.Reader, me Candidate, now time.Time, window time.Duration, since time.Time, holders []Candidate) (TurnDecision, error) {
	running, succeeded, err := d.listCandidates(ctx, r, me.Name, now, window, since)
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
	others, err := d.describeCandidates(ctx, r, append(older, succeeded...))
	if err != nil {
		return TurnDecision{}, err
	}
	others = withHolders(others, holders)
	dec, err := d.confirmWait(ctx, r, me, others, arns, now, window)
	if err != nil || (dec.Kind != TurnWait && !me.waitedForWindow()) {
		return dec, err
	}
	more, err := d.describeCandidates(ctx, r, newer)
	if err != nil {
		return TurnDecision{}, err
	}
	return d.confirmWait(ctx, r, me, withHolders(append(others, more...), holders), arns, now, window)
}

// confirmWait decides, and before it waits for a listed execution reads
// that execution's status again (DescribeExecution): ListExecutions lags,
// so one that ended a moment ago may still be listed RUNNING. An ended
// status is never stale, so it wins; a RUNNING one waits as listed.
func (d *Deployer) confirmWait(ctx context.Context, r *executions.Reader, me Candidate, cands []Candidate, arns map[string]*string, now time.Time, window time.Duration) (TurnDecision, error) {
	cands = slices.Clone(cands)
	read := map[string]bool{}
	for {
		dec := DecideTurn(me, cands, now, window)
		i := slices.IndexFunc(cands, func(c Candidate) bool { return c.Name == dec.Other && c.Status == "RUNNING" })
		if dec.Kind != TurnWait || i < 0 || arns[dec.Other] == nil || read[dec.Other] {
			return dec, nil
		}
		read[dec.Other] = true
		e, info, err := d.reread(ctx, r, arns[dec.Other])
		if err != nil {
			return TurnDecision{}, err
		}
		if e.Status == sfntypes.ExecutionStatusRunning {
			return dec, nil
		}
		cands[i].Status, cands[i].Stop, cands[i].Deployed = string(e.Status), e.Stop, info.final && info.deployed
	}
}

// reread describes an execution now, whatever the cache holds (its status
// may have changed).
func (d *Deployer) reread(ctx context.Context, r *executions.Reader, arn *string) (executions.Execution, described, error) {
	e, err := r.Reread(ctx, aws.ToString(arn))
	if err != nil {
		return executions.Execution{}, described{}, err
	}
	return e, describe(d, e, e.Status == sfntypes.ExecutionStatusSucceeded), nil
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
		if env, ok := executions.EnvironmentOfName(aws.ToString(ex.Name)); ok {
			if t, known := d.Config.ByEnvironment(env); known && !shares(me, Candidate{Services: d.serviceKeys(t.PlaceIn(d.home()), t.Cluster, t.ServiceNames())}) {
				continue
			}
		}
		out = append(out, ex)
	}
	return out
}

// described is what CheckTurn reads from an execution's input (and, once
// it succeeded, its output).
type described struct {
	ok              bool // a valid input with a configured target
	services        []string
	key             string
	final, deployed bool // read while SUCCEEDED, and whether it deployed
	// windows are its target's deployment windows, unless its start
	// overrode them.
	windows config.Windows
}

// candidate reads a listed execution: its input (never changes, so from
// the Reader's cache) and, for a SUCCEEDED one, its final output.
func (d *Deployer) candidate(ctx context.Context, r *executions.Reader, ex sfntypes.ExecutionListItem) (Candidate, bool, error) {
	arn := aws.ToString(ex.ExecutionArn)
	succeeded := ex.Status == sfntypes.ExecutionStatusSucceeded
	read := r.Input
	if succeeded {
		read = r.Describe
	}
	e, err := read(ctx, arn)
	if err != nil {
		return Candidate{}, false, err
	}
	info := describe(d, e, succeeded)
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

func describe(d *Deployer, e executions.Execution, succeeded bool) described {
	req, err := ParseInput(json.RawMessage(e.Input))
	if err != nil {
		return described{}
	}
	target, err := d.lookup(req)
	if err != nil {
		return described{}
	}
	info := described{ok: true, services: d.serviceKeys(target.PlaceIn(d.home()), target.Cluster, target.ServiceNames()), final: succeeded}
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
	if out, ok := executions.Decode[State](e.Output); succeeded && ok {
		info.deployed = out.Deployment.Done
	}
	return info
}
