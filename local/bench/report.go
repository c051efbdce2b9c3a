package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ecr-deployer/ecr-deployer/internal/chart"
)

// Targets the issue sets for the deployer, checked in the report.
const (
	TargetLagP50         = 2.0
	TargetLagP95         = 5.0
	TargetTransitions10m = 60.0
)

// WriteTable prints the results side by side, with the targets checked,
// within 120 columns. The script has no workflow: its transitions, Lambda
// use and workflow cost are n/a, not zero.
func WriteTable(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tmigr. lag s\tdepl. lag s\ttrans.\t/10min\tinvoc.\tGB-s\tDescribe\t/min\t$/deploy\t")
	fmt.Fprintln(tw, "\tp50/p95/max\tp50/p95/max\t\t\t\t\t\t\t\t")
	for _, r := range rs {
		m, d := r.LagSeconds["migration"], r.LagSeconds["deployment"]
		trans, per10, invoc, gbs, dollars := fmt.Sprintf("%.0f", r.Transitions), fmt.Sprintf("%.0f", r.TransitionsPer10Min),
			fmt.Sprintf("%.0f", r.Invocations), fmt.Sprintf("%.3f", r.GBSeconds), fmt.Sprintf("$%.5f", r.DollarsPerDeploy)
		if r.Script {
			trans, per10, invoc, gbs, dollars = "n/a", "n/a", "n/a", "n/a", "n/a"
		}
		fmt.Fprintf(tw, "%s\t%.1f/%.1f/%.1f\t%.1f/%.1f/%.1f\t%s\t%s\t%s\t%s\t%.1f\t%.2f\t%s\t\n", r.Short,
			m.P50, m.P95, m.Max, d.P50, d.P95, d.Max, trans, per10, invoc, gbs, r.DescribeCalls, r.DescribePerMinute, dollars)
	}
	_ = tw.Flush()
	if len(rs) == 0 {
		return
	}
	base := rs[0]
	fmt.Fprintf(w, "\nTargets (against %q: Describe calls per deployment-minute at most %.2f):\n", base.Strategy, base.DescribePerMinute)
	for _, r := range rs[1:] {
		var checks []string
		for _, phase := range []string{"migration", "deployment"} {
			l := r.LagSeconds[phase]
			checks = append(checks, verdict(fmt.Sprintf("%s lag p50 %.1fs ≤ %.0fs", phase, l.P50, TargetLagP50), l.P50 <= TargetLagP50),
				verdict(fmt.Sprintf("p95 %.1fs ≤ %.0fs", l.P95, TargetLagP95), l.P95 <= TargetLagP95))
		}
		checks = append(checks, verdict(fmt.Sprintf("Describe/min %.2f ≤ %.2f", r.DescribePerMinute, base.DescribePerMinute), r.DescribePerMinute <= base.DescribePerMinute),
			verdict(fmt.Sprintf("transitions/10min %.0f < %.0f", r.TransitionsPer10Min, TargetTransitions10m), r.TransitionsPer10Min < TargetTransitions10m))
		fmt.Fprintf(w, "  %s:\n    %s\n", r.Short, strings.Join(checks, "\n    "))
	}
	fmt.Fprintln(w, "\nECS calls per deployment by operation:")
	for _, r := range rs {
		var ops []string
		for op, n := range r.CallsByOperation {
			ops = append(ops, fmt.Sprintf("%s %.1f", op, n))
		}
		sort.Strings(ops)
		fmt.Fprint(w, wrap("  "+r.Short+": "+strings.Join(ops, ", "), "    ", 120))
	}
}

