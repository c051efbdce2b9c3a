// Command notify is the target of the state machine's status change rule:
// it tells people how a deployment ended (SNS) and emits its metrics (EMF).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ecr-deployer/ecr-deployer/internal/awsconf"
)

func main() {
	n, err := awsconf.Notifier(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
	lambda.Start(n.Handle)
}
