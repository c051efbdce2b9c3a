package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Phases only the service deployment record tells apart.
const (
	// DeploymentRollingBack: ECS is rolling our deployment back
	// (ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS): the service is held until
	// the rollback settles.
	DeploymentRollingBack DeploymentPhase = iota + 100
	// DeploymentStoppedPhase: STOPPED by a person, no newer deployment, no failure.
	DeploymentStoppedPhase
	// DeploymentFailedNoRollback: STOPPED because the circuit breaker or an
	// alarm failed it, with rollback off: ECS left the service as it was.
	DeploymentFailedNoRollback
)

// ServiceDeploymentReading is what one DescribeServiceDeployments answer
// says of our deployment, for the state's output and the failure causes.
type ServiceDeploymentReading struct {
	Status          string
	StatusReason    string
	Stage           string
	TrafficPercent  *float64
	BakeMinutes     int32
	RollbackReason  string
	FailedTasks     int32
	TriggeredAlarms []string
	Strategy        string
	// Hook is the pause hook ECS waits at for ContinueServiceDeployment.
	Hook *Hook
}

// Hook is a pause hook awaiting action, from lifecycleHookDetails.
type Hook struct {
	ID            string     `json:"hookId"`
	Stage         string     `json:"stage"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
	TimeoutAction string     `json:"timeoutAction,omitempty"`
}

// JudgeServiceDeployment judges our deployment by ECS's record of it.
// current is the service's currentServiceDeployment: a STOPPED deployment
// that is no longer current was superseded by a newer one.
//
// Status, as the developer guide defines it: PENDING and IN_PROGRESS are
// ongoing, STOP_REQUESTED too (it ends STOPPED); ROLLBACK_REQUESTED and
// ROLLBACK_IN_PROGRESS are a rollback under way; SUCCESSFUL is the only
// success, and ECS reports it only after the bake time of BLUE_GREEN,
// LINEAR and CANARY and the alarm bake of ROLLING; ROLLBACK_SUCCESSFUL and
// ROLLBACK_FAILED are a failed deployment; STOPPED ends one that a person or
// a newer deployment stopped, or that failed with rollback off ("The rollback
// option is not in use for the failure detection mechanism … and the service
// fails", ServiceDeployment.stoppedAt).
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
func JudgeServiceDeployment(sd ecstypes.ServiceDeployment, current string) (DeploymentPhase, ServiceDeploymentReading) {
	r := ServiceDeploymentReading{
		Status: string(sd.Status), StatusReason: aws.ToString(sd.StatusReason), Stage: string(sd.LifecycleStage),
	}
	if t := sd.TargetServiceRevision; t != nil && t.RequestedProductionTrafficWeight != nil {
		w := *t.RequestedProductionTrafficWeight
		r.TrafficPercent = &w
	}
	if c := sd.DeploymentConfiguration; c != nil {
		r.BakeMinutes, r.Strategy = aws.ToInt32(c.BakeTimeInMinutes), string(c.Strategy)
	}
	if rb := sd.Rollback; rb != nil {
		r.RollbackReason = aws.ToString(rb.Reason)
	}
	for _, h := range sd.LifecycleHookDetails {
		if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
			r.Hook = &Hook{ID: aws.ToString(h.HookId), Stage: string(sd.LifecycleStage), ExpiresAt: h.ExpiresAt, TimeoutAction: string(h.TimeoutAction)}
		}
	}
	failed := false
	if cb := sd.DeploymentCircuitBreaker; cb != nil {
		r.FailedTasks = cb.FailureCount
		failed = cb.FailureCount > 0 && cb.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered
	}
	if a := sd.Alarms; a != nil && len(a.TriggeredAlarmNames) > 0 {
		r.TriggeredAlarms = a.TriggeredAlarmNames
		failed = true
	}
	switch sd.Status {
	case ecstypes.ServiceDeploymentStatusSuccessful:
		return DeploymentCompleted, r
	case ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress:
		return DeploymentRollingBack, r
	case ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return DeploymentFailedPhase, r
	case ecstypes.ServiceDeploymentStatusStopped:
		switch {
		case current != "" && current != aws.ToString(sd.ServiceDeploymentArn):
			return DeploymentReplaced, r
		case failed:
			return DeploymentFailedNoRollback, r
		}
		return DeploymentStoppedPhase, r
	}
	return DeploymentInProgress, r
}

// Progress is the reading for people: the status, the lifecycle stage, the
// production traffic step and, during BAKE_TIME, how far the bake is
// (bakingSince: when this execution first saw the bake).
func (r ServiceDeploymentReading) Progress(bakingSince *time.Time, now time.Time) string {
	parts := []string{r.Status}
	if r.Stage != "" {
		parts = append(parts, r.Stage)
	}
	if r.TrafficPercent != nil && r.Stage != "BAKE_TIME" {
		parts = append(parts, fmt.Sprintf("%g%% of production traffic", *r.TrafficPercent))
	}
	if r.Stage == "BAKE_TIME" && r.BakeMinutes > 0 && bakingSince != nil {
		parts = append(parts, fmt.Sprintf("%d of %d min", int(now.Sub(*bakingSince).Minutes()), r.BakeMinutes))
	}
	if h := r.Hook; h != nil {
		wait := "waiting for a decision at " + h.Stage
		if h.ExpiresAt != nil && h.TimeoutAction != "" {
			wait += fmt.Sprintf(" (ECS will %s at %s)", h.TimeoutAction, h.ExpiresAt.UTC().Format("15:04:05Z"))
		}
		parts = append(parts, wait)
	}
	return strings.Join(parts, ", ")
}

// failedCause explains a failed service deployment: why, how many tasks
// failed, which alarms fired.
func (r ServiceDeploymentReading) failedCause() string {
	var why []string
	if r.RollbackReason != "" {
		why = append(why, strings.TrimSuffix(r.RollbackReason, "."))
	} else if r.StatusReason != "" {
		why = append(why, strings.TrimSuffix(r.StatusReason, "."))
	}
	if r.FailedTasks > 0 {
		why = append(why, fmt.Sprintf("%d tasks failed", r.FailedTasks))
	}
	if len(r.TriggeredAlarms) > 0 {
		why = append(why, "alarms in ALARM: "+strings.Join(r.TriggeredAlarms, ", "))
	}
	if len(why) == 0 {
		return "no reason given"
	}
	return strings.Join(why, "; ")
}
