package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// StarterAPI starts executions (the Trigger function).
type StarterAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ StarterAPI = (*sfn.Client)(nil)

// TriggerOutput is what Trigger did with one ECR push event.
type TriggerOutput struct {
	Execution string `json:"execution"`
	// Again says the event had started it already (EventBridge delivers at
	// least once): nothing new was started.
	Again bool `json:"again,omitempty"`
}

// Trigger starts the deployment an ECR push event asks for. The push rule
// invokes it instead of starting the state machine itself, so that the
// execution is named after its environment, image and event
// (ExecutionName): CheckTurn then reads from a name which environment an
// execution deploys, people read it in the console, and the same event
// delivered twice starts one execution (StartExecution is idempotent for a
// name and input; a finished one answers ExecutionAlreadyExists). The whole
// event is the execution's input, as the rule's state machine target gave it.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
func (d *Deployer) Trigger(ctx context.Context, ev json.RawMessage) (TriggerOutput, error) {
	req, err := ParseInput(ev)
	if err != nil {
		return TriggerOutput{}, err
	}
	if req.Trigger.Type != "push" {
		return TriggerOutput{}, manualStartToTrigger(strings.TrimSpace(string(ev)))
	}
	target, err := d.lookup(req)
	if err != nil {
		return TriggerOutput{}, err
	}
	var head struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	_ = json.Unmarshal(ev, &head)
	at := head.Time
	if at.IsZero() {
		at = d.now()
	}
	name := executions.ExecutionName(target.Environment, req.Digest, at, eventSuffix(head.ID))
	start := d.StartARN
	if start == "" {
		start = d.StateMachineARN
	}
	out, err := d.Starter.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(start), Name: aws.String(name), Input: aws.String(string(ev))})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		d.log().InfoContext(ctx, "the event had started its execution already", "execution", name, "eventId", head.ID)
		return TriggerOutput{Execution: executions.ARN(d.StateMachineARN, name), Again: true}, nil
	case err != nil:
		return TriggerOutput{}, fmt.Errorf("start execution %s: %w", name, err)
	}
	d.log().InfoContext(ctx, "deployment started", "execution", aws.ToString(out.ExecutionArn), "environment", target.Environment, "digest", req.Digest)
	return TriggerOutput{Execution: aws.ToString(out.ExecutionArn)}, nil
}

// eventSuffix is the name's suffix for an event: the first 8 hex digits of
// its id (a UUID), enough to tell two pushes of one digest in the same
// second apart.
func eventSuffix(id string) string {
	s := strings.ReplaceAll(id, "-", "")
	if len(s) > 8 {
		s = s[:8]
	}
	if s == "" {
		return "push"
	}
	return s
}
