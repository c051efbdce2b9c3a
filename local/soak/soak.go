// Package soak runs randomized sequences of pushes, manual starts and
// rollbacks against the local stack in its adversarial mode, with random
// ECS outcomes and strategies, and checks invariants from the emulator's
// own ground truth (its spans and service deployment records), not from
// what the executions report of themselves.
package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// Invariants are what every seed is checked against.
var Invariants = []string{
	"never two migrations, or two deployments (ECS's rollbacks included), of one service at once",
	"an execution reports Deployed only after ECS's record of each of its service deployments is SUCCESSFUL, and reports the digest that record runs",
	"every push and start ends Deployed, Superseded, Duplicate, or in a named Fail state (never InternalError or a raw Lambda/States error); a push EventBridge lost is counted as lost only when the adversary lost an event",
	"no execution passes 25,000 history events or 256 KiB in one state's output",
}

// Options set a soak up.
type Options struct {
	Root, BinDir string
	Seeds        []uint64
	// Workers is how many local stacks run seeds at once (default 2).
	Workers int
	// Rate is the adversary's rate (default 0.1).
	Rate float64
	// Log receives a line per seed; nil: none.
	Log io.Writer
}

// SeedResult is one seed's run.
type SeedResult struct {
	Seed       uint64
	Env        string
	Strategy   string
	Ops        []string
	Outcomes   map[string]int
	Behaviours map[string]int
	Violations []string
	// Detail, for a seed with violations: how each execution ended, and
	// each UpdateService ECS received, to read the seed's story by.
	Detail   []string
	Duration time.Duration
}

// Report is a whole soak.
type Report struct {
	Seeds    []SeedResult
	Duration time.Duration
}

// Run runs every seed, Workers at a time, each worker on a local stack of
// its own (executions of one seed end before the next starts).
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Rate == 0 {
		o.Rate = 0.1
	}
	cfg, err := config.LoadFile(filepath.Join(o.Root, "local", "targets.json"))
	if err != nil {
		return Report{}, err
	}
	start := time.Now()
	seeds := make(chan uint64)
	results := make(chan SeedResult)
	errs := make(chan error, o.Workers)
	var wg sync.WaitGroup
	for range min(o.Workers, len(o.Seeds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := startStack(ctx, o)
			if err != nil {
				errs <- err
				for range seeds {
				}
				return
			}
			defer s.Close()
			w := &worker{stack: s, cfg: cfg, rate: o.Rate}
			for seed := range seeds {
				results <- w.run(ctx, seed)
			}
		}()
	}
	go func() {
		for _, seed := range o.Seeds {
			seeds <- seed
		}
		close(seeds)
		wg.Wait()
		close(results)
	}()
	var rep Report
	for r := range results {
		if o.Log != nil {
			fmt.Fprintln(o.Log, r.Line())
		}
		rep.Seeds = append(rep.Seeds, r)
	}
	rep.Duration = time.Since(start)
	sort.Slice(rep.Seeds, func(i, j int) bool { return rep.Seeds[i].Seed < rep.Seeds[j].Seed })
	select {
	case err := <-errs:
		return rep, err
	default:
	}
	return rep, nil
}

