package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

func TestExecutionName(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	valid := regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)
	cases := map[string]struct{ env, digest, want string }{
		"by tag":    {"staging", "", "staging-tag-20261125T101500Z-3f9a"},
		"by digest": {"prod", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", "prod-7f5b2640fe6f-20261125T101500Z-3f9a"},
		"long env":  {strings.Repeat("e", 60), "", strings.Repeat("e", 40) + "-tag-20261125T101500Z-3f9a"},
		"odd chars": {"team.api", "", "team_api-tag-20261125T101500Z-3f9a"},
	}
	for name, tc := range cases {
		got := ExecutionName(tc.env, tc.digest, now, "3f9a")
		if got != tc.want || !valid.MatchString(got) {
			t.Errorf("%s: %q, want %q (and [0-9A-Za-z_-]{1,80})", name, got, tc.want)
		}
	}
}

func TestRenderStatusGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rows := []Row{
		{Environment: "staging", Status: "RUNNING", Digest: "sha256:8262dc4f553c4ab2a0e7cf8c3f5c4a1b2d0ef11ee4b4d2c7c2f8e0a1b9d6c3e7", Trigger: "push app:staging", Started: t0.Add(50 * time.Second), Execution: "12be8f07-8a48-67d1-e4a3-c6f618e5ce2d"},
		{Environment: "staging", Status: "SUCCEEDED", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Trigger: "push app:staging", Started: t0.Add(20 * time.Second), Seconds: 5.2,
			Outcome: "superseded by 12be8f07-8a48-67d1-e4a3-c6f618e5ce2d", Execution: "y"},
		{Environment: "prod", Status: "SUCCEEDED", Trigger: "manual", Reason: "hotfix", Started: t0.Add(10 * time.Second), Seconds: 412.3, Execution: "prod-tag-20261125T100010Z-d4d4"},
		{Environment: "staging", Status: "FAILED", Digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", Trigger: "push app:staging", Started: t0, Seconds: 61,
			Error: "MigrationFailed", Cause: "The migration container app exited with code 1 (task arn:aws:ecs:us-west-2:123456789012:task/staging/abc), so nothing was deployed.", Execution: "x"},
	}
	var b strings.Builder
	RenderStatus(&b, rows, t0.Add(80*time.Second))
	golden.Check(t, "status", b.String())
}

func TestExecutionARN(t *testing.T) {
	sm := "arn:aws:states:us-west-2:123456789012:stateMachine:EcrDeployer-SM"
	if got := executionARN(sm, "run-1"); got != "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-SM:run-1" {
		t.Errorf("executionARN = %s", got)
	}
	if got := executionARN(sm, "arn:aws:states:x"); got != "arn:aws:states:x" {
		t.Errorf("an ARN must pass through, got %s", got)
	}
}

func TestRollbackTarget(t *testing.T) {
	d := func(digest, rolledBackFrom string) Deployed {
		return Deployed{Digest: digest, Execution: digest, RolledBackFrom: rolledBackFrom}
	}
	cases := map[string]struct {
		newestFirst     []Deployed
		current, target string
		ok              bool
	}{
		"nothing deployed":           {nil, "", "", false},
		"one image only":             {[]Deployed{d("B", ""), d("B", "")}, "B", "", false},
		"the image before":           {[]Deployed{d("C", ""), d("C", ""), d("B", ""), d("A", "")}, "C", "B", true},
		"a rollback is not undone":   {[]Deployed{d("B", "C"), d("C", ""), d("B", ""), d("A", "")}, "B", "A", true},
		"twice goes further back":    {[]Deployed{d("A", "B"), d("B", "C"), d("C", ""), d("B", ""), d("A", "")}, "A", "", false},
		"an image pushed again wins": {[]Deployed{d("D", ""), d("B", "C"), d("C", "")}, "D", "B", true},
	}
	for name, tc := range cases {
		cur, target, ok := RollbackTarget(tc.newestFirst)
		if cur.Digest != tc.current || target.Digest != tc.target || ok != tc.ok {
			t.Errorf("%s: current %q, target %q, %v; want %q, %q, %v", name, cur.Digest, target.Digest, ok, tc.current, tc.target, tc.ok)
		}
	}
}
