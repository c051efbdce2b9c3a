// Package bench measures what the deployer adds on top of ECS's own time:
// detection lag (the emulator's true event time vs. when the workflow moved
// on), state transitions, Lambda invocations and GB-seconds, ECS calls, and
// dollars per deployment, for several waiting strategies on one timeline,
// side by side with today's script (the AWS waiters' fixed polls).
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// Published prices (us-east-1): Step Functions Standard, Lambda arm64.
const (
	PricePerTransition = 0.025 / 1000
	PricePerGBSecond   = 0.0000133334
	PricePerInvocation = 0.20 / 1e6
	LambdaMemoryGB     = 128.0 / 1024
)

// Options configure a run.
type Options struct {
	Root, BinDir string
	// Deployments per strategy.
	Deployments int
	// TimeScale compresses the timeline; every reported time is scaled back.
	TimeScale float64
	// Migration and Rollout are the mean ECS durations; each deployment
	// draws ±25% around them (seeded), so polls meet events at every phase.
	Migration, Rollout time.Duration
	Seed               uint64
	// Progress, when set, hears each strategy as it starts and ends.
	Progress func(format string, args ...any)
}

// Strategy is one way of waiting.
type Strategy struct {
	Name string
	// Short names it in the table.
	Short string
	// Script: the CLI waiters' fixed polls, without Step Functions.
	Script bool
	// MigrationPoll and DeploymentPoll are the waiters' polls, or
	// ecr-deployer's safety polls (migrationPollInterval, deploymentPollInterval).
	MigrationPoll, DeploymentPoll time.Duration
	// Events is how ECS's events reach EventBridge.
	Events emulator.EventsScript
}

// EventDelaySeconds is how late every ECS event arrives in the benchmark:
// ECS and EventBridge publish no delivery latency; a second is on the
// cautious side of what is usually seen.
const EventDelaySeconds = 1.0

// Strategies are compared on the same timeline.
var Strategies = []Strategy{
	{Name: "script (waiters 6s/15s)", Short: "script (waiters)", Script: true, MigrationPoll: 6 * time.Second, DeploymentPoll: 15 * time.Second},
	{Name: "ecr-deployer: ECS events + 1m safety poll (default)", Short: "events + 1m poll", MigrationPoll: time.Minute, DeploymentPoll: time.Minute,
		Events: emulator.EventsScript{DelaySeconds: EventDelaySeconds}},
	{Name: "ecr-deployer: every ECS event lost (1m safety poll alone)", Short: "no events, 1m poll", MigrationPoll: time.Minute, DeploymentPoll: time.Minute,
		Events: emulator.EventsScript{Drop: true}},
	{Name: "ecr-deployer: every ECS event lost, 15s safety poll", Short: "no events, 15s poll", MigrationPoll: 15 * time.Second, DeploymentPoll: 15 * time.Second,
		Events: emulator.EventsScript{Drop: true}},
}

// Result is one strategy's figures, per deployment unless said otherwise.
type Result struct {
	Strategy            string             `json:"strategy"`
	Short               string             `json:"-"`
	Script              bool               `json:"script,omitempty"`
	Deployments         int                `json:"deployments"`
	LagSeconds          map[string]Summary `json:"detectionLagSeconds"` // by phase: migration, deployment
	Transitions         float64            `json:"stateTransitions"`
	Invocations         float64            `json:"lambdaInvocations"`
	GBSeconds           float64            `json:"lambdaGBSeconds"`
	DescribeCalls       float64            `json:"describeCalls"`
	DescribePerMinute   float64            `json:"describeCallsPerDeploymentMinute"`
	CallsByOperation    map[string]float64 `json:"ecsCallsByOperation"`
	DollarsPerDeploy    float64            `json:"dollarsPerDeployment"`
	DeploymentMinutes   float64            `json:"deploymentMinutes"`
	TransitionsPer10Min float64            `json:"stateTransitionsPer10Minutes"`
	// Functions are the RIE's REPORT figures per function, for all runs.
	Functions map[string]FunctionReport `json:"functions,omitempty"`
}

