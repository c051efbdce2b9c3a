package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// The benchmark runs end to end and reports every figure; its timings are
// not asserted (they belong to make bench, not to a test on a busy machine).
func TestBenchmarkRuns(t *testing.T) {
	ctx, root, bin := built(t)
	rs, err := Run(ctx, Options{Root: root, BinDir: bin, Deployments: 2, TimeScale: 200, Migration: 40 * time.Second, Rollout: 6 * time.Minute, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(Strategies) {
		t.Fatalf("%d results for %d strategies", len(rs), len(Strategies))
	}
	for _, r := range rs {
		if r.CallsByOperation["UpdateService"] != 1 || r.CallsByOperation["RunTask"] != 1 {
			t.Errorf("%s: not one migration and one deployment each: %v", r.Strategy, r.CallsByOperation)
		}
		if r.DescribeCalls == 0 || r.DeploymentMinutes < 4 || r.LagSeconds["migration"].Max < 0 || r.LagSeconds["deployment"].Max < 0 {
			t.Errorf("%s: figures missing: %+v", r.Strategy, r)
		}
		if !strings.HasPrefix(r.Strategy, "script") && (r.Transitions == 0 || r.Invocations == 0 || r.GBSeconds == 0 || r.DollarsPerDeploy == 0) {
			t.Errorf("%s: Step Functions and Lambda figures missing: %+v", r.Strategy, r)
		}
	}
	for _, r := range rs[1:] {
		if len(r.Functions) != len(statemachine.Functions) || r.Functions["resolve-target"].ColdMs <= 0 || r.Functions["check-migration"].Invocations == 0 {
			t.Errorf("%s: RIE REPORT figures missing: %+v", r.Strategy, r.Functions)
		}
	}
	var table, svg, fns bytes.Buffer
	WriteFunctions(&fns, rs, map[string]int64{"resolve-target": 3_900_000})
	if !strings.Contains(fns.String(), "resolve-target") || !strings.Contains(fns.String(), "3.90") {
		t.Errorf("function table incomplete:\n%s", fns.String())
	}
	WriteTable(&table, rs)
	WriteSVG(&svg, rs)
	if !strings.Contains(table.String(), "Targets (against") || !strings.Contains(svg.String(), "<rect") {
		t.Errorf("report incomplete:\n%s", table.String())
	}
	if _, err := json.Marshal(rs); err != nil {
		t.Error(err)
	}
}

// The concurrency run works end to end: every deployment succeeds through a
// bucket small enough that throttling is certain.
func TestScaleRuns(t *testing.T) {
	ctx, root, bin := built(t)
	// Two Node processes run the ten executions (the pool used at 1,000).
	r, err := Scale(ctx, ScaleOptions{Root: root, BinDir: bin, Deployments: 10, PerSecond: 3,
		Migration: time.Second, Rollout: 3 * time.Second, Instances: 3, Runners: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Succeeded["unthrottled"] != 10 || r.Succeeded["throttled"] != 10 {
		t.Errorf("succeeded: %v, want all 10 in both runs", r.Succeeded)
	}
	if r.ThrottledCalls["throttled"] == 0 || r.ThrottledCalls["unthrottled"] != 0 {
		t.Errorf("throttled calls: %v", r.ThrottledCalls)
	}
	// Named executions of separate services: a check reads nothing but its
	// own execution (its start time), however many run; a retried check
	// (its function's response lost) may read once more.
	for run, n := range r.TurnReads {
		if n > 2*r.Deployments {
			t.Errorf("%s: CheckTurn made %d DescribeExecution calls for %d executions: it read the others", run, n, r.Deployments)
		}
	}
	var b bytes.Buffer
	WriteScale(&b, r)
	t.Log("\n" + b.String())
}

func TestWrapFitsTheWidth(t *testing.T) {
	text := "  events + 1m poll: " + strings.Repeat("DescribeServiceDeployments 13.0, ", 10)
	out := wrap(text, "    ", 60)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if len(line) > 60 {
			t.Errorf("line of %d columns: %q", len(line), line)
		}
	}
	if strings.Join(strings.Fields(out), " ") != strings.Join(strings.Fields(text), " ") {
		t.Errorf("wrap lost or changed words:\n%s", out)
	}
}

func TestSpreads(t *testing.T) {
	run := func(p50, p95, perMin float64) []Result {
		return []Result{{Strategy: "events", LagSeconds: map[string]Summary{"migration": {P50: p50, P95: p95}, "deployment": {P50: p50 + 1, P95: p95 + 1}}, DescribePerMinute: perMin, DollarsPerDeploy: 0.001}}
	}
	ss := Spreads([][]Result{run(1.2, 2.5, 2.5), run(0.9, 3.1, 2.4), run(1.5, 2.0, 2.6)})
	if len(ss) != 1 || ss[0].Runs != 3 {
		t.Fatalf("spreads = %+v", ss)
	}
	s := ss[0]
	cases := map[string]struct {
		got  Spread
		want Spread
	}{
		"migration p50":  {s.LagP50["migration"], Spread{0.9, 1.5}},
		"migration p95":  {s.LagP95["migration"], Spread{2.0, 3.1}},
		"deployment p50": {s.LagP50["deployment"], Spread{1.9, 2.5}},
		"Describe/min":   {s.DescribePerMinute, Spread{2.4, 2.6}},
		"dollars":        {s.DollarsPerDeploy, Spread{0.001, 0.001}},
	}
	for name, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %+v, want %+v", name, tc.got, tc.want)
		}
	}
	var b strings.Builder
	WriteSpreads(&b, ss)
	if !strings.Contains(b.String(), "0.9–1.5") || !strings.Contains(b.String(), "1.0") {
		t.Errorf("table:\n%s", b.String())
	}
}

// The real-time benchmark runs with AWS's latencies modelled and splits
// each wake's path into its components; the figures are reported, not
// held to the targets here (a busy machine is not the design).
func TestRealtimeRuns(t *testing.T) {
	ctx, root, bin := built(t)
	lat := DefaultLatency(1)
	r, err := Realtime(ctx, RealtimeOptions{Root: root, BinDir: bin, Deployments: 2, Migration: 2 * time.Second, Rollout: 2 * time.Second, Latency: lat})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ExecutionsFailures) > 0 || r.WokenBy["event"] == 0 {
		t.Fatalf("failures %v, waits ended by %v", r.ExecutionsFailures, r.WokenBy)
	}
	for _, phase := range []string{"migration", "deployment"} {
		l := r.Lag[phase]
		// Delivery is at least the modelled EventBridge minimum; the parts
		// add up to the whole (to the millisecond, within rounding).
		if l[ComponentDelivery].Max < lat.EventMin.Seconds() || l[ComponentTotal].Max < l[ComponentDelivery].Max || l[ComponentBeyond].Max <= 0 {
			t.Errorf("%s: components %+v", phase, l)
		}
	}
	if r.PushToRunTask.P50 <= r.PushDelivery.P50 || r.StartToGo.P50 <= 0 || r.GoToRunTask.P50 <= 0 || r.DoneToEnd.P50 <= 0 {
		t.Errorf("push → RunTask parts missing: %+v", r)
	}
	var out bytes.Buffer
	WriteRealtime(&out, []RealtimeResult{r})
	for _, want := range []string{"eventDelivery", "beyond AWS's delivery", "push → RunTask", "Waits ended by"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// built builds the Lambdas and the RIE, and gives the test three minutes.
func built(t *testing.T) (context.Context, string, string) {
	t.Helper()
	root, err := lambdabuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := rig.Build(ctx, root, bin); err != nil {
		t.Fatal(err)
	}
	return ctx, root, bin
}
