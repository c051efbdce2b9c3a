package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Machine names the machine a run measured: its CPU and cores.
func Machine(host string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s (%s)", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, host)
}

// RealtimeTargets are the targets for the event path beyond AWS's
// delivery, in seconds.
const (
	TargetBeyondP50 = 1.0
	TargetBeyondP95 = 2.0
	// TargetPushToRunTaskP50 is the target for ECR's push → RunTask.
	TargetPushToRunTaskP50 = 3.0
)

// span folds one figure of every run into lowest–highest.
func span(runs []RealtimeResult, f func(RealtimeResult) float64) string {
	lo, hi := 0.0, 0.0
	for i, r := range runs {
		v := f(r)
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	if fmt.Sprintf("%.2f", lo) == fmt.Sprintf("%.2f", hi) {
		return fmt.Sprintf("%.2f", lo)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

// WriteRealtime prints each component of the event path per phase, p50 and
// p95, lowest–highest over the runs, then push → RunTask and its parts,
// and whether the targets held in every run.
func WriteRealtime(w io.Writer, runs []RealtimeResult) {
	if len(runs) == 0 {
		return
	}
	l := runs[0].Latency
	fmt.Fprintf(w, "%d run(s) of %d deployments each, on the wall clock. Modelled AWS: EventBridge delivery %s–%s, Lambda %s warm (+%s cold), Step Functions %s per Task state.\n\n",
		len(runs), runs[0].Deployments, l.EventMin, l.EventMax, l.LambdaWarm, l.LambdaCold, l.Transition)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tcomponent\twhose\tp50 s\tp95 s\tmax s\t")
	whose := map[string]string{ComponentDelivery: "AWS", ComponentWake: "ours + Lambda", ComponentResume: "Step Functions + Lambda + ours",
		ComponentBeyond: "beyond AWS's delivery", ComponentTotal: "ECS change → look"}
	for _, phase := range []string{"migration", "deployment"} {
		for _, c := range []string{ComponentDelivery, ComponentWake, ComponentResume, ComponentBeyond, ComponentTotal} {
			get := func(q func(Summary) float64) func(RealtimeResult) float64 {
				return func(r RealtimeResult) float64 { return q(r.Lag[phase][c]) }
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", phase, c, whose[c],
				span(runs, get(func(s Summary) float64 { return s.P50 })), span(runs, get(func(s Summary) float64 { return s.P95 })), span(runs, get(func(s Summary) float64 { return s.Max })))
		}
	}
	row := func(name, whose string, f func(RealtimeResult) Summary) {
		fmt.Fprintf(tw, "%s\t\t%s\t%s\t%s\t%s\t\n", name, whose, span(runs, func(r RealtimeResult) float64 { return f(r).P50 }),
			span(runs, func(r RealtimeResult) float64 { return f(r).P95 }), span(runs, func(r RealtimeResult) float64 { return f(r).Max }))
	}
	row("push → RunTask", "all", func(r RealtimeResult) Summary { return r.PushToRunTask })
	row("  push delivered", "AWS", func(r RealtimeResult) Summary { return r.PushDelivery })
	row("  execution start → its turn", fmt.Sprintf("queueSettle %gs + ours", runs[0].QueueSettle), func(r RealtimeResult) Summary { return r.StartToGo })
	row("  its turn → RunTask", "ours + Lambda", func(r RealtimeResult) Summary { return r.GoToRunTask })
	row("deployment done → execution end", "all", func(r RealtimeResult) Summary { return r.DoneToEnd })
	_ = tw.Flush()
	beyond, push := true, true
	woken := map[string]int{}
	for _, r := range runs {
		for _, phase := range []string{"migration", "deployment"} {
			s := r.Lag[phase][ComponentBeyond]
			beyond = beyond && s.P50 <= TargetBeyondP50 && s.P95 <= TargetBeyondP95
		}
		push = push && r.PushToRunTask.P50 <= TargetPushToRunTaskP50
		for k, v := range r.WokenBy {
			woken[k] += v
		}
		for _, f := range r.ExecutionsFailures {
			fmt.Fprintf(w, "failed: %s\n", f)
		}
	}
	fmt.Fprintf(w, "\nWaits ended by: %v.\n", woken)
	fmt.Fprintf(w, "Beyond AWS's delivery, p50 ≤ %gs and p95 ≤ %gs in every run: %v.\n", TargetBeyondP50, TargetBeyondP95, beyond)
	fmt.Fprintf(w, "Push → RunTask p50 ≤ %gs in every run: %v (queueSettle %gs on that path).\n", TargetPushToRunTaskP50, push, runs[0].QueueSettle)
}
