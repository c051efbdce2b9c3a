// Command resolve-target is the ResolveTarget Lambda: it reads the execution input, finds the configured target and checks the image and the service.
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
		fmt.Fprintln(os.Stderr, "resolve-target:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.ResolveTarget))
}
