// Command bench runs `make bench`: simulated deployments on the local stack
// with realistic ECS timings, time-compressed, compared per waiting strategy
// against today's script. It prints a table and writes JSON and an SVG chart.
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
	"github.com/ecr-deployer/ecr-deployer/local/localstack"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func main() {
	n := flag.Int("n", 8, "deployments per strategy")
	scale := flag.Float64("scale", 40, "time compression: ECS seconds per wall-clock second")
	migration := flag.Duration("migration", 40*time.Second, "mean migration duration (each draws ±25%)")
	rollout := flag.Duration("rollout", 6*time.Minute, "mean rollout duration (each draws ±25%)")
	out := flag.String("out", "dist/bench", "directory for results.json and chart.svg")
	concurrent := flag.Int("concurrent", 100, "deployments run at once against a throttled ECS (0 skips)")
	flag.Parse()
	if err := run(*n, *scale, *migration, *rollout, *out, *concurrent); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, scale float64, migration, rollout time.Duration, out string, concurrent int) error {
	ctx := context.Background()
	root, err := localstack.ModuleRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(root, "bin")
	if err := localstack.Build(ctx, root, bin); err != nil {
		return err
	}
	fmt.Printf("%d deployments per strategy; migration %s and rollout %s (±25%%), compressed %gx; all times below are ECS time.\n\n", n, migration, rollout, scale)
	rs, err := bench.Run(ctx, bench.Options{Root: root, BinDir: bin, Deployments: n, TimeScale: scale, Migration: migration, Rollout: rollout, Seed: 42})
	if err != nil {
		return err
	}
	bench.WriteTable(os.Stdout, rs)
	zips, err := zipSizes(ctx, root)
	if err != nil {
		return err
	}
	fmt.Println()
	bench.WriteFunctions(os.Stdout, rs, zips)
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var sr *bench.ScaleResult
	if concurrent > 0 {
		fmt.Println()
		r, err := bench.Scale(ctx, bench.ScaleOptions{Root: root, BinDir: bin, Deployments: concurrent, PerSecond: 20,
			Migration: 5 * time.Second, Rollout: 20 * time.Second, Instances: 10, TimeScale: 1})
		if err != nil {
			return err
		}
		bench.WriteScale(os.Stdout, r)
		sr = &r
	}
	b, _ := json.MarshalIndent(map[string]any{"strategies": rs, "concurrency": sr}, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "results.json"), b, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "chart.svg"))
	if err != nil {
		return err
	}
	bench.WriteSVG(f, rs)
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("\nWrote %s and %s\n", filepath.Join(out, "results.json"), filepath.Join(out, "chart.svg"))
	return nil
}

// zipSizes builds the shipped arm64 packages and returns each zip's size.
func zipSizes(ctx context.Context, root string) (map[string]int64, error) {
	dir, err := os.MkdirTemp("", "bench-zips-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := lambdabuild.Build(ctx, root, dir, "arm64"); err != nil {
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
