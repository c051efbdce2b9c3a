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
// than one holds) for the people and CI roles that run every command of the
// deployer CLI: exactly the calls the CLI makes, on this stack's resources
// (the local stack's CLI tests run under it, so a call it lacks fails them):
//   - cloudformation:DescribeStacks on this stack (the state machine's ARN);
//   - states:ListExecutions on the state machine, DescribeExecution and
//     GetExecutionHistory on its executions;
//   - ecs:DescribeServiceDeployments, ContinueServiceDeployment and
//     StopServiceDeployment on the configured services and their service
//     deployments (continue and rollback answer a pause hook or stop a
//     deployment in flight; each action needs both resource types);
//   - lambda:InvokeFunctionUrl on the deployer API's functions (start,
//     rollback, overrides, approve, reject, and the record of who continued
//     or rolled back), only through their URLs with AuthType AWS_IAM.
//
// It holds no states:SendTaskSuccess and no states:StartExecution: a
// decision reaches a waiting execution, and a start the workflow, only
// through the deployer API, which records the identity IAM authenticated
// (a start's input is the API's, not the caller's). rolePolicies splits it
// by duty.
//
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
func operatorPolicy(stack awscdk.Stack, targets []config.Resolved, smName, smARN *string, apis map[string]*string) []awsiam.ManagedPolicy {
	h := newHumanPolicies(stack, targets, smName, smARN)
	base := append(h.viewer(), h.invokeURL(apis["ApproverApi"], apis["PromoterApi"], apis["OverriderApi"]))
	return h.pack("OperatorPolicy", "ecr-deployer CLI: start, follow and inspect deployments, promote images, decide through the deployer API", base,
		"ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment")
}

// rolePolicy is one duty's managed policy and its output.
type rolePolicy struct {
	output, description string
	policy              awsiam.ManagedPolicy
}

// rolePolicies are the operator's rights split by duty, so that the person
// who promotes a change is not the one who approves it:
//   - viewer: status, history, follow, stats (read-only);
//   - promoter: the viewer's, and promote, start, rollback
//     (StopServiceDeployment; the promoter API, which retags, starts and
//     records);
//   - approver: the viewer's, and approve, reject, continue (the approver
//     API; ContinueServiceDeployment);
//   - overrider: the overrider API alone (starts with --override-guard,
//     --override-window, --skip-migration), given with a promoter's or an
//     administrator's rights to those who may pass a gate.
//
// Each is one managed policy for a few dozen services (its output names
// the first; a larger configuration has more, named ...2, ...3).
func rolePolicies(stack awscdk.Stack, targets []config.Resolved, smName, smARN *string, apis map[string]*string) []rolePolicy {
	h := newHumanPolicies(stack, targets, smName, smARN)
	viewer := h.pack("ViewerPolicy", "ecr-deployer viewer: status, history, follow, stats", append(h.viewer(), h.describeClusters()...))
	promoter := h.pack("PromoterPolicy", "ecr-deployer promoter: promote, start, rollback", append(h.viewer(), h.invokeURL(apis["PromoterApi"])),
		"ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment")
	approver := h.pack("ApproverPolicy", "ecr-deployer approver: approve, reject, continue (through the deployer API)", append(h.viewer(), h.invokeURL(apis["ApproverApi"])),
		"ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment")
	overrider := h.pack("OverriderPolicy", "ecr-deployer overrider: starts past the guard, the windows or the migration (through the deployer API)", append(append(h.viewer(), h.describeClusters()...), h.invokeURL(apis["OverriderApi"])))
	return []rolePolicy{
		{"ViewerPolicyArn", "Attach to people who follow deployments: deployer status, history, follow, stats", viewer[0]},
		{"PromoterPolicyArn", "Attach to people and CI roles that ship: deployer promote, start, rollback (with the viewer's rights)", promoter[0]},
		{"ApproverPolicyArn", "Attach to people who decide: deployer approve, reject, continue (with the viewer's rights); not to those who promote", approver[0]},
		{"OverriderPolicyArn", "Attach, with PromoterPolicyArn, to the few who may start past a gate: deployer start --override-guard, --override-window, --skip-migration", overrider[0]},
	}
}

// humanPolicies builds the statements of the people's policies.
type humanPolicies struct {
	stack             awscdk.Stack
	targets           []config.Resolved
	smARN, execARN    *string
	stackARN          *string
	repoArns          []*string
	execNag, stackNag string
}

