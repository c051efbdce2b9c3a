// Package history renders an execution's history the way a person reads it in
// the Step Functions console: one line per state visit with its duration and
// what it found or did, then the result.
package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// Event is the part of a history event the rendering reads.
type Event struct {
	// Kind is Started, Entered, Exited, Failed (a Task's attempt), Retried,
	// Succeeded, ExecutionFailed, Aborted or TimedOut.
	Kind      string
	At        time.Time
	State     string
	StateType string
	Output    string
	Error     string
	Cause     string
}

// Step is one visit of a state.
type Step struct {
	Name     string
	Type     string
	Offset   time.Duration
	Duration time.Duration
	Summary  string
}

// FromSDK converts Step Functions history events (GetExecutionHistory).
func FromSDK(events []sfntypes.HistoryEvent) []Event {
	var out []Event
	for _, e := range events {
		at := aws.ToTime(e.Timestamp)
		typ := string(e.Type)
		switch {
		case typ == "ExecutionStarted":
			out = append(out, Event{Kind: "Started", At: at})
		case typ == "ExecutionSucceeded":
			out = append(out, Event{Kind: "Succeeded", At: at})
		case typ == "ExecutionFailed" && e.ExecutionFailedEventDetails != nil:
			out = append(out, Event{Kind: "ExecutionFailed", At: at, Error: aws.ToString(e.ExecutionFailedEventDetails.Error), Cause: aws.ToString(e.ExecutionFailedEventDetails.Cause)})
		case typ == "ExecutionAborted":
			out = append(out, Event{Kind: "Aborted", At: at})
		case typ == "ExecutionTimedOut":
			out = append(out, Event{Kind: "TimedOut", At: at})
		case strings.HasSuffix(typ, "StateEntered") && e.StateEnteredEventDetails != nil:
			out = append(out, Event{Kind: "Entered", At: at, State: aws.ToString(e.StateEnteredEventDetails.Name), StateType: strings.TrimSuffix(typ, "StateEntered")})
		case strings.HasSuffix(typ, "StateExited") && e.StateExitedEventDetails != nil:
			out = append(out, Event{Kind: "Exited", At: at, State: aws.ToString(e.StateExitedEventDetails.Name), StateType: strings.TrimSuffix(typ, "StateExited"),
				Output: aws.ToString(e.StateExitedEventDetails.Output)})
		case typ == "LambdaFunctionFailed" && e.LambdaFunctionFailedEventDetails != nil:
			out = append(out, Event{Kind: "Failed", At: at, Error: aws.ToString(e.LambdaFunctionFailedEventDetails.Error), Cause: aws.ToString(e.LambdaFunctionFailedEventDetails.Cause)})
		case typ == "LambdaFunctionTimedOut" && e.LambdaFunctionTimedOutEventDetails != nil:
			out = append(out, Event{Kind: "Failed", At: at, Error: aws.ToString(e.LambdaFunctionTimedOutEventDetails.Error), Cause: aws.ToString(e.LambdaFunctionTimedOutEventDetails.Cause)})
		case typ == "TaskFailed" && e.TaskFailedEventDetails != nil:
			out = append(out, Event{Kind: "Failed", At: at, Error: aws.ToString(e.TaskFailedEventDetails.Error), Cause: aws.ToString(e.TaskFailedEventDetails.Cause)})
		case typ == "TaskTimedOut" && e.TaskTimedOutEventDetails != nil:
			out = append(out, Event{Kind: "Failed", At: at, Error: aws.ToString(e.TaskTimedOutEventDetails.Error), Cause: aws.ToString(e.TaskTimedOutEventDetails.Cause)})
		case typ == "LambdaFunctionScheduled" || typ == "TaskScheduled":
			out = append(out, Event{Kind: "Scheduled", At: at})
		}
	}
	return out
}

// Steps folds events into one Step per state visit.
func Steps(events []Event) []Step {
	var out []Step
	var start time.Time
	current := -1
	attempts := 0
	for _, ev := range events {
		if ev.Kind == "Started" {
			start = ev.At
		}
		off := ev.At.Sub(start)
		switch ev.Kind {
		case "Entered":
			out = append(out, Step{Name: ev.State, Type: ev.StateType, Offset: off})
			current, attempts = len(out)-1, 0
		case "Scheduled":
			attempts++
			if current >= 0 && attempts > 1 {
				out[current].Summary = strings.TrimSpace(out[current].Summary + fmt.Sprintf(" [retry %d]", attempts-1))
			}
		case "Exited":
			if current >= 0 && out[current].Name == ev.State {
				out[current].Duration = off - out[current].Offset
				out[current].Summary = strings.TrimSpace(Summarize(ev.State, ev.StateType, ev.Output) + " " + out[current].Summary)
			}
		case "Failed":
			if current >= 0 {
				out[current].Duration = off - out[current].Offset
				line := ErrorLine(ev.Error, ev.Cause)
				if ev.Error == "States.Timeout" && isWait(out[current].Name) {
					line = "no event before the safety poll: looks itself"
				}
				out[current].Summary = strings.TrimSpace(out[current].Summary + " " + line)
			}
		}
	}
	return out
}

