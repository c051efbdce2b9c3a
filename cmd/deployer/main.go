// Command deployer promotes images and starts, follows and inspects
// ecr-deployer's deployments. Install from a checkout: make install (go install ./cmd/deployer).
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
