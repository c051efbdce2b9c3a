package rig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
)

// RIEPackage is the Lambda Runtime Interface Emulator, pinned as a tool in go.mod.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Build compiles every Lambda as the `bootstrap` executable it is shipped as
// (lambdabuild.Flags, as on provided.al2023), for this machine's architecture,
// into binDir/<function dir>/bootstrap, and the RIE into binDir/aws-lambda-rie
// unless it is there already. root is the module root.
func Build(ctx context.Context, root, binDir string) error {
	return BuildRelease(ctx, root, binDir, "")
}

// BuildRelease is Build with the build's name linked in (deploy.Build):
// an upgrade test builds a second release next to the first.
func BuildRelease(ctx context.Context, root, binDir, build string) error {
	if err := lambdabuild.Build(ctx, root, binDir, "", build); err != nil {
		return err
	}
	rie := filepath.Join(binDir, "aws-lambda-rie")
	if _, err := os.Stat(rie); err == nil {
		return nil
	}
	return goBuild(ctx, root, rie, RIEPackage)
}

func goBuild(ctx context.Context, root, out string, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
