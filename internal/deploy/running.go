package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// Running is a running execution as its latest history events tell it: its
// state and, if it is parked in a wait, the wait.
type Running struct {
	ARN    string
	State  State
	Parked *Parked
}

// LatestState reads an execution's state from its latest history events, and
// the wait it is parked in, if it is; ok is false for one that has ended
// (ListExecutions, eventually consistent, may still list it RUNNING).
func LatestState(ctx context.Context, api executions.HistoryReader, arn string) (Running, bool, error) {
	events, err := executions.LatestEvents(ctx, api, arn, 5)
	if err != nil {
		return Running{}, false, fmt.Errorf("read the history of %s: %w", arn, err)
	}
	if Ended(events) {
		return Running{}, false, nil
	}
	if p, ok := ParkedFrom(arn, events); ok {
		return Running{ARN: arn, State: p.State, Parked: &p}, true, nil
	}
	st, ok := executions.Latest[State](events)
	return Running{ARN: arn, State: st}, ok, nil
}

// LastState reads an execution's latest state document from its latest
// history events, whether it runs or ended: a failed execution has no
// output, and the state its Fail state entered with is its last.
func LastState(ctx context.Context, api executions.HistoryReader, arn string) (State, bool, error) {
	events, err := executions.LatestEvents(ctx, api, arn, 5)
	if err != nil {
		return State{}, false, fmt.Errorf("read the history of %s: %w", arn, err)
	}
	st, ok := executions.Latest[State](events)
	return st, ok, nil
}

// FindRunning finds the first running execution (newest first) whose latest
// state and wait match; nil: none.
func FindRunning(ctx context.Context, api executions.HistoryReader, r *executions.Reader, match func(State, *Parked) bool) (*Running, error) {
	var found *Running
	err := r.List(ctx, executions.Query{Status: sfntypes.ExecutionStatusRunning}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		run, ok, err := LatestState(ctx, api, aws.ToString(ex.ExecutionArn))
		if err != nil || !ok || !match(run.State, run.Parked) {
			return err != nil, err
		}
		found = &run
		return true, nil
	})
	return found, err
}

// Ended says the latest history events (newest first) end the execution.
func Ended(newestFirst []sfntypes.HistoryEvent) bool {
	if len(newestFirst) == 0 {
		return false
	}
	switch newestFirst[0].Type {
	case sfntypes.HistoryEventTypeExecutionSucceeded, sfntypes.HistoryEventTypeExecutionFailed,
		sfntypes.HistoryEventTypeExecutionAborted, sfntypes.HistoryEventTypeExecutionTimedOut:
		return true
	}
	return false
}
