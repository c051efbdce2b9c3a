// Command check-migration is the CheckMigration Lambda: it looks at the migration task once and judges it.
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
		fmt.Fprintln(os.Stderr, "check-migration:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.CheckMigration))
}
