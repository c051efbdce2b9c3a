// Package deploy is the workflow's logic: it resolves a target, runs and judges
// the migration task, and starts and judges the service deployment. It never
// imports the Lambda runtime; functions/* wire it to lambda.Start.
package deploy

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// ECSAPI is the part of the ECS API the workflow calls.
type ECSAPI interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	TagResource(context.Context, *ecs.TagResourceInput, ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
}

// ECRAPI is the part of the ECR API the workflow calls.
type ECRAPI interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	// A rollback moves the environment's tag back (retag).
	BatchGetImage(context.Context, *ecr.BatchGetImageInput, ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	PutImage(context.Context, *ecr.PutImageInput, ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
}

var (
	_ ECSAPI = (*ecs.Client)(nil)
	_ ECRAPI = (*ecr.Client)(nil)
)

// Deployer runs the workflow's steps. Each exported step is one Lambda.
type Deployer struct {
	ECS ECSAPI
	ECR ECRAPI
	SFN SFNAPI
	// Logs reads a failed migration's log (CheckMigration).
	Logs LogsAPI
	// Tokens ends waits (Watch, Wake); History finds them (Wake).
	Tokens  TokenAPI
	History HistoryAPI
	// Tags reads a service's tags (Wake: which execution deploys it); nil
	// makes Wake read the running executions instead.
	Tags TagsAPI
	// Starter starts executions (Trigger).
	Starter StarterAPI
	// Turns holds each service's turn in the table TurnsTable (CheckTurn).
	Turns      ItemsAPI
	TurnsTable string
	// Promotions holds who promoted each image (the deployer API writes,
	// ResolveTarget reads) in PromotionsTable; unset, a push's starter is
	// unknown.
	Promotions      ItemsAPI
	PromotionsTable string
	// Notices, when set, tells the notification topic what awaits a person.
	Notices NoticeAPI
	// StateMachineARN is the workflow whose executions Wake wakes.
	StateMachineARN string
	// StartARN is what Trigger starts executions with: the state machine's
	// alias (the release new deployments run on); StateMachineARN if empty.
	StartARN string
	Config   *config.Config // ResolveTarget and CheckTurn read it
	// Live reads the deployed stack\'s targets (CheckTurn, at GO); nil reads Config.
	Live   LiveTargets
	Region string
	Now    func() time.Time
	Log    *slog.Logger

	wakeCache executions.Memo[deploys]
	execCache executions.Memo[executions.Execution]
}

// executions reads the executions of a state machine, through the warm
// instance's cache of what it described.
func (d *Deployer) executions(stateMachine string) *executions.Reader {
	return &executions.Reader{API: d.SFN, StateMachine: stateMachine, Cache: &d.execCache}
}

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

func (d *Deployer) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// Handler adapts a step to what a Lambda must return: on failure, the typed
// error itself, so that its type name becomes the Step Functions error name;
// a State it returns carries this code's StateVersion and Build.
func Handler[I, O any](step func(context.Context, I) (O, error)) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		out, err := step(ctx, in)
		if err != nil {
			var zero O
			return zero, ForStepFunctions(err)
		}
		if s, ok := any(&out).(*State); ok {
			// Whatever version it read, a step writes the document of its own.
			s.Version, s.Build = StateVersion, Build
		}
		return out, nil
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
