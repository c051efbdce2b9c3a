// Package awsconf builds the AWS SDK configuration the Lambdas share.
package awsconf

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"

	ecrdeployer "github.com/ecr-deployer/ecr-deployer"
	deployerconfig "github.com/ecr-deployer/ecr-deployer/internal/config"
)

// MaxAttempts bounds the SDK's retries of one call. ECS throttles per account
// and region (ThrottlingException), and the other deploy tools of the account
// share that budget, so a burst is ridden out with jittered exponential backoff
// rather than failing the deployment after the SDK's default 3 attempts.
const MaxAttempts = 10

// Load reads the default AWS configuration (region, credentials and the
// AWS_ENDPOINT_URL_* variables) with the deployer's retry policy.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = MaxAttempts
			o.MaxBackoff = 20 * time.Second
		})
	}))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// Targets reads the file named by DEPLOYER_CONFIG_FILE if set, else the
// targets.json compiled into the binary.
func Targets() (*deployerconfig.Config, error) {
	if path := os.Getenv("DEPLOYER_CONFIG_FILE"); path != "" {
		return deployerconfig.LoadFile(path)
	}
	return deployerconfig.Parse("targets.json", ecrdeployer.TargetsJSON)
}
