package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/rules"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// DeployerStackProps configure the stack.
type DeployerStackProps struct {
	awscdk.StackProps
	// Config is the validated targets.json.
	Config *config.Config
	// Definition is statemachine/deployer.asl.json.
	Definition []byte
	// AssetDir, when set, takes each function's code from <AssetDir>/<dir>.zip
	// as a CDK asset (cdk deploy). Empty: the code comes from the S3 bucket and
	// version named by the CodeBucket and CodeVersion parameters, so the
	// template deploys with plain CloudFormation (template.json).
	AssetDir string
}

// Lambda settings. The functions make two or three ECS/ECR calls each and hold
// nothing in memory: 128 MB is plenty for a Go binary (about 30 MB resident).
// The timeout leaves room for the SDK's throttling retries (10 attempts, up to
// 20 s apart) and stays under the Task states' 120 s TimeoutSeconds.
const (
	memoryMB       = 128
	timeoutSeconds = 60
	logRetention   = awslogs.RetentionDays_THREE_MONTHS
)

// NewDeployerStack builds ecr-deployer's stack: the Lambdas, the state
// machine, an EventBridge rule per repository and two for ECS events with a
// dead-letter queue, and least-privilege roles scoped to what targets.json
// names.
func NewDeployerStack(scope constructs.Construct, id string, props *DeployerStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	targets := props.Config.Targets()

	code := codeSource(stack, props.AssetDir)
	fns := map[string]awslambda.Function{}
	urls := map[string]awslambda.FunctionUrl{}
	roles := map[string]awsiam.Role{}
	subs := map[string]*string{}
	var fnArns []*string
	// Named, so that the policies and Wake's environment can name its ARN
	// without a reference cycle (state machine → function → role policy →
	// state machine).
	smName := awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String("deploy")})
	smARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("states"), Resource: jsii.String("stateMachine"), ResourceName: smName, ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	topic := notificationTopic(stack)
	turns := turnsTable(stack)
	notified := notifiedTable(stack)
	promotions := promotionsTable(stack)
	descriptions := map[string]string{
		"Trigger":      "ecr-deployer: Trigger: starts the deployment an ECR push asks for, named after its environment, image and event",
		"Wake":         "ecr-deployer: Wake: ends the wait of the execution an ECS event is about",
		"Notify":       "ecr-deployer: Notify: tells the notification topic how a deployment ended, and emits its metrics",
		"ApproverApi":  "ecr-deployer API, approver: approve, reject, continue at a pause hook, as the IAM identity that called its URL",
		"PromoterApi":  "ecr-deployer API, promoter: starts and rolls back deployments, records a rollback at a pause hook, as the IAM identity that called its URL",
		"OverriderApi": "ecr-deployer API, overrider: starts deployments with overrides (guard, window, migration), as the IAM identity that called its URL",
	}
	for _, f := range statemachine.Functions {
		logs := awslogs.NewLogGroup(stack, jsii.String(f.Name+"Logs"), &awslogs.LogGroupProps{Retention: logRetention})
		role := awsiam.NewRole(stack, jsii.String(f.Name+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("ecr-deployer " + f.Name + " Lambda"),
		})
		// Only its own log group, instead of AWSLambdaBasicExecutionRole's logs:* on every group.
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logs.LogGroupArn()},
		}))
		desc := "ecr-deployer: " + f.Name + " step of the deploy workflow"
		var env *map[string]*string
		if f.Event {
			desc = descriptions[f.Name]
			env = &map[string]*string{"STATE_MACHINE_ARN": smARN}
		}
		switch f.Name {
		case "Trigger", "PromoterApi", "OverriderApi":
			// They start executions through the alias (stateMachineRelease).
			(*env)["STATE_MACHINE_ALIAS_ARN"] = awscdk.Fn_Join(jsii.String(":"), &[]*string{smARN, jsii.String(statemachine.AliasName)})
		case "Notify":
			// Notify claims each execution's end in the notified table
			// (conditional TransactWriteItems Puts are dynamodb:PutItem) and
			// reads a claim it lost.
			(*env)["TOPIC_ARN"] = topic.TopicArn()
			(*env)["NOTIFIED_TABLE"] = notified.TableName()
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem"),
				Resources: &[]*string{notified.TableArn()},
			}))
		case "ResolveTarget":
			// ResolveTarget reads who promoted the pushed image (deploy/promotion.go).
			env = &map[string]*string{"PROMOTIONS_TABLE": promotions.TableName()}
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("dynamodb:GetItem"), Resources: &[]*string{promotions.TableArn()},
			}))
		case "Watch":
			// Watch tells the topic when a deployment waits for approval.
			env = &map[string]*string{"TOPIC_ARN": topic.TopicArn()}
		case "CheckTurn":
			// CheckTurn takes each service's turn in the turns table: it
			// reads an item, and writes it on condition (TransactWriteItems
			// of Puts is authorized as dynamodb:PutItem, item by item).
			env = &map[string]*string{"TURNS_TABLE": turns.TableName(), "STACK_NAME": stack.StackName()}
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem"),
				Resources: &[]*string{turns.TableArn()},
			}))
			// At its turn an execution reads its target as the deployed
			// stack publishes it now (its outputs): the release it runs on
			// may be older than the stack (deploy/regate.go).
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("cloudformation:DescribeStacks"),
				Resources: &[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
					ResourceName: awscdk.Fn_Join(jsii.String("/"), &[]*string{stack.StackName(), jsii.String("*")})})},
			}))
			cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String("Read-only: DescribeStacks of this stack alone; the stack ID after its name is not known before the stack exists."),
				AppliesTo: &[]interface{}{"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/" + *stack.StackName() + "/*"},
			}}, jsii.Bool(true))
		}
		if f.Name == "PromoterApi" {
			// The promoter's API records who promoted an image before it
			// moves the tag (a TransactWriteItems Put is dynamodb:PutItem).
			(*env)["PROMOTIONS_TABLE"] = promotions.TableName()
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("dynamodb:PutItem"), Resources: &[]*string{promotions.TableArn()},
			}))
		}
		fn := awslambda.NewFunction(stack, jsii.String(f.Name), &awslambda.FunctionProps{
			Description:   jsii.String(desc),
			Environment:   env,
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          code(f.Dir),
			MemorySize:    jsii.Number(memoryMB),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(timeoutSeconds)),
			Role:          role,
			LogGroup:      logs,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			// A version per release, kept when the next is published: an
			// execution runs the versions its definition names (qualified
			// ARNs) to its end, up to 8 days after the release it started
			// on (docs/architecture.md, "Upgrades").
			CurrentVersionOptions: &awslambda.VersionOptions{RemovalPolicy: awscdk.RemovalPolicy_RETAIN},
		})
		fns[f.Name], roles[f.Name] = fn, role
		if f.URL {
			// AWS_IAM: Lambda refuses a caller without lambda:InvokeFunctionUrl
			// before the function runs, and passes the caller's identity.
			urls[f.Name] = fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_AWS_IAM})
		}
		if !f.Event {
			subs[f.Placeholder()] = fn.CurrentVersion().FunctionArn()
			// Every version: executions that started on an earlier release
			// invoke the versions of that release.
			fnArns = append(fnArns, jsii.String(*fn.FunctionArn()+":*"))
		}
	}
	grantWorkflow(stack, roles, targets, smName, smARN)
	_, remote := splitTargets(targets)
	grantRemote(stack, roles, fns, remote)

	smLogs := awslogs.NewLogGroup(stack, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		// Vended logs under /aws/vendedlogs/ keep the account's log resource
		// policy small. The group is kept when the stack is deleted; its
		// name ends with the stack's ID, so that a stack created again
		// under the same name makes its own.
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("/aws/vendedlogs/states/"), stack.StackName(), jsii.String("-"),
			awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), stack.StackId(), nil))}),
		Retention: logRetention,
	})
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        smName,
		Comment:                 jsii.String("ecr-deployer: migrate, then deploy an ECS service when an image is tagged in ECR"),
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(props.Definition))),
		DefinitionSubstitutions: &subs,
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		Logs: &awsstepfunctions.LogOptions{
			Destination: smLogs, Level: awsstepfunctions.LogLevel_ALL, IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &fnArns,
	}))
	live := stateMachineRelease(stack, sm)
	cdknag.NagSuppressions_AddResourceSuppressions(sm.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Added by CDK for LogLevel ALL and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, …) " +
			"and X-Ray (xray:PutTraceSegments, …) do not support resource-level permissions; none of them can change ECS, IAM or ECR."),
		AppliesTo: &[]interface{}{"Resource::*"},
	}, {
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("lambda:InvokeFunction on every version of the workflow's own functions: an execution invokes the versions of the release it started on, " +
			"which are not known when a later release is deployed."),
		AppliesTo: &[]interface{}{map[string]interface{}{"regex": "/^Resource::<[A-Za-z]+[0-9A-F]{8}\\.Arn>:\\*$/g"}},
	}}, jsii.Bool(true))

	dlq := awssqs.NewQueue(stack, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		// Kept when the stack is deleted: a push that never deployed is
		// evidence for 14 days, whatever happens to the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the EventBridge rules' targets."),
	}}, nil)

	pushRules(stack, fns["Trigger"], props.Config, dlq)

	wakeRules(stack, fns["Wake"], targets, dlq)
	notifyRule(stack, fns["Notify"], smARN, dlq)
	// sns:Publish on the topic, and what SNS needs of its key to encrypt
	// the message as the publisher: kms:GenerateDataKey* and kms:Decrypt.
	// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
	for _, fn := range []string{"Notify", "Watch"} {
		topic.GrantPublish(roles[fn])
		cdknag.NagSuppressions_AddResourceSuppressions(roles[fn], &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("kms:GenerateDataKey* on the notification topic's own key only: what SNS documents a publisher to an encrypted topic needs."),
			AppliesTo: &[]interface{}{"Action::kms:GenerateDataKey*"},
		}}, jsii.Bool(true))
	}
	alarms(stack, topic, sm, live, dlq, fns["Trigger"], fns["Wake"], fns["Notify"])

	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("StateMachineArn", "ARN of the deploy workflow (deployer start uses it)", sm.StateMachineArn())
	out("StateMachineAliasArn", "The workflow's alias: deployer start and the Trigger function start executions through it, on the release it points to", live.AttrArn())
	out("StateMachineConsoleUrl", "The workflow's executions in the Step Functions console", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://"), stack.Region(), jsii.String(".console.aws.amazon.com/states/home?region="), stack.Region(),
		jsii.String("#/statemachines/view/"), sm.StateMachineArn(),
	}))
	out("ApproverApiUrl", "The deployer API for approvers (deployer approve, reject, continue): a Lambda function URL with AuthType AWS_IAM", urls["ApproverApi"].Url())
	out("PromoterApiUrl", "The deployer API for promoters (deployer start, rollback): a Lambda function URL with AuthType AWS_IAM", urls["PromoterApi"].Url())
	out("OverriderApiUrl", "The deployer API for overrides (deployer start --override-guard, --override-window, --skip-migration): a Lambda function URL with AuthType AWS_IAM", urls["OverriderApi"].Url())
	apis := map[string]*string{"ApproverApi": fns["ApproverApi"].FunctionArn(), "PromoterApi": fns["PromoterApi"].FunctionArn(), "OverriderApi": fns["OverriderApi"].FunctionArn()}
	for _, role := range rolePolicies(stack, targets, smName, smARN, apis) {
		out(role.output, role.description, role.policy.ManagedPolicyArn())
	}
	operator := operatorPolicy(stack, targets, smName, smARN, apis)
	out("OperatorPolicyArn", "Attach to the people and CI roles that run the deployer CLI (with every policy of OperatorPolicyArns)", operator[0].ManagedPolicyArn())
	var operatorArns []*string
	for _, p := range operator {
		operatorArns = append(operatorArns, p.ManagedPolicyArn())
	}
	out("OperatorPolicyArns", "Every policy the deployer CLI needs, comma-separated: one for a few dozen services, more beyond (IAM's 6,144 characters a policy)", awscdk.Fn_Join(jsii.String(","), &operatorArns))
	if _, remote := splitTargets(targets); len(remote) > 0 {
		out("ExternalId", "What each target account stack's roles require as external ID (its ExternalId parameter): this stack's ID", stack.StackId())
	}
	out("DeadLetterQueueUrl", "Pushes whose execution could not be started, and ECS events Wake could not handle, land here", dlq.QueueUrl())
	out("NotificationTopicArn", "How each deployment ended (failures always; successes where a target sets notifyOnSuccess) and the alarms publish here: subscribe an email (parameter NotificationEmail) or Amazon Q Developer in chat applications", topic.TopicArn())
	// What each push deploys, for the deployer CLI (config.ReadPublished).
	for i, t := range targets {
		p := t.Published()
		out(fmt.Sprintf("%s%d", config.PublishedOutputPrefix, i+1), fmt.Sprintf("ecr-deployer target %s: a push of %s:%s deploys %s/%s (the deployer CLI reads this)", p.Environment, p.Repository, p.Tag, p.Cluster, p.Service),
			jsii.String(p.OutputValue()))
	}
	return stack
}

