package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// LogsAPI is the part of CloudWatch Logs the workflow calls: the last
// lines of a failed migration's log.
type LogsAPI interface {
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

var _ LogsAPI = (*cloudwatchlogs.Client)(nil)

// Bounds of a log tail in a failure's cause: Step Functions keeps a cause
// of up to 32,768 characters, and the state far below 256 KB.
const (
	LogTailLines    = 50
	logLineMaxRunes = 300
	logTailMaxBytes = 8 << 10
)

// logTail is the last lines of the migration container's log, for the
// cause of a failed migration: read with GetLogEvents from the awslogs
// stream the task definition names. It never fails the step; a log it
// cannot read is said in words, with what to change.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
func (d *Deployer) logTail(ctx context.Context, s State) string {
	m := s.Migration
	region := d.placeOf(s).Region
	switch {
	case d.Logs == nil:
		return ""
	case m.LogDriver != "" && m.LogDriver != "awslogs":
		return fmt.Sprintf("\nThe %s container logs with the %s driver, which ecr-deployer does not read: look where that driver sends its output.", m.Container, m.LogDriver)
	case m.LogGroup == "":
		return fmt.Sprintf("\nThe %s container has no log configuration, so its output is lost: give it the awslogs driver to see the output here.", m.Container)
	case m.LogStream == "" && m.LogStreamPrefix == "":
		// "If you don't specify a prefix with this option, then the log
		// stream is named after the container ID that's assigned by the
		// Docker daemon on the container instance" (ECS developer guide,
		// awslogs): a name ECS does not report with the task.
		return fmt.Sprintf("\nThe %s container's awslogs configuration has no awslogs-stream-prefix, so its log stream in %s is named after the Docker container ID, which ecr-deployer cannot tell: look in that log group, or set \"awslogs-stream-prefix\" in the task definition to see the log here.", m.Container, m.LogGroup)
	case m.LogStream == "":
		return ""
	case m.LogRegion != "" && region != "" && m.LogRegion != region:
		return fmt.Sprintf("\nIts log is in %s, another Region than the service's: %s", m.LogRegion, LogConsoleURL(m.LogRegion, m.LogGroup, m.LogStream))
	}
	events, pages, err := d.latestLogEvents(ctx, m.LogGroup, m.LogStream)
	var notFound *cwltypes.ResourceNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf("\nIts log stream %s does not exist in log group %s: the container wrote nothing.", m.LogStream, m.LogGroup)
	case errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException":
		return fmt.Sprintf("\nIts log could not be read: logs:GetLogEvents is denied on log group %s. Set \"logGroup\": %q on target %s in targets.json and deploy the stack again.", m.LogGroup, m.LogGroup, s.Environment)
	case err != nil:
		d.log().WarnContext(ctx, "could not read the migration's log", "logGroup", m.LogGroup, "logStream", m.LogStream, "error", err)
		return fmt.Sprintf("\nIts log could not be read (%v).", err)
	}
	lines := TailLines(events)
	switch {
	case len(lines) == 0 && pages >= maxLogPages:
		return fmt.Sprintf("\nIts log stream %s returned %d empty pages in a row and may hold more: read it at %s", m.LogStream, pages, LogConsoleURL(region, m.LogGroup, m.LogStream))
	case len(lines) == 0:
		return fmt.Sprintf("\nIts log stream %s is empty.", m.LogStream)
	}
	return fmt.Sprintf("\nLast %d lines of its log (%s, %s):\n  %s", len(lines), m.LogGroup, m.LogStream, strings.Join(lines, "\n  "))
}

// maxLogPages bounds the GetLogEvents pages one tail reads.
const maxLogPages = 5

