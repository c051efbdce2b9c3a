package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// StartedBy marks the tasks ecr-deployer starts (RunTask startedBy: "Up to 128
// letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/),
// and underscores (_) are allowed"): StartedByPrefix and the name of the
// execution that started the task (Step Functions names are at most 80 of
// [0-9A-Za-z_-]), so that Wake reads that one execution when the task
// stops, however many run. Tasks started by versions before this one carry
// StartedBy alone.
const (
	StartedBy       = "ecr-deployer"
	StartedByPrefix = StartedBy + "/"
)

// startedBy is the startedBy of an execution's migration task.
func startedBy(executionName string) string {
	if executionName == "" || !executionNameSyntax.MatchString(executionName) {
		return StartedBy
	}
	return StartedByPrefix + executionName
}

// ExecutionOfTask is the execution name a migration task's startedBy names, if any.
func ExecutionOfTask(startedBy string) (string, bool) {
	name, ok := strings.CutPrefix(startedBy, StartedByPrefix)
	return name, ok && executionNameSyntax.MatchString(name)
}

var executionNameSyntax = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)

// ClientToken derives RunTask's idempotency token from the execution and the
// attempt: a Lambda retried by Step Functions sends the same token, so ECS
// returns the task it already started instead of starting a second migration.
// ECS takes up to 64 ASCII characters; a hex SHA-256 is exactly 64.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-clientToken
func ClientToken(executionID string, attempt int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/migration/%d", executionID, attempt)))
	return hex.EncodeToString(sum[:])
}

// CapacityBackoff is the wait before RunTask attempt number next (2, 3, …):
// the configured interval doubled per attempt, capped at five minutes.
func CapacityBackoff(intervalSeconds, next int) int {
	d := time.Duration(intervalSeconds) * time.Second
	for i := 2; i < next && d < maxCapacityBackoff; i++ {
		d *= 2
	}
	return int(min(d, maxCapacityBackoff) / time.Second)
}

// RunMigration starts the migration task with the service's task definition and
// network, overriding the migration container's command. When ECS has no
// capacity it returns the State with RetryInSeconds set and no task; the state
// machine waits and calls it again, up to MaxAttempts.
func (d *Deployer) RunMigration(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	m := &s.Migration
	m.Attempt++
	m.RetryInSeconds = 0
	out, err := d.ECS.RunTask(ctx, runTaskInput(s))
	if err != nil {
		// Some capacity limits come back as an error rather than a failures[]
		// entry (AWS-FACTS: the per-cluster PROVISIONING tasks quota with
		// managed scaling, aws/aws-sdk-ruby#3047): retried like one.
		var api smithy.APIError
		if !errors.As(err, &api) || !IsCapacityFailure(api.ErrorMessage()) {
			return s, fmt.Errorf("run migration task in cluster %s: %w", s.Cluster, err)
		}
		out = &ecs.RunTaskOutput{Failures: []ecstypes.Failure{{Reason: aws.String(api.ErrorMessage()), Detail: aws.String(api.ErrorCode())}}}
	}
	if len(out.Tasks) == 0 {
		err := notStarted(m, s, out.Failures)
		if err == nil {
			d.log().WarnContext(ctx, "no capacity for migration, will retry", "execution", s.Execution.ID, "cluster", s.Cluster,
				"attempt", m.Attempt, "retryInSeconds", m.RetryInSeconds, "failure", m.LastFailure)
		}
		return s, err
	}
	now := d.now()
	t := out.Tasks[0]
	m.TaskARN = aws.ToString(t.TaskArn)
	m.LastStatus = aws.ToString(t.LastStatus)
	m.LastFailure = ""
	m.StartedAt = ptrTime(now)
	m.Deadline = ptrTime(now.Add(time.Duration(m.TimeoutSeconds) * time.Second))
	s.Poll.MigrationSeconds = waitSeconds(s.Poll.MigrationIntervalSeconds, m.Deadline, now)
	m.LogStream = LogStreamOf(*m, m.TaskARN)
	d.log().InfoContext(ctx, "migration started", "execution", s.Execution.ID, "cluster", s.Cluster,
		"taskArn", m.TaskARN, "attempt", m.Attempt)
	return s, nil
}

