// Command check-turn is the CheckTurn Lambda: it decides whether this
// execution may deploy its service now, waits, or ends as superseded or a
// duplicate, from the state machine's other executions.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "check-turn:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		return err
	}
	targets, err := awsconf.Targets()
	if err != nil {
		return err
	}
	d := &deploy.Deployer{SFN: sfn.NewFromConfig(cfg), Config: targets, Region: cfg.Region, Log: lambdacontext.NewLogger()}
	lambda.Start(deploy.Handler(d.CheckTurn))
	return nil
}
