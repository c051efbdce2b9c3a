// Command package builds the Lambdas for arm64 (provided.al2023) into
// dist/<function>.zip, reproducibly, and prints the code version: the first
// 16 hex digits of a SHA-256 over the zips. `make package` uploads them to
// s3://BUCKET/ecr-deployer/<version>/ for template.json's CodeBucket and
// CodeVersion parameters.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func main() {
	out := flag.String("out", "dist", "output directory")
	arch := flag.String("arch", "arm64", "GOARCH of the Lambdas")
	flag.Parse()
	if err := run(*out, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(out, arch string) error {
	root, err := lambdabuild.ModuleRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := lambdabuild.Build(context.Background(), root, filepath.Join(out, "build"), arch, ""); err != nil {
		return err
	}
	all := sha256.New()
	for _, f := range statemachine.Functions {
		sum, err := lambdabuild.Zip(filepath.Join(out, "build", f.Dir, "bootstrap"), filepath.Join(out, f.Dir+".zip"))
		if err != nil {
			return err
		}
		fmt.Fprintf(all, "%s %s\n", f.Dir, sum)
		st, _ := os.Stat(filepath.Join(out, f.Dir+".zip"))
		fmt.Fprintf(os.Stderr, "%-18s %6.2f MB  sha256 %s\n", f.Dir+".zip", float64(st.Size())/1e6, sum[:16])
	}
	fmt.Println(hex.EncodeToString(all.Sum(nil))[:16])
	return nil
}