// wrap breaks text at spaces into lines of at most width columns; the
// first line keeps the text's own indentation, the others get indent.
func wrap(text, indent string, width int) string {
	words := strings.Fields(text)
	if len(words) == 0 {
		return ""
	}
	var b strings.Builder
	line := text[:len(text)-len(strings.TrimLeft(text, " "))] + words[0]
	for _, word := range words[1:] {
		if len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent + word
			continue
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}

func verdict(s string, ok bool) string {
	if ok {
		return "PASS " + s
	}
	return "FAIL " + s
}

// svgPanel is one panel of the bench chart: a figure per strategy (or
// several, grouped), on its own scale, with a target or baseline line.
type svgPanel struct {
	title, unit string
	series      []string
	// value is a strategy's figure; ok false draws n/a.
	value     func(Result, int) (v float64, ok bool)
	reference float64
	refLabel  string
}

// Colours of the series (colour-blind safe pairs) and of the reference line.
var (
	seriesColors = []string{"#1f77b4", "#9ecae1", "#e6550d", "#fdae6b"}
	refColor     = "#c62828"
)

// WriteSVG draws, per strategy, the detection lag p50/p95 of each phase,
// the ECS Describe calls per deployment-minute and the state transitions
// per 10 minutes, each panel on its own labelled scale with the target or
// baseline dashed; the script's transitions are n/a (it has no workflow).
func WriteSVG(w io.Writer, rs []Result) {
	if len(rs) == 0 {
		return
	}
	base := rs[0]
	panels := []svgPanel{
		{"Detection lag", "seconds (ECS time)", []string{"migration p50", "migration p95", "deployment p50", "deployment p95"}, func(r Result, i int) (float64, bool) {
			return []float64{r.LagSeconds["migration"].P50, r.LagSeconds["migration"].P95, r.LagSeconds["deployment"].P50, r.LagSeconds["deployment"].P95}[i], true
		}, TargetLagP95, fmt.Sprintf("target p95 ≤ %.0f s", TargetLagP95)},
		{"ECS Describe calls", "calls per deployment-minute", []string{"Describe calls"}, func(r Result, _ int) (float64, bool) { return r.DescribePerMinute, true },
			base.DescribePerMinute, fmt.Sprintf("baseline: %s, %.2f", base.Short, base.DescribePerMinute)},
		{"State transitions", "transitions per 10 minutes", []string{"transitions"}, func(r Result, _ int) (float64, bool) { return r.TransitionsPer10Min, !r.Script },
			TargetTransitions10m, fmt.Sprintf("target < %.0f", TargetTransitions10m)},
	}
	const pw, ph, gap, left, top = 300, 240, 90, 80, 110
	width := left + len(panels)*pw + (len(panels)-1)*gap + 30
	chart.Start(w, width, top+ph+90, "make bench: what each waiting strategy costs on the same ECS timeline")
	chart.Text(w, 20, 50, chart.SmallSize, "", "", fmt.Sprintf("%d deployments per strategy; lower is better in every panel; n/a: the script has no workflow", rs[0].Deployments))
	for i, p := range panels {
		writePanel(w, p, rs, chart.Plot{X: left + i*(pw+gap), Y: top, W: pw, H: ph})
	}
	x := left
	for si, name := range panels[0].series {
		x = chart.Swatch(w, x, top+ph+70, seriesColors[si], name, false)
	}
	chart.Swatch(w, x, top+ph+70, refColor, "target or baseline", true)
	chart.End(w)
}

// writePanel draws one panel: its title, scale, bars, n/a, the reference
// line and each strategy's name under its bars, on lines that fit.
func writePanel(w io.Writer, p svgPanel, rs []Result, plot chart.Plot) {
	peak := p.reference
	for _, r := range rs {
		for si := range p.series {
			if v, ok := p.value(r, si); ok {
				peak = math.Max(peak, v)
			}
		}
	}
	ticks := chart.Ticks(peak)
	plot.Max = ticks[len(ticks)-1]
	chart.Text(w, plot.X, plot.Y-30, chart.LabelSize, "", "bold", p.title)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", plot.X, plot.Y-14, plot.X+18, plot.Y-14, refColor)
	chart.Text(w, plot.X+24, plot.Y-10, chart.SmallSize, "", "", p.refLabel)
	plot.Axes(w, ticks, p.unit)
	groupW := plot.W / len(rs)
	barW := (groupW - 16) / len(p.series)
	for ri, r := range rs {
		gx := plot.X + ri*groupW + 8
		for si := range p.series {
			v, ok := p.value(r, si)
			if !ok {
				chart.Text(w, gx+(groupW-16)/2, plot.Y+plot.H-6, chart.SmallSize, "middle", "", "n/a")
				break
			}
			plot.Bar(w, gx+si*barW, barW-2, v, seriesColors[si%len(seriesColors)], fmt.Sprintf("%s, %s: %s", r.Strategy, p.series[si], chart.Number(v)))
			if len(p.series) == 1 {
				chart.Text(w, gx+si*barW+barW/2, plot.YOf(v)-5, chart.SmallSize, "middle", "", chart.Number(v))
			}
		}
		for li, line := range chart.Lines(r.Short, groupW-4, chart.SmallSize) {
			chart.Text(w, plot.X+ri*groupW+groupW/2, plot.Y+plot.H+18+li*14, chart.SmallSize, "middle", "", line)
		}
	}
	y := plot.YOf(p.reference)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", plot.X, y, plot.X+plot.W, y, refColor)
}

// WriteFunctions prints each function's deployment zip size (arm64, as
// shipped) and its cold and warm invocation times under the RIE here.
func WriteFunctions(w io.Writer, rs []Result, zipBytes map[string]int64) {
	byDir := map[string]FunctionReport{}
	for _, r := range rs {
		for dir, f := range r.Functions {
			cur := byDir[dir]
			cur.Invocations += f.Invocations
			cur.InitMs = math.Max(cur.InitMs, f.InitMs)
			cur.ColdMs = math.Max(cur.ColdMs, f.ColdMs)
			cur.WarmMs = math.Max(cur.WarmMs, f.WarmMs)
			byDir[dir] = cur
		}
	}
	var dirs []string
	for dir := range byDir {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\tarm64 zip MB\tRIE init ms\tcold invocation ms\twarm invocation ms\tinvocations\t")
	for _, dir := range dirs {
		f := byDir[dir]
		size := "-"
		if b, ok := zipBytes[dir]; ok {
			size = fmt.Sprintf("%.2f", float64(b)/1e6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.1f\t%.1f\t%d\t\n", dir, size, f.InitMs, f.ColdMs, f.WarmMs, f.Invocations)
	}
	_ = tw.Flush()
	fmt.Fprint(w, wrap("(cold and warm: host build under aws-lambda-rie on this machine; the RIE starts the bootstrap asynchronously, so start-up shows in the cold invocation, not in its Init Duration)", " ", 120))
}

// Spread is one figure over repeated runs: its lowest and highest value.
type Spread struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

func (s *Spread) add(v float64, first bool) {
	if first || v < s.Min {
		s.Min = v
	}
	if first || v > s.Max {
		s.Max = v
	}
}

func (s Spread) String() string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.1f", s.Min)
	}
	return fmt.Sprintf("%.1f–%.1f", s.Min, s.Max)
}

// StrategySpread is a strategy's headline figures over repeated runs.
type StrategySpread struct {
	Strategy          string            `json:"strategy"`
	Runs              int               `json:"runs"`
	LagP50            map[string]Spread `json:"detectionLagP50Seconds"` // by phase
	LagP95            map[string]Spread `json:"detectionLagP95Seconds"`
	DescribePerMinute Spread            `json:"describeCallsPerDeploymentMinute"`
	DollarsPerDeploy  Spread            `json:"dollarsPerDeployment"`
}

// Spreads folds repeated runs (each the strategies in the same order) into
// each strategy's lowest and highest figures.
func Spreads(runs [][]Result) []StrategySpread {
	var out []StrategySpread
	for i, r := range runs {
		for j, res := range r {
			if i == 0 {
				out = append(out, StrategySpread{Strategy: res.Strategy, LagP50: map[string]Spread{}, LagP95: map[string]Spread{}})
			}
			s := &out[j]
			s.Runs++
			for _, phase := range []string{"migration", "deployment"} {
				p50, p95 := s.LagP50[phase], s.LagP95[phase]
				p50.add(res.LagSeconds[phase].P50, i == 0)
				p95.add(res.LagSeconds[phase].P95, i == 0)
				s.LagP50[phase], s.LagP95[phase] = p50, p95
			}
			s.DescribePerMinute.add(res.DescribePerMinute, i == 0)
			s.DollarsPerDeploy.add(res.DollarsPerDeploy, i == 0)
		}
	}
	return out
}

// WriteSpreads prints each strategy's figures over the runs, lowest–highest.
func WriteSpreads(w io.Writer, ss []StrategySpread) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\truns\tmigr. lag p50 s\tp95 s\tdepl. lag p50 s\tp95 s\tDescribe/min\t$/deploy (×1000)\t")
	for _, s := range ss {
		d := Spread{Min: s.DollarsPerDeploy.Min * 1000, Max: s.DollarsPerDeploy.Max * 1000}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Strategy, s.Runs, s.LagP50["migration"], s.LagP95["migration"],
			s.LagP50["deployment"], s.LagP95["deployment"], s.DescribePerMinute, d)
	}
	_ = tw.Flush()
}
