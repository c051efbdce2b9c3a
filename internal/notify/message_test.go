package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

var (
	t0     = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	digest = "sha256:" + strings.Repeat("ab", 32)
)

func state(mut func(s *deploy.State)) *deploy.State {
	s := &deploy.State{Environment: "prod", Cluster: "prod", Service: "prod-service",
		Trigger: deploy.Trigger{Type: "push"}, Turn: deploy.Turn{Decision: "GO"},
		Image:  deploy.Image{Repository: "app", Tag: "prod", Digest: digest},
		Phases: deploy.Phases{QueueSeconds: 5, MigrationSeconds: 42, DeploymentSeconds: 300}}
	if mut != nil {
		mut(s)
	}
	return s
}

func TestOutcomeAndWhetherToPublish(t *testing.T) {
	cases := map[string]struct {
		facts     Facts
		onSuccess bool
		outcome   string
		publish   bool
	}{
		"failed":                       {Facts{Status: "FAILED", Error: "MigrationFailed", State: state(nil)}, false, "Failed", true},
		"timed out":                    {Facts{Status: "TIMED_OUT", State: state(nil)}, false, "TimedOut", true},
		"aborted":                      {Facts{Status: "ABORTED", State: state(nil)}, false, "Aborted", true},
		"bad input, no state":          {Facts{Status: "FAILED", Error: "InvalidInput"}, false, "Failed", true},
		"deployed, quiet by default":   {Facts{Status: "SUCCEEDED", State: state(nil)}, false, "Deployed", false},
		"deployed, notifyOnSuccess":    {Facts{Status: "SUCCEEDED", State: state(nil)}, true, "Deployed", true},
		"superseded is never told":     {Facts{Status: "SUCCEEDED", State: state(func(s *deploy.State) { s.Turn.Decision = "SUPERSEDED" })}, true, "Superseded", false},
		"duplicate push is never told": {Facts{Status: "SUCCEEDED", State: state(func(s *deploy.State) { s.Turn.Decision = "DUPLICATE" })}, true, "Duplicate", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.facts.Outcome(); got != tc.outcome {
				t.Errorf("outcome = %s, want %s", got, tc.outcome)
			}
			if got, why := ShouldPublish(tc.facts, tc.onSuccess); got != tc.publish {
				t.Errorf("publish = %v (%s), want %v", got, why, tc.publish)
			}
		})
	}
}

