package cli

import (
	"testing"
	"time"
)

func TestEstimateOf(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	opens := now.Add(90 * time.Minute)
	linear := PlanJSON{Services: []PlannedService{{MinimumSeconds: 3840}, {MinimumSeconds: 600}}}
	cases := map[string]struct {
		work    []float64
		plan    PlanJSON
		seconds int
		basis   string
	}{
		"the median of earlier deployments":  {[]float64{300, 100, 200}, PlanJSON{}, 200, "about 3m20s, the median of the 3 deployments with a migration in 30 days"},
		"none: the longest strategy's bakes": {nil, linear, 3840, "no deployment with a migration in 30 days to go by: the migration and the rollout, plus at least 1h4m of the strategy's bakes"},
		"none, rolling":                      {nil, PlanJSON{}, 0, "no deployment with a migration in 30 days to go by: the migration and the rollout"},
		"a closed window adds its wait": {[]float64{60}, PlanJSON{Gates: []PlannedGate{{Gate: "window", WaitsUntil: &opens}}}, 60 + 5400,
			"about 1m, the median of the 1 deployments with a migration in 30 days, after the window opens in 1h30m"},
		"an approval is said, not guessed": {[]float64{60}, PlanJSON{Gates: []PlannedGate{{Gate: "approval"}}}, 60,
			"about 1m, the median of the 1 deployments with a migration in 30 days, once approved"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := estimateOf(tc.work, tc.plan, now)
			if e.Seconds != tc.seconds || e.Basis != tc.basis {
				t.Errorf("estimateOf = %d, %q; want %d, %q", e.Seconds, e.Basis, tc.seconds, tc.basis)
			}
		})
	}
}

func TestWritten(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 64 * time.Minute: "1h4m", 61 * time.Second: "1m1s"} {
		if got := written(d); got != want {
			t.Errorf("written(%s) = %q, want %q", d, got, want)
		}
	}
}
