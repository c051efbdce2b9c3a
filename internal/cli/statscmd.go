package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// StatsJSON is `deployer stats --output json`.
type StatsJSON struct {
	SchemaVersion int       `json:"schemaVersion"`
	Since         time.Time `json:"since"`
	Until         time.Time `json:"until"`
	Environments  []Stats   `json:"environments"`
}

func (a *App) stats(ctx context.Context, args []string) error {
	fs := a.flags("stats", "The four DORA figures per environment from the workflow's execution history: deployment frequency, lead time (push → deployed), change failure rate, time to restore.",
		"deployer stats prod --since 30d --chart prod.svg")
	sinceFlag := sinceFlagOf(fs)
	chart := fs.String("chart", "", "also draw deployments per day by outcome into this SVG file")
	env, window, sm, err := a.environmentSince(ctx, fs, sinceFlag, args)
	if err != nil {
		return err
	}
	ts, err := a.targets(ctx)
	if err != nil {
		return err
	}
	now := a.Now()
	since := now.Add(-window)
	var attempts []Attempt
	// One that started before since less the longest an execution runs
	// cannot have ended after since.
	err = a.eachExecution(ctx, sm, env, ts, since.Add(-deploy.MaxExecution), func(e executions.Execution, r Row) error {
		out, _ := executions.Decode[deploy.State](e.Output)
		at := Attempt{Environment: r.Environment, Start: e.Start, Stop: e.Stop, Outcome: OutcomeOf(e.Status, e.Error, out.Deployment.Done)}
		at.PushedAt = pushTime(e.Input)
		if !out.Deployment.Done {
			// Failed, rejected: its output, if any, may not hold its decisions.
			out = a.stateOf(ctx, e)
		}
		at.Decisions = deploy.AuditOf(out)
		attempts = append(attempts, at)
		return nil
	})
	if err != nil {
		return err
	}
	ss := ComputeStats(attempts, since, now)
	if *chart != "" {
		f, err := os.Create(*chart)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		WriteStatsSVG(f, ss)
		if err := f.Close(); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	if a.global.output == "json" {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(StatsJSON{SchemaVersion: SchemaVersion, Since: since.UTC(), Until: now.UTC(), Environments: ss})
	}
	RenderStats(a.Out, ss, since, now)
	if *chart != "" {
		fmt.Fprintf(a.Out, "\nChart: %s\n", *chart)
	}
	return nil
}

// eachExecution visits the executions started since notBefore, newest
// first, of one environment (env) or all, each described once.
func (a *App) eachExecution(ctx context.Context, sm, env string, ts config.Targets, notBefore time.Time, visit func(executions.Execution, Row) error) error {
	keep := func(string) bool { return true }
	if env != "" {
		keep = executions.MayBe(env)
	}
	reader := a.executions(sm)
	return reader.List(ctx, executions.Query{PageSize: 1000}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		if aws.ToTime(ex.StartDate).Before(notBefore) {
			return true, nil
		}
		if !keep(aws.ToString(ex.Name)) {
			return false, nil
		}
		e, err := reader.Describe(ctx, aws.ToString(ex.ExecutionArn))
		if err != nil {
			return true, err
		}
		r := row(e, ts)
		if env != "" && r.Environment != env {
			return false, nil
		}
		return false, visit(e, r)
	})
}

// sinceFlagOf defines --since, how far back stats and audit read.
func sinceFlagOf(fs *flag.FlagSet) *string {
	return fs.String("since", "30d", "how far back: a number of days (30d) or a duration (12h); at most 90d, Step Functions' retention")
}

// environmentSince reads the optional environment and --since of stats and
// audit, connects, checks the environment and finds the state machine.
func (a *App) environmentSince(ctx context.Context, fs *flag.FlagSet, sinceFlag *string, args []string) (env string, window time.Duration, sm string, err error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", 0, "", err
	}
	if len(pos) > 1 {
		return "", 0, "", &usageError{"give at most one environment"}
	}
	if err := a.checkOutput(); err != nil {
		return "", 0, "", err
	}
	if window, err = parseSince(*sinceFlag); err != nil {
		return "", 0, "", &usageError{err.Error()}
	}
	if err := a.connect(ctx); err != nil {
		return "", 0, "", err
	}
	if len(pos) == 1 {
		env = pos[0]
		if err := a.checkEnvironment(ctx, env); err != nil {
			return "", 0, "", err
		}
	}
	sm, err = a.stateMachine(ctx)
	return env, window, sm, err
}

// parseSince reads --since: 30d, or a Go duration; at most 90 days.
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("--since %q: give days (30d) or a duration (12h)", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--since %q: give days (30d) or a duration (12h)", s)
		}
	}
	if d <= 0 || d > HistoryRetention {
		return 0, fmt.Errorf("--since %q: between 1 hour and 90d, the executions Step Functions still lists", s)
	}
	return d, nil
}

// pushTime is the ECR push time of a push-started execution: the event's time.
func pushTime(input string) time.Time {
	var ev struct {
		Source string    `json:"source"`
		Time   time.Time `json:"time"`
	}
	if json.Unmarshal([]byte(input), &ev) != nil || ev.Source != "aws.ecr" {
		return time.Time{}
	}
	return ev.Time
}
