package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

const smARN = "arn:aws:states:us-west-2:123456789012:stateMachine:EcrDeployer-deploy"

// fakeSNS keeps what it published; the first fail calls fail as SNS's
// throttling does once the SDK's retries are spent.
type fakeSNS struct {
	got  []*sns.PublishInput
	fail int
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if f.fail > 0 {
		f.fail--
		return nil, &smithy.GenericAPIError{Code: "Throttled", Message: "Rate exceeded"}
	}
	f.got = append(f.got, in)
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// A Publish that fails fails the invocation before any metric is written;
// Lambda's retry of it publishes once and counts the deployment once.
// failedEnd is a failed execution's end, as the status change rule
// delivers it to a Notifier, whose history holds its last document.
func failedEnd(t *testing.T, pub *fakeSNS, once deploy.ItemsAPI, metrics io.Writer) (*Notifier, events.CloudWatchEvent) {
	t.Helper()
	cfg, err := config.Parse("targets.json", []byte(`{"targets":[{"repository":"app","tag":"prod"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	stateJSON, _ := json.Marshal(state(nil))
	exited := sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskStateExited,
		StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: aws.String("CheckDeployment"), Output: aws.String(string(stateJSON))}}
	d, _ := json.Marshal(map[string]any{"executionArn": failedARN, "stateMachineArn": smARN,
		"name": "x", "status": "FAILED", "startDate": 1764150000000, "stopDate": 1764150060000, "error": "MigrationFailed", "cause": "exited with code 1"})
	n := &Notifier{Publisher: Publisher{SNS: pub, TopicARN: "arn:aws:sns:us-west-2:123456789012:t", Region: "us-west-2"},
		History: &fakeHistory{events: []sfntypes.HistoryEvent{{Type: sfntypes.HistoryEventTypeExecutionFailed}, exited}}, StateMachineARN: smARN, Config: cfg, Metrics: metrics,
		Once: &Once{DB: once, Table: "notified"}}
	return n, events.CloudWatchEvent{Source: "aws.states", DetailType: "Step Functions Execution Status Change", Detail: d}
}

const failedARN = "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-deploy:x"

func TestNotifyCountsOnlyAfterItPublished(t *testing.T) {
	pub := &fakeSNS{fail: 1}
	var out strings.Builder
	n, ev := failedEnd(t, pub, &fakeOnce{}, &out)
	if _, err := n.Handle(t.Context(), ev); err == nil {
		t.Fatal("a failed Publish did not fail the invocation (Lambda would not retry it)")
	}
	if out.Len() != 0 || len(pub.got) != 0 {
		t.Fatalf("after the failed Publish: %d published, metrics written:\n%s", len(pub.got), out.String())
	}
	res, err := n.Handle(t.Context(), ev) // Lambda's retry of the same event
	if err != nil || !res.Published {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	if len(pub.got) != 1 || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("after the retry: %d published, want 1; metrics, want 2 lines:\n%s", len(pub.got), out.String())
	}
}

// fakeHistory holds the events newest first, as ReverseOrder reads them.
type fakeHistory struct{ events []sfntypes.HistoryEvent }

func (f *fakeHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	if !in.ReverseOrder {
		panic("Notify reads the history newest first")
	}
	return &sfn.GetExecutionHistoryOutput{Events: f.events}, nil
}

func TestHandle(t *testing.T) {
	stateJSON, _ := json.Marshal(state(nil))
	exited := sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskStateExited,
		StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: aws.String("CheckDeployment"), Output: aws.String(string(stateJSON))}}
	failed := sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionFailed}
	cfg, err := config.Parse("targets.json", []byte(`{"targets":[{"repository":"app","tag":"prod"},{"repository":"app","tag":"staging","notifyOnSuccess":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	event := func(machine, status, env string) events.CloudWatchEvent {
		d, _ := json.Marshal(map[string]any{"executionArn": "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-deploy:x", "stateMachineArn": machine,
			"name": "x", "status": status, "startDate": 1764150000000, "stopDate": 1764150060000, "error": "MigrationFailed", "cause": "exited with code 1"})
		if status == "SUCCEEDED" {
			d, _ = json.Marshal(map[string]any{"executionArn": "arn:x", "stateMachineArn": machine, "name": "x", "status": status, "startDate": 1764150000000, "stopDate": 1764150060000})
		}
		return events.CloudWatchEvent{Source: "aws.states", DetailType: "Step Functions Execution Status Change", Detail: d}
	}
	stagingState, _ := json.Marshal(state(nil))
	stagingState = bytes.ReplaceAll(stagingState, []byte(`"prod"`), []byte(`"staging"`))
	stagingExited := exited
	stagingExited.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String("CheckDeployment"), Output: aws.String(string(stagingState))}
	cases := map[string]struct {
		event     events.CloudWatchEvent
		history   []sfntypes.HistoryEvent
		published bool
		metrics   int
		err       string
	}{
		"a failure is published":                    {event: event(smARN, "FAILED", "prod"), history: []sfntypes.HistoryEvent{failed, exited}, published: true, metrics: 2},
		"a success where the target does not ask":   {event: event(smARN, "SUCCEEDED", "prod"), history: []sfntypes.HistoryEvent{exited}, published: false, metrics: 2},
		"a success where the target asks":           {event: event(smARN, "SUCCEEDED", "staging"), history: []sfntypes.HistoryEvent{stagingExited}, published: true, metrics: 2},
		"a start is not an end":                     {event: event(smARN, "RUNNING", "prod"), published: false, metrics: 0},
		"another state machine's event is an error": {event: event(smARN+"-other", "FAILED", "prod"), err: "not this stack's"},
		"another event is an error":                 {event: events.CloudWatchEvent{Source: "aws.ecs", DetailType: "ECS Task State Change"}, err: "notify handles"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pub := &fakeSNS{}
			var out strings.Builder
			n := &Notifier{Publisher: Publisher{SNS: pub, TopicARN: "arn:aws:sns:us-west-2:123456789012:t", Region: "us-west-2"},
				History: &fakeHistory{events: tc.history}, StateMachineARN: smARN, Config: cfg, Metrics: &out, Once: &Once{DB: &fakeOnce{}, Table: "notified"}}
			res, err := n.Handle(t.Context(), tc.event)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Published != tc.published || (len(pub.got) == 1) != tc.published {
				t.Fatalf("result %+v, %d published", res, len(pub.got))
			}
			if tc.published {
				in := pub.got[0]
				if aws.ToString(in.MessageStructure) != "json" || aws.ToString(in.TopicArn) != n.TopicARN || aws.ToString(in.Subject) == "" {
					t.Errorf("publish input = %+v", in)
				}
			}
			if lines := strings.Count(out.String(), "\n"); lines != tc.metrics {
				t.Errorf("%d EMF lines, want %d:\n%s", lines, tc.metrics, out.String())
			}
		})
	}
}
