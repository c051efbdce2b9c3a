package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

func TestJudgeGuard(t *testing.T) {
	const digest = "sha256:abc"
	cases := []struct {
		name     string
		ev       *executions.Execution
		waitOver bool
		waited   time.Duration
		verdict  string // "" for blocked
		contains string
	}{
		{"nothing listed yet: waits a moment", nil, false, time.Second, GuardWaiting, "is listed yet"},
		{"nothing listed after the grace: blocked", nil, false, guardListGrace, "", "was never deployed to staging"},
		{"deployed", &executions.Execution{Name: "s1", Status: "SUCCEEDED"}, false, 0, GuardPassed, "s1 deployed"},
		{"deploying: waits", &executions.Execution{Name: "s1", Status: "RUNNING"}, false, time.Minute, GuardWaiting, "is deploying"},
		{"deploying past requiresWait: blocked", &executions.Execution{Name: "s1", Status: "RUNNING"}, true, time.Hour, "", "still deploying"},
		{"failed: blocked", &executions.Execution{Name: "s1", Status: "FAILED", Error: "MigrationFailed"}, false, 0, "", "ended FAILED (MigrationFailed)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			verdict, blocked, reason := JudgeGuard(tc.ev, "staging", digest, tc.waitOver, tc.waited)
			text := reason
			if blocked != nil {
				text = blocked.Error()
			}
			if verdict != tc.verdict || (tc.verdict == "") != (blocked != nil) || !strings.Contains(text, tc.contains) {
				t.Fatalf("verdict %q, blocked %v, reason %q; want %q containing %q", verdict, blocked, reason, tc.verdict, tc.contains)
			}
		})
	}
}

var digest64 = strings.Repeat("a", 64)

// guardSFN lists one staging execution of the digest, in the given status.
type guardSFN struct {
	status sfntypes.ExecutionStatus
	calls  int
}

func (f *guardSFN) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.calls++
	return &sfn.ListExecutionsOutput{Executions: []sfntypes.ExecutionListItem{{ExecutionArn: aws.String("s1"), Name: aws.String("s1"), Status: f.status}}}, nil
}

func (f *guardSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.calls++
	out := &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Name: in.ExecutionArn, Status: f.status, Input: aws.String(`{"environment":"staging","digest":"sha256:` + digest64 + `"}`)}
	if f.status == sfntypes.ExecutionStatusSucceeded {
		out.Output = aws.String(`{"environment":"staging","cluster":"staging","image":{"digest":"sha256:` + digest64 + `"},"deployment":{"done":true}}`)
	}
	return out, nil
}

// The guard runs at the turn only for a target that requires another
// environment, until it has passed; while the required environment still
// deploys the image, the turn WAITs for it.
func TestGuardAtTurn(t *testing.T) {
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"},{"repository":"app","tag":"prod","requires":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		requires string
		guard    *Guard
		status   sfntypes.ExecutionStatus
		held     bool
		verdict  string
		reads    bool
	}{
		{"no requires: no guard, no reads", "", nil, sfntypes.ExecutionStatusSucceeded, false, "", false},
		{"passed already: not read again", "staging", &Guard{Verdict: GuardPassed}, sfntypes.ExecutionStatusRunning, false, GuardPassed, false},
		{"staging deployed it: passed", "staging", nil, sfntypes.ExecutionStatusSucceeded, false, GuardPassed, true},
		{"staging deploys it: the turn waits", "staging", nil, sfntypes.ExecutionStatusRunning, true, GuardWaiting, true},
		{"waiting before: judged again", "staging", &Guard{Verdict: GuardWaiting}, sfntypes.ExecutionStatusSucceeded, false, GuardPassed, true},
	}
	// requiresWait (1h here): at exactly an hour the guard still waits, past it the turn is blocked.
	for _, w := range []struct {
		waited  time.Duration
		blocked bool
	}{{time.Hour, false}, {time.Hour + time.Second, true}} {
		d := &Deployer{SFN: &guardSFN{status: sfntypes.ExecutionStatusRunning}, Config: cfg, Log: quiet}
		s := State{Execution: Execution{StateMachine: "sm", StartTime: now.Add(-w.waited)}, Environment: "prod", Image: Image{Digest: "sha256:" + digest64},
			Turn: Turn{Requires: "staging", Decision: TurnGo, PollSeconds: 15, RequiresWaitSeconds: 3600}}
		held, err := d.guardAtTurn(context.Background(), &s, now)
		var blocked *PromotionBlocked
		if errors.As(err, &blocked) != w.blocked || held == w.blocked {
			t.Errorf("waited %s: held %v, %v; want blocked %v", w.waited, held, err, w.blocked)
		}
	}
	for _, tc := range cases {
		fake := &guardSFN{status: tc.status}
		d := &Deployer{SFN: fake, Config: cfg, Log: quiet}
		s := State{Execution: Execution{StateMachine: "sm", StartTime: now.Add(-time.Minute)}, Environment: "prod", Image: Image{Digest: "sha256:" + digest64},
			Turn: Turn{Requires: tc.requires, Guard: tc.guard, Decision: TurnGo, PollSeconds: 15, RequiresWaitSeconds: 3600}}
		held, err := d.guardAtTurn(context.Background(), &s, now)
		verdict := ""
		if s.Turn.Guard != nil {
			verdict = s.Turn.Guard.Verdict
		}
		if err != nil || held != tc.held || verdict != tc.verdict || (fake.calls > 0) != tc.reads {
			t.Errorf("%s: held %v, verdict %q, %d reads, %v; want held %v, %q, reads %v", tc.name, held, verdict, fake.calls, err, tc.held, tc.verdict, tc.reads)
		}
		if tc.held && (s.Turn.Decision != TurnWait || s.Turn.WaitSeconds != 15 || !strings.Contains(s.Turn.Reason, "promotion guard")) {
			t.Errorf("%s: turn %+v, want WAIT for the guard", tc.name, s.Turn)
		}
	}
}
