package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// ScaleOptions configure the concurrency run.
type ScaleOptions struct {
	Root, BinDir string
	// Deployments run at once, each on its own service.
	Deployments int
	// PerSecond is the DescribeServices/DescribeTasks token bucket.
	PerSecond float64
	// Migration and Rollout are the ECS durations (real time: the SDK's
	// backoff and the bucket share the wall clock).
	Migration, Rollout time.Duration
	// Instances per function (Lambda scales out; one RIE runs one invocation).
	Instances int
	// Runners, when set, runs the executions in that many Node processes
	// rather than one each (1,000 processes do not fit a small machine).
	Runners int
	// ThrottledOnly skips the unthrottled run.
	ThrottledOnly bool
	// TimeScale 1 waits the states' own durations (the configured safety
	// polls, 1 m by default); 0 shortens them to 100 ms.
	TimeScale float64
}

// ScaleResult compares the same concurrent run with and without the bucket.
type ScaleResult struct {
	Deployments int            `json:"deployments"`
	PerSecond   float64        `json:"describeRequestsPerSecond"`
	Succeeded   map[string]int `json:"succeeded"` // by run: "unthrottled", "throttled"
	// Failed counts the executions that did not succeed, by run and error.
	Failed          map[string]map[string]int `json:"failed,omitempty"`
	ThrottledCalls  map[string]int            `json:"throttledCalls"`
	LagSeconds      map[string]Summary        `json:"deploymentDetectionLagSeconds"`
	TotalSeconds    map[string]float64        `json:"wallSecondsUntilAllEnded"`
	DescribeCallsPS map[string]float64        `json:"describeCallsPerSecond"`
	// ECS events delivered to Wake, and the Step Functions calls Wake made
	// to find the waiting executions (ListExecutions, GetExecutionHistory).
	Events       map[string]int64 `json:"ecsEventsDelivered"`
	HistoryReads map[string]int   `json:"getExecutionHistoryCalls"`
	ListCalls    map[string]int   `json:"listExecutionsCalls"`
	// WakeListCalls are Wake's own ListExecutions (0 when every event names
	// its execution); WakeHistoryReads its GetExecutionHistory; TagReads its
	// ListTagsForResource.
	WakeListCalls    map[string]int `json:"wakeListExecutionsCalls"`
	WakeHistoryReads map[string]int `json:"wakeGetExecutionHistoryCalls"`
	// TurnReads are CheckTurn's DescribeExecution calls: each check reads
	// only the executions whose name does not rule them out.
	TurnReads map[string]int `json:"checkTurnDescribeExecutionCalls"`
	TagReads  map[string]int `json:"listTagsForResourceCalls"`
	// StartToRunTask is each execution's start → its migration's RunTask
	// (queueSettle 0 here: what the workflow itself adds before the
	// migration); DoneToEnd is ECS's deployment completing → the execution
	// ending (the last look, Wake, Check and the Succeed state).
	StartToRunTask map[string]Summary `json:"startToRunTaskSeconds"`
	DoneToEnd      map[string]Summary `json:"deploymentDoneToExecutionEndSeconds"`
	// SFNThrottled counts the Step Functions calls answered
	// ThrottlingException (the throttled run applies the documented quotas).
	SFNThrottled map[string]int `json:"stepFunctionsThrottledCalls"`
	// SFNThrottledByOp breaks the throttled run's down by operation.
	SFNThrottledByOp map[string]int `json:"stepFunctionsThrottledByOperation"`
}

// Scale runs Deployments deployments at once against the emulator, first
// without and then with a PerSecond token bucket on DescribeServices and
// DescribeTasks, and reports the throttled calls and the lag they cost.
func Scale(ctx context.Context, o ScaleOptions) (ScaleResult, error) {
	res := ScaleResult{Deployments: o.Deployments, PerSecond: o.PerSecond, Succeeded: map[string]int{}, Failed: map[string]map[string]int{}, ThrottledCalls: map[string]int{},
		LagSeconds: map[string]Summary{}, TotalSeconds: map[string]float64{}, DescribeCallsPS: map[string]float64{},
		Events: map[string]int64{}, HistoryReads: map[string]int{}, ListCalls: map[string]int{}, SFNThrottled: map[string]int{},
		WakeListCalls: map[string]int{}, WakeHistoryReads: map[string]int{}, TagReads: map[string]int{}, TurnReads: map[string]int{},
		StartToRunTask: map[string]Summary{}, DoneToEnd: map[string]Summary{}}
	runs := []string{"unthrottled", "throttled"}
	if o.ThrottledOnly {
		runs = runs[1:]
	}
	for _, run := range runs {
		var rl *emulator.RateLimit
		if run == "throttled" {
			rl = &emulator.RateLimit{PerSecond: o.PerSecond, Operations: []string{"DescribeServices", "DescribeTasks"}}
		}
		if err := scaleRun(ctx, o, rl, run, &res); err != nil {
			return res, fmt.Errorf("%s: %w", run, err)
		}
	}
	return res, nil
}

