package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
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

func TestUntil(t *testing.T) {
	full, half := 100.0, 50.0
	at := func(stage string, traffic *float64) deploy.State {
		return deploy.State{Environment: "prod", Migration: deploy.Migration{Done: true}, Deployment: deploy.Deployment{ID: "d", Stage: stage, TrafficPercent: traffic}}
	}
	rolling := func(running, desired int32) deploy.State {
		return deploy.State{Environment: "prod", Migration: deploy.Migration{Done: true}, Deployment: deploy.Deployment{ID: "d", RunningCount: running, DesiredCount: desired}}
	}
	cases := map[string]struct {
		until, state string
		s            deploy.State
		want         bool
	}{
		"migrated, migration running":          {"migrated", "CheckMigration", deploy.State{Environment: "prod"}, false},
		"migrated":                             {"migrated", "CheckMigration", deploy.State{Environment: "prod", Migration: deploy.Migration{Done: true}}, true},
		"deploying":                            {"deploying", "StartDeployment", at("", nil), true},
		"traffic half shifted":                 {"traffic-shifted", "CheckDeployment", at("PRODUCTION_TRAFFIC_SHIFT", &half), false},
		"traffic all shifted":                  {"traffic-shifted", "CheckDeployment", at("PRODUCTION_TRAFFIC_SHIFT", &full), true},
		"baking means shifted":                 {"traffic-shifted", "CheckDeployment", at("BAKE_TIME", nil), true},
		"rolling, half the tasks":              {"traffic-shifted", "CheckDeployment", rolling(1, 2), false},
		"rolling, every task":                  {"traffic-shifted", "CheckDeployment", rolling(2, 2), true},
		"baking, still shifting":               {"baking", "CheckDeployment", at("PRODUCTION_TRAFFIC_SHIFT", &half), false},
		"baking":                               {"baking", "CheckDeployment", at("BAKE_TIME", &full), true},
		"a stage, before it":                   {"post-test-traffic-shift", "CheckDeployment", at("TEST_TRAFFIC_SHIFT", nil), false},
		"a stage, after it":                    {"POST_TEST_TRAFFIC_SHIFT", "CheckDeployment", at("PRODUCTION_TRAFFIC_SHIFT", nil), true},
		"done reaches everything":              {"baking", "CheckDeployment", deploy.State{Environment: "prod", Deployment: deploy.Deployment{Done: true}}, true},
		"a stage, rolling has none until done": {"bake-time", "CheckDeployment", rolling(2, 2), false},
	}
	for name, tc := range cases {
		u, err := ParseUntil(tc.until)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := u.Reached(tc.state, tc.s); got != tc.want {
			t.Errorf("%s: reached = %v, want %v", name, got, tc.want)
		}
	}
	if _, err := ParseUntil("shipped"); err == nil || !strings.Contains(err.Error(), "traffic-shifted") {
		t.Errorf("ParseUntil(shipped) = %v, want the values listed", err)
	}
}
