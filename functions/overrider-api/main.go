// Command overrider-api is the deployer API's overrider URL: deployments
// started with overrides (past the promotion guard, outside the deployment
// windows, without the migration), as the identity IAM authenticated
// (internal/api).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
)

func main() {
	s, err := awsconf.API(context.Background(), api.Overrider)
	if err != nil {
		fmt.Fprintln(os.Stderr, "overrider-api:", err)
		os.Exit(1)
	}
	lambda.Start(s.Handle)
}
