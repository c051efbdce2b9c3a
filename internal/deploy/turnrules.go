package deploy

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// The queue's rules: pure functions of what CheckTurn read (the listed
// executions, the turns table's holders), table-tested in turn_test.go
// and turns_test.go.

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
		if o.Status == "SUCCEEDED" && o.Deployed && now.Sub(o.Stop) < window && !deployedSince(o, all) {
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

// HeldTurn is the turns table's say on a decision the queue's list made:
//
//   - GO stands only if no other execution holding a turn of mine is still
//     running: a newer one that deploys all of my services supersedes me
//     (only the newest deploys), any other is waited for. The list may not
//     show it yet; the table does.
//   - A running holder of the same push (repository:tag@digest) makes me
//     its duplicate, whichever of us started first: one deploys it.
//   - An execution that started after me, deploys all of my services and
//     has deployed them supersedes me even though it ended: deploying now
//     would put an older image over a newer one.
//
// Any other decision stands: it holds back, and holding back is safe.
func HeldTurn(dec TurnDecision, me Candidate, holders []Candidate) TurnDecision {
	if dec.Kind != TurnGo {
		return dec
	}
	for _, h := range holders {
		newer := before(me, h) && covers(h, me)
		switch {
		case h.Name == me.Name:
		case h.Status == "RUNNING" && me.Key != "" && h.Key == me.Key:
			return TurnDecision{Kind: TurnDuplicate, Other: h.Name}
		case h.Status == "RUNNING" && newer, h.Status == "SUCCEEDED" && h.Deployed && newer:
			return TurnDecision{Kind: TurnSuperseded, Other: h.Name}
		case h.Status == "RUNNING":
			return TurnDecision{Kind: TurnWait, Other: h.Name}
		}
	}
	return dec
}
