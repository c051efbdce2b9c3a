package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// operatorPolicy is the managed policy (more than one for more services
// than one holds) for the people and CI roles that run the deployer CLI: exactly the calls the CLI makes, on this stack's
// resources (the local stack's CLI tests run under it, so a call it lacks
// fails them):
//   - cloudformation:DescribeStacks on this stack (the state machine's ARN);
//   - states:StartExecution and ListExecutions on the state machine,
//     DescribeExecution and GetExecutionHistory on its executions;
//   - ecr:BatchGetImage and ecr:PutImage on the configured repositories
//     (promote reads the source tag's manifest and writes the new tag);
//   - ecs:DescribeServiceDeployments, ContinueServiceDeployment and
//     StopServiceDeployment on the configured services and their service
//     deployments (continue and rollback answer a pause hook or stop a
//     deployment in flight; each action needs both resource types);
//   - states:SendTaskSuccess on the state machine (continue and rollback
//     record who decided in the waiting execution; IAM evaluates it on the
//     state machine of the token's execution).
//
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
func operatorPolicy(stack awscdk.Stack, targets []config.Resolved, smName, smARN *string) []awsiam.ManagedPolicy {
	execARN, execNag := executionArns(stack, smName)
	stackARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
		ResourceName: awscdk.Fn_Join(jsii.String(""), &[]*string{stack.StackName(), jsii.String("/*")})})
	repos := map[string]bool{}
	services := map[string]bool{}
	for _, t := range targets {
		repos[t.Repository] = true
		for _, ref := range t.AllServices() {
			services[t.Cluster+"/"+ref.Service] = true
		}
	}
	var repoArns []*string
	for _, r := range slices.Sorted(maps.Keys(repos)) {
		repoArns = append(repoArns, stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecr"), Resource: jsii.String("repository"), ResourceName: jsii.String(r)}))
	}
	// The statements every operator needs, then the services' deployments
	// in statements of statementARNs, packed into managed policies of at
	// most operatorBudget characters (IAM allows 6,144): one policy for a
	// few dozen services, more beyond.
	base := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("cloudformation:DescribeStacks"), Resources: &[]*string{stackARN}}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("states:StartExecution", "states:ListExecutions"), Resources: &[]*string{smARN}}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("states:DescribeExecution", "states:GetExecutionHistory"), Resources: &[]*string{execARN}}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("ecr:BatchGetImage", "ecr:PutImage"), Resources: &repoArns}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("states:SendTaskSuccess"), Resources: &[]*string{smARN}}),
	}
	size := 1200 + 70*len(repoArns)
	type pending struct {
		statements []awsiam.PolicyStatement
		nag        []interface{}
	}
	policies := []pending{{statements: base, nag: []interface{}{execNag,
		"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/" + *stack.StackName() + "/*"}}}
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(services)), max(1, statementARNs(targets)/2)) {
		var deployments []*string
		var nag []interface{}
		chars := 150
		for _, svc := range chunk {
			deployments = append(deployments,
				stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("service"), ResourceName: jsii.String(svc)}),
				stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("service-deployment"), ResourceName: jsii.String(svc + "/*")}))
			nag = append(nag, "Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-deployment/"+svc+"/*")
			chars += 2*len(svc) + 120
		}
		if size+chars > operatorBudget {
			policies, size = append(policies, pending{}), 200
		}
		last := &policies[len(policies)-1]
		last.statements = append(last.statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"), Resources: &deployments}))
		last.nag = append(last.nag, nag...)
		size += chars
	}
	var out []awsiam.ManagedPolicy
	for i, pol := range policies {
		id := "OperatorPolicy"
		if i > 0 {
			id = fmt.Sprintf("OperatorPolicy%d", i+1)
		}
		statements := pol.statements
		p := awsiam.NewManagedPolicy(stack, jsii.String(id), &awsiam.ManagedPolicyProps{
			Description: jsii.String("ecr-deployer CLI: start, follow and inspect deployments, promote images"),
			Statements:  &statements,
		})
		nag := pol.nag
		cdknag.NagSuppressions_AddResourceSuppressions(p, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Executions of this stack's state machine, this stack's own ARN (its id suffix is unknown before creation), and the deployments of the configured services (their ids are ECS's): nothing else."),
			AppliesTo: &nag,
		}}, nil)
		out = append(out, p)
	}
	return out
}

// operatorBudget is how many characters the operator's policies take each,
// short of IAM's 6,144 for a managed policy.
const operatorBudget = 5600
