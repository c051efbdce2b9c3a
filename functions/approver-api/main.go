// Command approver-api is the deployer API's approver URL: people's decisions,
// performed with the identity IAM authenticated (internal/api).
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
	s, err := awsconf.API(context.Background(), api.Approver)
	if err != nil {
		fmt.Fprintln(os.Stderr, "approver-api:", err)
		os.Exit(1)
	}
	lambda.Start(s.Handle)
}