func TestCompose(t *testing.T) {
	arn := "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-deploy:prod-1"
	longCause := "The migration container app exited with code 1.\nLast 50 lines of its log:\n" + strings.Repeat("a line of the log\n", 200) + "exit status 1"
	pushed := t0.Add(-time.Minute)
	cases := map[string]struct {
		facts     Facts
		subject   string
		textHas   []string
		chatHas   []string
		nextSteps int
	}{
		"migration failed: the whole cause by email, its end in chat": {
			facts: Facts{ExecutionARN: arn, Name: "prod-1", Status: "FAILED", Error: "MigrationFailed", Cause: `{"errorMessage":` + mustJSON(longCause) + `}`,
				Start: t0, Stop: t0.Add(3 * time.Minute), State: state(nil), PushedAt: &pushed, Region: "us-west-2"},
			subject:   "ecr-deployer: prod deployment failed: MigrationFailed",
			textHas:   []string{"app:prod @ " + digest, "prod/prod-service", "push to ECR at 2026-11-26T09:59:00Z", "FAILED (MigrationFailed)", "3m0s (queue 5s, migration 42s, deployment 5m0s)", "Last 50 lines", "exit status 1", "states/home?region=us-west-2#/v2/executions/details/" + arn, "Fix the migration"},
			chatHas:   []string{"*Cause*", "exit status 1", "<https://us-west-2.console.aws.amazon.com/states/home"},
			nextSteps: 2,
		},
		"a target in another account names the account and Region": {
			facts: Facts{ExecutionARN: arn, Name: "prod-1", Status: "FAILED", Error: "DeploymentRolledBack", Cause: "rolled back",
				Start: t0, Stop: t0.Add(time.Second), State: state(func(s *deploy.State) { s.Account, s.Region = "333333333333", "eu-west-1" })},
			subject: "ecr-deployer: prod deployment failed: DeploymentRolledBack",
			textHas: []string{"prod/prod-service", "333333333333, eu-west-1"},
			chatHas: []string{"333333333333, eu-west-1"},
		},
		"manual start with a reason, by someone": {
			facts: Facts{ExecutionARN: arn, Name: "prod-1", Status: "FAILED", Error: "DeploymentRolledBack", Cause: "rolled back",
				Start: t0, Stop: t0.Add(time.Second), State: state(func(s *deploy.State) {
					s.Trigger = deploy.Trigger{Type: "manual", Reason: "hotfix", By: "arn:aws:iam::123456789012:user/ana"}
				})},
			subject: "ecr-deployer: prod deployment failed: DeploymentRolledBack",
			textHas: []string{"started by hand by arn:aws:iam::123456789012:user/ana: hotfix", "1s", "deployer rollback prod"},
			chatHas: []string{"*Trigger* started by hand"},
		},
		"a push promoted through the deployer API names its promoter": {
			facts: Facts{ExecutionARN: arn, Name: "prod-1", Status: "FAILED", Error: "DeploymentRolledBack", Cause: "rolled back",
				Start: t0, Stop: t0.Add(time.Second), PushedAt: &pushed, State: state(func(s *deploy.State) {
					s.Trigger = deploy.Trigger{Type: "push", Reason: "release 42", By: "arn:aws:iam::123456789012:user/ana", Verified: "IAM"}
				})},
			subject: "ecr-deployer: prod deployment failed: DeploymentRolledBack",
			textHas: []string{"push to ECR at 2026-11-26T09:59:00Z, promoted by arn:aws:iam::123456789012:user/ana (verified by IAM): release 42"},
			chatHas: []string{"*Trigger* push to ECR"},
		},
		"manual start through the deployer API: verified": {
			facts: Facts{ExecutionARN: arn, Name: "prod-1", Status: "FAILED", Error: "DeploymentRolledBack", Cause: "rolled back",
				Start: t0, Stop: t0.Add(time.Second), State: state(func(s *deploy.State) {
					s.Trigger = deploy.Trigger{Type: "manual", Reason: "hotfix", By: "arn:aws:iam::123456789012:user/ana", Verified: "IAM"}
				})},
			subject: "ecr-deployer: prod deployment failed: DeploymentRolledBack",
			textHas: []string{"started by hand by arn:aws:iam::123456789012:user/ana (verified by IAM): hotfix"},
			chatHas: []string{"*Trigger* started by hand"},
		},
		"deployed": {
			facts:   Facts{ExecutionARN: arn, Name: "prod-1", Status: "SUCCEEDED", Start: t0, Stop: t0.Add(6 * time.Minute), State: state(nil)},
			subject: "ecr-deployer: prod deployed",
			textHas: []string{"Outcome:    SUCCEEDED", "deployer history prod-1"},
			chatHas: []string{"*Outcome* SUCCEEDED"},
		},
		"bad input: what the input said": {
			facts:   Facts{ExecutionARN: arn, Name: "x", Status: "FAILED", Error: "UnknownTarget", Cause: "no target for app:nightly", Request: &deploy.Request{Repository: "app", Tag: "nightly", Digest: digest, Trigger: deploy.Trigger{Type: "push"}}},
			subject: "ecr-deployer: nightly deployment failed: UnknownTarget",
			textHas: []string{"app:nightly @ " + digest, "no target for app:nightly"},
		},
		"nothing known of the environment": {
			facts:   Facts{ExecutionARN: arn, Name: "x", Status: "ABORTED"},
			subject: "ecr-deployer: unknown environment deployment stopped (aborted)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := Compose(tc.facts)
			if m.Subject != tc.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tc.subject)
			}
			for _, s := range tc.textHas {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tc.chatHas {
				if !strings.Contains(m.Chat.Content.Description, s) {
					t.Errorf("chat lacks %q:\n%s", s, m.Chat.Content.Description)
				}
			}
			if n := len([]rune(m.Chat.Content.Description)); n > chatCauseLimit+1000 {
				t.Errorf("chat description is %d characters", n)
			}
			if tc.nextSteps > 0 && len(m.Chat.Content.NextSteps) != tc.nextSteps {
				t.Errorf("next steps = %q", m.Chat.Content.NextSteps)
			}
			if len([]rune(m.Subject)) >= 100 || strings.ContainsAny(m.Subject, "\n\r") {
				t.Errorf("subject %q breaks SNS's rule", m.Subject)
			}
			body, err := m.SNSMessage()
			if err != nil {
				t.Fatal(err)
			}
			var per map[string]string
			if err := json.Unmarshal([]byte(body), &per); err != nil || per["email"] != m.Text || per["default"] == "" {
				t.Fatalf("SNS message %s: %v", body, err)
			}
			var chat Chat
			if err := json.Unmarshal([]byte(per["default"]), &chat); err != nil || chat.Version != "1.0" || chat.Source != "custom" {
				t.Fatalf("default is not the chat notification: %s", per["default"])
			}
		})
	}
}