// FunctionReport is one function's invocations and cold start.
type FunctionReport struct {
	Invocations int `json:"invocations"`
	// InitMs is the RIE's "Init Duration"; ColdMs the first invocation's
	// duration (process start-up included); WarmMs the mean billed duration
	// of the others.
	InitMs float64 `json:"initMs"`
	ColdMs float64 `json:"coldInvocationMs"`
	WarmMs float64 `json:"warmInvocationMs"`
}

// Summary is a distribution's p50, p95 and max.
type Summary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

func summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	sort.Float64s(xs)
	q := func(p float64) float64 { return xs[int(math.Ceil(p*float64(len(xs))))-1] }
	return Summary{P50: q(0.5), P95: q(0.95), Max: xs[len(xs)-1]}
}

// timeline is the ECS durations of each deployment, the same for every strategy.
type timeline struct{ migration, rollout []time.Duration }

func newTimeline(o Options) timeline {
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	var t timeline
	for range o.Deployments {
		jitter := func(d time.Duration) time.Duration { return time.Duration(float64(d) * (0.75 + 0.5*rng.Float64())) }
		t.migration = append(t.migration, jitter(o.Migration))
		t.rollout = append(t.rollout, jitter(o.Rollout))
	}
	return t
}

// Run measures every strategy and returns their results in order.
func Run(ctx context.Context, o Options) ([]Result, error) {
	tl := newTimeline(o)
	var out []Result
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	for i, st := range Strategies {
		say("[%d/%d] %s: %d deployments…", i+1, len(Strategies), st.Name, o.Deployments)
		start := time.Now()
		r, err := runStrategy(ctx, o, st, tl)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.Name, err)
		}
		say("[%d/%d] %s: done in %s", i+1, len(Strategies), st.Name, time.Since(start).Round(time.Second))
		out = append(out, r)
	}
	return out, nil
}

