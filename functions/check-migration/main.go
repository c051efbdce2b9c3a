// Command check-migration is the CheckMigration Lambda: it looks at the migration task once and judges it.
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
		fmt.Fprintln(os.Stderr, "check-migration:", err)
		os.Exit(1)
	}
	d := &deploy.Deployer{ECS: ecs.NewFromConfig(cfg), Region: cfg.Region, Log: lambdacontext.NewLogger()}
	lambda.Start(deploy.Handler(d.CheckMigration))
}