// stateMachineRelease publishes the state machine's definition as a version
// and points the alias "live" at it. The version is replaced whenever the
// definition changes (its revision id), and kept: an execution runs the
// definition it started with whatever the alias points to later, and
// deleting a version is needless while its executions may still run.
func stateMachineRelease(stack awscdk.Stack, sm awsstepfunctions.StateMachine) awsstepfunctions.CfnStateMachineAlias {
	version := awsstepfunctions.NewCfnStateMachineVersion(stack, jsii.String("StateMachineVersion"), &awsstepfunctions.CfnStateMachineVersionProps{
		StateMachineArn:        sm.StateMachineArn(),
		StateMachineRevisionId: sm.StateMachineRevisionId(),
		Description:            jsii.String("ecr-deployer release"),
	})
	version.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	return awsstepfunctions.NewCfnStateMachineAlias(stack, jsii.String("StateMachineAlias"), &awsstepfunctions.CfnStateMachineAliasProps{
		Name:        jsii.String(statemachine.AliasName),
		Description: jsii.String("ecr-deployer: the release new deployments start on"),
		RoutingConfiguration: []interface{}{&awsstepfunctions.CfnStateMachineAlias_RoutingConfigurationVersionProperty{
			StateMachineVersionArn: version.AttrArn(), Weight: jsii.Number(100),
		}},
	})
}