// isWait says the state waits for an ECS event (a task token).
func isWait(state string) bool { return state == "WaitForMigration" || state == "WaitForDeployment" }

// ErrorLine renders an error and its cause in one short line; a Lambda's
// cause is its error payload as JSON, of which the message is kept.
func ErrorLine(name, cause string) string {
	msg := CauseMessage(cause)
	if r := []rune(msg); len(r) > 90 {
		msg = string(r[:90]) + "…"
	}
	return fmt.Sprintf("✗ %s: %s", name, msg)
}

// CauseMessage is the errorMessage of a Lambda error payload, or the cause itself.
func CauseMessage(cause string) string {
	var payload struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &payload) == nil && payload.ErrorMessage != "" {
		return payload.ErrorMessage
	}
	return cause
}

// Summarize is the detail line of a Task state from its output (a deploy.State).
func Summarize(name, typ, output string) string {
	if typ != "Task" {
		return ""
	}
	var s deploy.State
	if json.Unmarshal([]byte(output), &s) != nil || s.Environment == "" {
		return ""
	}
	m, d := s.Migration, s.Deployment
	switch name {
	case "ResolveTarget":
		mig := "migration: " + strings.Join(m.Command, " ") + " in container " + m.Container
		if m.Skipped {
			mig = "migration skipped: " + m.SkipReason
		}
		line := fmt.Sprintf("%s: %s@%s → %s/%s (%s); %s", s.Environment, s.Image.Repository, ShortDigest(s.Image.Digest),
			s.Cluster, strings.Join(s.ServiceNames(), ", "), lastPart(s.Launch.TaskDefinition), mig)
		if len(s.Services) > 0 {
			line += "; if one fails: " + s.OnFailure
		}
		if w := s.Window; w != nil {
			line += "; window " + w.Decision + ": " + w.Reason
		}
		return line
	case "CheckTurn":
		switch s.Turn.Decision {
		case "WAIT":
			if s.Turn.WaitingFor != "" {
				return "waiting for " + s.Turn.WaitingFor
			}
			return "waiting: " + s.Turn.Reason
		case "GO":
			return "its turn: " + s.Turn.Reason
		default:
			return strings.ToLower(s.Turn.Decision) + ": " + s.Turn.Reason
		}
	case "PinImage":
		if len(s.Services) > 0 {
			var pins []string
			for _, r := range s.Services {
				pins = append(pins, lastPart(r.PinnedTaskDefinition))
			}
			return "pinned to " + strings.Join(pins, ", ")
		}
		return "pinned to " + lastPart(s.Image.PinnedTaskDefinition)
	case "RunMigration":
		if m.TaskARN == "" {
			return fmt.Sprintf("no capacity (%s), attempt %d of %d, retry in %ds", m.LastFailure, m.Attempt, m.MaxAttempts, m.RetryInSeconds)
		}
		return fmt.Sprintf("task %s started (attempt %d)", lastPart(m.TaskARN), m.Attempt)
	case "CheckMigration":
		if m.ExitCode != nil {
			return fmt.Sprintf("task %s, exit code %d", m.LastStatus, *m.ExitCode)
		}
		return "task " + m.LastStatus
	case "StartDeployment":
		if len(s.Services) > 0 {
			var started []string
			for _, r := range s.Services {
				started = append(started, r.Service+" "+r.Deployment.ID)
			}
			return "deployments started: " + strings.Join(started, ", ")
		}
		return fmt.Sprintf("deployment %s started", d.ID)
	case "CheckDeployment":
		if len(s.Services) > 0 {
			return d.Progress
		}
		if d.Progress != "" {
			return fmt.Sprintf("deployment %s %s, %d/%d running", d.ID, d.Progress, d.RunningCount, d.DesiredCount)
		}
		return fmt.Sprintf("deployment %s %s %s, %d/%d running", d.ID, d.Status, d.RolloutState, d.RunningCount, d.DesiredCount)
	case "WaitForMigration", "WaitForDeployment":
		switch w := s.Wake; {
		case w == nil:
		case w.By == "event":
			return "woken by " + w.Reason
		case w.By == "watch":
			return "no wait: " + w.Reason
		case w.By == "decision":
			return "decision: " + w.Reason
		}
	case "WaitForApproval":
		if a := s.Approval; a != nil && a.Decision != nil {
			verdict := map[bool]string{true: "approved", false: "rejected"}[a.Decision.Approved]
			line := verdict + " by " + a.Decision.By
			if a.Decision.Reason != "" {
				line += ": " + a.Decision.Reason
			}
			return line
		}
	}
	return ""
}

