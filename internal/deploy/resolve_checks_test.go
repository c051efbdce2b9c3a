package deploy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

func TestCheckController(t *testing.T) {
	target := config.Resolved{Environment: "prod", Cluster: "prod", Service: "prod-service"}
	cases := map[string]struct {
		controller *ecstypes.DeploymentController
		wantErr    string
	}{
		"no controller listed (ECS)": {},
		"ECS":                        {controller: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs}},
		"CODE_DEPLOY":                {controller: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy}, wantErr: "CODE_DEPLOY"},
		"EXTERNAL":                   {controller: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeExternal}, wantErr: "EXTERNAL"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckController(ecstypes.Service{DeploymentController: tc.controller}, target)
			var want *UnsupportedDeploymentController
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (!errors.As(err, &want) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "prod/prod-service")):
				t.Fatalf("error = %v, want UnsupportedDeploymentController naming %s and the service", err, tc.wantErr)
			}
		})
	}
}

func TestCheckTaskDefinition(t *testing.T) {
	const account = "arn:aws:iam::123456789012:role/"
	td := func(family, task, execution string) *ecstypes.TaskDefinition {
		out := &ecstypes.TaskDefinition{Family: aws.String(family), TaskDefinitionArn: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/" + family + ":3")}
		if task != "" {
			out.TaskRoleArn = aws.String(task)
		}
		if execution != "" {
			out.ExecutionRoleArn = aws.String(execution)
		}
		return out
	}
	target := func(family string, roles ...string) config.Resolved {
		return config.Resolved{Environment: "staging", Cluster: "staging", Service: "staging-service", TaskDefinitionFamily: family, TaskRoles: roles, Image: config.ImageTag}
	}
	cases := map[string]struct {
		target config.Resolved
		td     *ecstypes.TaskDefinition
		skip   bool
		want   []string // substrings of the cause; none: no error
	}{
		"roles by name":          {target: target("app", "app-task", "app-execution"), td: td("app", account+"app-task", account+"app-execution")},
		"roles by ARN":           {target: target("app", account+"app-task", account+"app-execution"), td: td("app", account+"app-task", account+"app-execution")},
		"no roles at all":        {target: target("app"), td: td("app", "", "")},
		"task role missing":      {target: target("app", "app-execution"), td: td("app", account+"app-task", account+"app-execution"), want: []string{`add "app-task" to "taskRoles"`, "task role"}},
		"both roles missing":     {target: target("app"), td: td("app", account+"app-task", account+"app-execution"), want: []string{`add "app-task"`, `add "app-execution"`}},
		"role with a path":       {target: target("app", "app-task"), td: td("app", account+"svc/app-task", ""), want: []string{`add "` + account + `svc/app-task"`}},
		"other family":           {target: target("app", "app-task"), td: td("app-fargate", account+"app-task", ""), want: []string{`set "taskDefinitionFamily": "app-fargate"`}},
		"migration skipped":      {target: target("app"), td: td("app-fargate", account+"app-task", ""), skip: true},
		"digest mode, skipped":   {target: func() config.Resolved { t := target("app"); t.Image = config.ImageDigest; return t }(), td: td("app", account+"app-task", ""), skip: true, want: []string{`add "app-task"`}},
		"no migration, tag mode": {target: func() config.Resolved { t := target("app"); t.Migration.Disabled = true; return t }(), td: td("app-fargate", account+"app-task", "")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckTaskDefinition(tc.target, tc.td, !tc.skip)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var tm *TargetMisconfigured
			if !errors.As(err, &tm) {
				t.Fatalf("error = %v, want TargetMisconfigured", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("cause %q does not say %q", err.Error(), w)
				}
			}
		})
	}
}

func TestCheckBakeTime(t *testing.T) {
	target := config.Resolved{Environment: "prod", Cluster: "prod", Service: "prod-service", DeploymentTimeout: config.Duration(30 * time.Minute)}
	conf := func(strategy ecstypes.DeploymentStrategy, bake int32) *ecstypes.DeploymentConfiguration {
		return &ecstypes.DeploymentConfiguration{Strategy: strategy, BakeTimeInMinutes: aws.Int32(bake)}
	}
	cases := map[string]struct {
		conf    *ecstypes.DeploymentConfiguration
		wantErr bool
	}{
		"no configuration":                   {},
		"rolling":                            {conf: conf(ecstypes.DeploymentStrategyRolling, 60)},
		"blue/green bake shorter":            {conf: conf(ecstypes.DeploymentStrategyBlueGreen, 10)},
		"blue/green bake as long as timeout": {conf: conf(ecstypes.DeploymentStrategyBlueGreen, 30), wantErr: true},
		"canary bake longer":                 {conf: conf(ecstypes.DeploymentStrategyCanary, 60), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckBakeTime(ecstypes.Service{DeploymentConfiguration: tc.conf}, target)
			var want *TargetMisconfigured
			switch {
			case !tc.wantErr && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr && (!errors.As(err, &want) || !strings.Contains(err.Error(), "deploymentTimeout is 30m0s") || !strings.Contains(err.Error(), "prod/prod-service")):
				t.Fatalf("error = %v, want TargetMisconfigured with the numbers", err)
			}
		})
	}
}