func newHumanPolicies(stack awscdk.Stack, targets []config.Resolved, smName, smARN *string) *humanPolicies {
	execARN, execNag := executionArns(stack, smName)
	stackARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
		ResourceName: awscdk.Fn_Join(jsii.String(""), &[]*string{stack.StackName(), jsii.String("/*")})})
	repos := map[string]bool{}
	for _, t := range targets {
		repos[t.Repository] = true
	}
	var repoArns []*string
	for _, r := range slices.Sorted(maps.Keys(repos)) {
		repoArns = append(repoArns, stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecr"), Resource: jsii.String("repository"), ResourceName: jsii.String(r)}))
	}
	return &humanPolicies{stack: stack, targets: targets, smARN: smARN, execARN: execARN, stackARN: stackARN, repoArns: repoArns, execNag: execNag,
		stackNag: "Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/" + *stack.StackName() + "/*"}
}

func statement(resources []*string, actions ...string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources})
}

// viewer: the stack's outputs, the executions and their histories.
func (h *humanPolicies) viewer() []awsiam.PolicyStatement {
	return []awsiam.PolicyStatement{
		statement([]*string{h.stackARN}, "cloudformation:DescribeStacks"),
		statement([]*string{h.smARN}, "states:ListExecutions"),
		statement([]*string{h.execARN}, "states:DescribeExecution", "states:GetExecutionHistory"),
	}
}

// describeClusters: ECS's record of the configured clusters' service
// deployments, read-only, by cluster (a statement per service, as the
// mutating actions have, would cost the template 500 bytes a target).
func (h *humanPolicies) describeClusters() []awsiam.PolicyStatement {
	seen := map[string]bool{}
	var arns []*string
	for _, t := range h.targets {
		if seen[t.Cluster] {
			continue
		}
		seen[t.Cluster] = true
		arns = append(arns,
			h.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("service"), ResourceName: jsii.String(t.Cluster + "/*")}),
			h.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String("service-deployment"), ResourceName: jsii.String(t.Cluster + "/*")}))
	}
	return []awsiam.PolicyStatement{statement(arns, "ecs:DescribeServiceDeployments")}
}

// invokeURL: the deployer API's functions, through their IAM-authenticated URLs only.
func (h *humanPolicies) invokeURL(functions ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("lambda:InvokeFunctionUrl"), Resources: &functions,
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"lambda:FunctionUrlAuthType": "AWS_IAM"}}})
}

// pack puts base and the services' deployments (ecsActions on each
// configured service and its service deployments, in statements of
// statementARNs) into managed policies of at most operatorBudget characters
// (IAM allows 6,144): one policy for a few dozen services, more beyond.
func (h *humanPolicies) pack(id, description string, base []awsiam.PolicyStatement, ecsActions ...string) []awsiam.ManagedPolicy {
	stack, targets := h.stack, h.targets
	services := map[string]bool{}
	for _, t := range targets {
		for _, ref := range t.AllServices() {
			services[t.Cluster+"/"+ref.Service] = true
		}
	}
	size := 1200 + 70*len(h.repoArns)
	type pending struct {
		statements []awsiam.PolicyStatement
		nag        []interface{}
	}
	policies := []pending{{statements: base, nag: []interface{}{h.execNag, h.stackNag}}}
	if len(ecsActions) == 0 {
		// Read-only by cluster (describeClusters).
		for _, t := range targets {
			for _, kind := range []string{"service", "service-deployment"} {
				policies[0].nag = append(policies[0].nag, "Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:"+kind+"/"+t.Cluster+"/*")
			}
		}
		policies[0].nag = dedupeAny(policies[0].nag)
		services = nil
	}
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
		last.statements = append(last.statements, statement(deployments, ecsActions...))
		last.nag = append(last.nag, nag...)
		size += chars
	}
	var out []awsiam.ManagedPolicy
	for i, pol := range policies {
		pid := id
		if i > 0 {
			pid = fmt.Sprintf("%s%d", id, i+1)
		}
		statements := pol.statements
		p := awsiam.NewManagedPolicy(stack, jsii.String(pid), &awsiam.ManagedPolicyProps{
			Description: jsii.String(description),
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

func dedupeAny(in []interface{}) []interface{} {
	seen := map[interface{}]bool{}
	var out []interface{}
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
