package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// AuditRow is one decision of the audit trail, with its execution.
type AuditRow struct {
	Environment string `json:"environment"`
	Execution   string `json:"execution"`
	deploy.AuditEntry
}

// audit lists the people's decisions the executions recorded: who started
// or overrode, approved or rejected, continued or rolled back, when, why,
// for which digest, and whether IAM verified who (the deployer API).
func (a *App) audit(ctx context.Context, args []string) error {
	fs := a.flags("audit", "The people's decisions the executions recorded: starts and overrides, approvals and rejections, continues and rollbacks, with who (as IAM verified it, where the deployer API carried it), when, why and for which digest.",
		"deployer audit prod --since 30d")
	env, window, sm, err := a.environmentSince(ctx, fs, sinceFlagOf(fs), args)
	if err != nil {
		return err
	}
	rows, err := a.auditRows(ctx, sm, env, a.Now().Add(-window))
	if err != nil {
		return err
	}
	if a.global.output == "json" {
		return json.NewEncoder(a.Out).Encode(struct {
			SchemaVersion int        `json:"schemaVersion"`
			Decisions     []AuditRow `json:"decisions"`
		}{SchemaVersion, rows})
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.Out, "No decisions recorded in that time.")
		return nil
	}
	w := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tENVIRONMENT\tDECISION\tBY\tVERIFIED\tDIGEST\tREASON\tEXECUTION")
	for _, r := range rows {
		verified := "no (the CLI's word)"
		if r.Verified != "" {
			verified = "IAM"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.UTC().Format(time.RFC3339), r.Environment, r.Kind, orDash(r.By), verified, short(r.Digest), orDash(r.Reason), r.Execution)
	}
	return w.Flush()
}

// auditRows reads the decisions of the executions started since (newest
// first), of one environment or all: an ended one's from its output, a
// running one's from its latest state.
func (a *App) auditRows(ctx context.Context, sm, env string, since time.Time) ([]AuditRow, error) {
	ts, err := a.targets(ctx)
	if err != nil {
		return nil, err
	}
	var rows []AuditRow
	err = a.eachExecution(ctx, sm, env, ts, since, func(e executions.Execution, r Row) error {
		for _, entry := range deploy.AuditOf(a.stateOf(ctx, e)) {
			rows = append(rows, AuditRow{Environment: r.Environment, Execution: e.Name, AuditEntry: entry})
		}
		return nil
	})
	return rows, err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return orDash(digest)
}

// stateOf is an execution's last State: its output, or (running, or failed
// without output) the latest one its history has.
func (a *App) stateOf(ctx context.Context, e executions.Execution) deploy.State {
	st, ok := executions.Decode[deploy.State](e.Output)
	if !e.Ended() || !ok {
		if last, found, err := deploy.LastState(ctx, a.sfn, e.ARN); err == nil && found {
			st = last
		}
	}
	return st
}
