package cli

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// oneFailure lists two executions of staging for one digest: the newest
// failed with err, the one before it deployed.
type oneFailure struct{ err string }

func (f oneFailure) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return &sfn.ListExecutionsOutput{Executions: []sfntypes.ExecutionListItem{
		{ExecutionArn: aws.String("failed"), Name: aws.String("failed"), Status: sfntypes.ExecutionStatusFailed},
		{ExecutionArn: aws.String("deployed"), Name: aws.String("deployed"), Status: sfntypes.ExecutionStatusSucceeded},
	}}, nil
}

func (f oneFailure) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	input := `{"environment":"staging","digest":"sha256:` + digest64 + `"}`
	if aws.ToString(in.ExecutionArn) == "failed" {
		return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Name: in.ExecutionArn, Status: sfntypes.ExecutionStatusFailed, Input: aws.String(input), Error: aws.String(f.err)}, nil
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Name: in.ExecutionArn, Status: sfntypes.ExecutionStatusSucceeded, Input: aws.String(input),
		Output: aws.String(`{"environment":"staging","cluster":"staging","image":{"digest":"sha256:` + digest64 + `"},"deployment":{"done":true}}`)}, nil
}

const digest64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// The guard and deployer stats read every error name of the ASL through one
// table: a failure stats counts as a change failure always blocks a
// promotion (the guard judges by it, not by the success before it), and one
// the guard skips as refused is never a change failure.
func TestGuardAndStatsAgreeOnEveryErrorName(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"},{"repository":"app","tag":"prod","requires":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"States.Timeout", "States.Runtime"} // raw errors through DeployerFailed
	for _, s := range doc.States {
		if s.Type == "Fail" && s.Error != "" {
			names = append(names, s.Error)
		}
	}
	for _, name := range names {
		r := &executions.Reader{API: oneFailure{name}, StateMachine: "sm"}
		ev, err := r.LatestAttempt(context.Background(), "staging", "sha256:"+digest64, deploy.SubjectOf(cfg))
		if err != nil || ev == nil {
			t.Fatalf("%s: %v, %v", name, ev, err)
		}
		_, blocked, _ := deploy.JudgeGuard(ev, "staging", "sha256:"+digest64, true, time.Hour)
		stats := OutcomeOf(sfntypes.ExecutionStatusFailed, name, false)
		if stats == OutcomeFailed && blocked == nil {
			t.Errorf("%s: stats counts a change failure, but the guard passed on the success before it", name)
		}
		if (blocked != nil) != executions.Classify(sfntypes.ExecutionStatusFailed, name, false).BlocksPromotion {
			t.Errorf("%s: the guard blocked = %v, the table says %v", name, blocked != nil, !(blocked != nil))
		}
		if blocked == nil && ev.Name != "deployed" {
			t.Errorf("%s: the guard judged by %s", name, ev.Name)
		}
	}
}
