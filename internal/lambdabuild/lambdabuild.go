// Package lambdabuild builds the Lambdas' `bootstrap` executables and their
// deployment zips, reproducibly: the same source gives the same bytes, so
// asset hashes and S3 keys only change when the code does.
package lambdabuild

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// Flags are the build flags of a shipped bootstrap: no RPC mode (the
// provided.al2023 runtime), no paths, VCS stamps or symbols in the binary.
var Flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

// BuildVar is the variable a build's name is linked into (deploy.Build):
// every document a function writes says which build wrote it.
const BuildVar = "github.com/ecr-deployer/ecr-deployer/internal/deploy.Build"

// flags are Flags, with the build's name linked in when one is given.
func flags(build string) []string {
	if build == "" {
		return Flags
	}
	out := append([]string(nil), Flags[:len(Flags)-1]...)
	return append(out, Flags[len(Flags)-1]+" -X "+BuildVar+"="+build)
}

// Build compiles every function into outDir/<dir>/bootstrap for goarch
// ("" for this machine), named build ("": deploy.Build's default, "dev").
func Build(ctx context.Context, root, outDir, goarch, build string) error {
	for _, f := range statemachine.Functions {
		out := filepath.Join(outDir, f.Dir, "bootstrap")
		args := append(append([]string{"build", "-o", out}, flags(build)...), "./functions/"+f.Dir)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if goarch != "" {
			cmd.Env = append(cmd.Env, "GOOS=linux", "GOARCH="+goarch)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", f.Dir, err, b)
		}
	}
	return nil
}

// zipTime is the fixed modification time of every zip entry (the zip epoch).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip writes a deployment package holding bootstrap as an executable, with
// fixed metadata, and returns the zip's SHA-256 in hex.
func Zip(bootstrap, zipPath string) (string, error) {
	in, err := os.Open(bootstrap)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(zipPath)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(out, h))
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err == nil {
		_, err = io.Copy(w, in)
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("zip %s: %w", bootstrap, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ModuleRoot finds the directory holding go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