func runStrategy(ctx context.Context, o Options, st Strategy, tl timeline) (Result, error) {
	cfg := filepath.Join(os.TempDir(), fmt.Sprintf("bench-targets-%d.json", os.Getpid()))
	doc, _ := json.Marshal(map[string]any{"targets": []any{map[string]any{
		"repository": "app", "tag": "staging", "queueSettle": "0s", "taskRoles": []string{"app-task", "app-execution"},
		"migrationPollInterval": st.MigrationPoll.String(), "deploymentPollInterval": st.DeploymentPoll.String(),
	}}})
	if err := os.WriteFile(cfg, doc, 0o600); err != nil {
		return Result{}, err
	}
	defer os.Remove(cfg)
	tpl, err := rig.SynthTemplate(ctx, o.Root, cfg, filepath.Join(os.TempDir(), fmt.Sprintf("bench-cdk-%d", os.Getpid())))
	if err != nil {
		return Result{}, err
	}
	stack, err := rig.Start(ctx, rig.Options{Root: o.Root, BinDir: o.BinDir, ConfigFile: cfg, TimeScale: o.TimeScale, Retry: 10 * time.Millisecond, Template: tpl})
	if err != nil {
		return Result{}, err
	}
	defer stack.Close()
	em := stack.Emulator
	if err := em.SeedStandardWorld(); err != nil {
		return Result{}, err
	}
	em.SetTimeScale(o.TimeScale)
	res := Result{Strategy: st.Name, Short: st.Short, Script: st.Script, Deployments: o.Deployments, LagSeconds: map[string]Summary{}, CallsByOperation: map[string]float64{}}
	var lagMig, lagDep []float64
	var transitions, invocations, gbSeconds, minutes float64
	for i := range o.Deployments {
		sc := emulator.Scenario{
			Migration: emulator.MigrationScript{Seconds: tl.migration[i].Seconds()},
			Rollout:   emulator.RolloutScript{Seconds: tl.rollout[i].Seconds()},
			Events:    st.Events,
		}
		em.SetScenario(sc)
		from := len(em.Calls(""))
		spansFrom := len(em.Spans())
		start := em.Now()
		if st.Script {
			if err := runScript(ctx, stack, st); err != nil {
				return res, err
			}
		} else {
			// A manual start: the same push event again would be a Duplicate.
			r, err := stack.Run(ctx, json.RawMessage(`{"environment":"staging","reason":"bench"}`), sc)
			if err != nil {
				return res, err
			}
			if r.Status != "SUCCEEDED" {
				return res, fmt.Errorf("deployment %d ended %s: %s", i, r.Error, r.Cause)
			}
			transitions += stateTransitions(r)
		}
		minutes += em.Now().Sub(start).Minutes()
		calls := em.Calls("")[from:]
		for _, c := range calls {
			res.CallsByOperation[c.Operation]++
		}
		for _, sp := range em.Spans()[spansFrom:] {
			op := map[string]string{"migration": "DescribeTasks", "deployment": "DescribeServices"}[sp.Kind]
			if op == "" || sp.End.IsZero() {
				continue
			}
			lag := firstCallAfter(calls, op, sp.End).Sub(sp.End).Seconds()
			if sp.Kind == "migration" {
				lagMig = append(lagMig, lag)
			} else {
				lagDep = append(lagDep, lag)
			}
		}
	}
	// Invocations and billed time as the RIE reports them (REPORT lines).
	res.Functions = map[string]FunctionReport{}
	for dir, rep := range stack.LambdaReports() {
		invocations += float64(rep.Invocations)
		gbSeconds += rep.BilledMs / 1000 * LambdaMemoryGB
		res.Functions[dir] = FunctionReport{Invocations: rep.Invocations, InitMs: rep.InitMs, ColdMs: rep.FirstMs,
			WarmMs: (rep.BilledMs - math.Ceil(rep.FirstMs)) / math.Max(1, float64(rep.Invocations-1))}
	}
	n := float64(o.Deployments)
	res.LagSeconds["migration"] = summarize(lagMig)
	res.LagSeconds["deployment"] = summarize(lagDep)
	for op := range res.CallsByOperation {
		res.CallsByOperation[op] /= n
	}
	res.DescribeCalls = res.CallsByOperation["DescribeTasks"] + res.CallsByOperation["DescribeServices"]
	res.DeploymentMinutes = minutes / n
	res.DescribePerMinute = res.DescribeCalls / res.DeploymentMinutes
	res.Transitions, res.Invocations, res.GBSeconds = transitions/n, invocations/n, gbSeconds/n
	res.TransitionsPer10Min = res.Transitions / res.DeploymentMinutes * 10
	res.DollarsPerDeploy = res.Transitions*PricePerTransition + res.Invocations*PricePerInvocation + res.GBSeconds*PricePerGBSecond
	return res, nil
}

// firstCallAfter is when the first call of op at or after t was made: the
// moment the waiter could notice the event.
func firstCallAfter(calls []emulator.Call, op string, t time.Time) time.Time {
	for _, c := range calls {
		if c.Operation == op && !c.At.Before(t) {
			return c.At
		}
	}
	return t
}

// stateTransitions counts the states an execution entered: what Step
// Functions bills.
func stateTransitions(r *rig.Result) float64 {
	n := 0.0
	for _, ev := range r.Events {
		if ev.Type == "StateEntered" {
			n++
		}
	}
	return n
}

// runScript is today's CI script on the same emulator: run-task, wait
// tasks-stopped (6 s polls), update-service --force-new-deployment, wait
// services-stable (15 s polls), with the SDK's own waiters.
func runScript(ctx context.Context, s *rig.Stack, st Strategy) error {
	client := ecs.NewFromConfig(s.AdminConfig())
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / s.TimeScale()) }
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), LaunchType: ecstypes.LaunchTypeEc2,
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Command: []string{"goose", "-dir", "migrations", "up"}}}}})
	if err != nil || len(run.Tasks) == 0 {
		return fmt.Errorf("run-task: %v", err)
	}
	stopped := ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = scale(st.MigrationPoll), scale(st.MigrationPoll)
	})
	if err := stopped.Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}, time.Hour); err != nil {
		return fmt.Errorf("wait tasks-stopped: %w", err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true}); err != nil {
		return fmt.Errorf("update-service: %w", err)
	}
	stable := ecs.NewServicesStableWaiter(client, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = scale(st.DeploymentPoll), scale(st.DeploymentPoll)
	})
	return stable.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}}, time.Hour)
}
