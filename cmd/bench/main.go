// Command bench runs `make bench`: simulated deployments on the local stack
// with realistic ECS timings, time-compressed, compared per waiting strategy
// against today's script (a table, results.json and an SVG chart); and
// `make bench-scale`: many deployments at once against a throttled ECS
// (scale.json).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/bench"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func main() {
	n := flag.Int("n", 8, "deployments per strategy")
	scale := flag.Float64("scale", 40, "time compression: ECS seconds per wall-clock second")
	migration := flag.Duration("migration", 40*time.Second, "mean migration duration (each draws ±25%)")
	rollout := flag.Duration("rollout", 6*time.Minute, "mean rollout duration (each draws ±25%)")
	out := flag.String("out", "dist/bench", "directory for the results")
	part := flag.String("part", "strategies", "what to run: strategies (make bench: the waiting strategies against the script, minutes), realtime (make bench-realtime: the event path on the wall clock with AWS's latencies modelled) or scale (make bench-scale: -concurrent deployments at once against a throttled ECS)")
	concurrent := flag.Int("concurrent", 100, "with -part scale: deployments run at once")
	throttledOnly := flag.Bool("throttled-only", false, "with -part scale: only the run with the quotas")
	runs := flag.Int("runs", 1, "with -part strategies or realtime: how many runs (seeds 42, 43, …); more than one writes each run's results and the spread")
	settle := flag.Duration("settle", 0, "with -part realtime: the target's queueSettle")
	flag.Parse()
	var err error
	switch *part {
	case "strategies":
		err = strategies(*n, *runs, *scale, *migration, *rollout, *out)
	case "scale":
		err = scaleRun(*concurrent, *throttledOnly, *out)
	case "realtime":
		err = realtime(*n, *runs, *settle, *out)
	default:
		err = fmt.Errorf("-part %q: strategies, realtime or scale", *part)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// setup builds the binaries and the output directory.
func setup(ctx context.Context, out string) (root, bin, dir string, err error) {
	if root, err = lambdabuild.ModuleRoot(); err != nil {
		return
	}
	bin = filepath.Join(root, "bin")
	progress("building the Lambdas and the RIE…")
	if err = rig.Build(ctx, root, bin); err != nil {
		return
	}
	dir = out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	err = os.MkdirAll(dir, 0o755)
	return
}

// progress says what the benchmark is doing, on stderr, as it goes.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func writeJSON(path string, v any) error {
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	progress("wrote %s", path)
	return nil
}

// strategies is make bench: each waiting strategy against the script,
// written to results.json and chart.svg as soon as it has run.
func strategies(n, runs int, scale float64, migration, rollout time.Duration, out string) error {
	ctx := context.Background()
	root, bin, dir, err := setup(ctx, out)
	if err != nil {
		return err
	}
	fmt.Printf("%d deployments per strategy; migration %s and rollout %s (±25%%), compressed %gx; all times below are ECS time.\n\n", n, migration, rollout, scale)
	var all [][]bench.Result
	for i := range max(runs, 1) {
		if runs > 1 {
			progress("run %d of %d (seed %d)…", i+1, runs, 42+i)
		}
		rs, err := bench.Run(ctx, bench.Options{Root: root, BinDir: bin, Deployments: n, TimeScale: scale, Migration: migration, Rollout: rollout, Seed: uint64(42 + i), Progress: progress})
		if err != nil {
			return err
		}
		if runs > 1 {
			if err := writeJSON(filepath.Join(dir, fmt.Sprintf("results-run%d.json", i+1)), map[string]any{"seed": 42 + i, "strategies": rs}); err != nil {
				return err
			}
		}
		all = append(all, rs)
	}
	rs := all[len(all)-1]
	if runs > 1 {
		spreads := bench.Spreads(all)
		if err := writeJSON(filepath.Join(dir, "spread.json"), map[string]any{"runs": runs, "strategies": spreads}); err != nil {
			return err
		}
		fmt.Printf("Over %d runs (lowest–highest; ECS time):\n", runs)
		bench.WriteSpreads(os.Stdout, spreads)
		fmt.Printf("\nThe last run in full:\n")
	}
	if err := writeJSON(filepath.Join(dir, "results.json"), map[string]any{"strategies": rs}); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "chart.svg"))
	if err != nil {
		return err
	}
	bench.WriteSVG(f, rs)
	if err := f.Close(); err != nil {
		return err
	}
	bench.WriteTable(os.Stdout, rs)
	progress("building the arm64 packages to measure them…")
	zips, err := zipSizes(ctx, root)
	if err != nil {
		return err
	}
	fmt.Println()
	bench.WriteFunctions(os.Stdout, rs, zips)
	fmt.Printf("\nWrote %s and %s\n", filepath.Join(dir, "results.json"), filepath.Join(dir, "chart.svg"))
	return nil
}

