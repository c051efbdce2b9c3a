// Command pin-image is the PinImage Lambda: it registers or reuses a task definition revision pinned to the pushed digest.
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
		fmt.Fprintln(os.Stderr, "pin-image:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.PinImage))
}