// runTaskInput is the migration's RunTask: the service's task definition
// and launch (network, capacity providers or launch type, platform
// version), the command override, and a client token per attempt, so that
// a retried call never starts a second task.
func runTaskInput(s State) *ecs.RunTaskInput {
	m := s.Migration
	in := &ecs.RunTaskInput{
		Cluster:        aws.String(s.Cluster),
		TaskDefinition: aws.String(s.Launch.TaskDefinition),
		Count:          aws.Int32(1),
		StartedBy:      aws.String(startedBy(s.Execution.Name)),
		ClientToken:    aws.String(ClientToken(s.Execution.ID, m.Attempt)),
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{
			{Name: aws.String(m.Container), Command: m.Command},
		}},
	}
	if s.Launch.PlatformVersion != "" {
		in.PlatformVersion = aws.String(s.Launch.PlatformVersion)
	}
	if len(s.Launch.CapacityProviderStrategy) > 0 {
		for _, c := range s.Launch.CapacityProviderStrategy {
			in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, ecstypes.CapacityProviderStrategyItem{
				CapacityProvider: aws.String(c.CapacityProvider), Weight: c.Weight, Base: c.Base,
			})
		}
	} else if s.Launch.LaunchType != "" {
		in.LaunchType = ecstypes.LaunchType(s.Launch.LaunchType)
	}
	if n := s.Launch.Network; n != nil {
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: n.Subnets, SecurityGroups: n.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIp(n.AssignPublicIP),
		}}
	}
	return in
}

// notStarted reads RunTask's failures: a capacity failure is retried after
// CapacityBackoff (nil: RetryInSeconds set) until MaxAttempts; any other
// failure ends in MigrationFailedToStart.
func notStarted(m *Migration, s State, failures []ecstypes.Failure) error {
	var reasons []string
	capacity := len(failures) > 0
	for _, f := range failures {
		r := aws.ToString(f.Reason)
		if dt := aws.ToString(f.Detail); dt != "" {
			r += " (" + dt + ")"
		}
		reasons = append(reasons, r)
		capacity = capacity && IsCapacityFailure(aws.ToString(f.Reason))
	}
	m.LastFailure = strings.Join(reasons, "; ")
	if m.LastFailure == "" {
		m.LastFailure = "RunTask returned neither a task nor a failure"
	}
	switch {
	case !capacity:
		return migrationFailedToStart(s.Cluster, s.Launch.TaskDefinition, m.LastFailure)
	case m.Attempt >= m.MaxAttempts:
		return migrationCapacityUnavailable(s.Cluster, m.Attempt, m.LastFailure)
	}
	m.RetryInSeconds = CapacityBackoff(m.RetryIntervalSeconds, m.Attempt+1)
	return nil
}

