package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Waiting for ECS: WaitForMigration and WaitForDeployment are Task states
// that wait for a task token (lambda:invoke.waitForTaskToken). Their
// function, Watch, looks once; if the change is already there it sends the
// token itself, else the execution waits until the Wake function sends it on
// an ECS event, or until the state's timeout (the safety poll), after which
// Check looks anyway. Events are best effort; the timeout keeps the workflow
// correct without them.
// https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token

// Waiting phases (WatchInput.WaitingFor).
const (
	WaitingForMigration  = "migration"
	WaitingForDeployment = "deployment"
	// WaitingForApproval waits for a person (WaitForApproval): only the
	// CLI's decision ends it, or its timeout.
	WaitingForApproval = "approval"
)

// TokenAPI is the part of Step Functions that ends a wait for a task token.
type TokenAPI interface {
	SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
}

var _ TokenAPI = (*sfn.Client)(nil)

// NoticeAPI tells people that something waits for them (the notify package
// publishes it to the stack's topic).
type NoticeAPI interface {
	AwaitingApproval(ctx context.Context, s State, since time.Time) error
}

// WatchInput is the Payload of WaitForMigration and WaitForDeployment.
type WatchInput struct {
	TaskToken  string `json:"taskToken"`
	WaitingFor string `json:"waitingFor"`
	State      State  `json:"state"`
}

// WatchOutput is what Watch returns (the history shows it as TaskSubmitted).
type WatchOutput struct {
	// Parked is true when the execution waits for an event or its timeout.
	Parked bool   `json:"parked"`
	Reason string `json:"reason"`
}

// Watch looks at the migration task or the service once, after the waiting
// state has begun: a change that happened before the wait began (whose event
// found nobody waiting) is seen here, so no event is missed for good.
func (d *Deployer) Watch(ctx context.Context, in WatchInput) (WatchOutput, error) {
	if in.TaskToken == "" {
		return WatchOutput{}, watchWithoutToken()
	}
	s := in.State
	ctx = d.in(ctx, s)
	now := d.now()
	var changed bool
	var reason string
	switch in.WaitingFor {
	case WaitingForMigration:
		task, _, err := d.describeMigration(ctx, s)
		if err != nil {
			return WatchOutput{}, err
		}
		changed, reason = MigrationChanged(task, s.Migration.Deadline, now)
	case WaitingForDeployment:
		var err error
		if changed, reason, err = d.deploymentChanged(ctx, s, now); err != nil {
			return WatchOutput{}, err
		}
	case WaitingForApproval:
		answer := ""
		if s.Approval != nil {
			answer = s.Approval.Answer
		}
		reason := "waiting for a person: " + answer
		if d.Notices != nil {
			// A notice that could not be sent does not stop the deployment: the
			// wait is in deployer status and the console either way. The
			// history says so.
			if err := d.Notices.AwaitingApproval(ctx, s, now); err != nil {
				d.log().WarnContext(ctx, "the approval notice was not sent", "execution", s.Execution.ID, "error", err)
				reason += "; the notification could not be sent (" + err.Error() + ")"
			} else {
				reason += "; the notification topic was told"
			}
		}
		return WatchOutput{Parked: true, Reason: reason}, nil
	default:
		return WatchOutput{}, watchBadWaitingFor(in.WaitingFor, WaitingForMigration, WaitingForDeployment, WaitingForApproval)
	}
	if !changed {
		return WatchOutput{Parked: true, Reason: reason}, nil
	}
	if err := d.sendWake(ctx, in.TaskToken, Wake{By: "watch", Reason: reason}); err != nil {
		return WatchOutput{}, err
	}
	d.log().InfoContext(ctx, "change found before waiting", "execution", s.Execution.ID, "waitingFor", in.WaitingFor, "reason", reason)
	return WatchOutput{Reason: reason}, nil
}

