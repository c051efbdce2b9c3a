// Command promoter-api is the deployer API's promoter URL: people's decisions,
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
	s, err := awsconf.API(context.Background(), api.Promoter)
	if err != nil {
		fmt.Fprintln(os.Stderr, "promoter-api:", err)
		os.Exit(1)
	}
	lambda.Start(s.Handle)
}
