package iam

import (
	"os"
	"testing"
)

func TestEvaluate(t *testing.T) {
	p := Policy{Role: "R", Statements: []Statement{
		{Effect: "Allow", Actions: []string{"ecs:RunTask"}, Resources: []string{"arn:aws:ecs:us-west-2:1:task-definition/app:*"},
			Condition: map[string]map[string][]string{"ArnEquals": {"ecs:cluster": {"arn:aws:ecs:us-west-2:1:cluster/staging"}}}},
		{Effect: "Allow", Actions: []string{"ecs:Describe*"}, Resources: []string{"*"}},
		{Effect: "Allow", Actions: []string{"iam:PassRole"}, Resources: []string{"arn:aws:iam::1:role/app-task"},
			Condition: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}}},
		{Effect: "Deny", Actions: []string{"ecs:DescribeTasks"}, Resources: []string{"*"}},
	}}
	staging := map[string]string{"ecs:cluster": "arn:aws:ecs:us-west-2:1:cluster/staging"}
	cases := map[string]struct {
		req  Request
		want bool
	}{
		"allowed family and cluster":        {Request{"ecs:RunTask", "arn:aws:ecs:us-west-2:1:task-definition/app:7", staging}, true},
		"action names are case-insensitive": {Request{"ECS:runtask", "arn:aws:ecs:us-west-2:1:task-definition/app:7", staging}, true},
		"other family":                      {Request{"ecs:RunTask", "arn:aws:ecs:us-west-2:1:task-definition/app-fargate:1", staging}, false},
		"other cluster":                     {Request{"ecs:RunTask", "arn:aws:ecs:us-west-2:1:task-definition/app:7", map[string]string{"ecs:cluster": "arn:aws:ecs:us-west-2:1:cluster/prod"}}, false},
		"condition key missing":             {Request{"ecs:RunTask", "arn:aws:ecs:us-west-2:1:task-definition/app:7", nil}, false},
		"action wildcard":                   {Request{"ecs:DescribeServices", "arn:aws:ecs:us-west-2:1:service/a/b", nil}, true},
		"explicit deny wins":                {Request{"ecs:DescribeTasks", "arn:aws:ecs:us-west-2:1:task/a/b", nil}, false},
		"PassRole to ECS tasks":             {Request{"iam:PassRole", "arn:aws:iam::1:role/app-task", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, true},
		"PassRole to another service":       {Request{"iam:PassRole", "arn:aws:iam::1:role/app-task", map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}}, false},
		"PassRole of another role":          {Request{"iam:PassRole", "arn:aws:iam::1:role/admin", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, false},
		"action not granted":                {Request{"ecs:UpdateService", "arn:aws:ecs:us-west-2:1:service/a/b", nil}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if d := p.Evaluate(tc.req); d.Allowed != tc.want {
				t.Fatalf("Allowed = %v (%s), want %v", d.Allowed, d.Reason, tc.want)
			}
		})
	}
}

// The shipped template's policies resolve and grant what the README says.
func TestFromTemplate(t *testing.T) {
	b, err := os.ReadFile("../../template.json")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := FromTemplate(b, Pseudo{Partition: "aws", Region: "us-west-2", AccountID: "123456789012", StackName: "EcrDeployer"})
	if err != nil {
		t.Fatal(err)
	}
	role := func(prefix string) Policy {
		for fn, r := range tpl.FunctionRoles {
			if len(fn) == len(prefix)+8 && fn[:len(prefix)] == prefix {
				return *tpl.Policies[r]
			}
		}
		t.Fatalf("no function %s", prefix)
		return Policy{}
	}
	staging := map[string]string{"ecs:cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/staging"}
	cases := map[string]struct {
		fn   string
		req  Request
		want bool
	}{
		"RunMigration runs the app family":   {"RunMigration", Request{"ecs:RunTask", "arn:aws:ecs:us-west-2:123456789012:task-definition/app:3", staging}, true},
		"RunMigration passes app-task":       {"RunMigration", Request{"iam:PassRole", "arn:aws:iam::123456789012:role/app-task", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, true},
		"RunMigration cannot update":         {"RunMigration", Request{"ecs:UpdateService", "arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service", staging}, false},
		"StartDeployment updates staging":    {"StartDeployment", Request{"ecs:UpdateService", "arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service", staging}, true},
		"StartDeployment not another":        {"StartDeployment", Request{"ecs:UpdateService", "arn:aws:ecs:us-west-2:123456789012:service/staging/other", staging}, false},
		"Wake reads its executions":          {"Wake", Request{"states:GetExecutionHistory", "arn:aws:states:us-west-2:123456789012:execution:EcrDeployer-deploy:x", nil}, true},
		"Wake sends tokens":                  {"Wake", Request{"states:SendTaskSuccess", "arn:aws:states:us-west-2:123456789012:stateMachine:EcrDeployer-deploy", nil}, true},
		"ResolveTarget reads the repository": {"ResolveTarget", Request{"ecr:DescribeImages", "arn:aws:ecr:us-west-2:123456789012:repository/app", nil}, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if d := role(tc.fn).Evaluate(tc.req); d.Allowed != tc.want {
				t.Fatalf("Allowed = %v (%s), want %v", d.Allowed, d.Reason, tc.want)
			}
		})
	}
}

// CDK moves what does not fit a role's inline policy into managed
// "OverflowPolicy" documents attached to the role: they grant it too.
func TestOverflowPoliciesGrantTheirRoles(t *testing.T) {
	tpl := []byte(`{"Resources":{
		"Role":{"Type":"AWS::IAM::Role"},
		"Inline":{"Type":"AWS::IAM::Policy","Properties":{"Roles":[{"Ref":"Role"}],"PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*"}]}}},
		"RoleOverflowPolicy1":{"Type":"AWS::IAM::ManagedPolicy","Properties":{"Roles":[{"Ref":"Role"}],"PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServiceDeployments","Resource":"*"}]}}}}}`)
	got, err := FromTemplate(tpl, Pseudo{Partition: "aws", Region: "us-west-2", AccountID: "123456789012", StackName: "S"})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"ecs:DescribeServices", "ecs:DescribeServiceDeployments"} {
		if d := got.Policies["Role"].Evaluate(Request{Action: action, Resource: "arn:aws:ecs:us-west-2:123456789012:service/c/s"}); !d.Allowed {
			t.Errorf("%s: %s", action, d.Reason)
		}
	}
}
