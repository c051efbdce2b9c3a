// Command watch is the function of WaitForMigration and WaitForDeployment: it
// looks once after the wait began and ends the wait itself if the change is
// already there; otherwise the execution waits for an ECS event or its timeout.
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
		fmt.Fprintln(os.Stderr, "watch:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.Watch))
}
