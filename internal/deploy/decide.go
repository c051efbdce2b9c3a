package deploy

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MigrationPhase is what a look at the migration task concludes.
type MigrationPhase int

// The outcomes of a migration task.
const (
	MigrationRunning MigrationPhase = iota
	MigrationSucceeded
	MigrationExitedNonZero
	MigrationNeverRan
)

// MigrationVerdict is the pure reading of one DescribeTasks result.
type MigrationVerdict struct {
	Phase      MigrationPhase
	LastStatus string
	ExitCode   *int32
	// Reason explains a failure: the stop code and stopped reason, and the container's reason.
	Reason string
}

// JudgeMigration decides whether the migration task is done and whether it
// succeeded, from the task and the name of the migration container.
//
// Only lastStatus STOPPED is final (a short task can go from PENDING to STOPPED
// between two polls, so nothing waits for RUNNING). The container's exitCode is
// absent when it never ran (CannotPullContainerError, ResourceInitializationError):
// that is a failure to start, never a success.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Container.html
func JudgeMigration(task ecstypes.Task, container string) MigrationVerdict {
	v := MigrationVerdict{LastStatus: aws.ToString(task.LastStatus)}
	if v.LastStatus != "STOPPED" {
		v.Phase = MigrationRunning
		return v
	}
	var c *ecstypes.Container
	for i := range task.Containers {
		if aws.ToString(task.Containers[i].Name) == container {
			c = &task.Containers[i]
		}
	}
	var parts []string
	if task.StopCode != "" {
		parts = append(parts, "stop code "+string(task.StopCode))
	}
	if r := aws.ToString(task.StoppedReason); r != "" {
		parts = append(parts, "stopped reason: "+r)
	}
	if c != nil && aws.ToString(c.Reason) != "" {
		parts = append(parts, fmt.Sprintf("container %s: %s", container, aws.ToString(c.Reason)))
	}
	v.Reason = strings.Join(parts, "; ")
	switch {
	case c == nil:
		v.Phase = MigrationNeverRan
		v.Reason = strings.TrimPrefix(strings.Join([]string{v.Reason, fmt.Sprintf("the task has no container named %q", container)}, "; "), "; ")
	case c.ExitCode == nil || task.StopCode == ecstypes.TaskStopCodeTaskFailedToStart:
		v.Phase = MigrationNeverRan
		v.ExitCode = c.ExitCode
	case *c.ExitCode == 0:
		v.Phase = MigrationSucceeded
		v.ExitCode = c.ExitCode
	default:
		v.Phase = MigrationExitedNonZero
		v.ExitCode = c.ExitCode
	}
	return v
}

// DeploymentPhase is what a look at the service concludes about our deployment.
type DeploymentPhase int

// The outcomes of a deployment.
const (
	DeploymentInProgress DeploymentPhase = iota
	DeploymentCompleted
	DeploymentFailedPhase
	DeploymentReplaced
)

// DeploymentVerdict is the pure reading of one DescribeServices result.
type DeploymentVerdict struct {
	Phase DeploymentPhase
	// Ours is our deployment as listed, nil when ECS no longer lists it.
	Ours *ecstypes.Deployment
	// Primary is the service's PRIMARY deployment.
	Primary *ecstypes.Deployment
	// Events are the service's latest events that mention our deployment or a rollback.
	Events []string
	// SD is ECS's record of our deployment, which decided Phase; nil when
	// deployments[] decided it.
	SD *ServiceDeploymentReading
	// Current is the service's currentServiceDeployment.
	Current string
}

// JudgeDeployment decides whether the deployment with id ours is done, failed
// or superseded. seenFailed says an earlier look saw it FAILED.
//
// "Services stable" (one deployment, running == desired) is not enough: after a
// circuit-breaker rollback the service is stable on the OLD version. Success is
// our deployment being PRIMARY with rolloutState COMPLETED; for deployments
// without rolloutState (rolling updates behind a Classic Load Balancer, or the
// CODE_DEPLOY/EXTERNAL controllers), ours being the only deployment with
// running == desired.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
func JudgeDeployment(svc ecstypes.Service, ours string, seenFailed bool) DeploymentVerdict {
	var v DeploymentVerdict
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if aws.ToString(d.Id) == ours {
			v.Ours = d
		}
		if aws.ToString(d.Status) == "PRIMARY" {
			v.Primary = d
		}
	}
	v.Events = relevantEvents(svc.Events, ours)
	switch {
	case v.Ours != nil && v.Ours.RolloutState == ecstypes.DeploymentRolloutStateFailed:
		v.Phase = DeploymentFailedPhase
	case v.Ours == nil || aws.ToString(v.Ours.Status) != "PRIMARY":
		// Ours is ACTIVE, INACTIVE or gone. A circuit-breaker rollback also
		// makes a new PRIMARY: tell it from someone else's deployment by what
		// we saw earlier and by the service events about our deployment.
		if seenFailed || mentionsFailure(v.Events, ours) {
			v.Phase = DeploymentFailedPhase
		} else {
			v.Phase = DeploymentReplaced
		}
	case v.Ours.RolloutState == ecstypes.DeploymentRolloutStateCompleted:
		v.Phase = DeploymentCompleted
	case v.Ours.RolloutState == "" && len(svc.Deployments) == 1 && v.Ours.RunningCount == v.Ours.DesiredCount:
		v.Phase = DeploymentCompleted
	default:
		v.Phase = DeploymentInProgress
	}
	return v
}

// relevantEvents keeps the newest service events (ECS lists newest first) that
// name our deployment or a rollback, at most five.
func relevantEvents(evs []ecstypes.ServiceEvent, ours string) []string {
	var out []string
	for _, e := range evs {
		m := aws.ToString(e.Message)
		if strings.Contains(m, ours) || strings.Contains(m, "rolling back") || strings.Contains(m, "circuit breaker") {
			out = append(out, m)
		}
		if len(out) == 5 {
			break
		}
	}
	return out
}

func mentionsFailure(events []string, ours string) bool {
	for _, m := range events {
		if strings.Contains(m, ours) && (strings.Contains(m, "deployment failed") || strings.Contains(m, "rolling back")) {
			return true
		}
	}
	return false
}

// IsCapacityFailure says whether a RunTask failure reason may clear if
// retried: RESOURCE:* (no room on the instances) and AGENT (agent
// disconnected) on EC2; on Fargate the sentence "Capacity is unavailable at
// this time. Please try again later or in a different availability zone"
// (a failures[] entry, gchq/sleeper#904); and the capacity limits raised as
// errors ("… capacity limit exceeded", aws/aws-sdk-ruby#3047).
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html
func IsCapacityFailure(reason string) bool {
	r := strings.ToLower(reason)
	return strings.HasPrefix(reason, "RESOURCE:") || reason == "AGENT" ||
		strings.Contains(r, "capacity is unavailable") || strings.Contains(r, "capacity limit exceeded")
}
