package statemachine

import "strings"

// HistoryLimit is the number of events at which Step Functions fails a
// Standard execution: "25,000 events in a single state machine execution
// history" (Step Functions quotas, bp-history-limit).
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
const HistoryLimit = 25000

// StateEvents is how many history events one visit of a state adds when it
// succeeds, as Step Functions records a Standard execution:
//   - a Lambda Task (function ARN as Resource): TaskStateEntered,
//     LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded
//     (or …Failed, …TimedOut), TaskStateExited;
//   - a wait for a task token: TaskStateEntered, TaskScheduled, TaskStarted,
//     TaskSubmitted, TaskSucceeded (or TaskTimedOut, TaskFailed), TaskStateExited;
//   - Choice, Wait, Pass: …StateEntered and …StateExited;
//   - Succeed, Fail: one event each (…StateEntered; the execution's end is counted apart).
//
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
func StateEvents(s State) int {
	switch {
	case s.Type == "Task" && strings.HasSuffix(s.Resource, ".waitForTaskToken"):
		return 6
	case s.Type == "Task":
		return 5
	case s.Type == "Succeed" || s.Type == "Fail":
		return 1
	default:
		return 2
	}
}

// RetryEvents is what one retry of a Lambda Task adds: another
// LambdaFunctionScheduled, …Started and …Failed.
const RetryEvents = 3

// CycleEvents is the most events one turn of a loop through the named state
// adds: the maximum, over the simple cycles of the state graph that pass
// through it (Next, Choices, Default and Catch edges), of the events of the
// states on the cycle. 0 if no cycle passes through it.
func (d Document) CycleEvents(through string) int {
	best := 0
	onPath := map[string]bool{}
	var walk func(name string, sum int)
	walk = func(name string, sum int) {
		st, ok := d.States[name]
		if !ok {
			return
		}
		sum += StateEvents(st)
		onPath[name] = true
		for _, next := range successors(st) {
			if next == through {
				best = max(best, sum)
				continue
			}
			if !onPath[next] {
				walk(next, sum)
			}
		}
		onPath[name] = false
	}
	walk(through, 0)
	return best
}

// PathEvents is the most events of a path without repeated states from
// StartAt to an end: an upper bound of everything an execution does outside
// its loops, the execution's own start and end events included.
func (d Document) PathEvents() int {
	best := 0
	onPath := map[string]bool{}
	var walk func(name string, sum int)
	walk = func(name string, sum int) {
		st, ok := d.States[name]
		if !ok || onPath[name] {
			return
		}
		sum += StateEvents(st)
		next := successors(st)
		if len(next) == 0 {
			best = max(best, sum)
			return
		}
		onPath[name] = true
		for _, n := range next {
			walk(n, sum)
		}
		onPath[name] = false
	}
	walk(d.StartAt, 0)
	return best + 2 // ExecutionStarted, and ExecutionSucceeded/Failed/TimedOut
}

// MaxRetryEvents is the most events the Retry rules of every Lambda Task on
// one visit can add: each rule's MaxAttempts retries, RetryEvents each.
func (d Document) MaxRetryEvents(state string) int {
	n := 0
	for _, r := range d.States[state].Retry {
		n += r.MaxAttempts * RetryEvents
	}
	return n
}

func successors(s State) []string {
	var out []string
	add := func(n string) {
		if n != "" {
			out = append(out, n)
		}
	}
	add(s.Next)
	add(s.Default)
	for _, c := range s.Choices {
		add(c.Next)
	}
	for _, c := range s.Catch {
		add(c.Next)
	}
	return out
}
