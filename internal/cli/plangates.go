package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// planGates says what each gate of the target would do with the push now
// (the promotion guard judged by deploy.JudgeGuard on the same history, the
// approval, the deployment windows) and which running executions it would
// queue behind.
func (a *App) planGates(ctx context.Context, sm string, published config.Targets, t config.Resolved, p *PlanJSON) error {
	now := a.Now()
	if t.Requires != "" {
		ev, err := a.executions(sm).LatestAttempt(ctx, t.Requires, p.Digest, deploy.SubjectOf(published))
		if err != nil {
			return err
		}
		verdict, blocked, reason := deploy.JudgeGuard(ev, t.Requires, p.Digest, false, time.Hour)
		if blocked != nil {
			p.wouldFail(blocked)
			return nil
		}
		p.Gates = append(p.Gates, PlannedGate{Gate: "requires", Now: verdict + ": " + reason})
	}
	if len(t.Windows) > 0 {
		open, at := t.Windows.Open(now)
		g := PlannedGate{Gate: "window", Now: fmt.Sprintf("open now (%s), until %s", t.Windows, at.UTC().Format(time.RFC3339))}
		if !open {
			g.Now = fmt.Sprintf("closed (%s): it would wait in WaitingForWindow until %s", t.Windows, at.UTC().Format(time.RFC3339))
			g.WaitsUntil = &at
		}
		p.Gates = append(p.Gates, g)
	}
	if ap := t.Approval; ap != nil {
		who := "anyone with the ApproverPolicy but its starter"
		if len(ap.Approvers) > 0 {
			who = strings.Join(ap.Approvers, ", ") + " (not its starter)"
		}
		p.Gates = append(p.Gates, PlannedGate{Gate: "approval", Now: fmt.Sprintf("it would wait up to %s for deployer approve %s by %s", written(time.Duration(ap.Timeout)), t.Environment, who)})
	}
	ahead, err := a.runningAhead(ctx, sm, published, t)
	p.Ahead = ahead
	return err
}

// runningAhead names the running executions that deploy one of the
// target's services: the push would queue behind them.
func (a *App) runningAhead(ctx context.Context, sm string, published config.Targets, t config.Resolved) ([]string, error) {
	mine := t.Published()
	ahead := []string{}
	err := a.executions(sm).Scan(ctx, executions.Query{Status: sfntypes.ExecutionStatusRunning}, nil, func(e executions.Execution) (bool, error) {
		other, ok := published.ByEnvironment(row(e, published).Environment)
		if ok && other.Cluster == mine.Cluster && slices.ContainsFunc(other.ServiceNames(), func(s string) bool { return slices.Contains(mine.ServiceNames(), s) }) {
			ahead = append(ahead, e.Name)
		}
		return false, nil
	})
	return ahead, err
}

// estimate is the expected time from the push to deployed: the median of
// the environment's deployments of the last 30 days (queue, migration,
// deployment), else the least the strategies take; plus a closed window's
// wait. An approval's wait is a person's and is said, not guessed.
func (a *App) estimate(ctx context.Context, sm string, published config.Targets, t config.Resolved, p PlanJSON) (Estimate, error) {
	now := a.Now()
	var work []float64
	err := a.eachExecution(ctx, sm, t.Environment, published, now.Add(-30*24*time.Hour), func(e executions.Execution, _ Row) error {
		out, _ := executions.Decode[deploy.State](e.Output)
		if e.Status == sfntypes.ExecutionStatusSucceeded && out.Deployment.Done && !out.Migration.Skipped {
			ph := out.Phases
			work = append(work, ph.ResolveSeconds+ph.QueueSeconds+ph.MigrationSeconds+ph.DeploymentSeconds)
		}
		return nil
	})
	if err != nil {
		return Estimate{}, err
	}
	return estimateOf(work, p, now), nil
}

// estimateOf composes the estimate from earlier deployments' durations.
func estimateOf(work []float64, p PlanJSON, now time.Time) Estimate {
	var e Estimate
	if len(work) > 0 {
		sort.Float64s(work)
		median := work[len(work)/2]
		e.Seconds = int(median)
		e.Basis = fmt.Sprintf("about %s, the median of the %d deployments with a migration in 30 days", written(time.Duration(e.Seconds)*time.Second), len(work))
	} else {
		for _, s := range p.Services {
			e.Seconds = max(e.Seconds, s.MinimumSeconds)
		}
		e.Basis = "no deployment with a migration in 30 days to go by: the migration and the rollout"
		if e.Seconds > 0 {
			e.Basis += fmt.Sprintf(", plus at least %s of the strategy's bakes", written(time.Duration(e.Seconds)*time.Second))
		}
	}
	for _, g := range p.Gates {
		if at := g.WaitsUntil; at != nil {
			e.Seconds += int(at.Sub(now) / time.Second)
			e.Basis += fmt.Sprintf(", after the window opens in %s", written(at.Sub(now).Round(time.Minute)))
		}
		if g.Gate == "approval" {
			e.Basis += ", once approved"
		}
	}
	return e
}
