package executions

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Document is the workflow's state document (deploy.State): IsState says a
// decoded JSON value is one, and not some other JSON (an execution's raw
// input, a Lambda's payload, a Fail state's error).
type Document[S any] interface {
	*S
	IsState() bool
}

// Decode reads a state document from JSON; ok is false for anything else.
func Decode[S any, P Document[S]](raw string) (S, bool) {
	var s S
	if raw == "" || json.Unmarshal([]byte(raw), &s) != nil || !P(&s).IsState() {
		var zero S
		return zero, false
	}
	return s, true
}

// FromEvent reads the state document an event carries: a state's input as
// it entered, its output as it exited, or the execution's output.
func FromEvent[S any, P Document[S]](ev sfntypes.HistoryEvent) (S, bool) {
	var raw string
	switch {
	case ev.StateEnteredEventDetails != nil:
		raw = aws.ToString(ev.StateEnteredEventDetails.Input)
	case ev.StateExitedEventDetails != nil:
		raw = aws.ToString(ev.StateExitedEventDetails.Output)
	case ev.ExecutionSucceededEventDetails != nil:
		raw = aws.ToString(ev.ExecutionSucceededEventDetails.Output)
	}
	return Decode[S, P](raw)
}

// Latest is the first state document in events (newest first, as
// LatestEvents reads them: the execution's latest state).
func Latest[S any, P Document[S]](events []sfntypes.HistoryEvent) (S, bool) {
	for _, ev := range events {
		if s, ok := FromEvent[S, P](ev); ok {
			return s, true
		}
	}
	var zero S
	return zero, false
}
