package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// A history as GetExecutionHistory returns it: a rolled-back deployment.
func TestRenderFromStepFunctionsHistory(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(ms int) *time.Time { v := t0.Add(time.Duration(ms) * time.Millisecond); return &v }
	entered := func(ms int, typ, name string) sfntypes.HistoryEvent {
		return sfntypes.HistoryEvent{Timestamp: at(ms), Type: sfntypes.HistoryEventType(typ + "StateEntered"), StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(name)}}
	}
	exited := func(ms int, typ, name, output string) sfntypes.HistoryEvent {
		return sfntypes.HistoryEvent{Timestamp: at(ms), Type: sfntypes.HistoryEventType(typ + "StateExited"), StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: aws.String(name), Output: aws.String(output)}}
	}
	scheduled := func(ms int) sfntypes.HistoryEvent {
		return sfntypes.HistoryEvent{Timestamp: at(ms), Type: sfntypes.HistoryEventTypeLambdaFunctionScheduled}
	}
	resolved := `{"environment":"staging","cluster":"staging","service":"staging-service","image":{"repository":"app","tag":"staging","digest":"sha256:8262dc4f553c4ab2a0e7cf8c3f5c4a1b2d0ef11ee4b4d2c7c2f8e0a1b9d6c3e7"},"launch":{"taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/app:7"},"migration":{"skipped":true,"skipReason":"skipMigration was set in the input","done":true},"deployment":{"done":false}}`
	started := `{"environment":"staging","migration":{"skipped":true,"done":true},"deployment":{"id":"ecs-svc/111","status":"PRIMARY","rolloutState":"IN_PROGRESS","desiredCount":2,"runningCount":0,"done":false}}`
	cause := `{"errorMessage":"Deployment ecs-svc/111 of service staging-service failed and ECS rolled it back: ECS deployment circuit breaker: tasks failed to start.","errorType":"DeploymentRolledBack"}`
	events := []sfntypes.HistoryEvent{
		{Timestamp: at(0), Type: sfntypes.HistoryEventTypeExecutionStarted},
		entered(10, "Task", "ResolveTarget"), scheduled(10),
		{Timestamp: at(300), Type: sfntypes.HistoryEventTypeLambdaFunctionFailed, LambdaFunctionFailedEventDetails: &sfntypes.LambdaFunctionFailedEventDetails{Error: aws.String("Lambda.ServiceException"), Cause: aws.String("Rate exceeded")}},
		scheduled(2300), exited(2500, "Task", "ResolveTarget", resolved),
		entered(2501, "Choice", "ShouldRunMigration"), exited(2502, "Choice", "ShouldRunMigration", resolved),
		entered(2503, "Task", "StartDeployment"), scheduled(2503), exited(2700, "Task", "StartDeployment", started),
		entered(2701, "Wait", "WaitForDeployment"), exited(17701, "Wait", "WaitForDeployment", started),
		entered(17702, "Task", "CheckDeployment"), scheduled(17702),
		{Timestamp: at(17900), Type: sfntypes.HistoryEventTypeLambdaFunctionFailed, LambdaFunctionFailedEventDetails: &sfntypes.LambdaFunctionFailedEventDetails{Error: aws.String("DeploymentRolledBack"), Cause: aws.String(cause)}},
		entered(17901, "Pass", "ReadFailure"), exited(17902, "Pass", "ReadFailure", "{}"),
		entered(17903, "Choice", "RouteFailure"), exited(17904, "Choice", "RouteFailure", "{}"),
		entered(17905, "Fail", "DeploymentRolledBack"),
		{Timestamp: at(17906), Type: sfntypes.HistoryEventTypeExecutionFailed, ExecutionFailedEventDetails: &sfntypes.ExecutionFailedEventDetails{Error: aws.String("DeploymentRolledBack"), Cause: aws.String("Deployment ecs-svc/111 of service staging-service failed and ECS rolled it back.")}},
	}
	var b strings.Builder
	Render(&b, Result{ExecutionARN: "arn:aws:states:us-west-2:123456789012:execution:ecr-deployer:staging-tag-20261125T100000Z-3f9a", Status: "FAILED",
		Error: "DeploymentRolledBack", Cause: "Deployment ecs-svc/111 of service staging-service failed and ECS rolled it back."}, Steps(FromSDK(events)))
	golden.Check(t, "rolled-back", b.String())
}

func TestCauseMessage(t *testing.T) {
	cases := map[string]string{
		`{"errorMessage":"boom","errorType":"MigrationFailed"}`: "boom",
		"plain text":  "plain text",
		`{"other":1}`: `{"other":1}`,
	}
	for in, want := range cases {
		if got := CauseMessage(in); got != want {
			t.Errorf("CauseMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// The history says the decisions people made, in words.
func TestSummarizeDecisions(t *testing.T) {
	cases := map[string]struct {
		state string
		st    deploy.State
		want  string
	}{
		"approved": {"WaitForApproval", deploy.State{Environment: "prod", Approval: &deploy.Approval{Decision: &deploy.ApprovalDecision{Approved: true, By: "arn:aws:iam::1:user/ana", Reason: "notes reviewed"}}},
			"approved by arn:aws:iam::1:user/ana: notes reviewed"},
		"rejected": {"WaitForApproval", deploy.State{Environment: "prod", Approval: &deploy.Approval{Decision: &deploy.ApprovalDecision{By: "arn:aws:iam::1:user/bo"}}},
			"rejected by arn:aws:iam::1:user/bo"},
		"a pause answered": {"WaitForDeployment", deploy.State{Environment: "prod", Wake: &deploy.Wake{By: "decision", Reason: "arn:aws:iam::1:user/ana chose CONTINUE: green ok"}},
			"decision: arn:aws:iam::1:user/ana chose CONTINUE: green ok"},
		"the guard passed": {"CheckTurn", deploy.State{Environment: "prod", Turn: deploy.Turn{Decision: "GO", Reason: "no other deployment of prod/prod-service is running; promotion guard passed: staging-1 deployed sha256:ab"}},
			"its turn: no other deployment of prod/prod-service is running; promotion guard passed: staging-1 deployed sha256:ab"},
	}
	for name, tc := range cases {
		b, _ := json.Marshal(tc.st)
		if got := Summarize(tc.state, "Task", string(b)); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}
