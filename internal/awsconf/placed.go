package awsconf

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// PlacedECS is the ECS API of the place each call's context names (Places).
type PlacedECS struct{ P *Places }

// PlacedLogs is the CloudWatch Logs API of the place each call's context names.
type PlacedLogs struct{ P *Places }

var (
	_ deploy.ECSAPI  = PlacedECS{}
	_ deploy.TagsAPI = PlacedECS{}
	_ deploy.LogsAPI = PlacedLogs{}
)

type ecsOpt = func(*ecs.Options)

// DescribeServices calls ECS's DescribeServices in the place ctx names.
func (e PlacedECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, o ...ecsOpt) (*ecs.DescribeServicesOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.DescribeServicesOutput, error) {
		return c.ecs.DescribeServices(ctx, in, o...)
	})
}

// DescribeTaskDefinition calls ECS's DescribeTaskDefinition in the place ctx names.
func (e PlacedECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, o ...ecsOpt) (*ecs.DescribeTaskDefinitionOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.DescribeTaskDefinitionOutput, error) {
		return c.ecs.DescribeTaskDefinition(ctx, in, o...)
	})
}

// RunTask calls ECS's RunTask in the place ctx names.
func (e PlacedECS) RunTask(ctx context.Context, in *ecs.RunTaskInput, o ...ecsOpt) (*ecs.RunTaskOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.RunTaskOutput, error) { return c.ecs.RunTask(ctx, in, o...) })
}

// DescribeTasks calls ECS's DescribeTasks in the place ctx names.
func (e PlacedECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, o ...ecsOpt) (*ecs.DescribeTasksOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.DescribeTasksOutput, error) { return c.ecs.DescribeTasks(ctx, in, o...) })
}

// StopTask calls ECS's StopTask in the place ctx names.
func (e PlacedECS) StopTask(ctx context.Context, in *ecs.StopTaskInput, o ...ecsOpt) (*ecs.StopTaskOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.StopTaskOutput, error) { return c.ecs.StopTask(ctx, in, o...) })
}

// UpdateService calls ECS's UpdateService in the place ctx names.
func (e PlacedECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, o ...ecsOpt) (*ecs.UpdateServiceOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.UpdateServiceOutput, error) { return c.ecs.UpdateService(ctx, in, o...) })
}

// RegisterTaskDefinition calls ECS's RegisterTaskDefinition in the place ctx names.
func (e PlacedECS) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, o ...ecsOpt) (*ecs.RegisterTaskDefinitionOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.RegisterTaskDefinitionOutput, error) {
		return c.ecs.RegisterTaskDefinition(ctx, in, o...)
	})
}

// ListTasks calls ECS's ListTasks in the place ctx names.
func (e PlacedECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, o ...ecsOpt) (*ecs.ListTasksOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.ListTasksOutput, error) { return c.ecs.ListTasks(ctx, in, o...) })
}

// DescribeServiceDeployments calls ECS's DescribeServiceDeployments in the place ctx names.
func (e PlacedECS) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, o ...ecsOpt) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.DescribeServiceDeploymentsOutput, error) {
		return c.ecs.DescribeServiceDeployments(ctx, in, o...)
	})
}

// ListServiceDeployments calls ECS's ListServiceDeployments in the place ctx names.
func (e PlacedECS) ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, o ...ecsOpt) (*ecs.ListServiceDeploymentsOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.ListServiceDeploymentsOutput, error) {
		return c.ecs.ListServiceDeployments(ctx, in, o...)
	})
}

// TagResource calls ECS's TagResource in the place ctx names.
func (e PlacedECS) TagResource(ctx context.Context, in *ecs.TagResourceInput, o ...ecsOpt) (*ecs.TagResourceOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.TagResourceOutput, error) { return c.ecs.TagResource(ctx, in, o...) })
}

// ListTagsForResource calls ECS's ListTagsForResource in the place ctx names.
func (e PlacedECS) ListTagsForResource(ctx context.Context, in *ecs.ListTagsForResourceInput, o ...ecsOpt) (*ecs.ListTagsForResourceOutput, error) {
	return via(ctx, e.P, func(c *placeClients) (*ecs.ListTagsForResourceOutput, error) {
		return c.ecs.ListTagsForResource(ctx, in, o...)
	})
}

// GetLogEvents calls CloudWatch Logs's GetLogEvents in the place ctx names.
func (l PlacedLogs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	return via(ctx, l.P, func(c *placeClients) (*cloudwatchlogs.GetLogEventsOutput, error) {
		return c.logs.GetLogEvents(ctx, in, o...)
	})
}
