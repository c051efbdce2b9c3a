package deploy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// NeedsOf lists, per function, the calls a push of a target makes on its
// resources, as IAM authorizes them: deployer check asks IAM about each.
func TestNeedsOf(t *testing.T) {
	acct := Account{Partition: "aws", Region: "us-west-2", ID: "123456789012"}
	runs := Runs{TaskDefinitionARN: "arn:aws:ecs:us-west-2:123456789012:task-definition/app:7", Family: "app",
		Roles: []string{"arn:aws:iam::123456789012:role/app-task"}, LogGroup: "/ecs/app", LogStreamPrefix: "app", Container: "web"}
	tag := config.Resolved{Repository: "team/app", Cluster: "staging", Service: "staging-service", Image: config.ImageTag}
	digest := tag
	digest.Image = config.ImageDigest
	noMigration := tag
	noMigration.Migration.Disabled = true
	several := tag
	several.Services = []config.ServiceRef{{Service: "web"}, {Service: "worker"}}
	noPrefix := runs
	noPrefix.LogStreamPrefix = ""
	noLogs := runs
	noLogs.LogGroup = ""
	worker := Runs{TaskDefinitionARN: "arn:aws:ecs:us-west-2:123456789012:task-definition/worker:3", Family: "worker",
		Roles: []string{"arn:aws:iam::123456789012:role/worker-task"}}
	rollback := several
	rollback.Image, rollback.OnFailure = config.ImageDigest, config.OnFailureRollbackOthers
	cases := map[string]struct {
		t      config.Resolved
		runs   Runs
		others []Runs
		want   []string
	}{
		"tag mode": {tag, runs, nil, []string{
			"ResolveTarget ecr:DescribeImages arn:aws:ecr:us-west-2:123456789012:repository/team/app",
			"ResolveTarget ecs:DescribeTaskDefinition *",
			"ResolveTarget ecs:DescribeServices arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"CheckTurn ecs:ListServiceDeployments arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"StartDeployment ecs:UpdateService arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"StartDeployment ecs:TagResource arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service",
			"CheckDeployment ecs:DescribeServices arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"CheckDeployment ecs:DescribeServiceDeployments arn:aws:ecs:us-west-2:123456789012:service-deployment/staging/staging-service/example",
			"Wake ecs:ListTagsForResource arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service",
			"RunMigration ecs:RunTask arn:aws:ecs:us-west-2:123456789012:task-definition/app:7 ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"RunMigration iam:PassRole arn:aws:iam::123456789012:role/app-task iam:PassedToService=ecs-tasks.amazonaws.com",
			"CheckMigration ecs:DescribeTasks arn:aws:ecs:us-west-2:123456789012:task/staging/0123456789abcdef0123456789abcdef ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"CheckMigration logs:GetLogEvents arn:aws:logs:us-west-2:123456789012:log-group:/ecs/app:log-stream:app/web/0123456789abcdef0123456789abcdef",
		}},
		"digest mode pins: RegisterTaskDefinition, its tags and the roles": {digest, runs, nil, []string{
			"PinImage ecs:RegisterTaskDefinition arn:aws:ecs:us-west-2:123456789012:task-definition/app:999999",
			"PinImage ecs:TagResource arn:aws:ecs:us-west-2:123456789012:task-definition/app:999999 ecs:CreateAction=RegisterTaskDefinition",
			"PinImage iam:PassRole arn:aws:iam::123456789012:role/app-task iam:PassedToService=ecs-tasks.amazonaws.com",
			"StartDeployment iam:PassRole arn:aws:iam::123456789012:role/app-task iam:PassedToService=ecs-tasks.amazonaws.com",
		}},
		"no migration: no RunTask, no log": {noMigration, runs, nil, nil},
		"a stream without a prefix is the task's ID": {tag, noPrefix, nil, []string{
			"CheckMigration logs:GetLogEvents arn:aws:logs:us-west-2:123456789012:log-group:/ecs/app:log-stream:0123456789abcdef0123456789abcdef"}},
		"no awslogs: no log to read": {tag, noLogs, nil, nil},
		"several services in digest mode with rollback-others: each one's family, roles and rollback": {rollback, runs, []Runs{worker}, []string{
			"PinImage ecs:RegisterTaskDefinition arn:aws:ecs:us-west-2:123456789012:task-definition/worker:999999",
			"StartDeployment iam:PassRole arn:aws:iam::123456789012:role/worker-task iam:PassedToService=ecs-tasks.amazonaws.com",
			"CheckDeployment ecs:UpdateService arn:aws:ecs:us-west-2:123456789012:service/staging/web ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"CheckDeployment ecs:TagResource arn:aws:ecs:us-west-2:123456789012:service/staging/worker",
			"CheckDeployment iam:PassRole arn:aws:iam::123456789012:role/worker-task iam:PassedToService=ecs-tasks.amazonaws.com",
			"CheckDeployment iam:PassRole arn:aws:iam::123456789012:role/app-task iam:PassedToService=ecs-tasks.amazonaws.com"}},
		"several services: each one's": {several, runs, nil, []string{
			"StartDeployment ecs:UpdateService arn:aws:ecs:us-west-2:123456789012:service/staging/worker ecs:cluster=arn:aws:ecs:us-west-2:123456789012:cluster/staging",
			"CheckDeployment ecs:DescribeServiceDeployments arn:aws:ecs:us-west-2:123456789012:service-deployment/staging/web/example"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, n := range NeedsOf(tc.t, tc.runs, tc.others, acct) {
				line := n.Function + " " + n.Action + " " + n.Resource
				for k, v := range n.Context {
					line += fmt.Sprintf(" %s=%s", k, v)
				}
				got = append(got, line)
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all+"\n", w+"\n") {
					t.Errorf("lacks %q in:\n%s", w, all)
				}
			}
			switch name {
			case "tag mode":
				if len(got) != len(tc.want) {
					t.Errorf("%d needs, want exactly %d:\n%s", len(got), len(tc.want), all)
				}
			case "no migration: no RunTask, no log":
				if strings.Contains(all, "RunMigration") || strings.Contains(all, "CheckMigration") || strings.Contains(all, "PinImage") {
					t.Errorf("a target without a migration (tag mode) needs:\n%s", all)
				}
			case "no awslogs: no log to read":
				if strings.Contains(all, "GetLogEvents") {
					t.Errorf("a container without awslogs needs:\n%s", all)
				}
			}
		})
	}
}
