package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// fakeStarter starts executions by name, as Step Functions does: the same
// name again is ExecutionAlreadyExists once it has ended.
type fakeStarter struct{ started []*sfn.StartExecutionInput }

func (f *fakeStarter) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	for _, s := range f.started {
		if aws.ToString(s.Name) == aws.ToString(in.Name) {
			return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists")}
		}
	}
	f.started = append(f.started, in)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-west-2:1:execution:sm:" + aws.ToString(in.Name))}, nil
}

func TestTrigger(t *testing.T) {
	sample, err := os.ReadFile("testdata/ecr-image-push-event.json") // AWS ECR user guide sample
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"my-repository-name","tag":"latest","environment":"staging"}]}`))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f := &fakeStarter{}
	d := &Deployer{Starter: f, Config: cfg, StateMachineARN: "arn:aws:states:us-west-2:1:stateMachine:sm", Log: quiet}
	out, err := d.Trigger(context.Background(), sample)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Detail map[string]string }
	_ = json.Unmarshal(sample, &ev)
	digest := strings.TrimPrefix(ev.Detail["image-digest"], "sha256:")
	if len(f.started) != 1 || !strings.HasPrefix(aws.ToString(f.started[0].Name), "staging-"+digest[:12]+"-") || aws.ToString(f.started[0].Input) != string(sample) || out.Again {
		t.Fatalf("started %+v, out %+v", f.started, out)
	}
	if env, ok := executions.EnvironmentOfName(aws.ToString(f.started[0].Name)); !ok || env != "staging" {
		t.Errorf("the name %s does not say staging", aws.ToString(f.started[0].Name))
	}
	// The same event again (EventBridge delivers at least once): one execution.
	again, err := d.Trigger(context.Background(), sample)
	if err != nil || !again.Again || again.Execution != out.Execution || len(f.started) != 1 {
		t.Fatalf("again: %+v, %v, started %d", again, err, len(f.started))
	}
	// A manual start is not Trigger's.
	_, err = d.Trigger(context.Background(), json.RawMessage(`{"environment":"staging"}`))
	var invalid *InvalidInput
	if !errors.As(err, &invalid) {
		t.Errorf("manual start: %v, want InvalidInput", err)
	}
}
