package main

import (
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/rules"
)

// Targets in other accounts and Regions (docs/multi-account.md): the
// deployer stack stays in the tools account; a target account stack in
// each account and Region of its targets has a role per workflow function,
// with that function's statements for the targets there, which only that
// function of this deployer stack may assume, and a rule forwarding the
// clusters' ECS events to the deployer's default event bus.

// TargetFunctions are the functions that call ECS or CloudWatch Logs on a
// target: each assumes its own role in a target account stack.
var TargetFunctions = []string{"ResolveTarget", "CheckTurn", "PinImage", "RunMigration", "CheckMigration", "StartDeployment", "CheckDeployment", "Watch", "Wake"}

// splitTargets parts the targets in the deployer stack's own account and
// Region (no account or region in targets.json) from the others.
func splitTargets(all []config.Resolved) (home, remote []config.Resolved) {
	for _, t := range all {
		if t.Account == "" && t.Region == "" {
			home = append(home, t)
		} else {
			remote = append(remote, t)
		}
	}
	return home, remote
}

// Place is a target account stack's account and Region (a target names
// both or neither: config).
type Place = config.Place

// placesOf lists the places of remote targets, sorted, each once.
func placesOf(remote []config.Resolved) []Place {
	var out []Place
	for _, t := range remote {
		if p := (Place{Account: t.Account, Region: t.Region}); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account+out[i].Region < out[j].Account+out[j].Region })
	return out
}

// targetsAt are the targets in a place.
func targetsAt(remote []config.Resolved, at Place) []config.Resolved {
	var out []config.Resolved
	for _, t := range remote {
		if (Place{Account: t.Account, Region: t.Region}) == at {
			out = append(out, t)
		}
	}
	return out
}

// TargetStackName is the target account stack of a place.
func TargetStackName(at Place) string {
	return fmt.Sprintf("%sTarget-%s-%s", StackName, at.Account, at.Region)
}

// grantRemote lets each target function of the deployer stack assume its
// role in every target account stack, tells it the role's name and the
// external ID (the stack's ID), and lets each target account put events on
// the deployer's default bus.
func grantRemote(stack awscdk.Stack, roles map[string]awsiam.Role, fns map[string]awslambda.Function, remote []config.Resolved) {
	places := placesOf(remote)
	if len(places) == 0 {
		return
	}
	for _, fn := range TargetFunctions {
		var arns []*string
		for _, at := range places {
			arns = append(arns, awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":iam::" + at.Account + ":role/"),
				stack.StackName(), jsii.String("-" + fn + "-" + at.Region)}))
		}
		roles[fn].AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("sts:AssumeRole"), Resources: &arns}))
		fns[fn].AddEnvironment(jsii.String("TARGET_ROLE_NAME"), awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String(fn)}), nil)
		fns[fn].AddEnvironment(jsii.String("TARGET_EXTERNAL_ID"), stack.StackId(), nil)
	}
	seen := map[string]bool{}
	for _, at := range places {
		if seen[at.Account] {
			continue
		}
		seen[at.Account] = true
		awsevents.NewCfnEventBusPolicy(stack, jsii.String("EventsFrom"+at.Account), &awsevents.CfnEventBusPolicyProps{
			StatementId: jsii.String("ecr-deployer-" + at.Account),
			Statement: map[string]interface{}{
				"Effect": "Allow", "Action": "events:PutEvents",
				"Principal": map[string]interface{}{"AWS": "arn:aws:iam::" + at.Account + ":root"},
				"Resource":  stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("event-bus"), ResourceName: jsii.String("default")}),
			},
		})
	}
}

// TargetStackProps configure a target account stack.
type TargetStackProps struct {
	awscdk.StackProps
	// Targets are the targets in this stack's account and Region.
	Targets []config.Resolved
	// DeployerStack is the deployer stack's name.
	DeployerStack string
}

// NewTargetStack builds the stack a target account deploys in each Region
// of its targets: the deployer's role per function, trusted only by that
// function's role of the deployer stack with the deployer stack's ID as
// external ID, and the forwarding of its clusters' ECS events.
func NewTargetStack(scope constructs.Construct, id string, props *TargetStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	account := awscdk.NewCfnParameter(stack, jsii.String("DeployerAccount"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), AllowedPattern: jsii.String(`^\d{12}$`),
		Description: jsii.String("The AWS account of the ecr-deployer stack (the tools account)"),
	}).ValueAsString()
	region := awscdk.NewCfnParameter(stack, jsii.String("DeployerRegion"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Description: jsii.String("The Region of the ecr-deployer stack"),
	}).ValueAsString()
	external := awscdk.NewCfnParameter(stack, jsii.String("ExternalId"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), MinLength: jsii.Number(2),
		Description: jsii.String("The ecr-deployer stack's ExternalId output (its stack ID): only that stack's functions may assume the roles"),
	}).ValueAsString()
	roles := map[string]awsiam.Role{}
	for _, fn := range TargetFunctions {
		principal := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":iam::"), account,
			jsii.String(":role/" + props.DeployerStack + "-" + fn + "Role*")})
		roles[fn] = awsiam.NewRole(stack, jsii.String(fn), &awsiam.RoleProps{
			RoleName:    awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(props.DeployerStack), jsii.String(fn), stack.Region()}),
			Description: jsii.String("ecr-deployer " + fn + ": what the deployer stack " + props.DeployerStack + "'s " + fn + " function does to the targets here"),
			AssumedBy: awsiam.NewAccountPrincipal(account).WithConditions(&map[string]interface{}{
				"StringEquals": map[string]interface{}{"sts:ExternalId": external},
				"ArnLike":      map[string]interface{}{"aws:PrincipalArn": principal},
			}),
		})
	}
	grantWorkflow(stack, roles, props.Targets, nil, nil)
	forwardEvents(stack, props.Targets, account, region)
	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("DeployerExternalId", "The external ID the roles require: the deployer stack's ExternalId output", external)
	return stack
}

// forwardEvents sends the ECS events the deployer's wake rules match (its
// migrations stopping, its services' deployments, pause hooks) to the
// deployer's default bus, where the wake rules match them as they are.
// Bus to bus: it crosses accounts and Regions alike.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
func forwardEvents(stack awscdk.Stack, targets []config.Resolved, account, region *string) {
	bus := awsevents.EventBus_FromEventBusArn(stack, jsii.String("DeployerBus"), awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), stack.Partition(), jsii.String(":events:"), region, jsii.String(":"), account, jsii.String(":event-bus/default")}))
	role := awsiam.NewRole(stack, jsii.String("ForwardEvents"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("EventBridge: puts this account's ECS events for ecr-deployer on the deployer's bus"),
	})
	var local []config.Resolved
	for _, t := range targets {
		t.Account, t.Region = "", "" // this stack's own: its rules name its ARNs
		local = append(local, t)
	}
	for _, r := range rules.Wake(local, func(_, _, resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String(resource), ResourceName: jsii.String(name)})
	}) {
		awsevents.NewRule(stack, jsii.String("Forward"+r.Name), &awsevents.RuleProps{
			Description:  jsii.String("ecr-deployer: forward to the deployer's bus: " + r.Name),
			EventPattern: eventPattern(r.Pattern),
			Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewEventBus(bus, &awseventstargets.EventBusProps{Role: role})},
		})
	}
}