// executionArns is the ARN pattern of the state machine's executions
// (names are not known in advance), and the finding cdk-nag reports for it.
func executionArns(stack awscdk.Stack, smName *string) (arn *string, nagFinding string) {
	arn = stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: awscdk.Fn_Join(jsii.String(""), &[]*string{smName, jsii.String(":*")}), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	return arn, "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:" + *stack.StackName() + "-deploy:*"
}

// PushPattern is the EventBridge pattern for a successful push of one of tags to repository.
func PushPattern(repository string, tags []string) *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ecr"),
		DetailType: jsii.Strings("ECR Image Action"),
		Detail: &map[string]interface{}{
			"action-type":     []string{"PUSH"},
			"result":          []string{"SUCCESS"},
			"repository-name": []string{repository},
			"image-tag":       tags,
		},
	}
}

// pushRules send ECR's pushes of the configured tags to the Trigger
// function, which starts each deployment under a name that says its
// environment (CheckTurn reads it without DescribeExecution). EventBridge
// retries delivering to Lambda for 24 hours; the function's own failures
// (StartExecution throttled past the SDK's retries, Step Functions
// unavailable) are retried twice by Lambda within 6 hours, then dead-lettered
// (DeadLetterAlarm) for a person to start by hand.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
func pushRules(stack awscdk.Stack, trigger awslambda.Function, cfg *config.Config, dlq awssqs.Queue) {
	deadLetterAsync(trigger, awscdk.Duration_Hours(jsii.Number(6)), dlq)
	for i, r := range cfg.Repositories() {
		awsevents.NewRule(stack, jsii.String(fmt.Sprintf("PushRule%d", i+1)), &awsevents.RuleProps{
			Description:  jsii.String(pushRuleDescription(r.Repository, r.Tags)),
			EventPattern: PushPattern(r.Repository, r.Tags),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(trigger, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: dlq,
				RetryAttempts:   jsii.Number(185),
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
			})},
		})
	}
}

