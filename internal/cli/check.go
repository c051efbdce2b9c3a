package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// Check statuses.
const (
	CheckPass = "pass"
	CheckFail = "fail"
	// CheckSkipped is a check that could not run because an earlier one
	// failed (a missing service has no task definition to compare).
	CheckSkipped = "skipped"
)

// CheckRow is one line of deployer check: a target, what was checked, and
// what was found or what to change.
type CheckRow struct {
	Target string `json:"target"`
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// CheckJSON is `deployer check --output json`.
type CheckJSON struct {
	SchemaVersion int        `json:"schemaVersion"`
	File          string     `json:"file"`
	Stack         string     `json:"stack"`
	Passed        bool       `json:"passed"`
	Checks        []CheckRow `json:"checks"`
}

func (a *App) check(ctx context.Context, args []string) error {
	fs := a.flags("check", "Check each target of targets.json against the account before anything deploys: the service, its controller, task definition, roles, log group, timeouts, the image, the deployed stack and its roles' permissions (read-only calls; IAM's policy simulator for the permissions).",
		"deployer check prod --targets targets.json")
	file := fs.String("targets", "", "the targets file to check (default $DEPLOYER_CONFIG_FILE, else targets.json)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	c, path, err := a.targetsFile(*file)
	if err != nil {
		return err
	}
	targets, err := pick(c, pos, path)
	if err != nil {
		return err
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	ck := a.checker(ctx)
	var rows []CheckRow
	for _, t := range targets {
		rows = append(rows, ck.target(ctx, t)...)
	}
	passed := allPassed(rows)
	if a.global.output == "json" {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(CheckJSON{SchemaVersion: SchemaVersion, File: path, Stack: a.global.stack, Passed: passed, Checks: rows}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Out, "Checking %s against the account (stack %s)\n\n", path, a.global.stack)
		RenderChecks(a.Out, rows)
	}
	if !passed {
		return &exitError{1}
	}
	return nil
}

func allPassed(rows []CheckRow) bool {
	for _, r := range rows {
		if r.Status != CheckPass {
			return false
		}
	}
	return len(rows) > 0
}

// RenderChecks prints the table and a closing count.
func RenderChecks(w io.Writer, rows []CheckRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tCHECK\t\tDETAIL")
	counts := map[string]int{}
	for _, r := range rows {
		mark := map[string]string{CheckPass: "✓", CheckFail: "✗", CheckSkipped: "–"}[r.Status]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Target, r.Check, mark, r.Detail)
		counts[r.Status]++
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%d checks: %d passed, %d failed, %d skipped\n", len(rows), counts[CheckPass], counts[CheckFail], counts[CheckSkipped])
}

// checked is one check's result: its error says what to change.
func checked(t config.Resolved, check string, err error, ok string) CheckRow {
	if err != nil {
		return CheckRow{Target: t.Environment, Check: check, Status: CheckFail, Detail: oneLine(err.Error())}
	}
	return CheckRow{Target: t.Environment, Check: check, Status: CheckPass, Detail: ok}
}

func skipped(t config.Resolved, check, why string) CheckRow {
	return CheckRow{Target: t.Environment, Check: check, Status: CheckSkipped, Detail: "not checked: " + why}
}

// elsewhere says why check and plan stop at a target in another account
// or Region.
func elsewhere(t config.Resolved) string {
	return fmt.Sprintf("the target is in account %s, Region %s, which this command does not read yet: push once (a missing target account stack or trust ends TargetMisconfigured before anything runs), docs/multi-account.md", t.Account, t.Region)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
