package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// Until is where `--follow --until` stops following: a CI job can return
// once the new version takes traffic, while the workflow keeps watching the
// bake and still ends only on ECS's final status.
type Until string

// The points --until names besides ECS's lifecycle stages.
const (
	UntilMigrated       Until = "migrated"        // the migration succeeded (or was skipped)
	UntilDeploying      Until = "deploying"       // the service deployment started
	UntilTrafficShifted Until = "traffic-shifted" // the new version takes all production traffic
	UntilBaking         Until = "baking"          // the bake time began
)

// lifecycleStages are ECS's service deployment stages in the order a
// deployment passes them (ServiceDeploymentLifecycleStage).
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
var lifecycleStages = []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
	"PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"}

// ParseUntil reads --until: one of the named points, or a lifecycle stage
// (any case, - or _).
func ParseUntil(s string) (Until, error) {
	switch u := Until(strings.ToLower(s)); u {
	case "", UntilMigrated, UntilDeploying, UntilTrafficShifted, UntilBaking:
		return u, nil
	}
	stage := strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
	if slices.Contains(lifecycleStages, stage) {
		return Until(stage), nil
	}
	return "", fmt.Errorf("--until %q: give migrated, deploying, traffic-shifted, baking or an ECS lifecycle stage (%s)", s, strings.ToLower(strings.ReplaceAll(strings.Join(lifecycleStages, ", "), "_", "-")))
}

// Reached says the output of a state shows the point passed: by the
// deployment, or by every deployment of a target of several services.
func (u Until) Reached(state string, s deploy.State) bool {
	switch {
	case s.Deployment.Done:
		return true
	case u == UntilMigrated:
		return s.Migration.Done
	case len(s.Services) == 0:
		return u.reachedBy(state, s.Deployment)
	}
	for _, r := range s.Services {
		if !u.reachedBy(state, r.Deployment) {
			return false
		}
	}
	return true
}

// reachedBy says one service deployment passed the point.
func (u Until) reachedBy(state string, dep deploy.Deployment) bool {
	if dep.Done {
		return true
	}
	switch u {
	case UntilDeploying:
		return dep.ServiceDeploymentARN != "" || dep.ID != ""
	case UntilTrafficShifted:
		if dep.TrafficPercent != nil && *dep.TrafficPercent >= 100 {
			return true
		}
		if dep.Stage == "" { // ROLLING: every task is the new version
			return state == "CheckDeployment" && dep.DesiredCount > 0 && dep.RunningCount >= dep.DesiredCount && dep.PendingCount == 0
		}
		return stageIndex(dep.Stage) >= stageIndex("POST_PRODUCTION_TRAFFIC_SHIFT")
	case UntilBaking:
		return dep.Stage != "" && stageIndex(dep.Stage) >= stageIndex("BAKE_TIME")
	}
	return dep.Stage != "" && stageIndex(dep.Stage) >= stageIndex(string(u))
}

func stageIndex(stage string) int { return slices.Index(lifecycleStages, stage) }

// reachedNow asks ECS where the execution's service deployment is, so that
// --until returns when the point is reached, not at the workflow's next
// look (ECS sends no event as a deployment moves between stages).
func (a *App) reachedNow(ctx context.Context, u Until, events []sfntypes.HistoryEvent) (string, bool, error) {
	var latest deploy.State
	for _, ev := range events {
		if d := ev.StateExitedEventDetails; d != nil {
			if s, ok := executions.Decode[deploy.State](aws.ToString(d.Output)); ok && len(deploymentsOf(&s)) > 0 {
				latest = s
			}
		}
	}
	deps := deploymentsOf(&latest)
	if len(deps) == 0 {
		return "", false, nil
	}
	var progress []string
	for _, dep := range deps {
		sd, err := a.serviceDeployment(ctx, dep.ServiceDeploymentARN)
		if err != nil {
			return "", false, err
		}
		_, r := deploy.JudgeServiceDeployment(sd, "")
		dep.Stage, dep.TrafficPercent = r.Stage, r.TrafficPercent
		if t := sd.TargetServiceRevision; t != nil {
			dep.RunningCount, dep.DesiredCount, dep.PendingCount = t.RunningTaskCount, t.RequestedTaskCount, t.PendingTaskCount
		}
		dep.Done = sd.Status == ecstypes.ServiceDeploymentStatusSuccessful
		progress = append(progress, r.Progress(nil, a.Now()))
	}
	if !u.Reached("CheckDeployment", latest) {
		return "", false, nil
	}
	return strings.Join(progress, "; ") + ", as ECS reports it", true, nil
}

// deploymentsOf points at the service deployments a state has started:
// its one, or each of a target of several.
func deploymentsOf(s *deploy.State) []*deploy.Deployment {
	var out []*deploy.Deployment
	for _, r := range s.Rollouts() {
		if r.Deployment.ServiceDeploymentARN != "" {
			out = append(out, r.Deployment)
		}
	}
	return out
}

// reachedIn finds the first state output in the history that shows the
// point passed, and says what it showed.
func (u Until) reachedIn(events []sfntypes.HistoryEvent) (string, bool) {
	for _, ev := range events {
		d := ev.StateExitedEventDetails
		if d == nil {
			continue
		}
		s, ok := executions.Decode[deploy.State](aws.ToString(d.Output))
		if !ok {
			continue
		}
		if u.Reached(aws.ToString(d.Name), s) {
			what := s.Deployment.Progress
			if what == "" {
				what = "at " + aws.ToString(d.Name)
			}
			return what, true
		}
	}
	return "", false
}