// pushRuleDescription names the tags while EventBridge's 512 characters
// allow, else counts them.
func pushRuleDescription(repository string, tags []string) string {
	d := fmt.Sprintf("ecr-deployer: start a deployment when %s is tagged %s", repository, strings.Join(tags, " or "))
	if len(d) > MaxRuleDescription {
		d = fmt.Sprintf("ecr-deployer: start a deployment when %s is tagged one of its %d configured tags (stack output Target…)", repository, len(tags))
	}
	return d
}

// wakeRules send ECS's state change events about the configured services to
// the Wake function: the migration tasks ecr-deployer starts stopping, and
// the services' deployments changing state.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html
func wakeRules(stack awscdk.Stack, wake awslambda.Function, targets []config.Resolved, dlq awssqs.Queue) {
	// An event a few safety polls old is of no use: the execution has looked itself by then.
	target := func() *[]awsevents.IRuleTarget {
		return &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(wake, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: dlq, RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(10)),
		})}
	}
	// EventBridge invokes Wake asynchronously: the rule's dead-letter queue
	// only gets events EventBridge could not deliver. Wake's own failures
	// follow its async-invoke configuration: two retries, events at most 10
	// minutes old, then the same dead-letter queue.
	// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
	deadLetterAsync(wake, awscdk.Duration_Minutes(jsii.Number(10)), dlq)
	descriptions := map[string]string{
		rules.MigrationStoppedRule: "ecr-deployer: wake the execution whose migration task stopped",
		rules.DeploymentStateRule:  "ecr-deployer: wake the execution whose service deployment changed state",
		rules.HookStateRule:        "ecr-deployer: wake the execution whose service deployment waits at a pause hook",
	}
	for _, r := range rules.Wake(targets, func(account, region, resource, name string) *string {
		c := &awscdk.ArnComponents{Service: jsii.String("ecs"), Resource: jsii.String(resource), ResourceName: jsii.String(name)}
		if account != "" {
			c.Account = jsii.String(account)
		}
		if region != "" {
			c.Region = jsii.String(region)
		}
		return stack.FormatArn(c)
	}) {
		awsevents.NewRule(stack, jsii.String(r.Name), &awsevents.RuleProps{
			Description:  jsii.String(descriptions[strings.TrimRight(r.Name, "0123456789")]),
			EventPattern: eventPattern(r.Pattern),
			Targets:      target(),
		})
	}
}

// deadLetterAsync configures an EventBridge-invoked function's asynchronous
// invocations: two retries, events at most maxAge old, then the dead-letter
// queue.
func deadLetterAsync(fn awslambda.Function, maxAge awscdk.Duration, dlq awssqs.Queue) {
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   maxAge,
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})
}

// notifyRule sends the state machine's executions' ends to Notify. Every
// end goes (Notify counts it in the metrics); Notify decides which ones
// are worth a message. Status change events are delivered best effort.
// https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
func notifyRule(stack awscdk.Stack, notify awslambda.Function, smARN *string, dlq awssqs.Queue) {
	deadLetterAsync(notify, awscdk.Duration_Hours(jsii.Number(1)), dlq)
	awsevents.NewRule(stack, jsii.String("ExecutionEndedRule"), &awsevents.RuleProps{
		Description: jsii.String("ecr-deployer: tell people how a deployment ended, and count it"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]interface{}{
				"stateMachineArn": []*string{smARN},
				"status":          []string{"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(notify, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: dlq, RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Hours(jsii.Number(1)),
		})},
	})
}

// eventPattern converts one of the wake rules' patterns.
func eventPattern(p rules.Pattern) *awsevents.EventPattern {
	e := &awsevents.EventPattern{Source: jsii.Strings(p.Source...), DetailType: jsii.Strings(p.DetailType...)}
	if len(p.Resources) > 0 {
		e.Resources = &p.Resources
	}
	if len(p.Detail) > 0 {
		e.Detail = &p.Detail
	}
	return e
}

