package main

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// operatorPolicy is the managed policy for the people and CI roles that run
// the deployer CLI: exactly the calls the CLI makes, on this stack's
// resources (the local stack's CLI tests run under it, so a call it lacks
// fails them):
//   - cloudformation:DescribeStacks on this stack (the state machine's ARN);
//   - states:StartExecution and ListExecutions on the state machine,
//     DescribeExecution and GetExecutionHistory on its executions;
//   - ecr:BatchGetImage and ecr:PutImage on the configured repositories
//     (promote reads the source tag's manifest and writes the new tag).
//
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
func operatorPolicy(stack awscdk.Stack, targets []config.Resolved, smName, smArn *string) awsiam.ManagedPolicy {
	execArn, execNag := executionArns(stack, smName)
	stackArn := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
		ResourceName: awscdk.Fn_Join(jsii.String(""), &[]*string{stack.StackName(), jsii.String("/*")})})
	repos := map[string]bool{}
	for _, t := range targets {
		repos[t.Repository] = true
	}
	var repoArns []*string
	for _, r := range slices.Sorted(maps.Keys(repos)) {
		repoArns = append(repoArns, stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecr"), Resource: jsii.String("repository"), ResourceName: jsii.String(r)}))
	}
	p := awsiam.NewManagedPolicy(stack, jsii.String("OperatorPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("ecr-deployer CLI: start, follow and inspect deployments, promote images"),
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("cloudformation:DescribeStacks"), Resources: &[]*string{stackArn}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("states:StartExecution", "states:ListExecutions"), Resources: &[]*string{smArn}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("states:DescribeExecution", "states:GetExecutionHistory"), Resources: &[]*string{execArn}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("ecr:BatchGetImage", "ecr:PutImage"), Resources: &repoArns}),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(p, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Executions of this stack's state machine, and this stack's own ARN (its id suffix is unknown before creation): nothing else."),
		AppliesTo: &[]interface{}{
			execNag,
			"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/" + *stack.StackName() + "/*",
		},
	}}, nil)
	return p
}
