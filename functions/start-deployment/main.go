// Command start-deployment is the StartDeployment Lambda: it forces a new deployment of the service (or adopts the one it started) and records its id.
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
		fmt.Fprintln(os.Stderr, "start-deployment:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.StartDeployment))
}