// latestLogEvents reads the latest page of a stream that has events.
// "A returned page might only be partially full, or even empty … As long
// as the nextBackwardToken or nextForwardToken returned is NOT equal to the
// nextToken that you passed into the API call, there might be more log
// events available" (GetLogEventsInput): an empty page with a new token
// reads on, backwards, at most maxLogPages pages; pages is how many it read.
// startFromHead false: "the latest log events are returned first".
func (d *Deployer) latestLogEvents(ctx context.Context, group, stream string) (events []cwltypes.OutputLogEvent, pages int, err error) {
	var token *string
	for pages < maxLogPages {
		out, err := d.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(LogTailLines), StartFromHead: aws.Bool(false), NextToken: token,
		})
		if err != nil {
			return nil, pages, err
		}
		pages++
		if len(out.Events) > 0 {
			return out.Events, pages, nil
		}
		next := out.NextBackwardToken
		if next == nil || aws.ToString(next) == aws.ToString(token) {
			return nil, 0, nil // the end: the stream is empty
		}
		token = next
	}
	return nil, pages, nil
}

// TailLines orders log events by time and bounds them: each line at most
// 300 characters, the whole at most 8 KB, keeping the latest.
func TailLines(events []cwltypes.OutputLogEvent) []string {
	sorted := append([]cwltypes.OutputLogEvent(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return aws.ToInt64(sorted[i].Timestamp) < aws.ToInt64(sorted[j].Timestamp) })
	var lines []string
	size := 0
	for i := len(sorted) - 1; i >= 0 && len(lines) < LogTailLines; i-- {
		l := strings.TrimRight(aws.ToString(sorted[i].Message), "\r\n")
		if utf8.RuneCountInString(l) > logLineMaxRunes {
			l = string([]rune(l)[:logLineMaxRunes]) + "…"
		}
		if size+len(l)+3 > logTailMaxBytes {
			break
		}
		size += len(l) + 3
		lines = append(lines, l)
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return lines
}

// maxStoppedTasksShown bounds the stopped tasks a rollback's cause names.
const maxStoppedTasksShown = 3

// stoppedTasks says why the failed deployment's tasks stopped: how many
// did, the stopped reasons and container exit codes of the latest three,
// and the last lines of the first one's log. ListTasks cannot filter by
// startedBy and serviceName together, so the service's STOPPED tasks are
// listed and the deployment's picked (deploymentTasks). Best effort: what
// cannot be read is said in words; the deployment has failed either way.
func (d *Deployer) stoppedTasks(ctx context.Context, s State) string {
	tasks, err := d.deploymentTasks(ctx, s.Cluster, s.Service, s.Deployment.ID, ecstypes.DesiredStatusStopped)
	if err != nil {
		d.log().WarnContext(ctx, "could not read the failed deployment's tasks", "error", err)
		return fmt.Sprintf(" Its stopped tasks could not be read (%v).", err)
	}
	if len(tasks) == 0 {
		return ""
	}
	sort.SliceStable(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	var parts []string
	for _, t := range tasks[:min(maxStoppedTasksShown, len(tasks))] {
		p := taskID(aws.ToString(t.TaskArn)) + ": " + orUnknown(aws.ToString(t.StoppedReason))
		for _, c := range t.Containers {
			if (c.ExitCode != nil && *c.ExitCode != 0) || aws.ToString(c.Reason) != "" {
				p += fmt.Sprintf(" (container %s", aws.ToString(c.Name))
				if c.ExitCode != nil {
					p += fmt.Sprintf(" exited %d", *c.ExitCode)
				}
				if r := aws.ToString(c.Reason); r != "" {
					p += ": " + r
				}
				p += ")"
			}
		}
		parts = append(parts, p)
	}
	out := fmt.Sprintf(" %d of its tasks stopped; the latest: %s.", len(tasks), strings.Join(parts, "; "))
	// The log of the first one's container (the one the migration runs in,
	// the target's image), when the task definition names its awslogs stream.
	if m := s.Migration; m.LogGroup != "" && m.Container != "" {
		logged := s
		logged.Migration.LogStream = LogStreamOf(m, aws.ToString(tasks[0].TaskArn))
		out += strings.Replace(d.logTail(ctx, logged), "its log", "the log of task "+taskID(aws.ToString(tasks[0].TaskArn)), 1)
	}
	return out
}

// LogStreamOf is the awslogs stream of a task's container,
// <prefix>/<container>/<task id>, or "" without a prefix (the stream is
// then named after the Docker container ID).
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
func LogStreamOf(m Migration, taskARN string) string {
	if m.LogGroup == "" || m.LogStreamPrefix == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/%s", m.LogStreamPrefix, m.Container, taskID(taskARN))
}
