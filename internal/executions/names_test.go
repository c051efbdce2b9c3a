package executions

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestExecutionName(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	valid := regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)
	cases := map[string]struct{ env, digest, suffix, want, parsed string }{
		"by tag":      {"staging", "", "3f9a", "staging-tag-20261125T101500Z-3f9a", "staging"},
		"by digest":   {"prod", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", "3f9a", "prod-7f5b2640fe6f-20261125T101500Z-3f9a", "prod"},
		"dashed env":  {"api-prod-eu", "", "rb3f9a", "api-prod-eu-tag-20261125T101500Z-rb3f9a", "api-prod-eu"},
		"a push's":    {"staging", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", "13cde686", "staging-7f5b2640fe6f-20261125T101500Z-13cde686", "staging"},
		"long env":    {strings.Repeat("e", 60), "", "3f9a", strings.Repeat("e", 40) + "-tag-20261125T101500Z-3f9a", strings.Repeat("e", 40)},
		"odd chars":   {"team.api", "", "3f9a", "team_api-tag-20261125T101500Z-3f9a", "team_api"},
		"long suffix": {"qa", "", "0123456789abcdef", "qa-tag-20261125T101500Z-0123456789ab", "qa"},
		// The bounds are kept whole: 40 characters of environment, 12 of suffix, a 12-hex digest.
		"40-char env":     {strings.Repeat("e", 40), "", "3f9a", strings.Repeat("e", 40) + "-tag-20261125T101500Z-3f9a", strings.Repeat("e", 40)},
		"12-char suffix":  {"qa", "", "0123456789ab", "qa-tag-20261125T101500Z-0123456789ab", "qa"},
		"12-hex digest":   {"qa", "sha256:0123456789ab", "x", "qa-0123456789ab-20261125T101500Z-x", "qa"},
		"too short a hex": {"qa", "sha256:0123456789a", "x", "qa-tag-20261125T101500Z-x", "qa"},
	}
	for name, tc := range cases {
		got := ExecutionName(tc.env, tc.digest, now, tc.suffix)
		if got != tc.want || !valid.MatchString(got) {
			t.Errorf("%s: %q, want %q (and [0-9A-Za-z_-]{1,80})", name, got, tc.want)
		}
		if env, ok := EnvironmentOfName(got); !ok || env != tc.parsed {
			t.Errorf("%s: %q names environment %q (%v), want %q", name, got, env, ok, tc.parsed)
		}
	}
	for _, other := range []string{"12be8f07-8a48-67d1-e4a3-c6f618e5ce2d", "push-101", "local-20261126T094415-1", "staging-tag-2026-3f9a", "-tag-20261125T101500Z-3f9a"} {
		if env, ok := EnvironmentOfName(other); ok {
			t.Errorf("%q names environment %q; want no environment", other, env)
		}
	}
}

func TestExecutionARN(t *testing.T) {
	const sm = "arn:aws:states:us-west-2:123456789012:stateMachine:EcrDeployer-SM"
	const ex = "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-SM:run-1"
	for _, c := range []struct{ machine, name, want string }{
		{sm, "run-1", ex},
		{sm + ":live", "run-1", ex}, // an alias names the machine's executions
		{sm + ":7", "run-1", ex},    // so does a version
		{sm, "arn:aws:states:x", "arn:aws:states:x"},
	} {
		if got := ARN(c.machine, c.name); got != c.want {
			t.Errorf("ARN(%s, %s) = %s, want %s", c.machine, c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		execution, machine string
		want               bool
	}{
		{ex, sm, true},
		{ex, sm + ":live", true},
		{"arn:aws:states:us-west-2:123456789012:execution:Other-SM:run-1", sm, false},
		{"arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-SM-2:run-1", sm, false},
		{"arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-SM:", sm, false},
		{"arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-SM:run-1:x", sm, false},
		{"arn:aws:states:eu-west-1:123456789012:execution:EcrDeployer-SM:run-1", sm, false},
	} {
		if got := OfStateMachine(c.execution, c.machine); got != c.want {
			t.Errorf("OfStateMachine(%s, %s) = %v, want %v", c.execution, c.machine, got, c.want)
		}
	}
}

func TestUnqualified(t *testing.T) {
	const sm = "arn:aws:states:us-west-2:123456789012:stateMachine:EcrDeployer-SM"
	for in, want := range map[string]string{sm: sm, sm + ":live": sm, sm + ":12": sm, "sm": "sm"} {
		if got := Unqualified(in); got != want {
			t.Errorf("Unqualified(%s) = %s, want %s", in, got, want)
		}
	}
}