func scaleRun(ctx context.Context, o ScaleOptions, rl *emulator.RateLimit, run string, res *ScaleResult) error {
	var targets []any
	for i := 1; i <= o.Deployments; i++ {
		targets = append(targets, map[string]any{"repository": "app", "tag": fmt.Sprintf("scale%d", i), "cluster": "scale", "service": fmt.Sprintf("scale%d-service", i), "queueSettle": "0s",
			"taskRoles": []string{"app-task", "app-execution"}})
	}
	doc, _ := json.Marshal(map[string]any{"targets": targets})
	cfg := filepath.Join(os.TempDir(), fmt.Sprintf("bench-scale-%d.json", os.Getpid()))
	if err := os.WriteFile(cfg, doc, 0o600); err != nil {
		return err
	}
	defer os.Remove(cfg)
	tpl, err := rig.SynthTemplate(ctx, o.Root, cfg, filepath.Join(os.TempDir(), fmt.Sprintf("bench-scale-cdk-%d", os.Getpid())))
	if err != nil {
		return err
	}
	stack, err := rig.Start(ctx, rig.Options{Root: o.Root, BinDir: o.BinDir, ConfigFile: cfg, Instances: o.Instances, Runners: o.Runners,
		LambdaLog: io.Discard, TimeScale: o.TimeScale, Template: tpl})
	if err != nil {
		return err
	}
	defer stack.Close()
	em := stack.Emulator
	if err := em.SeedStandardWorld(); err != nil {
		return err
	}
	for i := 1; i <= o.Deployments; i++ {
		em.PushImage(emulator.Repository, fmt.Sprintf("scale%d", i), emulator.Digest)
		if err := em.CreateService(emulator.ServiceSpec{Cluster: "scale", Name: fmt.Sprintf("scale%d-service", i), TaskDefinition: "app:1", DesiredCount: 2, LaunchType: "EC2", CircuitBreakerRollback: true}); err != nil {
			return err
		}
	}
	stack.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: o.Migration.Seconds()}, Rollout: emulator.RolloutScript{Seconds: o.Rollout.Seconds()}, RateLimit: rl})
	if rl != nil {
		stack.SFN.SetQuotas(rig.Quotas)
	}
	start := time.Now()
	arns := make([]string, o.Deployments)
	for i := range arns {
		// Named as Trigger and deployer start name them: CheckTurn reads
		// each one's environment from its name.
		name := executions.ExecutionName(fmt.Sprintf("scale%d", i+1), "", start, fmt.Sprintf("%s%d", run[:1], i+1))
		arn, err := stack.SFN.Start(name, json.RawMessage(fmt.Sprintf(`{"environment":"scale%d","reason":"bench"}`, i+1)))
		if err != nil {
			return err
		}
		arns[i] = arn
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]*rig.Result{} // by execution name
	for _, arn := range arns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := stack.SFN.Result(ctx, arn)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && r.Status == "SUCCEEDED":
				res.Succeeded[run]++
				results[r.Name] = r
			default:
				why := "no result"
				if err != nil {
					why = err.Error()
				} else if r != nil {
					why = r.Status + " " + r.Error + " in " + lastEntered(r) + ": " + r.Cause
					if len(why) > 300 {
						why = why[:300]
					}
				}
				if res.Failed[run] == nil {
					res.Failed[run] = map[string]int{}
				}
				res.Failed[run][why]++
			}
		}()
	}
	wg.Wait()
	res.TotalSeconds[run] = time.Since(start).Seconds()
	calls := em.Calls("")
	describe := 0
	for _, c := range calls {
		if c.Operation == "DescribeServices" || c.Operation == "DescribeTasks" {
			describe++
			if c.Error == "ThrottlingException" {
				res.ThrottledCalls[run]++
			}
		}
	}
	res.DescribeCallsPS[run] = float64(describe) / res.TotalSeconds[run]
	res.Events[run] = stack.EventsDelivered()
	res.HistoryReads[run] = stack.SFN.Calls("GetExecutionHistory")
	res.ListCalls[run] = stack.SFN.Calls("ListExecutions")
	res.WakeListCalls[run] = stack.SFN.CallsBy("ListExecutions", "Wake")
	res.WakeHistoryReads[run] = stack.SFN.CallsBy("GetExecutionHistory", "Wake")
	res.TagReads[run] = len(em.Calls("ListTagsForResource"))
	res.TurnReads[run] = stack.SFN.CallsBy("DescribeExecution", "CheckTurn")
	for op := range rig.Quotas {
		n := stack.SFN.Calls(op + ":throttled")
		res.SFNThrottled[run] += n
		if n > 0 {
			if res.SFNThrottledByOp == nil {
				res.SFNThrottledByOp = map[string]int{}
			}
			res.SFNThrottledByOp[op] += n
		}
	}
	var lags []float64
	for _, sp := range em.Spans() {
		if sp.Kind != "deployment" || sp.End.IsZero() {
			continue
		}
		for _, c := range calls {
			if c.Operation == "DescribeServices" && c.Error == "" && !c.At.Before(sp.End) && strings.Contains(string(c.Request), `"`+sp.Service+`"`) {
				lags = append(lags, c.At.Sub(sp.End).Seconds())
				break
			}
		}
	}
	res.LagSeconds[run] = summarize(lags)
	res.StartToRunTask[run], res.DoneToEnd[run] = startAndEnd(calls, em.Spans(), results, run)
	return nil
}

