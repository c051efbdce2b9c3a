package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestJudgeServiceDeployment(t *testing.T) {
	const ours, newer = "arn:aws:ecs:us-west-2:1:service-deployment/c/s/ours", "arn:aws:ecs:us-west-2:1:service-deployment/c/s/newer"
	sd := func(status ecstypes.ServiceDeploymentStatus) ecstypes.ServiceDeployment {
		return ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String(ours), Status: status}
	}
	breaker := func(s ecstypes.ServiceDeployment, failures int32) ecstypes.ServiceDeployment {
		s.DeploymentCircuitBreaker = &ecstypes.ServiceDeploymentCircuitBreaker{FailureCount: failures, Status: ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered}
		return s
	}
	monitoring := func(s ecstypes.ServiceDeployment, failures int32) ecstypes.ServiceDeployment {
		s.DeploymentCircuitBreaker = &ecstypes.ServiceDeploymentCircuitBreaker{FailureCount: failures, Status: ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring}
		return s
	}
	withAlarms := func(s ecstypes.ServiceDeployment) ecstypes.ServiceDeployment {
		s.Alarms = &ecstypes.ServiceDeploymentAlarms{AlarmNames: []string{"app-5xx"}, Status: ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring, TriggeredAlarmNames: []string{}}
		return s
	}
	alarm := func(s ecstypes.ServiceDeployment, name string) ecstypes.ServiceDeployment {
		s.Alarms = &ecstypes.ServiceDeploymentAlarms{TriggeredAlarmNames: []string{name}}
		return s
	}
	cases := map[string]struct {
		sd      ecstypes.ServiceDeployment
		current string
		want    DeploymentPhase
	}{
		"pending":                           {sd: sd(ecstypes.ServiceDeploymentStatusPending), current: ours, want: DeploymentInProgress},
		"in progress":                       {sd: sd(ecstypes.ServiceDeploymentStatusInProgress), current: ours, want: DeploymentInProgress},
		"stop requested is still under way": {sd: sd(ecstypes.ServiceDeploymentStatusStopRequested), current: ours, want: DeploymentInProgress},
		"successful":                        {sd: sd(ecstypes.ServiceDeploymentStatusSuccessful), current: ours, want: DeploymentCompleted},
		"rollback requested":                {sd: sd(ecstypes.ServiceDeploymentStatusRollbackRequested), current: ours, want: DeploymentRollingBack},
		"rollback in progress":              {sd: sd(ecstypes.ServiceDeploymentStatusRollbackInProgress), current: ours, want: DeploymentRollingBack},
		"rolled back":                       {sd: sd(ecstypes.ServiceDeploymentStatusRollbackSuccessful), current: ours, want: DeploymentFailedPhase},
		"rollback failed":                   {sd: sd(ecstypes.ServiceDeploymentStatusRollbackFailed), current: ours, want: DeploymentFailedPhase},
		"stopped, a newer one is current":   {sd: sd(ecstypes.ServiceDeploymentStatusStopped), current: newer, want: DeploymentReplaced},
		"stopped by the circuit breaker":    {sd: breaker(sd(ecstypes.ServiceDeploymentStatusStopped), 3), current: ours, want: DeploymentFailedNoRollback},
		"stopped by an alarm":               {sd: alarm(sd(ecstypes.ServiceDeploymentStatusStopped), "app-5xx"), current: ours, want: DeploymentFailedNoRollback},
		"stopped by a person":               {sd: sd(ecstypes.ServiceDeploymentStatusStopped), current: ours, want: DeploymentStoppedPhase},
		// The breaker failed it only if it TRIGGERED: counting failures while
		// MONITORING is not a failure yet ("status … TRIGGERED: the rollback
		// monitor detected a failure", ServiceDeploymentCircuitBreaker).
		"stopped while the breaker only monitored":      {sd: monitoring(sd(ecstypes.ServiceDeploymentStatusStopped), 2), current: ours, want: DeploymentStoppedPhase},
		"stopped, the breaker triggered at one failure": {sd: breaker(sd(ecstypes.ServiceDeploymentStatusStopped), 1), current: ours, want: DeploymentFailedNoRollback},
		"stopped, alarms configured, none fired":        {sd: withAlarms(sd(ecstypes.ServiceDeploymentStatusStopped)), current: ours, want: DeploymentStoppedPhase},
		"stopped, no current deployment listed":         {sd: sd(ecstypes.ServiceDeploymentStatusStopped), current: "", want: DeploymentStoppedPhase},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, _ := JudgeServiceDeployment(tc.sd, tc.current); got != tc.want {
				t.Errorf("phase = %d, want %d", got, tc.want)
			}
		})
	}
}

// Only a PAUSE hook awaiting action is a pause: a Lambda hook in progress
// or a pause already answered is not.
func TestJudgeServiceDeploymentReadsThePauseHook(t *testing.T) {
	hook := func(typ ecstypes.DeploymentLifecycleHookTargetType, status ecstypes.DeploymentLifecycleHookStatus) ecstypes.ServiceDeployment {
		return ecstypes.ServiceDeployment{Status: ecstypes.ServiceDeploymentStatusInProgress, LifecycleStage: ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift,
			LifecycleHookDetails: []ecstypes.DeploymentLifecycleHookDetail{{HookId: aws.String("h1"), TargetType: typ, Status: status, TimeoutAction: ecstypes.DeploymentLifecycleHookActionRollback}}}
	}
	cases := map[string]struct {
		sd   ecstypes.ServiceDeployment
		want *Hook
	}{
		"pause awaiting action": {hook(ecstypes.DeploymentLifecycleHookTargetTypePause, ecstypes.DeploymentLifecycleHookStatusAwaitingAction),
			&Hook{ID: "h1", Stage: "POST_TEST_TRAFFIC_SHIFT", TimeoutAction: "ROLLBACK"}},
		"pause answered":      {hook(ecstypes.DeploymentLifecycleHookTargetTypePause, ecstypes.DeploymentLifecycleHookStatusSucceeded), nil},
		"lambda hook running": {hook(ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, ecstypes.DeploymentLifecycleHookStatusInProgress), nil},
	}
	for name, tc := range cases {
		phase, r := JudgeServiceDeployment(tc.sd, "")
		if phase != DeploymentInProgress || (r.Hook == nil) != (tc.want == nil) || (r.Hook != nil && *r.Hook != *tc.want) {
			t.Errorf("%s: phase %d, hook %+v, want %+v", name, phase, r.Hook, tc.want)
		}
	}
}

