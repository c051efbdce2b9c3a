// Command resolve-target is the ResolveTarget Lambda: it reads the execution
// input, finds the configured target and checks the image and the service.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resolve-target:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return err
	}
	targets, err := awsconf.Targets()
	if err != nil {
		return err
	}
	d := &deploy.Deployer{ECS: ecs.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg), Config: targets, Region: cfg.Region, Log: lambdacontext.NewLogger()}
	lambda.Start(deploy.Handler(d.ResolveTarget))
	return nil
}