// sendWake sends the token. A token already sent (by the other of Watch and
// Wake, or a duplicate event) or timed out is not an error: the execution has
// moved on, which is what the sender wanted.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
func (d *Deployer) sendWake(ctx context.Context, token string, w Wake) error {
	b, _ := json.Marshal(w)
	_, err := d.Tokens.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(b))})
	if err != nil && !IsGoneToken(err) {
		return fmt.Errorf("send task success: %w", err)
	}
	return nil
}

// deploymentChanged looks at our deployment, or at each ongoing one of a
// target of several services: a change to any of them is for CheckDeployment.
func (d *Deployer) deploymentChanged(ctx context.Context, s State, now time.Time) (bool, string, error) {
	if len(s.Services) == 0 {
		v, err := d.judgeDeployment(ctx, &s)
		if err != nil {
			return false, "", err
		}
		changed, reason := DeploymentChanged(v, s.Deployment, now)
		return changed, reason, nil
	}
	var waits []string
	for _, r := range s.Services {
		var sub State
		switch r.Outcome {
		case OutcomeDeploying:
			sub = s.forService(r, r.Deployment, r.PinnedTaskDefinition)
		case OutcomeRollingBack:
			sub = s.forService(r, *r.Rollback, r.TaskDefinition)
		default:
			continue
		}
		v, err := d.judgeDeployment(ctx, &sub)
		if err != nil {
			return false, "", err
		}
		changed, reason := DeploymentChanged(v, sub.Deployment, now)
		if changed {
			return true, r.Service + ": " + reason, nil
		}
		waits = append(waits, r.Service+": "+reason)
	}
	return false, strings.Join(waits, "; "), nil
}

// MigrationChanged says whether CheckMigration has something to act on:
// the task stopped or is gone, or its deadline passed.
func MigrationChanged(task *ecstypes.Task, deadline *time.Time, now time.Time) (bool, string) {
	switch {
	case task == nil:
		return true, "ECS no longer knows the migration task"
	case JudgeMigration(*task, "").Phase != MigrationRunning:
		return true, "the migration task stopped"
	case deadline != nil && now.After(*deadline):
		return true, "the migration is past its deadline"
	}
	return false, "the migration task is " + aws.ToString(task.LastStatus)
}

// DeploymentChanged says whether CheckDeployment has something to act on.
// It mirrors CheckDeployment: waiting goes on while our deployment is in
// progress, or while ECS's rollback of it (dep.RollingBackTo) is.
func DeploymentChanged(v DeploymentVerdict, dep Deployment, now time.Time) (bool, string) {
	if dl := dep.deadline(); dl != nil && now.After(*dl) {
		return true, "the deployment is past its deadline"
	}
	switch v.Phase {
	case DeploymentCompleted:
		return true, "the deployment completed"
	case DeploymentReplaced:
		return true, "another deployment replaced ours"
	case DeploymentRollingBack:
		return false, "ECS is rolling back our deployment (" + v.SD.Status + ")"
	case DeploymentStoppedPhase, DeploymentFailedNoRollback:
		return true, "the deployment stopped (" + v.SD.Status + ")"
	case DeploymentFailedPhase:
		// CheckDeployment has seen the rollback start and waits for it to settle.
		if rb := rollingBackTo(v, dep, now); rb != "" && rb == dep.RollingBackTo {
			return false, "ECS is rolling back to deployment " + rb
		}
		return true, "the deployment failed"
	}
	if v.SD != nil {
		if h := v.SD.Hook; h != nil {
			if dep.Paused == nil || dep.Paused.ID != h.ID {
				return true, "the deployment paused at " + h.Stage
			}
			return false, "the deployment waits for a decision at " + h.Stage
		}
		if dep.Paused != nil {
			return true, "the pause at " + dep.Paused.Stage + " was answered"
		}
		return false, "the deployment is " + v.SD.Status
	}
	return false, "the deployment is " + orUnknown(dep.RolloutState)
}
