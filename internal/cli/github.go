package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// In a GitHub Actions job ($GITHUB_ACTIONS is "true"), a command that
// follows an execution reports how it ended where GitHub reads it: the
// step's outputs ($GITHUB_OUTPUT: result, execution, execution-arn,
// console-url, error) and a section of the job summary
// ($GITHUB_STEP_SUMMARY). The repository's action.yml relies on it; a
// plain `run: deployer start … --follow` step gets it too.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands

// followed is how a followed execution ended, or where --until stopped.
type followed struct {
	arn, status, errName, cause string
	// reached is the --until point reached before the end ("" at the end).
	reached string
}

// reportToGitHub writes the outputs and the summary; outside GitHub
// Actions it does nothing. A file it cannot write is said on stderr: the
// deployment's result, not the report, is the step's outcome.
func (a *App) reportToGitHub(f followed) {
	if a.Getenv("GITHUB_ACTIONS") != "true" {
		return
	}
	url := deploy.ExecutionConsoleURL(a.region, f.arn)
	result := f.status
	if f.reached != "" {
		result = "REACHED"
	}
	if p := a.Getenv("GITHUB_OUTPUT"); p != "" {
		out := fmt.Sprintf("result=%s\nexecution=%s\nexecution-arn=%s\nconsole-url=%s\nerror=%s\n", result, lastPart(f.arn), f.arn, url, f.errName)
		a.appendFile(p, out)
	}
	if p := a.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		a.appendFile(p, summaryOf(f, result, url))
	}
}

// summaryOf is the job summary's section: a heading with the result and a
// table with the execution (linked to the console), and the error and its
// cause when it failed.
func summaryOf(f followed, result, url string) string {
	var b strings.Builder
	icon := map[string]string{"SUCCEEDED": "✅", "REACHED": "✅"}[result]
	if icon == "" {
		icon = "❌"
	}
	what := result
	if f.reached != "" {
		what = "reached " + f.reached + " (the workflow watches it to its end)"
	}
	fmt.Fprintf(&b, "### %s ecr-deployer: %s\n\n| | |\n|---|---|\n| Execution | [%s](%s) |\n", icon, what, lastPart(f.arn), url)
	if f.errName != "" {
		fmt.Fprintf(&b, "| Error | `%s` |\n| Cause | %s |\n", f.errName, cell(history.CauseMessage(f.cause)))
	}
	b.WriteString("\n")
	return b.String()
}

// cell keeps a text on one Markdown table row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", " ", "\n", "<br>").Replace(s)
}

func (a *App) appendFile(path, text string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.WriteString(text)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(a.Err, "deployer: could not write the GitHub report to %s: %v\n", path, err)
	}
}