func mustJSON(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestSubjectFitsSNS(t *testing.T) {
	f := Facts{Status: "FAILED", Error: strings.Repeat("E", 120), State: state(func(s *deploy.State) { s.Environment = "env\nwith\tcontrols" })}
	s := Compose(f).Subject
	if len([]rune(s)) > 99 || strings.ContainsAny(s, "\n\t") {
		t.Fatalf("subject %q", s)
	}
}

func TestMetrics(t *testing.T) {
	pushed := t0.Add(-2 * time.Minute)
	cases := map[string]struct {
		facts   Facts
		outcome string
		values  map[string]float64
	}{
		"deployed from a push: lead time from the push": {
			facts:   Facts{ExecutionARN: "a", Status: "SUCCEEDED", Start: t0, Stop: t0.Add(6 * time.Minute), State: state(nil), PushedAt: &pushed},
			outcome: "Deployed",
			values:  map[string]float64{"TotalTime": 360, "QueueTime": 5, "MigrationTime": 42, "DeploymentTime": 300, "LeadTime": 480},
		},
		"failed: no lead time": {
			facts:   Facts{ExecutionARN: "a", Status: "FAILED", Error: "MigrationFailed", Start: t0, Stop: t0.Add(time.Minute), State: state(func(s *deploy.State) { s.Phases = deploy.Phases{QueueSeconds: 1} }), PushedAt: &pushed},
			outcome: "Failed",
			values:  map[string]float64{"TotalTime": 60, "QueueTime": 1},
		},
		"bad input: counted as unknown": {
			facts:   Facts{ExecutionARN: "a", Status: "FAILED", Error: "InvalidInput", Start: t0, Stop: t0.Add(time.Second)},
			outcome: "Failed",
			values:  map[string]float64{"TotalTime": 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			docs := Metrics(tc.facts)
			var got map[string]any
			if err := json.Unmarshal([]byte(docs[0].Line()), &got); err != nil {
				t.Fatal(err)
			}
			if got["Outcome"] != tc.outcome || got["Deployments"] != 1.0 || got["Environment"] == "" {
				t.Errorf("count document = %v", got)
			}
			values := map[string]float64{}
			if len(docs) > 1 {
				for k, v := range docs[1] {
					if f, ok := v.(float64); ok {
						values[k] = f
					}
				}
				directive := docs[1]["_aws"].(map[string]any)["CloudWatchMetrics"].([]emfDirective)[0]
				if len(directive.Metrics) != len(values) {
					t.Errorf("directive lists %d metrics for %d values", len(directive.Metrics), len(values))
				}
			}
			if len(values) != len(tc.values) {
				t.Errorf("values = %v, want %v", values, tc.values)
			}
			for k, v := range tc.values {
				if values[k] != v {
					t.Errorf("%s = %v, want %v", k, values[k], v)
				}
			}
		})
	}
}

func TestComposeApproval(t *testing.T) {
	s := *state(func(s *deploy.State) {
		s.Execution = deploy.Execution{ID: "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-deploy:prod-1", Name: "prod-1"}
		s.Approval = &deploy.Approval{TimeoutSeconds: 4 * 3600}
		s.Turn.Guard = &deploy.Guard{Verdict: "passed", Reason: "staging deployed it in execution staging-9"}
	})
	m := ComposeApproval(s, t0, "us-west-2")
	for _, want := range []string{"app:prod @ " + digest, "prod/prod-service", "Guard:       passed: staging deployed it in execution staging-9",
		"Waits until: 2026-11-26T14:00:00Z (then it ends ApprovalTimedOut", "deployer approve prod --reason", "deployer reject prod --reason", "executions/details/" + s.Execution.ID} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if m.Subject != "ecr-deployer: prod waits for approval" || len(m.Chat.Content.NextSteps) != 2 || m.Chat.Metadata.ThreadID != "ecr-deployer-prod" {
		t.Errorf("message = %+v", m)
	}
}