// ShortDigest keeps a digest's algorithm and first 12 hex digits.
func ShortDigest(digest string) string {
	if len(digest) > 19 {
		return digest[:19] + "…"
	}
	return digest
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// Result is how an execution ended.
type Result struct {
	ExecutionARN string
	Status       string
	Output       string
	Error        string
	Cause        string
}

// Render writes the steps as a table, then the result.
func Render(w io.Writer, r Result, steps []Step) {
	fmt.Fprintf(w, "Execution %s\n", r.ExecutionARN)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tSTATE\tTYPE\tTOOK\tDETAIL")
	for _, s := range steps {
		fmt.Fprintf(tw, "  +%.1fs\t%s\t%s\t%s\t%s\n", s.Offset.Seconds(), s.Name, s.Type, s.Duration.Round(time.Millisecond), s.Summary)
	}
	_ = tw.Flush()
	RenderResult(w, r)
}

// RenderResult writes the status and what was deployed, or why it failed.
func RenderResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "\nResult: %s\n", r.Status)
	switch r.Status {
	case "SUCCEEDED":
	case "RUNNING":
		return
	default:
		fmt.Fprintf(w, "  error: %s\n  cause: %s\n", r.Error, CauseMessage(r.Cause))
		return
	}
	var s deploy.State
	if err := json.Unmarshal([]byte(r.Output), &s); err != nil {
		fmt.Fprintf(w, "  output: %s\n", r.Output)
		return
	}
	if len(s.Services) > 0 {
		fmt.Fprintf(w, "  environment: %s (cluster %s, services %s)\n", s.Environment, s.Cluster, strings.Join(s.ServiceNames(), ", "))
	} else {
		fmt.Fprintf(w, "  environment: %s (cluster %s, service %s)\n", s.Environment, s.Cluster, s.Service)
	}
	if s.Account != "" {
		fmt.Fprintf(w, "  account:     %s, Region %s (its target account stack's roles)\n", s.Account, s.Region)
	}
	fmt.Fprintf(w, "  image:       %s@%s\n", s.Image.Repository, s.Image.Digest)
	if d := s.Turn.Decision; d == "SUPERSEDED" || d == "DUPLICATE" {
		fmt.Fprintf(w, "  deployed:    nothing (%s): %s\n", strings.ToLower(d), s.Turn.Reason)
		return
	}
	if s.Image.DeployedDigest != "" && s.Image.DeployedDigest != s.Image.Digest {
		fmt.Fprintf(w, "  note:        %s\n", s.Image.Note)
	}
	if s.Migration.Skipped {
		fmt.Fprintf(w, "  migration:   skipped (%s)\n", s.Migration.SkipReason)
	} else if s.Migration.ExitCode != nil {
		fmt.Fprintf(w, "  migration:   %s, exit code %d\n", s.Migration.TaskARN, *s.Migration.ExitCode)
	}
	if len(s.Services) > 0 {
		for _, r := range s.Services {
			fmt.Fprintf(w, "  deployment:  %s %s %s (%s)\n", r.Service, r.Deployment.ID, r.Outcome, r.Deployment.ServiceDeploymentARN)
		}
	} else if s.Deployment.ServiceDeploymentStatus != "" {
		fmt.Fprintf(w, "  deployment:  %s %s (%s)\n", s.Deployment.ID, s.Deployment.ServiceDeploymentStatus, s.Deployment.ServiceDeploymentARN)
	} else {
		fmt.Fprintf(w, "  deployment:  %s %s\n", s.Deployment.ID, s.Deployment.RolloutState)
	}
	p := s.Phases
	fmt.Fprintf(w, "  phases:      resolve %.1fs, migration %.1fs, deployment %.1fs, total %.1fs\n",
		p.ResolveSeconds, p.MigrationSeconds, p.DeploymentSeconds, p.TotalSeconds)
}
