package deploy

import (
	"errors"
	"fmt"
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
		// LINEAR on ECS's defaults: 10 steps of 10 %, 9 step bakes of 6 min.
		"linear on defaults, short bake": {conf: conf(ecstypes.DeploymentStrategyLinear, 1), wantErr: true},
		"linear of two steps":            {conf: linear(50, 5, 10)},
		// CANARY on defaults: a canary bake of 10 min, then the bake.
		"canary on defaults":              {conf: conf(ecstypes.DeploymentStrategyCanary, 10)},
		"canary bake and deployment bake": {conf: conf(ecstypes.DeploymentStrategyCanary, 20), wantErr: true},
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

func linear(percent float64, stepBake, bake int32) *ecstypes.DeploymentConfiguration {
	return &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(bake),
		LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(percent), StepBakeTimeInMinutes: aws.Int32(stepBake)}}
}

// The least each strategy takes, from ECS's documented defaults and rules
// (LinearConfiguration, CanaryConfiguration).
func TestMinimumDuration(t *testing.T) {
	canary := func(canaryBake, bake int32) *ecstypes.DeploymentConfiguration {
		return &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(bake),
			CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryBakeTimeInMinutes: aws.Int32(canaryBake)}}
	}
	cases := map[string]struct {
		conf *ecstypes.DeploymentConfiguration
		want time.Duration
		how  string
	}{
		"rolling":                     {&ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyRolling, BakeTimeInMinutes: aws.Int32(60)}, 0, ""},
		"blue/green":                  {&ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(15)}, 15 * time.Minute, "a bake of 15 min"},
		"linear on defaults":          {&ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear}, 54 * time.Minute, "10 steps of 10% with 9 step bakes of 6 min, then a bake of 0 min"},
		"linear defaults and a bake":  {&ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(10)}, 64 * time.Minute, "9 step bakes"},
		"linear 33.3% takes 4 steps":  {linear(33.3, 2, 0), 6 * time.Minute, "4 steps of 33.3% with 3 step bakes of 2 min"},
		"linear 100% is one step":     {linear(100, 30, 5), 5 * time.Minute, "1 steps of 100% with 0 step bakes"},
		"linear 3% (the least)":       {linear(3, 1, 0), 33 * time.Minute, "34 steps"},
		"linear with no step bake":    {linear(20, 0, 7), 7 * time.Minute, "5 steps of 20% with 4 step bakes of 0 min"},
		"canary on defaults":          {&ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(5)}, 15 * time.Minute, "a canary bake of 10 min, then a bake of 5 min"},
		"canary with its own bake":    {canary(3, 5), 8 * time.Minute, "a canary bake of 3 min"},
		"canary with no canary bake":  {canary(0, 5), 5 * time.Minute, "a canary bake of 0 min"},
		"no deployment configuration": {nil, 0, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, how := MinimumDuration(tc.conf)
			if got != tc.want || !strings.Contains(how, tc.how) {
				t.Fatalf("MinimumDuration = %s (%q), want %s (%q)", got, how, tc.want, tc.how)
			}
		})
	}
}

// In tag mode the service's task definition must run the target's tag: a
// forced deployment runs what it names.
func TestCheckTagMode(t *testing.T) {
	const repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
	td := func(images ...string) *ecstypes.TaskDefinition {
		out := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7")}
		for i, im := range images {
			out.ContainerDefinitions = append(out.ContainerDefinitions, ecstypes.ContainerDefinition{Name: aws.String(fmt.Sprintf("c%d", i)), Image: aws.String(im)})
		}
		return out
	}
	prod := config.Resolved{Environment: "prod", Repository: "app", Tag: "prod", Cluster: "prod", Service: "prod-service", Image: config.ImageTag}
	digest := prod
	digest.Image = config.ImageDigest
	cases := []struct {
		name string
		t    config.Resolved
		td   *ecstypes.TaskDefinition
		want string
	}{
		{"the target's tag", prod, td(repo+":prod", "public.ecr.aws/envoy:v1"), ""},
		{"another tag", prod, td(repo + ":staging"), "container c0 runs " + repo + ":staging"},
		{"a digest", prod, td(repo + "@sha256:" + strings.Repeat("a", 64)), "does not run app:prod"},
		{"one of two containers", prod, td(repo+":prod", repo+":latest"), "container c1 runs"},
		{"digest mode pins whatever it names", digest, td(repo + ":staging"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTagMode(tc.t, tc.td)
			var mis *TargetMisconfigured
			if (tc.want == "") != (err == nil) || (err != nil && (!errors.As(err, &mis) || !strings.Contains(err.Error(), tc.want))) {
				t.Errorf("CheckTagMode = %v, want %q", err, tc.want)
			}
		})
	}
}
