package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecr-deployer/ecr-deployer/internal/notify"
)

// notificationTopic makes the topic people subscribe to (an email address
// from the NotificationEmail parameter, or Amazon Q Developer in chat
// applications for Slack and Teams). Notify publishes how deployments end
// to it, and the alarms publish to it.
//
// The topic is encrypted with a key of its own, with rotation: CloudWatch
// alarms cannot publish to a topic encrypted with the AWS managed key
// (alias/aws/sns), so the key's policy lets CloudWatch use it.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
func notificationTopic(stack awscdk.Stack) awssns.Topic {
	key := awskms.NewKey(stack, jsii.String("NotificationsKey"), &awskms.KeyProps{
		Description:       jsii.String("ecr-deployer: encrypts the notification topic; CloudWatch alarms may use it"),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.GrantEncryptDecrypt(awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil))
	topic := awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("ecr-deployer"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// EnforceSSL writes a topic policy, and "a topic policy replaces the
	// default policy": without this Allow no alarm could publish ("no
	// resource-based policy allows the SNS:Publish action",
	// aws-solutions/automated-security-response-on-aws #43, fixed in #44).
	// Only this account's alarms, in this Region.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowThisAccountsAlarmsToPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]interface{}{
			"ArnLike":      map[string]interface{}{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})},
			"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
		},
	}))
	email := awscdk.NewCfnParameter(stack, jsii.String("NotificationEmail"), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Default:     jsii.String(""),
		Description: jsii.String("An email address the notification topic sends to (it must confirm the subscription); empty: none"),
	})
	hasEmail := awscdk.NewCfnCondition(stack, jsii.String("HasNotificationEmail"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(email.ValueAsString(), jsii.String(""))),
	})
	sub := awssns.NewCfnSubscription(stack, jsii.String("NotificationEmailSubscription"), &awssns.CfnSubscriptionProps{
		TopicArn: topic.TopicArn(), Protocol: jsii.String("email"), Endpoint: email.ValueAsString(),
	})
	sub.CfnOptions().SetCondition(hasEmail)
	return topic
}

// alarms tell the topic when something needs a person, and the dashboard
// shows the deployments:
//   - the dead-letter queue has messages: a push whose execution could not
//     be started, an ECS event Wake could not handle, or an execution's end
//     Notify could not report, is waiting there;
//   - an execution FAILED, TIMED_OUT or was ABORTED;
//   - Trigger, Wake or Notify failed (their async retries end in the dead-letter queue too).
//
// https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
func alarms(stack awscdk.Stack, topic awssns.Topic, sm awsstepfunctions.StateMachine, live awsstepfunctions.CfnStateMachineAlias, dlq awssqs.Queue, trigger, wake, notifyFn awslambda.Function) {
	action := awscloudwatchactions.NewSnsAction(topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, description string, metric awscloudwatch.IMetric) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		return a
	}
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}
	alarm("DeadLetterAlarm", "ecr-deployer: the dead-letter queue has messages: a push whose deployment could not be started, an ECS event Wake could not handle, or a deployment's end Notify could not report. Read them (stack output DeadLetterQueueUrl) and start the deployment by hand if needed.",
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	// Executions start through the alias. Whether Step Functions counts
	// them under the state machine's ARN, the alias's or both is not
	// documented: each alarm takes the larger of the two (the alarms fire
	// at 1, so counting twice changes nothing).
	either := func(name string, m awscloudwatch.IMetric) awscloudwatch.IMetric {
		viaAlias := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/States"), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"StateMachineArn": live.AttrArn()}, Period: five, Statistic: jsii.String("Sum")})
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("MAX([FILL(machine, 0), FILL(alias, 0)])"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"machine": m, "alias": viaAlias},
			Label:        jsii.String(name), Period: five,
		})
	}
	alarm("ExecutionsFailedAlarm", "ecr-deployer: a deployment FAILED. deployer status names it, with its error and cause.", either("ExecutionsFailed", sm.MetricFailed(sum)))
	alarm("ExecutionsTimedOutAlarm", "ecr-deployer: a deployment's execution TIMED_OUT (24 hours). deployer status names it.", either("ExecutionsTimedOut", sm.MetricTimedOut(sum)))
	alarm("ExecutionsAbortedAlarm", "ecr-deployer: someone stopped (ABORTED) a deployment's execution. deployer status names it.", either("ExecutionsAborted", sm.MetricAborted(sum)))
	alarm("TriggerErrorsAlarm", "ecr-deployer: the Trigger function failed to start a push's deployment; Lambda retries it, then the push lands in the dead-letter queue. Read its logs.", trigger.MetricErrors(sum))
	alarm("WakeErrorsAlarm", "ecr-deployer: the Wake function failed on ECS events: waits end on their safety poll instead. Read its logs.", wake.MetricErrors(sum))
	alarm("NotifyErrorsAlarm", "ecr-deployer: the Notify function failed: a deployment's end was not told or counted. Read its logs; deployer history names the execution.", notifyFn.MetricErrors(sum))

	// The deployments' own metrics (Notify's EMF, namespace ecr-deployer),
	// one line per environment through SEARCH, however many targets.
	hour := awscdk.Duration_Hours(jsii.Number(1))
	search := func(label, metric, dims, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', '%s', 3600)`, notify.Namespace, dims, metric, stat)),
			Label:      jsii.String(label), Period: hour,
		})
	}
	awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String("deployments")}),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Deployments per hour by environment and outcome"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{search("", "Deployments", "Environment,Outcome", "Sum")}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Lead time, push → deployed (p50 by environment, seconds)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{search("", "LeadTime", "Environment", "p50")}}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Migration time (p50 by environment, seconds)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{search("", "MigrationTime", "Environment", "p50")}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Deployment time (p50 by environment, seconds)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{search("", "DeploymentTime", "Environment", "p50")}}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Executions by outcome"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{sm.MetricStarted(sum), sm.MetricSucceeded(sum), sm.MetricFailed(sum), sm.MetricTimedOut(sum), sm.MetricAborted(sum)}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Dead-letter queue; Wake and Notify errors"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
						wake.MetricErrors(sum), notifyFn.MetricErrors(sum)}}),
			},
		},
	})
}
