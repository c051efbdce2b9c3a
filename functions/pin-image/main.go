// Command pin-image is the PinImage Lambda: it registers or reuses a task definition revision pinned to the pushed digest.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

func main() {
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pin-image:", err)
		os.Exit(1)
	}
	d := &deploy.Deployer{ECS: ecs.NewFromConfig(cfg), Region: cfg.Region, Log: lambdacontext.NewLogger()}
	lambda.Start(deploy.Handler(d.PinImage))
}
