package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// only makes the local stack do one adversarial behaviour every time.
func only(s *rig.Stack, behaviour string) {
	s.SetScenario(emulator.Scenario{Adversary: &emulator.AdversaryScript{Seed: 1, Rate: 1, Only: []string{behaviour}}})
}

// The local stack's own adversarial behaviours (Step Functions, Lambda,
// EventBridge), each produced through the real SDK or the Lambda endpoint
// the state machine invokes; the emulator's are in local/emulator.
func TestAdversarialLocalStack(t *testing.T) {
	s := startStack(t)
	cfg := s.AdminConfig()
	cfg.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) }
	c := sfn.NewFromConfig(cfg)
	ctx := t.Context()
	start := func(name string) string {
		out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(s.SFN.StateMachineARN), Name: aws.String(name),
			Input: aws.String(`{"environment":"qa","reason":"adversary test"}`)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ExecutionArn)
	}

	t.Run("a just-started execution is not described yet", func(t *testing.T) {
		only(s, emulator.AdvDescribeNewMissing)
		arn := start("qa-tag-20261201T000000Z-adv1")
		_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *sfntypes.ExecutionDoesNotExist
		if !errors.As(err, &missing) {
			t.Fatalf("DescribeExecution right after the start: %v, want ExecutionDoesNotExist", err)
		}
		s.SetScenario(emulator.Scenario{})
		if _, err := s.SFN.Result(ctx, arn); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("short pages with a nextToken", func(t *testing.T) {
		only(s, emulator.AdvHistoryPartialPage)
		arn := s.SFN.ExecutionARNs()[0]
		all := s.SFN.HistoryLength(arn)
		h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		if err != nil || len(h.Events) >= all || h.NextToken == nil {
			t.Fatalf("history page: %d of %d events, token %v, %v; want a short page with a token", len(h.Events), all, h.NextToken, err)
		}
		only(s, emulator.AdvListEmptyPage)
		l, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.SFN.StateMachineARN)})
		if err != nil || len(l.Executions) != 0 || l.NextToken == nil {
			t.Fatalf("list page: %d executions, token %v, %v; want an empty page with a token (one execution)", len(l.Executions), l.NextToken, err)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		only(s, emulator.AdvThrottle)
		_, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.SFN.StateMachineARN)})
		if err == nil || !strings.Contains(err.Error(), "ThrottlingException") {
			t.Fatalf("ListExecutions: %v, want ThrottlingException", err)
		}
	})

	lambda := func(t *testing.T) *http.Response {
		t.Helper()
		resp, err := http.Post(s.Endpoint+"/lambda/ecr-deployer-wake", "application/json", strings.NewReader(`{"source":"aws.ecs","detail-type":"ECS Hook State Change","detail":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	t.Run("Lambda", func(t *testing.T) {
		only(s, emulator.AdvLambdaThrottled)
		before := s.Invocations("wake")
		if r := lambda(t); r.StatusCode != http.StatusTooManyRequests || s.Invocations("wake") != before {
			t.Fatalf("throttled: HTTP %d, %d invocations; want 429 before the function runs", r.StatusCode, s.Invocations("wake")-before)
		}
		only(s, emulator.AdvLambdaResponseLost)
		if r := lambda(t); r.StatusCode != http.StatusInternalServerError || s.Invocations("wake") != before+1 {
			t.Fatalf("response lost: HTTP %d, %d invocations; want 500 after it ran", r.StatusCode, s.Invocations("wake")-before)
		}
		only(s, emulator.AdvLambdaTimedOut)
		if r := lambda(t); r.Header.Get("X-Amz-Function-Error") == "" || s.Invocations("wake") != before+2 {
			t.Fatalf("timed out: %v, %d invocations; want a function error after it ran", r.Header, s.Invocations("wake")-before)
		}
	})

	t.Run("EventBridge", func(t *testing.T) {
		deliveries := func(key string) int {
			n := 0
			for _, d := range s.Deliveries() {
				if strings.Contains(d.Key, key) {
					n++
				}
			}
			return n
		}
		promote := func(tag string, n int) string {
			digest := s.Emulator.PushManifest(emulator.Repository, tag+"-build", emulator.SampleManifest(n))
			promoteTag(t, s, tag+"-build", "dev")
			return digest
		}
		// ECR's event reaches EventBridge after PutImage has answered: each
		// case waits for what it expects before the next changes the scenario.
		until := func(what string, done func() bool) {
			deadline := time.Now().Add(10 * time.Second)
			for !done() {
				if time.Now().After(deadline) {
					t.Fatalf("%s: not within 10 s", what)
				}
				time.Sleep(20 * time.Millisecond) // polling an observable condition, with a deadline
			}
		}
		only(s, emulator.AdvEventLost)
		lost := promote("lost", 7001)
		until("the event lost", func() bool { return s.Emulator.Adversary().Counts()[emulator.AdvEventLost] > 0 })
		only(s, emulator.AdvEventDuplicated)
		twice := promote("twice", 7002)
		until("the event delivered twice", func() bool { return deliveries(twice) >= 2 })
		only(s, emulator.AdvEventDelayed)
		pushedAt := time.Now()
		late := promote("late", 7003)
		until("the delayed event delivered", func() bool { return deliveries(late) >= 1 })
		// A throttled asynchronous invocation is not a function error:
		// Lambda keeps the event and retries it (for up to 6 hours), so
		// the push still starts its execution.
		// The seeded draws are the Trigger's alone only once nothing else
		// runs: the earlier pushes' executions and their end events.
		waitAll(t, s)
		for deadline := time.Now().Add(time.Minute); s.EventsInFlight() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // polling an observable condition, with a deadline
		}
		s.SetScenario(emulator.Scenario{Adversary: &emulator.AdversaryScript{Seed: 1, Rate: 0.9, Only: []string{emulator.AdvLambdaThrottled}}})
		before := len(s.SFN.ExecutionARNs())
		throttled := promote("throttled", 7004)
		until("the throttled push's execution", func() bool { return len(s.SFN.ExecutionARNs()) > before })
		if n := s.Emulator.Adversary().Counts()[emulator.AdvLambdaThrottled]; n < 3 || len(s.DeadLetters()) != 0 {
			t.Fatalf("%d throttles, %d dead letters: want Trigger throttled 3 times or more and its event kept (%s)", n, len(s.DeadLetters()), throttled)
		}
		s.SetScenario(emulator.Scenario{})
		if deliveries(lost) != 0 || deliveries(twice) < 2 {
			t.Fatalf("deliveries: lost %d (want 0), duplicated %d (want 2 per rule)", deliveries(lost), deliveries(twice))
		}
		for _, d := range s.Deliveries() {
			if strings.Contains(d.Key, late) && d.At.Sub(pushedAt) < 500*time.Millisecond {
				t.Fatalf("the delayed event was delivered %s after the push, want ≥ 500 ms", d.At.Sub(pushedAt))
			}
		}

		waitAll(t, s)
	})
}

// promoteTag retags an image in ECR as deployer promote does: ECR's push
// event then goes through EventBridge.
func promoteTag(t *testing.T, s *rig.Stack, from, to string) {
	t.Helper()
	c := ecr.NewFromConfig(s.AdminConfig())
	got, err := deploy.GetManifest(t.Context(), c, &ecr.BatchGetImageInput{RepositoryName: aws.String(emulator.Repository), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(from)}}})
	if err != nil || len(got.Images) == 0 {
		t.Fatalf("get %s: %v", from, err)
	}
	if _, err := c.PutImage(t.Context(), &ecr.PutImageInput{RepositoryName: aws.String(emulator.Repository), ImageTag: aws.String(to),
		ImageManifest: got.Images[0].ImageManifest, ImageManifestMediaType: got.Images[0].ImageManifestMediaType}); err != nil {
		t.Fatalf("promote %s to %s: %v", from, to, err)
	}
}
