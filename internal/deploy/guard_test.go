package deploy

import (
	"strings"
	"testing"
	"time"

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
