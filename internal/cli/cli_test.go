package cli

import (
	"errors"
	"flag"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

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

func TestComputeStats(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	since := now.Add(-10 * 24 * time.Hour)
	at := func(env, outcome string, stopAgo time.Duration, leadMinutes int) Attempt {
		a := Attempt{Environment: env, Outcome: outcome, Stop: now.Add(-stopAgo)}
		if leadMinutes > 0 {
			a.PushedAt = a.Stop.Add(-time.Duration(leadMinutes) * time.Minute)
		}
		return a
	}
	h := time.Hour
	ss := ComputeStats([]Attempt{
		at("prod", OutcomeDeployed, 200*h, 10),
		at("prod", OutcomeFailed, 100*h, 0),
		at("prod", OutcomeDeployed, 98*h, 20), // restores the failure after 2 h
		at("prod", OutcomeDeployed, 5*h, 30),
		at("prod", OutcomeFailed, 1*h, 0),     // not restored yet
		at("prod", OutcomeSkipped, 2*h, 0),    // superseded: counts nowhere
		at("prod", OutcomeDeployed, 300*h, 5), // before the period
		at("staging", OutcomeDeployed, 50*h, 4),
	}, since, now)
	if len(ss) != 2 || ss[0].Environment != "prod" {
		t.Fatalf("stats = %+v", ss)
	}
	p := ss[0]
	checks := map[string]bool{
		"3 deployed, 2 failed":         p.Deployed == 3 && p.Failed == 2,
		"0.3 a day":                    math.Abs(p.PerDay-0.3) < 1e-9,
		"change failure rate 40%":      p.ChangeFailureRate != nil && math.Abs(*p.ChangeFailureRate-0.4) < 1e-9,
		"lead time p50 20 min, p90 30": p.LeadTimeP50Seconds != nil && *p.LeadTimeP50Seconds == 1200 && *p.LeadTimeP90Seconds == 1800 && p.LeadTimeSamples == 3,
		"one restore, after 2 h":       p.Restores == 1 && p.TimeToRestoreP50Seconds != nil && *p.TimeToRestoreP50Seconds == 7200,
		"a day per day of the period":  len(p.Days) == 10 || len(p.Days) == 11,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: %+v", name, p)
		}
	}
	// People's decisions count whatever the outcome (a rejection skips the
	// change), within the period only.
	decided := func(env, outcome string, ago time.Duration, kinds ...string) Attempt {
		a := at(env, outcome, ago, 0)
		for i, k := range kinds {
			e := deploy.AuditEntry{Kind: k, By: "arn:aws:iam::123456789012:user/alice"}
			if i > 0 {
				e.Verified = "IAM"
			}
			a.Decisions = append(a.Decisions, e)
		}
		return a
	}
	ds := ComputeStats([]Attempt{
		decided("qa", OutcomeSkipped, 3*h, deploy.AuditStart, deploy.AuditRejected),
		decided("qa", OutcomeDeployed, 2*h, deploy.AuditStart, deploy.AuditOverrideGuard, deploy.AuditApproved),
		decided("qa", OutcomeDeployed, 300*h, deploy.AuditStart, deploy.AuditApproved), // before the period
	}, since, now)
	if len(ds) != 1 || ds[0].Deployed != 1 || !maps.Equal(ds[0].Decisions, map[string]int{"start": 2, "rejected": 1, "override-guard": 1, "approved": 1}) || ds[0].Unverified != 2 {
		t.Errorf("decisions: %+v", ds)
	}
	if cell := decisionsCell(ds[0]); cell != "1 approved, 1 override-guard, 1 rejected, 2 start (2 unverified)" {
		t.Errorf("decisions cell %q", cell)
	}
	for name, tc := range map[string]struct {
		status, err string
		deployed    bool
		want        string
	}{
		"deployed":              {"SUCCEEDED", "", true, OutcomeDeployed},
		"superseded":            {"SUCCEEDED", "", false, OutcomeSkipped},
		"migration failed":      {"FAILED", "MigrationFailed", false, OutcomeFailed},
		"rolled back":           {"FAILED", "DeploymentRolledBack", false, OutcomeFailed},
		"unknown target":        {"FAILED", "UnknownTarget", false, OutcomeSkipped},
		"no capacity":           {"FAILED", "MigrationCapacityUnavailable", false, OutcomeSkipped},
		"execution timed out":   {"TIMED_OUT", "", false, OutcomeFailed},
		"superseded deployment": {"FAILED", "DeploymentSuperseded", false, OutcomeSkipped},
		"our Lambda timed out":  {"FAILED", "States.Timeout", false, OutcomeFailed},
		"internal error":        {"FAILED", "InternalError", false, OutcomeFailed},
		"rejected":              {"FAILED", "Rejected", false, OutcomeSkipped},
	} {
		if got := OutcomeOf(sfntypes.ExecutionStatus(tc.status), tc.err, tc.deployed); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
	for in, ok := range map[string]bool{"30d": true, "12h": true, "91d": false, "0d": false, "soon": false} {
		if _, err := parseSince(in); (err == nil) != ok {
			t.Errorf("parseSince(%q) = %v", in, err)
		}
	}
}

func TestReasonIsBounded(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want bool
	}{{0, true}, {deploy.MaxReasonRunes, true}, {deploy.MaxReasonRunes + 1, false}} {
		fs := flag.NewFlagSet("start", flag.ContinueOnError)
		fs.String("reason", "", "")
		_, err := parse(fs, []string{"staging", "--reason", strings.Repeat("ß", tc.n)})
		var usage *usageError
		if (err == nil) != tc.want || (err != nil && !errors.As(err, &usage)) {
			t.Errorf("a reason of %d characters: %v; accepted should be %v", tc.n, err, tc.want)
		}
	}
}
