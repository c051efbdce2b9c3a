package localstack

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// Step is one visit of a state in the execution history.
type Step struct {
	Name     string
	Type     string
	Offset   time.Duration // from the start of the execution
	Duration time.Duration
	Summary  string
}

// Steps folds the event log into one Step per state visit, with the line a
// person reads in the console history: what the state found or did.
func Steps(events []Event) []Step {
	var out []Step
	var start int64
	open := map[string]int{}
	for _, ev := range events {
		if ev.Type == "ExecutionStarted" {
			start = ev.Timestamp
		}
		off := time.Duration(ev.Timestamp-start) * time.Millisecond
		switch ev.Type {
		case "StateEntered":
			open[ev.State.Name] = len(out)
			out = append(out, Step{Name: ev.State.Name, Type: ev.State.Type, Offset: off})
		case "StateExited":
			if i, ok := open[ev.State.Name]; ok {
				out[i].Duration = off - out[i].Offset
				// keep the retry and fault notes gathered while the state ran
				out[i].Summary = strings.TrimSpace(summarize(ev.State.Name, ev.State.Type, ev.State.Output) + " " + out[i].Summary)
			}
		case "StateRetried":
			if i, ok := open[ev.State.Name]; ok {
				attempt := 0
				if ev.Retry != nil {
					attempt = ev.Retry.Attempt
				}
				out[i].Summary = strings.TrimSpace(out[i].Summary + fmt.Sprintf(" [retry %d]", attempt))
			}
		case "StateFailed":
			if i, ok := open[ev.State.Name]; ok {
				out[i].Duration = off - out[i].Offset
				out[i].Summary = strings.TrimSpace(out[i].Summary + " " + errorLine(ev.Error, ev.Cause))
			}
		case "FaultInjected":
			if i, ok := open[ev.State.Name]; ok {
				out[i].Summary = strings.TrimSpace(out[i].Summary + " [Lambda response lost]")
			}
		}
	}
	return out
}

// errorLine renders an error and its cause; a Lambda's cause is its error payload as JSON.
func errorLine(name string, cause json.RawMessage) string {
	var s string
	if json.Unmarshal(cause, &s) != nil {
		s = string(cause)
	}
	var payload struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(s), &payload) == nil && payload.ErrorMessage != "" {
		s = payload.ErrorMessage
	}
	if r := []rune(s); len(r) > 90 {
		s = string(r[:90]) + "…"
	}
	return fmt.Sprintf("✗ %s: %s", name, s)
}

func summarize(name, typ string, output json.RawMessage) string {
	if typ != "Task" {
		return ""
	}
	var s deploy.State
	if json.Unmarshal(output, &s) != nil || s.Environment == "" {
		return ""
	}
	m, d := s.Migration, s.Deployment
	switch name {
	case "ResolveTarget":
		mig := "migration: " + strings.Join(m.Command, " ") + " in container " + m.Container
		if m.Skipped {
			mig = "migration skipped: " + m.SkipReason
		}
		return fmt.Sprintf("%s: %s@%s → %s/%s (%s); %s", s.Environment, s.Image.Repository, short(s.Image.Digest),
			s.Cluster, s.Service, lastPart(s.Launch.TaskDefinition), mig)
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
		return fmt.Sprintf("deployment %s started", d.ID)
	case "CheckDeployment":
		return fmt.Sprintf("deployment %s %s %s, %d/%d running", d.ID, d.Status, d.RolloutState, d.RunningCount, d.DesiredCount)
	}
	return ""
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19] + "…"
	}
	return digest
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// RenderHistory writes the execution history as a table, then the result.
func RenderHistory(w io.Writer, r *Result) {
	fmt.Fprintf(w, "Execution %s\n", r.ExecutionARN)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tSTATE\tTYPE\tTOOK\tDETAIL")
	for _, s := range Steps(r.Events) {
		fmt.Fprintf(tw, "  +%.1fs\t%s\t%s\t%s\t%s\n", s.Offset.Seconds(), s.Name, s.Type, s.Duration.Round(time.Millisecond), s.Summary)
	}
	_ = tw.Flush()
	RenderResult(w, r)
}

// RenderResult writes the execution's status and what it deployed, or why it failed.
func RenderResult(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\nResult: %s\n", r.Status)
	if r.Status != "SUCCEEDED" {
		fmt.Fprintf(w, "  error: %s\n  cause: %s\n", r.Error, r.Cause)
		return
	}
	var s deploy.State
	if err := json.Unmarshal(r.Output, &s); err != nil {
		fmt.Fprintf(w, "  output: %s\n", r.Output)
		return
	}
	fmt.Fprintf(w, "  environment: %s (cluster %s, service %s)\n", s.Environment, s.Cluster, s.Service)
	fmt.Fprintf(w, "  image:       %s@%s\n", s.Image.Repository, s.Image.Digest)
	if s.Migration.Skipped {
		fmt.Fprintf(w, "  migration:   skipped (%s)\n", s.Migration.SkipReason)
	} else if s.Migration.ExitCode != nil {
		fmt.Fprintf(w, "  migration:   %s, exit code %d\n", s.Migration.TaskARN, *s.Migration.ExitCode)
	}
	fmt.Fprintf(w, "  deployment:  %s %s\n", s.Deployment.ID, s.Deployment.RolloutState)
	p := s.Phases
	fmt.Fprintf(w, "  phases:      resolve %.1fs, migration %.1fs, deployment %.1fs, total %.1fs\n",
		p.ResolveSeconds, p.MigrationSeconds, p.DeploymentSeconds, p.TotalSeconds)
}
