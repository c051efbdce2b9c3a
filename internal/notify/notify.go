package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// PublishAPI is the part of SNS Notify uses.
type PublishAPI interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// HistoryAPI is the part of Step Functions Notify uses.
type HistoryAPI interface {
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// Notifier handles the state machine's execution status change events.
type Notifier struct {
	Publisher
	History         HistoryAPI
	StateMachineARN string
	Config          *config.Config
	// Metrics receives the EMF lines (the Lambda's stdout).
	Metrics io.Writer
	// Once makes each execution's end publish and count once (once.go).
	Once *Once
}

// StatusChange is the detail of a "Step Functions Execution Status Change"
// event: DescribeExecution's fields, dates in epoch milliseconds.
// https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
type StatusChange struct {
	ExecutionARN    string  `json:"executionArn"`
	StateMachineARN string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StartDate       int64   `json:"startDate"`
	StopDate        *int64  `json:"stopDate"`
	Input           *string `json:"input"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// Result is what Notify did, for its log.
type Result struct {
	Execution string `json:"execution"`
	Outcome   string `json:"outcome"`
	Published bool   `json:"published"`
	MessageID string `json:"messageId,omitempty"`
	Reason    string `json:"reason"`
}

// historyPages bounds how many pages of the history (newest first) Notify
// reads to find the workflow's last document: the last few states hold it.
const historyPages = 3

// Handle publishes the notification of an ended execution (if it is worth
// one) and emits its metrics.
func (n *Notifier) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	if ev.Source != "aws.states" || ev.DetailType != "Step Functions Execution Status Change" {
		return Result{}, fmt.Errorf("notify handles \"Step Functions Execution Status Change\" events from aws.states, not %q from %q", ev.DetailType, ev.Source)
	}
	var d StatusChange
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return Result{}, fmt.Errorf("read the status change: %w", err)
	}
	if d.StateMachineARN != n.StateMachineARN {
		return Result{}, fmt.Errorf("execution %s is of state machine %s, not this stack's %s: check the rule's pattern", d.ExecutionARN, d.StateMachineARN, n.StateMachineARN)
	}
	res := Result{Execution: d.ExecutionARN}
	if d.Status == "RUNNING" || d.Status == "PENDING_REDRIVE" {
		res.Reason = "still running"
		return res, nil
	}
	f, err := n.facts(ctx, d)
	if err != nil {
		return res, err
	}
	res.Outcome = f.Outcome()
	onSuccess := false
	if t, ok := n.Config.ByEnvironment(f.Environment()); ok {
		onSuccess = t.NotifyOnSuccess
	}
	if claimed, err := n.Once.claim(ctx, d.ExecutionARN); err != nil || !claimed {
		res.Reason = "notified already (a delivery of the same execution's end came before)"
		return res, err
	}
	publish, why := ShouldPublish(f, onSuccess)
	res.Reason = why
	if publish {
		if res.MessageID, err = n.Publish(ctx, Compose(f)); err != nil {
			err = fmt.Errorf("the notification of %s: %w", f.Name, err)
			if rerr := n.Once.put(ctx, d.ExecutionARN, onceFailed, false); rerr != nil {
				err = errors.Join(err, fmt.Errorf("mark it failed for the retry: %w", rerr))
			}
			return res, err
		}
		res.Published = true
	}
	// After the message: an invocation that fails to publish is retried,
	// and must not count the deployment twice.
	for _, m := range Metrics(f) {
		fmt.Fprintln(n.Metrics, m.Line())
	}
	if err := n.Once.put(ctx, d.ExecutionARN, onceDone, false); err != nil {
		return res, fmt.Errorf("mark the notification of %s done: %w", f.Name, err)
	}
	return res, nil
}

// facts gathers what the notification says: the event, the execution's
// input and its last recorded document.
func (n *Notifier) facts(ctx context.Context, d StatusChange) (Facts, error) {
	f := Facts{ExecutionARN: d.ExecutionARN, Name: d.Name, Status: d.Status, Start: time.UnixMilli(d.StartDate).UTC(),
		Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause), Region: n.Region}
	if d.StopDate != nil {
		f.Stop = time.UnixMilli(*d.StopDate).UTC()
	}
	if d.Input != nil {
		if req, err := deploy.ParseInput(json.RawMessage(*d.Input)); err == nil {
			f.Request = &req
		}
		var push struct {
			Source string    `json:"source"`
			Time   time.Time `json:"time"`
		}
		if json.Unmarshal([]byte(*d.Input), &push) == nil && push.Source == "aws.ecr" && !push.Time.IsZero() {
			f.PushedAt = &push.Time
		}
	}
	state, err := n.lastState(ctx, d.ExecutionARN)
	if err != nil {
		return f, err
	}
	f.State = state
	return f, nil
}

// lastState reads the history newest first for the last document a state
// of the workflow output.
func (n *Notifier) lastState(ctx context.Context, arn string) (*deploy.State, error) {
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 100, IncludeExecutionData: aws.Bool(true)}
	for range historyPages {
		out, err := n.History.GetExecutionHistory(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", arn, err)
		}
		for _, e := range out.Events {
			if s := stateOf(e); s != nil {
				return s, nil
			}
		}
		if out.NextToken == nil {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
	return nil, nil
}

func stateOf(e sfntypes.HistoryEvent) *deploy.State {
	if e.StateExitedEventDetails == nil && e.ExecutionSucceededEventDetails == nil {
		return nil
	}
	s, ok := executions.FromEvent[deploy.State](e)
	if !ok {
		return nil
	}
	return &s
}

// ErrNoTopic is returned when the function has no topic to publish to.
var ErrNoTopic = errors.New("TOPIC_ARN is not set: the stack sets it to its notification topic")
