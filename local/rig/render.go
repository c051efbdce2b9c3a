package rig

import (
	"encoding/json"
	"io"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// HistoryEvents converts aws-local-stepfunctions' event log to the events the
// history rendering reads (the same as from Step Functions' GetExecutionHistory).
func HistoryEvents(events []Event) []history.Event {
	var out []history.Event
	raw := func(r json.RawMessage) string {
		var s string
		if json.Unmarshal(r, &s) == nil {
			return s
		}
		return string(r)
	}
	for _, ev := range events {
		at := time.UnixMilli(ev.Timestamp).UTC()
		h := history.Event{At: at}
		if ev.State != nil {
			h.State, h.StateType = ev.State.Name, ev.State.Type
		}
		switch ev.Type {
		case "ExecutionStarted":
			h.Kind = "Started"
		case "ExecutionSucceeded":
			h.Kind = "Succeeded"
		case "ExecutionFailed":
			h.Kind, h.Error, h.Cause = "ExecutionFailed", ev.Error, raw(ev.Cause)
		case "StateEntered":
			h.Kind = "Entered"
			if ev.State.Type == "Task" {
				out = append(out, h)
				h = history.Event{Kind: "Scheduled", At: at}
			}
		case "StateRetried":
			h.Kind = "Scheduled"
		case "StateExited":
			h.Kind, h.Output = "Exited", string(ev.State.Output)
		case "StateFailed":
			if ev.State == nil || ev.State.Type != "Task" {
				continue
			}
			h.Kind, h.Error, h.Cause = "Failed", ev.Error, raw(ev.Cause)
		default:
			continue
		}
		out = append(out, h)
	}
	return out
}

// RenderHistory writes the execution history as a table, then the result.
func RenderHistory(w io.Writer, r *Result) {
	history.Render(w, history.Result{ExecutionARN: r.ExecutionARN, Status: r.Status, Output: string(r.Output), Error: r.Error, Cause: r.Cause},
		history.Steps(HistoryEvents(r.Events)))
}