func startStack(ctx context.Context, o Options) (*rig.Stack, error) {
	s, err := rig.Start(ctx, rig.Options{
		Root: o.Root, BinDir: o.BinDir, ConfigFile: filepath.Join(o.Root, "local", "targets.json"),
		Wait: 100 * time.Millisecond, Retry: 20 * time.Millisecond, TokenTimeout: 3 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Emulator.SeedStandardWorld(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Line is the seed's result in one line.
func (r SeedResult) Line() string {
	verdict := "ok"
	if len(r.Violations) > 0 {
		verdict = fmt.Sprintf("%d VIOLATIONS: %s", len(r.Violations), strings.Join(r.Violations, " | "))
	}
	return fmt.Sprintf("seed %d  %s %s  ops %s  outcomes %s  adversary %s  %s  %s", r.Seed, r.Env, r.Strategy,
		strings.Join(r.Ops, ","), counts(r.Outcomes), counts(r.Behaviours), r.Duration.Round(100*time.Millisecond), verdict)
}

// Violations are every seed's.
func (rep Report) Violations() []string {
	var out []string
	for _, s := range rep.Seeds {
		for _, v := range s.Violations {
			out = append(out, fmt.Sprintf("seed %d: %s", s.Seed, v))
		}
	}
	return out
}

// Print writes the summary: seeds, outcomes, behaviours, invariants.
func (rep Report) Print(w io.Writer) {
	outcomes, behaviours := map[string]int{}, map[string]int{}
	var seeds []string
	for _, s := range rep.Seeds {
		seeds = append(seeds, fmt.Sprint(s.Seed))
		for k, v := range s.Outcomes {
			outcomes[k] += v
		}
		for k, v := range s.Behaviours {
			behaviours[k] += v
		}
	}
	fmt.Fprintf(w, "soak: %d seeds in %s (%s)\n", len(rep.Seeds), rep.Duration.Round(time.Second), strings.Join(seeds, " "))
	fmt.Fprintf(w, "outcomes: %s\n", counts(outcomes))
	fmt.Fprintf(w, "adversary: %s\n", counts(behaviours))
	fmt.Fprintln(w, "invariants checked:")
	for _, inv := range Invariants {
		fmt.Fprintf(w, "  - %s\n", inv)
	}
	v := rep.Violations()
	fmt.Fprintf(w, "%d passed, %d failed\n", len(rep.Seeds)-failedSeeds(rep), failedSeeds(rep))
	for _, line := range v {
		fmt.Fprintf(w, "  %s\n", line)
	}
	for _, sr := range rep.Seeds {
		for _, line := range sr.Detail {
			fmt.Fprintf(w, "  seed %d: %s\n", sr.Seed, line)
		}
	}
}

func failedSeeds(rep Report) int {
	n := 0
	for _, s := range rep.Seeds {
		if len(s.Violations) > 0 {
			n++
		}
	}
	return n
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// The environments a seed deploys (local/targets.json): one service, one
// pinned by digest, and two targets of several services.
var envs = []string{"staging", "pinned", "suite", "suite-pinned"}

var strategies = []string{"ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"}

type worker struct {
	stack *rig.Stack
	cfg   *config.Config
	rate  float64
}

// plan draws a seed's environment, strategy and operations.
func plan(seed uint64) (env, strategy string, ops []string) {
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	env, strategy = envs[rng.IntN(len(envs))], strategies[rng.IntN(len(strategies))]
	for range 2 + rng.IntN(3) {
		switch n := rng.IntN(10); {
		case n < 6:
			ops = append(ops, "push")
		case n < 8:
			ops = append(ops, "start")
		default:
			ops = append(ops, "rollback")
		}
		ops = append(ops, fmt.Sprintf("wait%d", rng.IntN(1500)))
	}
	return env, strategy, ops
}

func scenario(seed uint64, strategy string, rate float64) emulator.Scenario {
	one := int32(1)
	return emulator.Scenario{
		// Lambda timeouts far rarer than throttling: each Task retries
		// Lambda.Unknown four times, and at the common rate three in a
		// row would be likelier in a soak than in years of deployments.
		Adversary: &emulator.AdversaryScript{Seed: seed, Rate: rate, Rates: map[string]float64{emulator.AdvLambdaTimedOut: rate / 3}},
		Random:    &emulator.RandomScript{Seed: seed, MinSeconds: 0.3, MaxSeconds: 1.5, MigrationFailureRate: 0.1, RolloutFailureRate: 0.1},
		Rollout: emulator.RolloutScript{Strategy: strategy, BakeTimeMinutes: 5, BakeSeconds: 0.3,
			Traffic: &emulator.TrafficSteps{StepPercent: 50, StepBakeTimeMinutes: &one, CanaryBakeTimeMinutes: &one, StepBakeSeconds: 0.1}},
	}
}

func (w *worker) run(ctx context.Context, seed uint64) SeedResult {
	start := time.Now()
	env, strategy, ops := plan(seed)
	r := SeedResult{Seed: seed, Env: env, Strategy: strategy, Outcomes: map[string]int{}}
	target, _ := w.cfg.ByEnvironment(env)
	sc := scenario(seed, strategy, w.rate)
	w.stack.SetScenario(sc)
	before := w.stack.SFN.ExecutionARNs()
	spansBefore := len(w.stack.Emulator.Spans())
	d := &driver{stack: w.stack, seed: seed, env: env, target: target}
	for i, op := range ops {
		if strings.HasPrefix(op, "wait") {
			var ms int
			fmt.Sscanf(op, "wait%d", &ms)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			continue
		}
		done, err := d.do(ctx, op, i)
		r.Ops = append(r.Ops, done)
		if err != nil {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: %v", op, err))
		}
	}
	ran, err := waitQuiet(ctx, w.stack, before)
	if err != nil {
		r.Violations = append(r.Violations, err.Error())
	}
	adv := w.stack.Emulator.Adversary()
	r.Behaviours = adv.Counts()
	spans := w.stack.Emulator.Spans()[spansBefore:]
	r.Violations = append(r.Violations, check(w.stack, w.cfg, d.pushes, ran, spans, r.Outcomes, r.Behaviours)...)
	if len(r.Violations) > 0 {
		r.Detail = detail(w.stack, ran, start)
	}
	w.stack.SetScenario(emulator.Scenario{})
	r.Duration = time.Since(start)
	return r
}

// waitQuiet waits until every execution started since before has ended and
// no new one has started for quietFor (a delayed push may still start one),
// and returns their runs.
func waitQuiet(ctx context.Context, s *rig.Stack, before []string) ([]*rig.Result, error) {
	const quietFor, limit = 4 * time.Second, 5 * time.Minute
	deadline := time.Now().Add(limit)
	last, lastChange := -1, time.Now()
	for {
		arns := newARNs(s.SFN.ExecutionARNs(), before)
		var results []*rig.Result
		running := 0
		for _, arn := range arns {
			c, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			res, err := s.SFN.Result(c, arn)
			cancel()
			if err != nil {
				running++
				continue
			}
			results = append(results, res)
		}
		if len(arns) != last {
			last, lastChange = len(arns), time.Now()
		}
		if running == 0 && time.Since(lastChange) >= quietFor {
			return results, nil
		}
		if time.Now().After(deadline) {
			return results, fmt.Errorf("%d executions still running after %s", running, limit)
		}
		select {
		case <-ctx.Done():
			return results, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func newARNs(all, before []string) []string {
	var out []string
	for _, a := range all {
		if !slices.Contains(before, a) {
			out = append(out, a)
		}
	}
	return out
}

// stateSize is the largest output of any state of the run.
func stateSize(r *rig.Result) int {
	n := 0
	for _, ev := range r.Events {
		if ev.State != nil {
			n = max(n, len(ev.State.Output), len(ev.State.Input))
		}
	}
	return n
}

func unmarshal(raw json.RawMessage, v any) bool { return len(raw) > 0 && json.Unmarshal(raw, v) == nil }

// detail tells a seed's story: each execution's end, each UpdateService.
func detail(s *rig.Stack, ran []*rig.Result, since time.Time) []string {
	var out []string
	for _, r := range ran {
		out = append(out, fmt.Sprintf("execution %s started +%.3fs: %s %s %s", r.Name, r.StartTime.Sub(since).Seconds(), r.Status, r.Error, clip(r.Cause)))
	}
	for _, c := range s.Emulator.Calls("UpdateService") {
		if c.At.After(since) {
			out = append(out, fmt.Sprintf("UpdateService +%.3fs %s %s", c.At.Sub(since).Seconds(), c.Request, c.Error))
		}
	}
	return out
}