// startAndEnd measures, per succeeded execution, its start → its
// migration's RunTask (the task's startedBy names the execution), and its
// service's deployment ending in ECS → the execution's last event.
func startAndEnd(calls []emulator.Call, spans []emulator.Span, results map[string]*rig.Result, run string) (Summary, Summary) {
	var toRunTask, toEnd []float64
	for _, c := range calls {
		if c.Operation != "RunTask" || c.Error != "" {
			continue
		}
		var in struct {
			StartedBy string `json:"startedBy"`
		}
		_ = json.Unmarshal(c.Request, &in)
		if r := results[strings.TrimPrefix(in.StartedBy, "ecr-deployer/")]; r != nil {
			toRunTask = append(toRunTask, c.At.Sub(r.StartTime).Seconds())
		}
	}
	for name, r := range results {
		i := strings.TrimPrefix(name, run+"-")
		for _, sp := range spans {
			if sp.Kind == "deployment" && sp.Service == "scale"+i+"-service" && !sp.End.IsZero() && len(r.Events) > 0 {
				end := time.UnixMilli(r.Events[len(r.Events)-1].Timestamp)
				toEnd = append(toEnd, end.Sub(sp.End).Seconds())
			}
		}
	}
	return summarize(toRunTask), summarize(toEnd)
}

// WriteScale prints the concurrency run.
func WriteScale(w io.Writer, r ScaleResult) {
	fmt.Fprintf(w, "%d deployments at once, each on its own service; in the throttled run DescribeServices and DescribeTasks are limited to %.0f requests/s and Step Functions to its documented API quotas:\n", r.Deployments, r.PerSecond)
	for _, run := range []string{"unthrottled", "throttled"} {
		l := r.LagSeconds[run]
		fmt.Fprintf(w, "  %-11s  %3d/%d succeeded  throttled calls %4d  Describe %.1f/s  deployment lag p50 %.1fs p95 %.1fs max %.1fs  all ended after %.0fs\n",
			run, r.Succeeded[run], r.Deployments, r.ThrottledCalls[run], r.DescribeCallsPS[run], l.P50, l.P95, l.Max, r.TotalSeconds[run])
	}
	for _, run := range []string{"unthrottled", "throttled"} {
		fmt.Fprintf(w, "  %-11s  %d ECS events woke executions; Step Functions: %d GetExecutionHistory (%.1f per event), %d ListExecutions (CheckTurn and Wake), %d throttled\n",
			run, r.Events[run], r.HistoryReads[run], float64(r.HistoryReads[run])/max(1, float64(r.Events[run])), r.ListCalls[run], r.SFNThrottled[run])
		fmt.Fprintf(w, "  %-11s  Wake: %d GetExecutionHistory (%.1f per event), %d ListExecutions, %d ListTagsForResource; CheckTurn: %d DescribeExecution (%.1f per execution)\n",
			run, r.WakeHistoryReads[run], float64(r.WakeHistoryReads[run])/max(1, float64(r.Events[run])), r.WakeListCalls[run], r.TagReads[run],
			r.TurnReads[run], float64(r.TurnReads[run])/max(1, float64(r.Deployments)))
	}
	for run, byError := range r.Failed {
		for why, n := range byError {
			fmt.Fprintf(w, "  %-11s  %d failed: %s\n", run, n, why)
		}
	}
	for _, run := range []string{"unthrottled", "throttled"} {
		a, b := r.StartToRunTask[run], r.DoneToEnd[run]
		fmt.Fprintf(w, "  %-11s  execution start → RunTask p50 %.1fs p95 %.1fs; ECS deployment done → execution end p50 %.1fs p95 %.1fs\n", run, a.P50, a.P95, b.P50, b.P95)
	}
	if len(r.SFNThrottledByOp) > 0 {
		var ops []string
		for op, n := range r.SFNThrottledByOp {
			ops = append(ops, fmt.Sprintf("%s %d", op, n))
		}
		sort.Strings(ops)
		fmt.Fprintf(w, "  Step Functions calls throttled, by operation: %s\n", strings.Join(ops, ", "))
	}
	fmt.Fprintf(w, "  extra lag from throttling: p50 %+.1fs, p95 %+.1fs\n",
		r.LagSeconds["throttled"].P50-r.LagSeconds["unthrottled"].P50, r.LagSeconds["throttled"].P95-r.LagSeconds["unthrottled"].P95)
}

// lastEntered is the last two states an execution entered: where it
// failed, and the Fail state it went to.
func lastEntered(r *rig.Result) string {
	var names []string
	for i := len(r.Events) - 1; i >= 0 && len(names) < 2; i-- {
		if r.Events[i].Type == "StateEntered" {
			names = append([]string{r.Events[i].State.Name}, names...)
		}
	}
	return strings.Join(names, " → ")
}
