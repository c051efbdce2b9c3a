package deploy

import (
	"cmp"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// ServiceCheck is what ResolveTarget judges of one service before anything
// runs, each judgement's error apart: deployer check shows each one,
// deployer plan takes the first (Err).
type ServiceCheck struct {
	Service        ecstypes.Service
	TaskDefinition *ecstypes.TaskDefinition
	// Found: the service exists and is ACTIVE. Controller: UpdateService
	// can deploy it. BakeTime: the timeout covers its strategy. Definition:
	// its task definition was read and the stack's IAM covers it
	// (CheckTaskDefinition). Tag: in tag mode it runs the target's tag.
	Found, Controller, BakeTime, Definition, Tag error
}

// Err is the first failed judgement, in the order ResolveTarget makes them.
func (c ServiceCheck) Err() error {
	return cmp.Or(c.Found, c.Controller, c.BakeTime, c.Definition, c.Tag)
}

// CheckService reads a service and its task definition and makes every
// judgement it can: all of them unless the service cannot be read.
func CheckService(ctx context.Context, api ServicesAPI, t config.Resolved, runsMigration bool) ServiceCheck {
	var c ServiceCheck
	if c.Service, c.Found = DescribeService(ctx, api, t.Cluster, t.Service); c.Found != nil {
		return c
	}
	c.Controller, c.BakeTime = CheckController(c.Service, t), CheckBakeTime(c.Service, t)
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: c.Service.TaskDefinition})
	if err != nil {
		c.Definition = fmt.Errorf("describe task definition %s: %w", aws.ToString(c.Service.TaskDefinition), err)
		return c
	}
	c.TaskDefinition = out.TaskDefinition
	c.Definition, c.Tag = CheckTaskDefinition(t, c.TaskDefinition, runsMigration), CheckTagMode(t, c.TaskDefinition)
	return c
}
