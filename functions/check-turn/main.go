// Command check-turn is the CheckTurn Lambda: it decides whether this execution may deploy its service now, waits, or ends as superseded or a duplicate.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

func main() {
	d, err := awsconf.Deployer(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "check-turn:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.CheckTurn))
}