// CheckMigration looks at the migration task once. It returns the State with
// Done set when the migration succeeded, and a typed error when it failed, was
// lost or ran out of time (after stopping it).
func (d *Deployer) CheckMigration(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	m := &s.Migration
	task, missing, err := d.describeMigration(ctx, s)
	if err != nil {
		return s, err
	}
	if task == nil {
		return s, migrationLost(m.TaskARN, missing, d.logHint(s))
	}
	if container, ran := ranOtherImage(task.Containers, s.Image.Repository, s.Image.Digest); ran != "" {
		return s, d.stopOtherImage(ctx, s, *task, container, ran)
	}
	now := d.now()
	v := JudgeMigration(*task, m.Container)
	m.LastStatus = v.LastStatus
	m.ExitCode = v.ExitCode
	switch v.Phase {
	case MigrationRunning:
		if m.Deadline != nil && now.After(*m.Deadline) {
			reason := fmt.Sprintf("ecr-deployer: migration timed out after %ds", m.TimeoutSeconds)
			if _, err := d.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(s.Cluster), Task: aws.String(m.TaskARN), Reason: aws.String(reason)}); err != nil {
				return s, fmt.Errorf("stop migration task %s after its timeout: %w", m.TaskARN, err)
			}
			return s, migrationTimedOut(m.TaskARN, v.LastStatus, m.TimeoutSeconds, d.logHint(s), d.logTail(ctx, s))
		}
		s.Poll.MigrationSeconds = waitSeconds(s.Poll.MigrationIntervalSeconds, m.Deadline, now)
		return s, nil
	case MigrationSucceeded:
		m.Done = true
		m.FinishedAt = ptrTime(now)
		s.Deployment.NotBefore = ptrTime(now)
		if m.StartedAt != nil {
			s.Phases.MigrationSeconds = seconds(*m.StartedAt, now)
		}
		d.log().InfoContext(ctx, "migration succeeded", "execution", s.Execution.ID, "taskArn", m.TaskARN)
		return s, nil
	case MigrationExitedNonZero:
		return s, migrationFailed(m.Container, *v.ExitCode, m.TaskARN, withReason(v.Reason), d.logHint(s), TaskConsoleURL(d.placeOf(s).Region, s.Cluster, m.TaskARN), d.logTail(ctx, s))
	default:
		return s, containerNeverRan(m.TaskARN, m.Container, v.Reason, TaskConsoleURL(d.placeOf(s).Region, s.Cluster, m.TaskARN), d.logTail(ctx, s))
	}
}

// ranOtherImage finds a container of the repository that runs another
// digest than want, and that digest ("": none). ECS reports a container's
// imageDigest once it has pulled the image, so a task still pending has
// none to compare yet.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Container.html (imageDigest)
func ranOtherImage(containers []ecstypes.Container, repository, want string) (container, digest string) {
	for _, c := range containers {
		got := aws.ToString(c.ImageDigest)
		if got != "" && got != want && ImageRepository(aws.ToString(c.Image)) == repository {
			return aws.ToString(c.Name), got
		}
	}
	return "", ""
}

// stopOtherImage stops a migration task that runs another image than the
// resolved one, and ends the execution DigestMismatch before anything deploys.
func (d *Deployer) stopOtherImage(ctx context.Context, s State, task ecstypes.Task, container, ran string) error {
	stopped := aws.ToString(task.LastStatus) != string(ecstypes.DesiredStatusStopped)
	if stopped {
		reason := "ecr-deployer: runs " + ran + ", not the resolved " + s.Image.Digest
		if _, err := d.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(s.Cluster), Task: aws.String(s.Migration.TaskARN), Reason: aws.String(reason)}); err != nil {
			return fmt.Errorf("stop migration task %s, which runs %s: %w", s.Migration.TaskARN, ran, err)
		}
	}
	d.log().WarnContext(ctx, "migration runs another image", "execution", s.Execution.ID, "taskArn", s.Migration.TaskARN, "ran", ran, "digest", s.Image.Digest)
	return migrationRanOtherImage(s.Migration.TaskARN, container, ran, s.Image.Digest, s.Image.Tag, stopped)
}

// describeMigration reads the migration task; a task ECS does not return is
// nil, with the reason it gave (MISSING once it has forgotten the task).
func (d *Deployer) describeMigration(ctx context.Context, s State) (*ecstypes.Task, string, error) {
	out, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(s.Cluster), Tasks: []string{s.Migration.TaskARN}})
	if err != nil {
		return nil, "", fmt.Errorf("describe migration task %s: %w", s.Migration.TaskARN, err)
	}
	if len(out.Tasks) == 0 {
		reason := "not returned"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return nil, reason, nil
	}
	return &out.Tasks[0], "", nil
}

func withReason(r string) string {
	if r == "" {
		return ""
	}
	return "; " + r
}

func (d *Deployer) logHint(s State) string {
	m := s.Migration
	if m.LogGroup == "" {
		return " (the container has no awslogs configuration)"
	}
	if m.LogStream == "" {
		return fmt.Sprintf(" in log group %s", m.LogGroup)
	}
	return fmt.Sprintf(" in log group %s, stream %s (%s)", m.LogGroup, m.LogStream, LogConsoleURL(m.LogRegion, m.LogGroup, m.LogStream))
}

// taskID is the last part of a task ARN.
func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