// codeSource returns where each function's code comes from.
func codeSource(stack awscdk.Stack, assetDir string) func(dir string) awslambda.Code {
	if assetDir != "" {
		return func(dir string) awslambda.Code {
			return awslambda.Code_FromAsset(jsii.String(assetDir+"/"+dir+".zip"), nil)
		}
	}
	bucketName := awscdk.NewCfnParameter(stack, jsii.String("CodeBucket"), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Description: jsii.String("S3 bucket holding ecr-deployer/<CodeVersion>/<function>.zip (make package BUCKET=… uploads them)"),
	})
	version := awscdk.NewCfnParameter(stack, jsii.String("CodeVersion"), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		AllowedPattern: jsii.String("^[0-9a-f]{16}$"),
		Description:    jsii.String("Code version printed by make package (a hash of the zips)"),
	})
	bucket := awss3.Bucket_FromBucketName(stack, jsii.String("CodeBucketRef"), bucketName.ValueAsString())
	return func(dir string) awslambda.Code {
		key := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("ecr-deployer/"), version.ValueAsString(), jsii.String("/" + dir + ".zip")})
		return awslambda.Code_FromBucket(bucket, key, nil)
	}
}

// grantWorkflow gives each function exactly the ECS, ECR and IAM actions its
// step calls, on the resources the configuration names.
// turnsTable holds which execution took each service's turn last: the
// queue's one conditional write, so that two executions that start together
// cannot both deploy a service although neither lists the other yet
// (ListExecutions is eventually consistent). One small item per service,
// on demand.
func turnsTable(stack awscdk.Stack) awsdynamodb.Table {
	t := awsdynamodb.NewTable(stack, jsii.String("Turns"), &awsdynamodb.TableProps{
		PartitionKey:  &awsdynamodb.Attribute{Name: jsii.String("service"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:   awsdynamodb.BillingMode_PAY_PER_REQUEST,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(t, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-DDB3"),
		Reason: jsii.String("The table holds only which execution took each service's turn last. Losing it loses nothing to restore: " +
			"a holder that runs long enough to matter is listed by ListExecutions, which the queue reads as well, and an empty item is taken by the next check."),
	}}, nil)
	return t
}

// promotionsTable holds who promoted each image through the deployer API
// (deploy/promotion.go): one small item per promotion, deleted by
// DynamoDB's TTL a day later (ResolveTarget reads it within minutes).
func promotionsTable(stack awscdk.Stack) awsdynamodb.Table {
	return ttlTable(stack, "Promotions", "promotion", "The table holds who promoted an image for the minutes until its push is resolved; each execution keeps its own copy in its history. "+
		"Losing it loses the audit line of the pushes in flight, nothing to restore.")
}

// notifiedTable holds which execution ends Notify has told (notify's
// once.go): one small item per execution, deleted by DynamoDB's TTL after
// 30 days.
func notifiedTable(stack awscdk.Stack) awsdynamodb.Table {
	return ttlTable(stack, "Notified", "execution", "The table holds only which execution ends were notified, for 30 days. Losing it loses nothing to restore: "+
		"at worst a duplicated delivery of an end that came before the loss is notified twice.")
}

// ttlTable is a small on-demand table of short-lived items (TTL attribute
// "expires"), without point-in-time recovery, for the reason given.
func ttlTable(stack awscdk.Stack, id, key, noRecovery string) awsdynamodb.Table {
	t := awsdynamodb.NewTable(stack, jsii.String(id), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(key), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expires"),
		RemovalPolicy:       awscdk.RemovalPolicy_DESTROY,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(t, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-DDB3"), Reason: jsii.String(noRecovery),
	}}, nil)
	return t
}

// A deployer stack passes its state machine's name and ARN, and every
// target: ECR for all of them, ECS, Logs and iam:PassRole for those in its
// own account and Region (the others are the target account stacks', whose
// roles it assumes: grantRemote). A target account stack passes nil and
// the targets of its account and Region: no ECR, no Step Functions.
func grantWorkflow(stack awscdk.Stack, roles map[string]awsiam.Role, all []config.Resolved, smName, smARN *string) {
	deployer := smARN != nil
	targets := all
	if deployer {
		targets, _ = splitTargets(all)
	}
	arn := func(service, resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource), ResourceName: jsii.String(name)})
	}
	var repos, services, clusters, tasks, families, passRoles, pinnedFamilies []*string
	// pinnedRoles and rollbackRoles are the roles of the targets whose
	// UpdateService names a task definition (see below).
	var pinnedRoles, rollbackRoles []*string
	pinning := false
	seen := map[string]bool{}
	add := func(list *[]*string, key string, v *string) {
		if !seen[key] {
			seen[key] = true
			*list = append(*list, v)
		}
	}
	for _, t := range all {
		add(&repos, "repo/"+t.Repository, arn("ecr", "repository", t.Repository))
	}
	for _, t := range targets {
		add(&clusters, "cluster/"+t.Cluster, arn("ecs", "cluster", t.Cluster))
		add(&tasks, "task/"+t.Cluster, arn("ecs", "task", t.Cluster+"/*"))
		// Every service of the target: a target of several deploys each.
		for _, ref := range t.AllServices() {
			add(&services, "svc/"+t.Cluster+"/"+ref.Service, arn("ecs", "service", t.Cluster+"/"+ref.Service))
			if t.Image == config.ImageDigest {
				pinning = true
				add(&pinnedFamilies, "pinned/"+ref.TaskDefinitionFamily, arn("ecs", "task-definition", ref.TaskDefinitionFamily+":*"))
			}
		}
		if t.Migration.Disabled && t.Image != config.ImageDigest {
			continue // neither RunTask nor RegisterTaskDefinition passes its roles
		}
		if !t.Migration.Disabled {
			add(&families, "family/"+t.TaskDefinitionFamily, arn("ecs", "task-definition", t.TaskDefinitionFamily+":*"))
		}
		for _, r := range t.TaskRoles {
			v := jsii.String(r)
			if !strings.HasPrefix(r, "arn:") {
				v = stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"), ResourceName: jsii.String(r)})
			}
			add(&passRoles, "role/"+r, v)
			if t.Image == config.ImageDigest {
				add(&pinnedRoles, "pinned-role/"+r, v)
			}
		}
	}
	for _, t := range targets {
		if t.OnFailure != config.OnFailureRollbackOthers {
			continue
		}
		for _, r := range t.TaskRoles {
			v := jsii.String(r)
			if !strings.HasPrefix(r, "arn:") {
				v = stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"), ResourceName: jsii.String(r)})
			}
			add(&rollbackRoles, "rollback-role/"+r, v)
		}
	}
	onClusters := &map[string]interface{}{"ArnEquals": map[string]interface{}{"ecs:cluster": clusters}}
	// A statement names at most statementARNs resources: CDK moves what
	// passes a role's 10,240 inline characters into managed policies of
	// 6,144 each, statement by statement, so no one statement may be
	// larger (CheckQuotas measures the result).
	perStatement := statementARNs(targets)
	allow := func(fn string, actions []string, resources []*string, conditions *map[string]interface{}) {
		for chunk := range slices.Chunk(resources, perStatement) {
			roles[fn].AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings(actions...), Resources: &chunk, Conditions: conditions,
			}))
		}
	}
	suppress := func(fn, reason string, appliesTo ...string) {
		sort.Strings(appliesTo)
		var at []interface{}
		for _, a := range appliesTo {
			at = append(at, a)
		}
		cdknag.NagSuppressions_AddResourceSuppressions(roles[fn], &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reason), AppliesTo: &at,
		}}, jsii.Bool(true))
	}

	if deployer {
		allow("ResolveTarget", []string{"ecr:DescribeImages"}, repos, nil)
	}
	allow("ResolveTarget", []string{"ecs:DescribeServices"}, services, nil)
	// DescribeTaskDefinition has no resource-level permissions.
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
	allow("ResolveTarget", []string{"ecs:DescribeTaskDefinition"}, []*string{jsii.String("*")}, nil)
	suppress("ResolveTarget", "ecs:DescribeTaskDefinition is read-only and does not support resource-level permissions.", "Resource::*")

	allow("RunMigration", []string{"ecs:RunTask"}, families, onClusters)
	allow("RunMigration", []string{"iam:PassRole"}, passRoles, &map[string]interface{}{
		"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
	})
	var familyWildcards []string
	for _, t := range targets {
		if !t.Migration.Disabled {
			familyWildcards = append(familyWildcards, fmt.Sprintf("Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/%s:*", t.TaskDefinitionFamily))
		}
	}
	if len(familyWildcards) > 0 {
		suppress("RunMigration", "ecs:RunTask is limited to the configured task definition families, any revision (every deployment registers a new one), and to the configured clusters by the ecs:cluster condition.", dedupe(familyWildcards)...)
	}

	allow("CheckMigration", []string{"ecs:DescribeTasks", "ecs:StopTask"}, tasks, onClusters)
	// A failed migration's cause carries the last lines of its log: the
	// streams of each target's logGroup (GetLogEvents is on the log stream).
	var logStreams []*string
	var logWildcards []string
	for _, t := range targets {
		if !t.Migration.Disabled {
			add(&logStreams, "logs/"+t.LogGroup, stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("log-group"),
				ResourceName: jsii.String(t.LogGroup + ":log-stream:*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME}))
			logWildcards = append(logWildcards, fmt.Sprintf("Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:%s:log-stream:*", t.LogGroup))
		}
	}
	if len(logStreams) > 0 {
		allow("CheckMigration", []string{"logs:GetLogEvents"}, logStreams, nil)
		// A failed deployment's cause carries its first stopped task's log tail.
		allow("CheckDeployment", []string{"logs:GetLogEvents"}, logStreams, nil)
	}
	var taskWildcards, sdWildcards []string
	var serviceDeployments []*string
	for _, t := range targets {
		taskWildcards = append(taskWildcards, fmt.Sprintf("Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/%s/*", t.Cluster))
		for _, ref := range t.AllServices() {
			sdWildcards = append(sdWildcards, fmt.Sprintf("Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-deployment/%s/%s/*", t.Cluster, ref.Service))
			add(&serviceDeployments, "sd/"+t.Cluster+"/"+ref.Service, arn("ecs", "service-deployment", t.Cluster+"/"+ref.Service+"/*"))
		}
	}
	suppress("CheckMigration", "Task IDs are not known in advance: the statement is limited to tasks of the configured clusters (and the ecs:cluster condition). Log streams are named after those tasks: read-only GetLogEvents on the streams of the configured log groups.", append(dedupe(taskWildcards), dedupe(logWildcards)...)...)

	allow("StartDeployment", []string{"ecs:UpdateService", "ecs:DescribeServices"}, services, nil)
	// An UpdateService that names a task definition (a pinned revision;
	// rollback-others' previous one) lets ECS launch tasks with its roles.
	// The Service Authorization Reference lists no dependent action for
	// ecs:UpdateService, nor for ecs:RunTask, which the ECS developer guide
	// says needs iam:PassRole: its silence is no evidence, so the stricter
	// reading holds (docs/permissions.md), and the local stack enforces it.
	passedToTasks := &map[string]interface{}{"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
	if len(pinnedRoles) > 0 {
		allow("StartDeployment", []string{"iam:PassRole"}, pinnedRoles, passedToTasks)
	}
	if len(rollbackRoles) > 0 {
		allow("CheckDeployment", []string{"iam:PassRole"}, rollbackRoles, passedToTasks)
	}
	// It tags the service with the execution deploying it, for Wake.
	allow("StartDeployment", []string{"ecs:TagResource"}, services, nil)
	if deployer {
		// A rollback moves the environment's tag back to the image it deploys again.
		allow("StartDeployment", []string{"ecr:BatchGetImage", "ecr:PutImage"}, repos, nil)
	}
	// rollback-others: when one service of a target fails, CheckDeployment
	// deploys the previous revision of those that deployed (and tags them
	// for Wake, as StartDeployment does). Only those targets' services.
	var rollbackServices []*string
	for _, t := range targets {
		if t.OnFailure != config.OnFailureRollbackOthers {
			continue
		}
		for _, ref := range t.AllServices() {
			add(&rollbackServices, "rollback/"+t.Cluster+"/"+ref.Service, arn("ecs", "service", t.Cluster+"/"+ref.Service))
		}
	}
	allow("CheckDeployment", []string{"ecs:UpdateService", "ecs:TagResource"}, rollbackServices, nil)
	// The deployed digest is read from the tasks of our deployment.
	allow("CheckDeployment", []string{"ecs:DescribeTasks"}, tasks, onClusters)
	allow("CheckDeployment", []string{"ecs:ListTasks"}, []*string{jsii.String("*")}, onClusters)
	// ECS's record of our deployment judges it: DescribeServiceDeployments
	// needs both the service and the service deployment resource types.
	// Each service next to its deployments, so that a statement of a chunk
	// names both resource types of the same services.
	var servicesAndDeployments []*string
	for i := range services {
		servicesAndDeployments = append(servicesAndDeployments, services[i], serviceDeployments[i])
	}
	// One list for both reads (DescribeServices matches the service ARNs in
	// it): a stack of many services keeps fewer, smaller statements.
	// ListServiceDeployments finds our record when currentServiceDeployment
	// named an earlier one (kayac/ecspresso #945).
	allow("CheckDeployment", []string{"ecs:DescribeServices", "ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments"}, servicesAndDeployments, nil)
	suppress("CheckDeployment", "Read-only. ecs:ListTasks is scoped by the ecs:cluster condition to the configured clusters; DescribeTasks to their tasks, DescribeServiceDeployments to the configured services' deployments, whose IDs are not known in advance, and GetLogEvents to the streams (named after tasks) of the configured log groups.",
		append(append(append([]string{"Resource::*"}, dedupe(taskWildcards)...), dedupe(sdWildcards)...), dedupe(logWildcards)...)...)

	var execARN *string
	var execNag string
	if deployer {
		// CheckTurn reads this state machine's executions.
		execARN, execNag = executionArns(stack, smName)
		allow("CheckTurn", []string{"states:ListExecutions"}, []*string{smARN}, nil)
		allow("CheckTurn", []string{"states:DescribeExecution"}, []*string{execARN}, nil)
	}
	// Before it takes a turn, CheckTurn asks ECS whether a rollout of its
	// services is still under way (inflight.go).
	allow("CheckTurn", []string{"ecs:ListServiceDeployments"}, services, nil)
	if deployer {
		suppress("CheckTurn", "Read-only: the executions of this stack's own state machine, whose names are not known in advance.",
			execNag)
	}

	// Watch looks once, as the Check functions do, and may end its own wait;
	// Wake finds the waiting execution in the history and ends its wait.
	// Task tokens are granted on the state machine, as grantTaskResponse does.
	allow("Watch", []string{"ecs:DescribeTasks"}, tasks, onClusters)
	allow("Watch", []string{"ecs:DescribeServices", "ecs:DescribeServiceDeployments"}, servicesAndDeployments, nil)
	if deployer {
		allow("Watch", []string{"states:SendTaskSuccess"}, []*string{smARN}, nil)
	}
	// After the others: a role's inline policy keeps the statements that
	// fit its 10,240 characters in order, and this one, of every service,
	// goes to the overflow policy without moving the smaller ones.
	allow("Watch", []string{"ecs:ListServiceDeployments"}, services, nil)
	suppress("Watch", "Read-only: tasks of the configured clusters (and the ecs:cluster condition) and the configured services' deployments, whose IDs are not known in advance.",
		append(dedupe(taskWildcards), dedupe(sdWildcards)...)...)
	// Wake reads which execution a service's event is about from its tag.
	allow("Wake", []string{"ecs:ListTagsForResource"}, services, nil)
	if deployer {
		grantStates(allow, suppress, repos, smARN, execARN, execNag)
	}

	// PinImage ("image": "digest") registers revisions of the configured families.
	allow("PinImage", []string{"ecs:DescribeTaskDefinition"}, []*string{jsii.String("*")}, nil)
	if pinning {
		// RegisterTaskDefinition has no resource-level permissions. A revision
		// it registers can only be run through RunTask, which is limited to the
		// configured families, and can only name roles iam:PassRole allows.
		allow("PinImage", []string{"ecs:RegisterTaskDefinition"}, []*string{jsii.String("*")}, nil)
		allow("PinImage", []string{"ecs:TagResource"}, pinnedFamilies, &map[string]interface{}{
			"StringEquals": map[string]interface{}{"ecs:CreateAction": "RegisterTaskDefinition"},
		})
		allow("PinImage", []string{"iam:PassRole"}, passRoles, &map[string]interface{}{
			"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
		})
	}
	pinReason := "ecs:DescribeTaskDefinition is read-only without resource-level permissions."
	pinApplies := []string{"Resource::*"}
	if pinning {
		pinReason += " ecs:RegisterTaskDefinition has no resource-level permissions either: a revision it registers can only be run through RunTask, limited to the configured families, and can only carry the roles iam:PassRole allows. ecs:TagResource (tags copied at registration) is limited to the configured families."
		for _, t := range targets {
			if t.Image != config.ImageDigest {
				continue
			}
			for _, ref := range t.AllServices() {
				pinApplies = append(pinApplies, fmt.Sprintf("Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/%s:*", ref.TaskDefinitionFamily))
			}
		}
	}
	suppress("PinImage", pinReason, dedupe(pinApplies)...)
}

// grantStates gives the deployer stack's functions what they call of its
// own state machine, and the promoter's API its retag.
func grantStates(allow func(string, []string, []*string, *map[string]interface{}), suppress func(string, string, ...string), repos []*string, smARN, execARN *string, execNag string) {
	// Trigger starts this state machine's executions on ECR pushes.
	allow("Trigger", []string{"states:StartExecution"}, []*string{smARN}, nil)
	// Notify reads the ended execution's last states for its message.
	allow("Notify", []string{"states:GetExecutionHistory"}, []*string{execARN}, nil)
	suppress("Notify", "Read-only: the history of this stack's own state machine's executions, whose names are not known in advance.",
		execNag)
	allow("Wake", []string{"states:ListExecutions", "states:SendTaskSuccess"}, []*string{smARN}, nil)
	allow("Wake", []string{"states:GetExecutionHistory"}, []*string{execARN}, nil)
	suppress("Wake", "Read-only: the history of this stack's own state machine's executions, whose names are not known in advance.",
		execNag)
	// The deployer API starts executions as the caller IAM authenticated
	// (the promoter's and the overrider's URLs), finds the execution that
	// waits for a person and answers its wait (the approver's and the
	// promoter's; internal/api). The overrider's only starts.
	for _, fn := range []string{"PromoterApi", "OverriderApi"} {
		allow(fn, []string{"states:StartExecution"}, []*string{smARN}, nil)
	}
	// deployer promote: the promoter's API retags the configured
	// repositories' images as the caller.
	allow("PromoterApi", []string{"ecr:BatchGetImage", "ecr:PutImage"}, repos, nil)
	for _, fn := range []string{"ApproverApi", "PromoterApi"} {
		allow(fn, []string{"states:ListExecutions", "states:SendTaskSuccess"}, []*string{smARN}, nil)
		allow(fn, []string{"states:DescribeExecution", "states:GetExecutionHistory"}, []*string{execARN}, nil)
		suppress(fn, "Read-only: the executions of this stack's own state machine, whose names are not known in advance.", execNag)
	}
}

// statementARNs is how many resources one policy statement names: as many
// as fit some 5,800 characters with the longest configured cluster and
// service names (a service deployment's ARN, the longest, is about 65
// characters more, quoted), at most 60. A statement must fit a managed policy
// (6,144), since CDK spreads statements, whole, over them.
func statementARNs(targets []config.Resolved) int {
	longest := 0
	for _, t := range targets {
		for _, ref := range t.AllServices() {
			longest = max(longest, len(t.Cluster)+len(ref.Service))
		}
	}
	return min(60, max(5, 5800/(longest+65)))
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
