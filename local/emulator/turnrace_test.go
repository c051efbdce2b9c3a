package emulator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// laggingSFN lists no execution (ListExecutions is eventually consistent:
// two that start together may each see no other) and describes each as
// status says.
type laggingSFN struct {
	start  time.Time
	status map[string]sfntypes.ExecutionStatus
}

func (f *laggingSFN) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return &sfn.ListExecutionsOutput{}, nil
}

func (f *laggingSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	name := aws.ToString(in.ExecutionArn)
	name = name[strings.LastIndex(name, ":")+1:]
	digest := map[string]string{"a": "a", "b": "b"}[name]
	input := `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"sha256:` + strings.Repeat(digest, 64) + `"}}`
	out := &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Name: aws.String(name), Status: f.status[name], StartDate: aws.Time(f.start), Input: aws.String(input)}
	if out.Status != sfntypes.ExecutionStatusRunning {
		out.StopDate = aws.Time(f.start.Add(time.Minute))
	}
	return out, nil
}

// interleaved runs before (once) just before the first conditional write
// it forwards: another execution's whole check, between this one's read of
// the table and its write.
type interleaved struct {
	*dynamodb.Client
	before func()
}

func (c *interleaved) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.before != nil {
		before := c.before
		c.before = nil
		before()
	}
	return c.Client.TransactWriteItems(ctx, in, o...)
}

// Two executions of one service that the list shows to neither: both read
// the turns table empty and decide GO, and the emulator's DynamoDB, as
// AWS's, lets one conditional write through. The other WAITs for it, then
// goes once Step Functions says it has ended.
func TestTurnRaceOneWriteWins(t *testing.T) {
	e, db := dynamodbClient(t)
	if err := e.SeedStandardWorld(); err != nil {
		t.Fatal(err)
	}
	ecsAPI := ecs.New(ecs.Options{Region: Region, BaseEndpoint: db.Options().BaseEndpoint, Credentials: db.Options().Credentials})
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Minute)
	fake := &laggingSFN{start: start, status: map[string]sfntypes.ExecutionStatus{"a": "RUNNING", "b": "RUNNING"}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	deployer := func(turns deploy.ItemsAPI) *deploy.Deployer {
		return &deploy.Deployer{ECS: ecsAPI, SFN: fake, Turns: turns, TurnsTable: testTable, Config: cfg, Log: quiet}
	}
	sm := "arn:aws:states:" + Region + ":" + Account + ":stateMachine:sm"
	state := func(name string) deploy.State {
		return deploy.State{Execution: deploy.Execution{ID: executions.ARN(sm, name), Name: name, StartTime: start, StateMachine: sm}, Environment: "staging", Cluster: "staging",
			Service: "staging-service", Image: deploy.Image{Repository: "app", Tag: "staging", Digest: "sha256:" + strings.Repeat(name, 64)},
			Trigger: deploy.Trigger{Type: "push"}, Turn: deploy.Turn{PollSeconds: 15}}
	}
	var a deploy.State
	b := &interleaved{Client: db, before: func() {
		var err error
		if a, err = deployer(db).CheckTurn(t.Context(), state("a")); err != nil {
			t.Fatal(err)
		}
	}}
	got, err := deployer(b).CheckTurn(t.Context(), state("b"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Turn.Decision != deploy.TurnGo || got.Turn.Decision != deploy.TurnWait || !strings.Contains(got.Turn.Reason, "took the turn") {
		t.Fatalf("a %s (%s), b %s (%s); want a GO, b WAIT after losing the write", a.Turn.Decision, a.Turn.Reason, got.Turn.Decision, got.Turn.Reason)
	}
	if items := e.TableItems(testTable); len(items) != 1 || fmt.Sprint(items[0]["execution"]) != "map[S:"+executions.ARN(sm, "a")+"]" {
		t.Fatalf("turns table = %v, want a holding staging/staging-service", items)
	}
	// Still RUNNING: b waits for it, now from the table.
	if got, err = deployer(db).CheckTurn(t.Context(), state("b")); err != nil || got.Turn.Decision != deploy.TurnWait || got.Turn.WaitingFor != "a" {
		t.Fatalf("b again: %s waiting for %q (%v)", got.Turn.Decision, got.Turn.WaitingFor, err)
	}
	fake.status["a"] = sfntypes.ExecutionStatusFailed
	if got, err = deployer(db).CheckTurn(t.Context(), state("b")); err != nil || got.Turn.Decision != deploy.TurnGo {
		t.Fatalf("b after a ended: %s (%s, %v), want GO", got.Turn.Decision, got.Turn.Reason, err)
	}
}
