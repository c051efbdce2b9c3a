// Command check-deployment is the CheckDeployment Lambda: it looks at the service once and judges our deployment.
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
		fmt.Fprintln(os.Stderr, "check-deployment:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.CheckDeployment))
}
