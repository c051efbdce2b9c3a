package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// sampleResults are docs/benchmark.md's measured figures (2026-11-25).
func sampleResults() []Result {
	mk := func(name, short string, script bool, mp50, mp95, dp50, dp95, perMin, per10 float64) Result {
		return Result{Strategy: name, Short: short, Script: script, Deployments: 8, LagSeconds: map[string]Summary{
			"migration": {P50: mp50, P95: mp95}, "deployment": {P50: dp50, P95: dp95}}, DescribePerMinute: perMin, TransitionsPer10Min: per10}
	}
	return []Result{
		mk("script (waiters 6s/15s)", "script (waiters)", true, 3.6, 5.7, 10.4, 14.2, 4.86, 0),
		mk("ecr-deployer: ECS events + 1m safety poll (default)", "events + 1m poll", false, 1.3, 2.6, 1.3, 1.4, 2.55, 44),
		mk("ecr-deployer: every ECS event lost (1m safety poll alone)", "no events, 1m poll", false, 21.2, 27.7, 37.2, 43.4, 2.29, 40),
		mk("ecr-deployer: every ECS event lost, 15s safety poll", "no events, 15s poll", false, 8.1, 13.3, 3.2, 13.9, 7.88, 124),
	}
}

// The bench chart as a reader sees it: a title, each panel's scale and
// unit, every strategy's name under its bars on lines that fit its group,
// the target or baseline, a legend, and the script's transitions as n/a
// (no bar). CHART_OUT=f.svg writes it, to render with rsvg-convert.
func TestChartGolden(t *testing.T) {
	var b bytes.Buffer
	WriteSVG(&b, sampleResults())
	if p := os.Getenv("CHART_OUT"); p != "" {
		_ = os.WriteFile(p, b.Bytes(), 0o644)
	}
	svg := b.String()
	for _, want := range []string{">n/a<", ">transitions per 10 minutes<", ">seconds (ECS time)<", ">target &lt; 60<", ">(waiters)<", ">migration p95<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "script (waiters 6s/15s), transitions") {
		t.Error("the script's transitions are drawn as a bar, not n/a")
	}
	golden.Check(t, "chart.svg", svg)
}
