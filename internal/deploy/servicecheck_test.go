package deploy

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// oneService answers DescribeServices with one service (none: MISSING) and
// DescribeTaskDefinition with one task definition, or an error.
type oneService struct {
	svc   *ecstypes.Service
	td    *ecstypes.TaskDefinition
	tdErr error
}

func (f oneService) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if f.svc == nil {
		return &ecs.DescribeServicesOutput{Failures: []ecstypes.Failure{{Reason: aws.String("MISSING")}}}, nil
	}
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{*f.svc}}, nil
}

func (f oneService) DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: f.td}, f.tdErr
}

// CheckService makes every judgement it can, each apart, and Err is the
// first in ResolveTarget's order: found, controller, bake time, task
// definition, tag.
func TestCheckService(t *testing.T) {
	target := config.Resolved{Repository: "app", Tag: "staging", Cluster: "staging", Service: "staging-service", TaskDefinitionFamily: "app",
		Image: config.ImageTag, DeploymentTimeout: config.Duration(30 * 60e9)}
	codeDeploy := &ecstypes.Service{Status: aws.String("ACTIVE"), TaskDefinition: aws.String("web:1"),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy}}
	ok := &ecstypes.Service{Status: aws.String("ACTIVE"), TaskDefinition: aws.String("app:1")}
	web := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/web:1"), Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("123456789012.dkr.ecr.us-west-2.amazonaws.com/app:prod")}}}
	app := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/app:1"), Family: aws.String("app"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("123456789012.dkr.ecr.us-west-2.amazonaws.com/app:staging")}}}
	t.Run("a missing service: nothing else judged", func(t *testing.T) {
		c := CheckService(context.Background(), oneService{}, target, true)
		var missing *ServiceNotFound
		if !errors.As(c.Err(), &missing) || c.Controller != nil || c.Definition != nil || c.TaskDefinition != nil {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("every judgement apart; Err the controller's, the first failed", func(t *testing.T) {
		c := CheckService(context.Background(), oneService{svc: codeDeploy, td: web}, target, true)
		var controller *UnsupportedDeploymentController
		var misconfigured *TargetMisconfigured
		if !errors.As(c.Err(), &controller) || c.BakeTime != nil || !errors.As(c.Definition, &misconfigured) || !errors.As(c.Tag, &misconfigured) || c.TaskDefinition != web {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("the task definition is the first failure: its error", func(t *testing.T) {
		c := CheckService(context.Background(), oneService{svc: ok, td: web}, target, true)
		var misconfigured *TargetMisconfigured
		if !errors.As(c.Err(), &misconfigured) || c.Err() != c.Definition {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("only the tag is wrong", func(t *testing.T) {
		tagged := *app
		tagged.ContainerDefinitions = web.ContainerDefinitions
		c := CheckService(context.Background(), oneService{svc: ok, td: &tagged}, target, true)
		if c.Definition != nil || c.Tag == nil || c.Err() != c.Tag {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("all well", func(t *testing.T) {
		if c := CheckService(context.Background(), oneService{svc: ok, td: app}, target, true); c.Err() != nil || c.TaskDefinition != app {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("the task definition cannot be read", func(t *testing.T) {
		c := CheckService(context.Background(), oneService{svc: ok, tdErr: errors.New("throttled")}, target, true)
		if c.Definition == nil || c.Err() != c.Definition || c.TaskDefinition != nil {
			t.Fatalf("%+v", c)
		}
	})
}
