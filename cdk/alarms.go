package main

import (
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
)

// notifications makes the topic people subscribe to (an email address from
// the NotificationEmail parameter, or Amazon Q Developer in chat
// applications for Slack and Teams), the alarms that tell it when something
// needs a person, and a dashboard:
//   - the dead-letter queue has messages: a push whose execution could not
//     be started, or an ECS event Wake could not handle, is waiting there;
//   - an execution FAILED, TIMED_OUT or was ABORTED;
//   - Wake failed (its async retries end in the dead-letter queue too).
//
// The topic is encrypted with a key of its own, with rotation: CloudWatch
// alarms cannot publish to a topic encrypted with the AWS managed key
// (alias/aws/sns), so the key's policy lets CloudWatch use it.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
// https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
func notifications(stack awscdk.Stack, sm awsstepfunctions.StateMachine, dlq awssqs.Queue, wake awslambda.Function) awssns.Topic {
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
	alarm("DeadLetterAlarm", "ecr-deployer: the dead-letter queue has messages: a push whose deployment could not be started, or an ECS event Wake could not handle. Read them (stack output DeadLetterQueueUrl) and start the deployment by hand if needed.",
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	alarm("ExecutionsFailedAlarm", "ecr-deployer: a deployment FAILED. deployer status names it, with its error and cause.", sm.MetricFailed(sum))
	alarm("ExecutionsTimedOutAlarm", "ecr-deployer: a deployment's execution TIMED_OUT (24 hours). deployer status names it.", sm.MetricTimedOut(sum))
	alarm("ExecutionsAbortedAlarm", "ecr-deployer: someone stopped (ABORTED) a deployment's execution. deployer status names it.", sm.MetricAborted(sum))
	alarm("WakeErrorsAlarm", "ecr-deployer: the Wake function failed on ECS events: waits end on their safety poll instead. Read its logs.", wake.MetricErrors(sum))

	awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String("deployments")}),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Deployments (executions) by outcome"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{sm.MetricStarted(sum), sm.MetricSucceeded(sum), sm.MetricFailed(sum), sm.MetricTimedOut(sum), sm.MetricAborted(sum)}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Execution time (p50, p90)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{
						sm.MetricTime(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p50")}),
						sm.MetricTime(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p90")}),
					}}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Dead-letter queue"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Wake: ECS events handled, errors"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{wake.MetricInvocations(sum), wake.MetricErrors(sum)}}),
			},
		},
	})
	return topic
}