func TestServiceDeploymentProgress(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	since := now.Add(-4*time.Minute - 10*time.Second)
	half := 50.0
	expires := now.Add(30 * time.Minute)
	cases := map[string]struct {
		r     ServiceDeploymentReading
		since *time.Time
		want  string
	}{
		"rolling":        {r: ServiceDeploymentReading{Status: "IN_PROGRESS"}, want: "IN_PROGRESS"},
		"traffic step":   {r: ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: &half}, want: "IN_PROGRESS, PRODUCTION_TRAFFIC_SHIFT, 50% of production traffic"},
		"bake":           {r: ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "BAKE_TIME", BakeMinutes: 10, TrafficPercent: &half}, since: &since, want: "IN_PROGRESS, BAKE_TIME, 4 of 10 min"},
		"bake not timed": {r: ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "BAKE_TIME", BakeMinutes: 10}, want: "IN_PROGRESS, BAKE_TIME"},
		"no bake time":   {r: ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "BAKE_TIME"}, since: &since, want: "IN_PROGRESS, BAKE_TIME"},
		"paused at a hook": {r: ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "POST_TEST_TRAFFIC_SHIFT",
			Hook: &Hook{ID: "h", Stage: "POST_TEST_TRAFFIC_SHIFT", ExpiresAt: &expires, TimeoutAction: "ROLLBACK"}},
			want: "IN_PROGRESS, POST_TEST_TRAFFIC_SHIFT, waiting for a decision at POST_TEST_TRAFFIC_SHIFT (ECS will ROLLBACK at 10:30:00Z)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.r.Progress(tc.since, now); got != tc.want {
				t.Errorf("progress = %q, want %q", got, tc.want)
			}
		})
	}
	for _, c := range []struct {
		r    ServiceDeploymentReading
		want string
	}{
		{ServiceDeploymentReading{RollbackReason: "Circuit breaker.", FailedTasks: 4, TriggeredAlarms: []string{"a", "b"}}, "Circuit breaker; 4 tasks failed; alarms in ALARM: a, b"},
		{ServiceDeploymentReading{StatusReason: "Stopped by the alarm.", FailedTasks: 1}, "Stopped by the alarm; 1 tasks failed"},
		{ServiceDeploymentReading{RollbackReason: "Rolled back on request", StatusReason: "ignored"}, "Rolled back on request"},
	} {
		cause := c.r.failedCause()
		if !strings.HasPrefix(cause, c.want) || strings.Contains(cause, "0 tasks") || strings.Contains(cause, "ignored") || (len(c.r.TriggeredAlarms) == 0 && strings.Contains(cause, "ALARM")) {
			t.Errorf("cause = %q, want %q", cause, c.want)
		}
	}
}

// Waiting at a pause hook does not count against deploymentTimeout: while
// paused the deadline is the hook's own expiry, and once the pause is
// answered the deadline moves on by the time it took.
func TestPauseDoesNotCountAgainstTheTimeout(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	deadline, expires := t0.Add(30*time.Minute), t0.Add(4*time.Hour)
	hook := &Hook{ID: "h1", Stage: "POST_TEST_TRAFFIC_SHIFT", ExpiresAt: &expires, TimeoutAction: "ROLLBACK"}
	s := State{Environment: "prod", Deployment: Deployment{Deadline: &deadline}}
	recordPause(&s, &ServiceDeploymentReading{Status: "IN_PROGRESS", Hook: hook}, t0.Add(5*time.Minute))
	if dl := s.Deployment.deadline(); dl == nil || !dl.Equal(expires.Add(time.Minute)) {
		t.Fatalf("paused: deadline %v, want the hook's expiry and a minute", dl)
	}
	if !strings.Contains(s.Deployment.Paused.Answer, "deployer continue prod") {
		t.Errorf("answer = %q", s.Deployment.Paused.Answer)
	}
	recordPause(&s, &ServiceDeploymentReading{Status: "IN_PROGRESS", Hook: hook}, t0.Add(65*time.Minute))
	if s.Deployment.Paused == nil || !s.Deployment.Paused.Since.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("the same pause seen again must keep its start: %+v", s.Deployment.Paused)
	}
	recordPause(&s, &ServiceDeploymentReading{Status: "IN_PROGRESS"}, t0.Add(125*time.Minute))
	if s.Deployment.Paused != nil || !s.Deployment.Deadline.Equal(deadline.Add(2*time.Hour)) || s.Deployment.PausedSeconds != 7200 {
		t.Errorf("answered: paused %+v, deadline %v (want %v), paused %ds", s.Deployment.Paused, s.Deployment.Deadline, deadline.Add(2*time.Hour), s.Deployment.PausedSeconds)
	}
}
