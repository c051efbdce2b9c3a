// Command run-migration is the RunMigration Lambda: it starts the migration task (RunTask with a client token).
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
		fmt.Fprintln(os.Stderr, "run-migration:", err)
		os.Exit(1)
	}
	lambda.Start(deploy.Handler(d.RunMigration))
}
