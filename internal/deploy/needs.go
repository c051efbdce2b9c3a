package deploy

import (
	"fmt"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// Need is one call a deployment of a target makes, as IAM authorizes it:
// the function whose role makes it, the action, the resource it names and
// the request's condition keys. deployer check asks IAM's policy simulator
// about each one (SimulatePrincipalPolicy), so that a stack whose roles
// cannot deploy a target says so before a push does.
type Need struct {
	Function string            `json:"function"`
	Action   string            `json:"action"`
	Resource string            `json:"resource"`
	Context  map[string]string `json:"context,omitempty"`
}

// Account is where a target's resources are: the parts of their ARNs.
type Account struct {
	Partition, Region, ID string
}

func (a Account) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.ID, resource)
}

// Runs is what the target's (first) service runs now, from its task
// definition: the revision the migration would run, the roles RunTask and
// RegisterTaskDefinition pass, and where the migration container logs.
type Runs struct {
	TaskDefinitionARN string
	Family            string
	Roles             []string
	LogGroup          string
	LogStreamPrefix   string
	Container         string
}

// exampleTask stands for a task ID, unknown before RunTask answers.
const exampleTask = "0123456789abcdef0123456789abcdef"

// NeedsOf lists the calls a push of the target makes on the target's own
// resources, function by function (the stack's own table, queue, topic and
// executions are not the target's, and CDK grants them whatever the
// targets). The resources are those the calls name at run time: the
// revision each service runs (run is the first service's, where the
// migration runs; others the other services', in order), its roles, a task
// and a service deployment of the target's cluster.
func NeedsOf(t config.Resolved, run Runs, others []Runs, a Account) []Need {
	var out []Need
	add := func(fn, action, resource string, ctx map[string]string) {
		out = append(out, Need{Function: fn, Action: action, Resource: resource, Context: ctx})
	}
	onCluster := map[string]string{"ecs:cluster": a.arn("ecs", "cluster/"+t.Cluster)}
	passed := map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}
	add("ResolveTarget", "ecr:DescribeImages", a.arn("ecr", "repository/"+t.Repository), nil)
	add("ResolveTarget", "ecs:DescribeTaskDefinition", "*", nil)
	for _, svc := range t.ServiceNames() {
		service := a.arn("ecs", "service/"+t.Cluster+"/"+svc)
		add("ResolveTarget", "ecs:DescribeServices", service, onCluster)
		add("CheckTurn", "ecs:ListServiceDeployments", service, onCluster)
		add("StartDeployment", "ecs:UpdateService", service, onCluster)
		add("StartDeployment", "ecs:TagResource", service, nil)
		add("CheckDeployment", "ecs:DescribeServices", service, onCluster)
		add("CheckDeployment", "ecs:DescribeServiceDeployments", a.arn("ecs", "service-deployment/"+t.Cluster+"/"+svc+"/example"), nil)
		add("Wake", "ecs:ListTagsForResource", service, nil)
	}
	if !t.Migration.Disabled {
		add("RunMigration", "ecs:RunTask", run.TaskDefinitionARN, onCluster)
		for _, r := range run.Roles {
			add("RunMigration", "iam:PassRole", r, passed)
		}
		add("CheckMigration", "ecs:DescribeTasks", a.arn("ecs", "task/"+t.Cluster+"/"+exampleTask), onCluster)
		if run.LogGroup != "" {
			add("CheckMigration", "logs:GetLogEvents", a.arn("logs", "log-group:"+run.LogGroup+":log-stream:"+streamOf(run.LogStreamPrefix, run.Container)), nil)
		}
	}
	services := append([]Runs{run}, others...)
	for i, svc := range t.ServiceNames() {
		if i >= len(services) {
			break
		}
		r := services[i]
		if t.Image == config.ImageDigest {
			next := a.arn("ecs", "task-definition/"+r.Family+":999999")
			add("PinImage", "ecs:RegisterTaskDefinition", next, nil)
			add("PinImage", "ecs:TagResource", next, map[string]string{"ecs:CreateAction": "RegisterTaskDefinition"})
			for _, role := range r.Roles {
				add("PinImage", "iam:PassRole", role, passed)
				add("StartDeployment", "iam:PassRole", role, passed)
			}
		}
		if t.OnFailure == config.OnFailureRollbackOthers {
			// CheckDeployment deploys the revision a service ran before.
			service := a.arn("ecs", "service/"+t.Cluster+"/"+svc)
			add("CheckDeployment", "ecs:UpdateService", service, onCluster)
			add("CheckDeployment", "ecs:TagResource", service, nil)
			for _, role := range r.Roles {
				add("CheckDeployment", "iam:PassRole", role, passed)
			}
		}
	}
	return out
}

// streamOf is an awslogs stream of the migration's task:
// <prefix>/<container>/<task ID>, or the task ID without a prefix.
func streamOf(prefix, container string) string {
	if prefix == "" {
		return exampleTask
	}
	return prefix + "/" + container + "/" + exampleTask
}
