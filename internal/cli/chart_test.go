package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// sampleStats are 30 days of two environments: staging deploys most days
// and failed twice, prod a few times with nothing to restore.
func sampleStats() []Stats {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	since := now.Add(-30 * 24 * time.Hour)
	var as []Attempt
	for d := 0; d < 30; d++ {
		day := since.Add(time.Duration(d)*24*time.Hour + 10*time.Hour)
		for i := 0; i < (d*7)%4; i++ {
			at := day.Add(time.Duration(i) * time.Hour)
			outcome := OutcomeDeployed
			if d == 11 && i == 0 || d == 23 && i == 1 {
				outcome = OutcomeFailed
			}
			as = append(as, Attempt{Environment: "staging", Start: at.Add(-8 * time.Minute), Stop: at, PushedAt: at.Add(-time.Duration(9+d%5) * time.Minute), Outcome: outcome})
		}
		if d%6 == 2 {
			at := day.Add(5 * time.Hour)
			as = append(as, Attempt{Environment: "prod", Start: at.Add(-20 * time.Minute), Stop: at, PushedAt: at.Add(-26 * time.Hour), Outcome: OutcomeDeployed})
		}
	}
	return ComputeStats(as, since, now)
}

// The stats chart as a reader sees it: a title, a legend, a labelled scale,
// dates, and the four DORA figures beside each environment (n/a where
// nothing was measured). CHART_OUT=f.svg writes it, to render with
// rsvg-convert and look at.
func TestStatsChartGolden(t *testing.T) {
	var b bytes.Buffer
	WriteStatsSVG(&b, sampleStats())
	if p := os.Getenv("CHART_OUT"); p != "" {
		_ = os.WriteFile(p, b.Bytes(), 0o644)
	}
	svg := b.String()
	for _, want := range []string{"Deployments per day by outcome, 2026-11-05 to 2026-12-04 (UTC)", ">deployed<", ">deployments<", "Change failure rate", "Time to restore p50", "n/a (0 restores)", ">11-05<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	golden.Check(t, "stats-chart.svg", svg)
}