// realtime is make bench-realtime: the event path on the wall clock with
// AWS's latencies modelled, runs times (seeds 42, …): realtime-runN.json each,
// realtime.json with every run and the spread.
func realtime(n, runs int, settle time.Duration, out string) error {
	ctx := context.Background()
	root, bin, dir, err := setup(ctx, out)
	if err != nil {
		return err
	}
	var all []bench.RealtimeResult
	for i := range max(runs, 1) {
		progress("real-time run %d of %d (seed %d): %d deployments, one after another…", i+1, runs, 42+i, n)
		r, err := bench.Realtime(ctx, bench.RealtimeOptions{Root: root, BinDir: bin, Deployments: n, Migration: 3 * time.Second, Rollout: 4 * time.Second,
			QueueSettle: settle, Latency: bench.DefaultLatency(uint64(42 + i))})
		if err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("realtime-run%d.json", i+1)), r); err != nil {
			return err
		}
		all = append(all, r)
	}
	host, _ := os.Hostname()
	if err := writeJSON(filepath.Join(dir, "realtime.json"), map[string]any{"machine": bench.Machine(host), "runs": all}); err != nil {
		return err
	}
	bench.WriteRealtime(os.Stdout, all)
	return nil
}

// scaleRun is make bench-scale: many deployments at once against ECS's
// throttling, written to scale.json.
func scaleRun(concurrent int, throttledOnly bool, out string) error {
	ctx := context.Background()
	root, bin, dir, err := setup(ctx, out)
	if err != nil {
		return err
	}
	progress("%d deployments at once…", concurrent)
	// Up to 100, one Node process per execution as everywhere else; beyond,
	// a pool of them (one per 100 executions), and more Lambda instances.
	runners, instances := 0, 10
	if concurrent > 100 {
		runners, instances = (concurrent+99)/100, 16
	}
	if concurrent > 500 {
		// Lambda runs up to 1,000 invocations at once per account by default;
		// one RIE runs one, and the invocations past them wait in the local
		// proxy against the Task states' 120 s timeouts, which AWS's would not.
		instances = 48
	}
	r, err := bench.Scale(ctx, bench.ScaleOptions{Root: root, BinDir: bin, Deployments: concurrent, PerSecond: 20,
		Migration: 5 * time.Second, Rollout: 20 * time.Second, Instances: instances, Runners: runners, TimeScale: 1, ThrottledOnly: throttledOnly})
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "scale.json"), r); err != nil {
		return err
	}
	bench.WriteScale(os.Stdout, r)
	return nil
}

// zipSizes builds the shipped arm64 packages and returns each zip's size.
func zipSizes(ctx context.Context, root string) (map[string]int64, error) {
	dir, err := os.MkdirTemp("", "bench-zips-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := lambdabuild.Build(ctx, root, dir, "arm64", ""); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, f := range statemachine.Functions {
		zip := filepath.Join(dir, f.Dir+".zip")
		if _, err := lambdabuild.Zip(filepath.Join(dir, f.Dir, "bootstrap"), zip); err != nil {
			return nil, err
		}
		st, err := os.Stat(zip)
		if err != nil {
			return nil, err
		}
		out[f.Dir] = st.Size()
	}
	return out, nil
}
