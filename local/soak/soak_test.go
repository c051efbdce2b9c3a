package soak

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// The short, fixed-seed slice of make soak that make test runs: each seed
// a randomized sequence against the adversarial local stack, every
// invariant checked against the emulator's ground truth.
func TestShortSoak(t *testing.T) {
	root, err := lambdabuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	if err := rig.Build(ctx, root, bin); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	rep, err := Run(ctx, Options{Root: root, BinDir: bin, Seeds: []uint64{1, 2, 3, 4, 5, 6}, Workers: 2, Log: &log})
	rep.Print(&log)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Seeds) != 6 {
		t.Fatalf("%d seeds ran, want 6", len(rep.Seeds))
	}
	total := 0
	for _, s := range rep.Seeds {
		for _, n := range s.Outcomes {
			total += n
		}
	}
	if total == 0 {
		t.Fatal("no execution ran: the soak checked nothing")
	}
	for _, v := range rep.Violations() {
		t.Error(v)
	}
}
