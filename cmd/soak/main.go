// Command soak runs make soak: randomized pushes, starts and rollbacks
// against the local stack in its adversarial mode, checked against the
// emulator's ground truth. It exits 1 if any seed breaks an invariant;
// SEEDS=<n> replays one.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/local/soak"
)

func main() {
	seeds := flag.String("seeds", "1-200", "seeds: a list (3,7,9) or a range (1-200)")
	workers := flag.Int("workers", 2, "local stacks running seeds at once")
	rate := flag.Float64("rate", 0.1, "the adversary's rate")
	flag.Parse()
	list, err := parseSeeds(*seeds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	root, err := lambdabuild.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	bin := filepath.Join(root, "bin")
	ctx := context.Background()
	if err := rig.Build(ctx, root, bin); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	rep, err := soak.Run(ctx, soak.Options{Root: root, BinDir: bin, Seeds: list, Workers: *workers, Rate: *rate, Log: os.Stdout})
	rep.Print(os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if len(rep.Violations()) > 0 {
		os.Exit(1)
	}
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seed %q: %w", part, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("seed range %q", part)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}
