package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// SchemaVersion versions the --output json documents of status and
// history: a field is only ever added within a version; renaming or
// removing one makes the next.
const SchemaVersion = 1

// StatusJSON is `deployer status --output json`.
type StatusJSON struct {
	SchemaVersion int   `json:"schemaVersion"`
	Executions    []Row `json:"executions"`
}

// Row is one execution as `deployer status` shows it.
type Row struct {
	Environment string    `json:"environment"`
	Status      string    `json:"status"`
	Digest      string    `json:"digest,omitempty"`
	Trigger     string    `json:"trigger"`
	Reason      string    `json:"reason,omitempty"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"durationSeconds"`
	Error       string    `json:"error,omitempty"`
	Cause       string    `json:"cause,omitempty"`
	// Outcome is deployed, superseded, duplicate, failed or running.
	Outcome string `json:"outcome"`
	// Waiting says what a running execution waits for, when a person can
	// act on it: an approval, a pause hook, or its turn.
	Waiting   string `json:"waiting,omitempty"`
	Execution string `json:"execution"`
}

func (a *App) status(ctx context.Context, args []string) error {
	fs := a.flags("status", "Recent deployments, newest first, optionally of one environment.", "deployer status staging --output json")
	limit := fs.Int("limit", 20, "how many executions to look at")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return &usageError{"give at most one environment"}
	}
	// ListExecutions: "maxResults … 1 through 1000".
	if *limit < 1 || *limit > 1000 {
		return &usageError{fmt.Sprintf("--limit must be 1–1000, not %d", *limit)}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return err
	}
	ts, err := a.targets(ctx)
	if err != nil {
		return err
	}
	reader := a.executions(sm)
	rows := []Row{}
	err = reader.Scan(ctx, executions.Query{PageSize: int32(*limit), Limit: *limit}, nil, func(e executions.Execution) (bool, error) {
		r := row(e, ts)
		if len(pos) == 1 && r.Environment != pos[0] {
			return false, nil
		}
		if r.Status == "RUNNING" {
			var err error
			if r.Waiting, err = a.waitingOn(ctx, e.ARN); err != nil {
				return true, err
			}
		}
		rows = append(rows, r)
		return false, nil
	})
	if err != nil {
		return err
	}
	if a.global.output == "json" {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(StatusJSON{SchemaVersion: SchemaVersion, Executions: rows})
	}
	RenderStatus(a.Out, rows, a.Now())
	return nil
}

// row reads environment, digest and trigger from the execution's input, and
// the digest actually resolved from its output when it succeeded.
func row(e executions.Execution, ts config.Targets) Row {
	r := Row{Status: string(e.Status), Started: e.Start, Execution: e.Name, Error: e.Error, Cause: history.CauseMessage(e.Cause)}
	if !e.Stop.IsZero() {
		r.Seconds = e.Stop.Sub(r.Started).Seconds()
	}
	req, err := deploy.ParseInput(json.RawMessage(e.Input))
	switch {
	case err != nil:
		r.Environment, r.Trigger = "?", "invalid input"
	case req.Trigger.Type == "push":
		r.Trigger, r.Digest, r.Environment = "push "+req.Repository+":"+req.Tag, req.Digest, req.Tag
		if t, ok := ts.ByImage(req.Repository, req.Tag); ok {
			r.Environment = t.Environment
		}
	default:
		r.Trigger, r.Environment, r.Digest, r.Reason = req.Trigger.Type, req.Environment, req.Digest, req.Trigger.Reason
	}
	out, _ := executions.Decode[deploy.State](e.Output)
	if out.Image.Digest != "" {
		r.Digest = out.Image.Digest
	}
	switch {
	case r.Status == "RUNNING":
		r.Outcome = "running"
	case r.Status != "SUCCEEDED":
		r.Outcome = "failed"
	case out.Turn.Decision == deploy.TurnSuperseded:
		r.Outcome = "superseded by " + out.Turn.SupersededBy
	case out.Turn.Decision == deploy.TurnDuplicate:
		r.Outcome = "duplicate of " + out.Turn.DuplicateOf
	default:
		r.Outcome = "deployed"
	}
	return r
}

// waitingOn reads a running execution's latest state and says what it
// waits for that a person can act on.
func (a *App) waitingOn(ctx context.Context, arn string) (string, error) {
	st, p, ok, err := a.latestState(ctx, arn)
	switch {
	case err != nil || !ok:
		return "", err
	case p != nil && p.WaitingFor == deploy.WaitingForApproval:
		return "awaiting approval: deployer approve " + st.Environment + " | deployer reject " + st.Environment + " --reason …", nil
	case st.Window != nil && st.Window.WaitUntil != nil && st.Turn.Decision == "" && a.Now().Before(*st.Window.WaitUntil):
		return "waiting for the deployment window: opens " + st.Window.WaitUntil.UTC().Format(time.RFC3339) + " (deployer start " + st.Environment + " --override-window --reason … deploys now)", nil
	case st.Deployment.Paused != nil:
		return "paused at " + st.Deployment.Paused.Stage + ": " + st.Deployment.Paused.Answer, nil
	case len(st.Services) > 0 && !st.Deployment.Done:
		for _, r := range st.Services {
			if p := r.Deployment.Paused; p != nil {
				return r.Service + " paused at " + p.Stage + ": " + p.Answer, nil
			}
		}
	case st.Turn.Decision == deploy.TurnWait:
		return "queued: " + st.Turn.Reason, nil
	}
	return "", nil
}

// RenderStatus writes the rows as a table; durations of running executions count to now.
func RenderStatus(w io.Writer, rows []Row, now time.Time) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "No deployments found.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tSTATUS\tDIGEST\tTRIGGER\tSTARTED\tDURATION\tDETAIL")
	for _, r := range rows {
		secs := r.Seconds
		if r.Status == "RUNNING" {
			secs = now.Sub(r.Started).Seconds()
		}
		digest := history.ShortDigest(r.Digest)
		if digest == "" {
			digest = "(tag)"
		}
		trigger := r.Trigger
		if r.Reason != "" {
			trigger += ": " + r.Reason
		}
		detail := r.Execution
		switch {
		case r.Error != "":
			detail = history.ErrorLine(r.Error, r.Cause)
		case strings.HasPrefix(r.Outcome, "superseded") || strings.HasPrefix(r.Outcome, "duplicate"):
			detail = r.Outcome + ": nothing deployed"
		case r.Waiting != "":
			detail = r.Waiting
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Environment, r.Status, digest, trigger,
			r.Started.UTC().Format("2006-01-02 15:04:05Z"), (time.Duration(secs*1000) * time.Millisecond).Round(100*time.Millisecond), detail)
	}
	_ = tw.Flush()
}
