// Package awsconf builds what the Lambdas share: the AWS SDK configuration,
// the target configuration and the deployer.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	ecrdeployer "github.com/ecr-deployer/ecr-deployer"
	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/awsretry"
	deployerconfig "github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/notify"
)

// MaxAttempts bounds the SDK's retries of one call (awsretry).
const MaxAttempts = awsretry.MaxAttempts

// Load reads the default AWS configuration (region, credentials and the
// AWS_ENDPOINT_URL_* variables) with the deployer's retry policy.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(awsretry.New))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// Deployer builds the deployer every Lambda runs: the SDK clients (created
// once, reused by warm invocations; creating one makes no request), the
// target configuration, and the Lambda logger.
func Deployer(ctx context.Context) (*deploy.Deployer, error) {
	cfg, targets, err := loadAll(ctx)
	if err != nil {
		return nil, err
	}
	sfnClient := sfn.NewFromConfig(cfg)
	smARN := os.Getenv("STATE_MACHINE_ARN")
	places := NewPlaces(cfg, deploy.HomeOf(smARN, cfg.Region))
	ecsClient := PlacedECS{places}
	db := dynamodb.NewFromConfig(cfg)
	var notices deploy.NoticeAPI
	if topic := os.Getenv("TOPIC_ARN"); topic != "" {
		// Watch tells the topic what awaits approval.
		notices = &notify.Publisher{SNS: sns.NewFromConfig(cfg), TopicARN: topic, Region: cfg.Region}
	}
	var live deploy.LiveTargets
	if stack := os.Getenv("STACK_NAME"); stack != "" {
		// CheckTurn reads the deployed stack's targets at GO (regate.go).
		live = deploy.StackTargets{API: cloudformation.NewFromConfig(cfg), Stack: stack}
	}
	return &deploy.Deployer{
		Notices: notices, Live: live,
		ECS: ecsClient, Tags: ecsClient, ECR: ecr.NewFromConfig(cfg), SFN: sfnClient, Tokens: sfnClient, History: sfnClient, Starter: sfnClient,
		Logs:  PlacedLogs{places},
		Turns: db, TurnsTable: os.Getenv("TURNS_TABLE"),
		Promotions: db, PromotionsTable: os.Getenv("PROMOTIONS_TABLE"),
		StateMachineARN: smARN,
		StartARN:        os.Getenv("STATE_MACHINE_ALIAS_ARN"),
		Config:          targets, Region: cfg.Region, Log: lambdacontext.NewLogger(),
	}, nil
}

// loadAll reads the AWS configuration and the targets every function needs.
func loadAll(ctx context.Context) (aws.Config, *deployerconfig.Config, error) {
	cfg, err := Load(ctx)
	if err != nil {
		return aws.Config{}, nil, err
	}
	targets, err := Targets()
	return cfg, targets, err
}

// Targets reads the file named by DEPLOYER_CONFIG_FILE if set, else the
// targets.json compiled into the binary.
func Targets() (*deployerconfig.Config, error) {
	if path := os.Getenv("DEPLOYER_CONFIG_FILE"); path != "" {
		return deployerconfig.LoadFile(path)
	}
	return deployerconfig.Parse("targets.json", ecrdeployer.TargetsJSON)
}

// Notifier builds the Notify function's notifier: it publishes to the
// topic named by TOPIC_ARN and writes its metrics to stdout (EMF).
func Notifier(ctx context.Context) (*notify.Notifier, error) {
	cfg, targets, err := loadAll(ctx)
	if err != nil {
		return nil, err
	}
	topic := os.Getenv("TOPIC_ARN")
	if topic == "" {
		return nil, notify.ErrNoTopic
	}
	table := os.Getenv("NOTIFIED_TABLE")
	if table == "" {
		return nil, errors.New("NOTIFIED_TABLE is not set: the stack sets it to its notified table, where Notify claims each execution's end")
	}
	return &notify.Notifier{
		Publisher: notify.Publisher{SNS: sns.NewFromConfig(cfg), TopicARN: topic, Region: cfg.Region},
		History:   sfn.NewFromConfig(cfg), StateMachineARN: os.Getenv("STATE_MACHINE_ARN"),
		Config: targets, Metrics: os.Stdout,
		Once: &notify.Once{DB: dynamodb.NewFromConfig(cfg), Table: table},
	}, nil
}

// API builds the deployer API's server of one capability.
func API(ctx context.Context, c api.Capability) (*api.Server, error) {
	cfg, targets, err := loadAll(ctx)
	if err != nil {
		return nil, err
	}
	return &api.Server{Capability: c, SFN: sfn.NewFromConfig(cfg), StateMachineARN: os.Getenv("STATE_MACHINE_ARN"),
		StartARN: os.Getenv("STATE_MACHINE_ALIAS_ARN"), ECR: ecr.NewFromConfig(cfg),
		Promotions: dynamodb.NewFromConfig(cfg), PromotionsTable: os.Getenv("PROMOTIONS_TABLE"), Config: targets, Log: lambdacontext.NewLogger()}, nil
}

// ServeAPI is the main of a deployer API function: the capability's server,
// started by the Lambda runtime; a configuration it cannot build ends the
// process with why.
func ServeAPI(c api.Capability) {
	s, err := API(context.Background(), c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s-api: %v\n", c, err)
		os.Exit(1)
	}
	lambda.Start(s.Handle)
}
