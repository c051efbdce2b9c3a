package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// StartDeployment forces a new deployment of the service and records its id:
// the PRIMARY deployment in UpdateService's response.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
func (d *Deployer) StartDeployment(ctx context.Context, s State) (State, error) {
	out, err := d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:            aws.String(s.Cluster),
		Service:            aws.String(s.Service),
		ForceNewDeployment: true,
	})
	if err != nil {
		return s, fmt.Errorf("update service %s/%s: %w", s.Cluster, s.Service, err)
	}
	var primary *ecstypes.Deployment
	if out.Service != nil {
		for i := range out.Service.Deployments {
			if aws.ToString(out.Service.Deployments[i].Status) == "PRIMARY" {
				primary = &out.Service.Deployments[i]
			}
		}
	}
	if primary == nil {
		return s, fmt.Errorf("update service %s/%s: the response lists no PRIMARY deployment", s.Cluster, s.Service)
	}
	now := d.now()
	dep := &s.Deployment
	dep.ID = aws.ToString(primary.Id)
	dep.StartedAt = ptrTime(now)
	dep.Deadline = ptrTime(now.Add(time.Duration(dep.TimeoutSeconds) * time.Second))
	record(dep, primary)
	d.log().InfoContext(ctx, "deployment started", "execution", s.Execution.ID, "cluster", s.Cluster,
		"service", s.Service, "deploymentId", dep.ID)
	return s, nil
}

// CheckDeployment looks at the service once and judges our deployment.
func (d *Deployer) CheckDeployment(ctx context.Context, s State) (State, error) {
	dep := &s.Deployment
	svc, err := d.describeService(ctx, s.Cluster, s.Service)
	if err != nil {
		return s, err
	}
	now := d.now()
	v := JudgeDeployment(svc, dep.ID, dep.RolloutState == string(ecstypes.DeploymentRolloutStateFailed))
	if v.Ours != nil {
		record(dep, v.Ours)
	} else {
		dep.Status = "INACTIVE"
	}
	switch v.Phase {
	case DeploymentCompleted:
		dep.Done = true
		dep.FinishedAt = ptrTime(now)
		if dep.StartedAt != nil {
			s.Phases.DeploymentSeconds = seconds(*dep.StartedAt, now)
		}
		s.Phases.TotalSeconds = seconds(s.Execution.StartTime, now)
		d.log().InfoContext(ctx, "deployment completed", "execution", s.Execution.ID, "cluster", s.Cluster,
			"service", s.Service, "deploymentId", dep.ID)
		return s, nil
	case DeploymentFailed:
		return s, &DeploymentRolledBack{newf("Deployment %s of service %s failed and ECS rolled it back: %s; %d tasks failed. The service runs the previous version. Latest events: %s. Check the new tasks' stopped reasons and logs.",
			dep.ID, s.Service, orUnknown(dep.RolloutStateReason), dep.FailedTasks, eventList(v.Events))}
	case DeploymentReplaced:
		by := "another deployment"
		if v.Primary != nil {
			by = fmt.Sprintf("deployment %s (task definition %s)", aws.ToString(v.Primary.Id), aws.ToString(v.Primary.TaskDefinition))
		}
		return s, &DeploymentSuperseded{newf("Deployment %s of service %s was replaced by %s before it completed: someone or something else updated the service. Check which version the service runs now; start again to deploy this image.",
			dep.ID, s.Service, by)}
	}
	if dep.Deadline != nil && now.After(*dep.Deadline) {
		return s, &DeploymentTimedOut{newf("Deployment %s of service %s had not completed after %ds (rollout %s, %d of %d tasks running, %d pending). ECS continues it; look at the service's events and tasks, and raise deploymentTimeout if rollouts take longer.",
			dep.ID, s.Service, dep.TimeoutSeconds, orUnknown(dep.RolloutState), dep.RunningCount, dep.DesiredCount, dep.PendingCount)}
	}
	return s, nil
}

func record(dep *Deployment, d *ecstypes.Deployment) {
	dep.Status = aws.ToString(d.Status)
	dep.RolloutState = string(d.RolloutState)
	dep.RolloutStateReason = aws.ToString(d.RolloutStateReason)
	dep.DesiredCount = d.DesiredCount
	dep.RunningCount = d.RunningCount
	dep.PendingCount = d.PendingCount
	dep.FailedTasks = d.FailedTasks
}

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

func eventList(evs []string) string {
	if len(evs) == 0 {
		return "none"
	}
	return strings.Join(evs, " | ")
}
