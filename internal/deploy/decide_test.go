package deploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestJudgeMigration(t *testing.T) {
	exit := func(c int32) *int32 { return &c }
	task := func(status string, code ecstypes.TaskStopCode, reason string, containers ...ecstypes.Container) ecstypes.Task {
		return ecstypes.Task{LastStatus: aws.String(status), StopCode: code, StoppedReason: aws.String(reason), Containers: containers}
	}
	app := func(code *int32, reason string) ecstypes.Container {
		return ecstypes.Container{Name: aws.String("app"), ExitCode: code, Reason: aws.String(reason)}
	}
	sidecar := ecstypes.Container{Name: aws.String("log-router"), ExitCode: exit(0)}
	cases := map[string]struct {
		task      ecstypes.Task
		phase     MigrationPhase
		exit      *int32
		reasonHas string
	}{
		// Lifecycle states before STOPPED are all "still running", including
		// PENDING: a short task may go PENDING → STOPPED between two polls.
		"provisioning":   {task: task("PROVISIONING", "", "", app(nil, "")), phase: MigrationRunning},
		"pending":        {task: task("PENDING", "", "", app(nil, "")), phase: MigrationRunning},
		"running":        {task: task("RUNNING", "", "", app(nil, "")), phase: MigrationRunning},
		"deprovisioning": {task: task("DEPROVISIONING", "", "", app(exit(0), "")), phase: MigrationRunning},
		"exit 0":         {task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", app(exit(0), ""), sidecar), phase: MigrationSucceeded, exit: exit(0)},
		"exit 1":         {task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", app(exit(1), ""), sidecar), phase: MigrationExitedNonZero, exit: exit(1), reasonHas: "EssentialContainerExited"},
		"killed by spot": {task: task("STOPPED", ecstypes.TaskStopCodeSpotInterruption, "Your Spot Task was interrupted.", app(exit(137), "")), phase: MigrationExitedNonZero, exit: exit(137), reasonHas: "Spot Task was interrupted"},
		// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
		"image pull failed, no exit code": {task: task("STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: not found", app(nil, "CannotPullContainerError: not found")), phase: MigrationNeverRan, reasonHas: "CannotPullContainerError"},
		"resource init error":             {task: task("STOPPED", ecstypes.TaskStopCodeTaskFailedToStart, "ResourceInitializationError: unable to pull secrets", app(nil, "")), phase: MigrationNeverRan, reasonHas: "ResourceInitializationError"},
		"sidecar exited, app never ran":   {task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", app(nil, ""), sidecar), phase: MigrationNeverRan},
		"no such container":               {task: task("STOPPED", ecstypes.TaskStopCodeEssentialContainerExited, "", sidecar), phase: MigrationNeverRan, reasonHas: `no container named "app"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := JudgeMigration(tc.task, "app")
			if v.Phase != tc.phase {
				t.Errorf("phase = %d, want %d", v.Phase, tc.phase)
			}
			if (v.ExitCode == nil) != (tc.exit == nil) || (tc.exit != nil && *v.ExitCode != *tc.exit) {
				t.Errorf("exit code = %v, want %v", v.ExitCode, tc.exit)
			}
			if tc.reasonHas != "" && !strings.Contains(v.Reason, tc.reasonHas) {
				t.Errorf("reason %q does not mention %q", v.Reason, tc.reasonHas)
			}
		})
	}
}

func TestJudgeDeployment(t *testing.T) {
	dep := func(id, status string, rollout ecstypes.DeploymentRolloutState, running, desired int32) ecstypes.Deployment {
		return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: rollout, RunningCount: running, DesiredCount: desired}
	}
	events := func(msgs ...string) []ecstypes.ServiceEvent {
		var out []ecstypes.ServiceEvent
		for _, m := range msgs {
			out = append(out, ecstypes.ServiceEvent{Message: aws.String(m)})
		}
		return out
	}
	const ours = "ecs-svc/111"
	cases := map[string]struct {
		svc        ecstypes.Service
		seenFailed bool
		phase      DeploymentPhase
	}{
		"ours in progress next to the old one": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep(ours, "PRIMARY", ecstypes.DeploymentRolloutStateInProgress, 1, 2), dep("ecs-svc/000", "ACTIVE", ecstypes.DeploymentRolloutStateCompleted, 2, 2)}},
			phase: DeploymentInProgress},
		"ours completed": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep(ours, "PRIMARY", ecstypes.DeploymentRolloutStateCompleted, 2, 2)}}, phase: DeploymentCompleted},
		// The services-stable rule would call this a success: one deployment,
		// running == desired. It is the previous version after a rollback.
		"stable after circuit-breaker rollback, ours gone": {svc: ecstypes.Service{
			Deployments: []ecstypes.Deployment{dep("ecs-svc/222", "PRIMARY", ecstypes.DeploymentRolloutStateCompleted, 2, 2)},
			Events: events("(service s) has reached a steady state.", "(service s) rolling back to deployment ecs-svc/222.",
				"(service s) (deployment ecs-svc/111) deployment failed: tasks failed to start.")},
			phase: DeploymentFailedPhase},
		"ours FAILED while the rollback runs": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep("ecs-svc/222", "PRIMARY", ecstypes.DeploymentRolloutStateInProgress, 0, 2), dep(ours, "ACTIVE", ecstypes.DeploymentRolloutStateFailed, 0, 2)}},
			phase: DeploymentFailedPhase},
		"ours gone, seen FAILED earlier, events aged out": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep("ecs-svc/222", "PRIMARY", ecstypes.DeploymentRolloutStateCompleted, 2, 2)}}, seenFailed: true, phase: DeploymentFailedPhase},
		"someone else's deployment is PRIMARY": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep("ecs-svc/333", "PRIMARY", ecstypes.DeploymentRolloutStateInProgress, 0, 2), dep(ours, "ACTIVE", ecstypes.DeploymentRolloutStateInProgress, 1, 2)}},
			phase: DeploymentReplaced},
		"ours gone without a failure": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep("ecs-svc/333", "PRIMARY", ecstypes.DeploymentRolloutStateCompleted, 2, 2)}}, phase: DeploymentReplaced},
		"no rolloutState: only deployment, running == desired": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep(ours, "PRIMARY", "", 2, 2)}}, phase: DeploymentCompleted},
		"no rolloutState: old one still draining": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep(ours, "PRIMARY", "", 2, 2), dep("ecs-svc/000", "ACTIVE", "", 1, 2)}}, phase: DeploymentInProgress},
		"no rolloutState: not all running": {svc: ecstypes.Service{Deployments: []ecstypes.Deployment{
			dep(ours, "PRIMARY", "", 1, 2)}}, phase: DeploymentInProgress},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if v := JudgeDeployment(tc.svc, ours, tc.seenFailed); v.Phase != tc.phase {
				t.Errorf("phase = %d, want %d", v.Phase, tc.phase)
			}
		})
	}
}

func TestIsCapacityFailure(t *testing.T) {
	cases := map[string]bool{
		"RESOURCE:CPU": true, "RESOURCE:MEMORY": true, "RESOURCE:PORTS": true, "RESOURCE:ENI": true, "RESOURCE:GPU": true,
		"AGENT": true, "ATTRIBUTE": false, "MISSING": false, "INACTIVE": false,
		// Fargate's failures[] reason (gchq/sleeper#904) and a capacity limit raised as an error.
		"Capacity is unavailable at this time. Please try again later or in a different availability zone": true,
		"Tasks provisioning capacity limit exceeded.":                                                      true,
		"Task definition does not support launch_type FARGATE.":                                            false,
	}
	for reason, want := range cases {
		if got := IsCapacityFailure(reason); got != want {
			t.Errorf("IsCapacityFailure(%q) = %v, want %v", reason, got, want)
		}
	}
}
