package deploy

import (
	"fmt"
	"net/url"
	"strings"
)

// TaskConsoleURL links to a task in the ECS console.
func TaskConsoleURL(region, cluster, taskARN string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/ecs/v2/clusters/%s/tasks/%s/configuration?region=%s",
		region, url.PathEscape(cluster), taskID(taskARN), region)
}

// LogConsoleURL links to a log stream in the CloudWatch console, which expects
// the group and stream URL-encoded twice with "%" written as "$25".
func LogConsoleURL(region, group, stream string) string {
	enc := func(s string) string {
		return strings.ReplaceAll(url.QueryEscape(url.QueryEscape(s)), "%", "$")
	}
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s",
		region, region, enc(group), enc(stream))
}

// ServiceDeploymentConsoleURL links to the service's deployments in the ECS
// console, where each service deployment's stages, hooks and rollback show.
func ServiceDeploymentConsoleURL(region, cluster, service string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/ecs/v2/clusters/%s/services/%s/deployments?region=%s",
		region, url.PathEscape(cluster), url.PathEscape(service), region)
}

// ExecutionConsoleURL links to an execution in the Step Functions console.
func ExecutionConsoleURL(region, arn string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/states/home?region=%s#/v2/executions/details/%s", region, region, arn)
}
