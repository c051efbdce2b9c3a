package emulator

import (
	"fmt"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// ecsAuthz is what IAM evaluates for each ECS operation served: the action
// on its resource type, with the condition keys the policies use.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
var ecsAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"DescribeServices": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		var out []iam.Request
		l, _ := r["services"].([]any)
		for _, s := range l {
			out = append(out, onCluster("ecs:DescribeServices", e.arn("ecs", fmt.Sprintf("service/%s/%s", shortName(c), shortName(fmt.Sprint(s)))), c))
		}
		return out
	},
	// No resource-level permissions: "*".
	"DescribeTaskDefinition": func(e *Emulator, r request) []iam.Request {
		return []iam.Request{{Action: "ecs:DescribeTaskDefinition", Resource: "*"}}
	},
	// RunTask is authorized on the task definition revision it runs, and
	// iam:PassRole is its dependent action for the task and execution roles.
	// "On March 21, 2024, a change was made to resolve the task definition
	// revision before authorization" (RunTask API reference).
	"RunTask": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		td := e.findTaskDef(r.str("taskDefinition"))
		if td == nil {
			return []iam.Request{onCluster("ecs:RunTask", e.arn("ecs", "task-definition/"+shortName(r.str("taskDefinition"))), c)}
		}
		out := []iam.Request{onCluster("ecs:RunTask", td.TaskDefinitionARN, c)}
		return append(out, passRoles(td.TaskRoleARN, td.ExecutionRoleARN)...)
	},
	"DescribeTasks": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		var out []iam.Request
		l, _ := r["tasks"].([]any)
		for _, t := range l {
			out = append(out, onCluster("ecs:DescribeTasks", e.taskARN(c, fmt.Sprint(t)), c))
		}
		return out
	},
	"StopTask": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		return []iam.Request{onCluster("ecs:StopTask", e.taskARN(c, r.str("task")), c)}
	},
	// The service deployment actions need both resource types, the service
	// and the service deployment (Service Authorization Reference).
	"DescribeServiceDeployments": func(e *Emulator, r request) []iam.Request {
		var out []iam.Request
		l, _ := r["serviceDeploymentArns"].([]any)
		for _, a := range l {
			out = append(out, e.onServiceDeployment("ecs:DescribeServiceDeployments", fmt.Sprint(a))...)
		}
		return out
	},
	"StopServiceDeployment": func(e *Emulator, r request) []iam.Request {
		return e.onServiceDeployment("ecs:StopServiceDeployment", r.str("serviceDeploymentArn"))
	},
	"ContinueServiceDeployment": func(e *Emulator, r request) []iam.Request {
		return e.onServiceDeployment("ecs:ContinueServiceDeployment", r.str("serviceDeploymentArn"))
	},
	"ListServiceDeployments": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		return []iam.Request{onCluster("ecs:ListServiceDeployments", e.arn("ecs", fmt.Sprintf("service/%s/%s", shortName(c), shortName(r.str("service")))), c)}
	},
	// UpdateService naming a task definition lets ECS launch tasks with its
	// roles: iam:PassRole for them, the stricter reading (the Service
	// Authorization Reference lists no dependent action for UpdateService,
	// nor for RunTask, which the ECS developer guide says needs PassRole).
	"UpdateService": func(e *Emulator, r request) []iam.Request {
		c := e.clusterARN(r.str("cluster"))
		out := []iam.Request{onCluster("ecs:UpdateService", e.arn("ecs", fmt.Sprintf("service/%s/%s", shortName(c), shortName(r.str("service")))), c)}
		if td := e.findTaskDef(r.str("taskDefinition")); r.has("taskDefinition") && td != nil {
			out = append(out, passRoles(td.TaskRoleARN, td.ExecutionRoleARN)...)
		}
		return out
	},
	// ListTasks' resource type is container-instance, which a listing of a
	// service's tasks does not name: evaluated against "*", so only a
	// statement for every resource (scoped by ecs:cluster) allows it.
	"ListTasks": func(e *Emulator, r request) []iam.Request {
		return []iam.Request{onCluster("ecs:ListTasks", "*", e.clusterARN(r.str("cluster")))}
	},
	// RegisterTaskDefinition creates the family's next revision; tags in the
	// request also need ecs:TagResource with ecs:CreateAction, and roles
	// iam:PassRole.
	"RegisterTaskDefinition": func(e *Emulator, r request) []iam.Request {
		family := r.str("family")
		arn := e.arn("ecs", fmt.Sprintf("task-definition/%s:%d", family, len(e.families[family])+1))
		out := []iam.Request{{Action: "ecs:RegisterTaskDefinition", Resource: arn}}
		if r.has("tags") {
			out = append(out, iam.Request{Action: "ecs:TagResource", Resource: arn, Context: map[string]string{"ecs:CreateAction": "RegisterTaskDefinition"}})
		}
		return append(out, passRoles(r.str("taskRoleArn"), r.str("executionRoleArn"))...)
	},
}

// onServiceDeployment is an action on a service deployment ARN
// (…:service-deployment/<cluster>/<service>/<id>) and on its service.
func (e *Emulator) onServiceDeployment(action, arn string) []iam.Request {
	_, rest, ok := strings.Cut(arn, ":service-deployment/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return []iam.Request{{Action: action, Resource: arn}}
	}
	c, svc := e.arn("ecs", "cluster/"+parts[0]), e.arn("ecs", fmt.Sprintf("service/%s/%s", parts[0], parts[1]))
	return []iam.Request{
		onCluster(action, svc, c),
		{Action: action, Resource: arn, Context: map[string]string{"ecs:cluster": c, "ecs:service": svc}},
	}
}

func (e *Emulator) taskARN(cluster, ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return e.arn("ecs", fmt.Sprintf("task/%s/%s", shortName(cluster), ref))
}
