package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// ExecutionTag is the service tag that names the execution deploying the
// service, so that Wake reads that one execution on the service's events.
const ExecutionTag = "ecr-deployer:execution"

// tagForWake tags the service with the execution about to deploy it (one
// execution per service holds the turn). Wake without the tag falls back to
// reading the running executions, so a refusal (a service with a short ARN,
// a policy without ecs:TagResource) is said in the output, not an error.
func (d *Deployer) tagForWake(ctx context.Context, svc ecstypes.Service, execution string) string {
	if execution == "" {
		return ""
	}
	_, err := d.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: svc.ServiceArn,
		Tags: []ecstypes.Tag{{Key: aws.String(ExecutionTag), Value: aws.String(execution)}}})
	if err != nil {
		d.log().WarnContext(ctx, "could not tag the service for Wake", "service", aws.ToString(svc.ServiceArn), "error", err)
		return "not tagged (Wake reads the running executions instead): " + err.Error()
	}
	return ExecutionTag + "=" + execution
}

// StartDeployment forces a new deployment of the service and records its id:
// the PRIMARY deployment in UpdateService's response.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
//
// A retried invocation must not start a second deployment: a deployment of
// our task definition created since the deployment became due
// (Deployment.NotBefore) was started by an earlier attempt, and is adopted
// (ourEarlier). Only one execution per service gets here at a time
// (CheckTurn), so no other ecr-deployer deployment can be mistaken for ours.
func (d *Deployer) StartDeployment(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	if len(s.Services) > 0 {
		return d.startServices(ctx, s)
	}
	return d.startOne(ctx, s, true)
}

// startOne starts (or adopts) the deployment of s.Service; checkTag checks,
// before it starts one, that the tag still names the digest (tag mode).
func (d *Deployer) startOne(ctx context.Context, s State, checkTag bool) (State, error) {
	svc, err := d.describeService(ctx, s.Cluster, s.Service)
	if err != nil {
		return s, err
	}
	primary := ourEarlier(svc.Deployments, s.Deployment.NotBefore, s.Launch.TaskDefinition)
	current := aws.ToString(svc.CurrentServiceDeployment)
	adopted := primary != nil
	if !adopted {
		if s.Rollback != nil {
			if err := d.retag(ctx, &s); err != nil {
				return s, err
			}
		}
		if checkTag {
			if err := d.tagNamesDigest(ctx, s); err != nil {
				return s, err
			}
		}
		s.Deployment.WakeTag = d.tagForWake(ctx, svc, s.Execution.Name)
		in := &ecs.UpdateServiceInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Service), ForceNewDeployment: true}
		if s.Image.PinnedTaskDefinition != "" {
			in.TaskDefinition = aws.String(s.Image.PinnedTaskDefinition)
		}
		out, err := d.ECS.UpdateService(ctx, in)
		if err != nil {
			return s, fmt.Errorf("update service %s/%s: %w", s.Cluster, s.Service, err)
		}
		primary, current = nil, ""
		if out.Service != nil {
			primary, current = primaryOf(out.Service.Deployments), aws.ToString(out.Service.CurrentServiceDeployment)
		}
	}
	if primary == nil {
		return s, fmt.Errorf("update service %s/%s: the response lists no PRIMARY deployment", s.Cluster, s.Service)
	}
	now := d.now()
	dep := &s.Deployment
	dep.ID = aws.ToString(primary.Id)
	dep.CreatedAt = primary.CreatedAt
	// UpdateService returns service.currentServiceDeployment, the ARN of the
	// service deployment it started (2024-10); without it (an older
	// partition or API), deployments[] judges the deployment.
	dep.ServiceDeploymentARN = current
	dep.JudgedBy = "serviceDeployment"
	if current == "" {
		dep.JudgedBy = "deployments: UpdateService returned no currentServiceDeployment"
	}
	dep.StartedAt = ptrTime(now)
	dep.Deadline = ptrTime(now.Add(time.Duration(dep.TimeoutSeconds) * time.Second))
	if !s.Execution.StartTime.IsZero() {
		dep.LatestEnd = ptrTime(s.workStart().Add(WorkSpan - latestEndMargin))
	}
	s.Poll.DeploymentSeconds = waitSeconds(s.Poll.DeploymentIntervalSeconds, dep.Deadline, now)
	record(dep, primary)
	d.log().InfoContext(ctx, "deployment started", "execution", s.Execution.ID, "cluster", s.Cluster,
		"service", s.Service, "deploymentId", dep.ID, "serviceDeployment", dep.ServiceDeploymentARN, "adopted", adopted)
	return s, nil
}

// ourEarlier is the deployment an earlier attempt of this step started, if
// one did: the oldest deployment of our task definition created since the
// deployment became due. Not the PRIMARY one: when ours has already failed,
// ECS's rollback is PRIMARY, and in tag mode it deploys the same task
// definition; it was created after ours.
func ourEarlier(deps []ecstypes.Deployment, notBefore *time.Time, taskDefinition string) *ecstypes.Deployment {
	if notBefore == nil {
		return nil
	}
	var ours *ecstypes.Deployment
	for i := range deps {
		d := &deps[i]
		if d.CreatedAt == nil || d.CreatedAt.Before(*notBefore) || aws.ToString(d.TaskDefinition) != taskDefinition {
			continue
		}
		if ours == nil || d.CreatedAt.Before(*ours.CreatedAt) {
			ours = d
		}
	}
	return ours
}

// tagNamesDigest checks, in tag mode, that the tag still names the digest
// the execution resolved and migrated, just before UpdateService has ECS
// resolve it: else DigestMismatch, with nothing deployed. (A push between
// this read and ECS's resolution is caught when the deployment completed:
// verifyDigest.) Digest mode deploys a revision pinned to the digest.
func (d *Deployer) tagNamesDigest(ctx context.Context, s State) error {
	img := s.Image
	if img.Mode != config.ImageTag {
		return nil
	}
	var registry *string
	if img.Registry != "" {
		registry = aws.String(img.Registry)
	}
	got, err := GetManifest(ctx, d.ECR, &ecr.BatchGetImageInput{RepositoryName: aws.String(img.Repository), RegistryId: registry,
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(img.Tag)}}})
	if err != nil {
		return fmt.Errorf("read which image tag %s of %s names before deploying it: %w", img.Tag, img.Repository, err)
	}
	names := ""
	if len(got.Images) > 0 && got.Images[0].ImageId != nil {
		names = aws.ToString(got.Images[0].ImageId.ImageDigest)
	}
	if names != img.Digest {
		return tagMovedBeforeDeployment(img.Repository, img.Tag, names, img.Digest)
	}
	return nil
}

func primaryOf(deps []ecstypes.Deployment) *ecstypes.Deployment {
	for i := range deps {
		if aws.ToString(deps[i].Status) == "PRIMARY" {
			return &deps[i]
		}
	}
	return nil
}

// verifyDigest reads which digest the tasks of our deployment run (ECS
// resolves a tag once per deployment and records the digest on each task's
// containers), and explains it when it is not the pushed one.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html#deployment-container-image-stability
func (d *Deployer) verifyDigest(ctx context.Context, s *State) error {
	tasks, err := d.deploymentTasks(ctx, s.Cluster, s.Service, s.Deployment.ID, ecstypes.DesiredStatusRunning)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		s.Image.Note = "No running task of the deployment to read the deployed digest from (desired count 0?)."
		return nil
	}
	for _, t := range tasks {
		for _, c := range t.Containers {
			if ImageRepository(aws.ToString(c.Image)) == s.Image.Repository && aws.ToString(c.ImageDigest) != "" {
				s.Image.DeployedDigest = aws.ToString(c.ImageDigest)
			}
		}
	}
	switch {
	case s.Image.DeployedDigest == "":
		s.Image.Note = "The deployment's tasks report no image digest for " + s.Image.Repository + "."
	case s.Image.DeployedDigest != s.Image.Digest:
		return deployedOtherImage(s.Deployment.ID, s.Service, s.Image.DeployedDigest, s.Image.Digest, s.Image.Tag)
	}
	return nil
}

// maxDeploymentTasks bounds how many of a service's tasks one look reads:
// ten DescribeTasks calls.
const maxDeploymentTasks = 1000

// deploymentTasks lists the service's tasks with the desired status and keeps
// those of the deployment (a service task's startedBy is its deployment's
// id). ListTasks cannot filter by startedBy and serviceName together: "When
// you specify startedBy as the filter, it must be the only filter that you
// use" (ListTasksInput.StartedBy), so the deployment is picked here.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
func (d *Deployer) deploymentTasks(ctx context.Context, cluster, service, deploymentID string, status ecstypes.DesiredStatus) ([]ecstypes.Task, error) {
	var arns []string
	pages := ecs.NewListTasksPaginator(d.ECS, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: status})
	for pages.HasMorePages() && len(arns) < maxDeploymentTasks {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tasks of service %s/%s: %w", cluster, service, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	var out []ecstypes.Task
	for chunk := range slices.Chunk(arns[:min(len(arns), maxDeploymentTasks)], 100) {
		// DescribeTasks: "A list of up to 100 task IDs or full ARN entries."
		desc, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
		if err != nil {
			return nil, fmt.Errorf("describe tasks of service %s/%s: %w", cluster, service, err)
		}
		for _, t := range desc.Tasks {
			if aws.ToString(t.StartedBy) == deploymentID {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// CheckDeployment looks at the service once and judges our deployment (a
// target of several services: each of them, see checkServices).
func (d *Deployer) CheckDeployment(ctx context.Context, s State) (State, error) {
	ctx = d.in(ctx, s)
	if len(s.Services) > 0 {
		return d.checkServices(ctx, s)
	}
	return d.checkOne(ctx, s, true)
}

// checkOne judges the deployment of s.Service; verify reads the digest its
// tasks run once it completed.
func (d *Deployer) checkOne(ctx context.Context, s State, verify bool) (State, error) {
	dep := &s.Deployment
	v, err := d.judgeDeployment(ctx, &s)
	if err != nil {
		return s, err
	}
	now := d.now()
	if v.Ours != nil {
		record(dep, v.Ours)
	} else {
		dep.Status = "INACTIVE"
	}
	if v.SD != nil {
		recordServiceDeployment(dep, *v.SD, now)
	}
	recordPause(&s, v.SD, now)
	switch v.Phase {
	case DeploymentCompleted:
		err := d.completed(ctx, &s, verify, now)
		return s, err
	case DeploymentRollingBack, DeploymentFailedPhase:
		err := d.rolledBack(ctx, &s, v, now)
		return s, err
	case DeploymentFailedNoRollback:
		return s, deploymentFailedNoRollback(dep.ID, s.Service, v.SD.failedCause(), d.stoppedTasks(ctx, s), dep.ServiceDeploymentARN)
	case DeploymentStoppedPhase:
		return s, deploymentStopped(dep.ID, s.Service, strings.TrimSuffix(orUnknown(v.SD.StatusReason), "."))
	case DeploymentReplaced:
		by := "another deployment"
		if v.Primary != nil {
			by = fmt.Sprintf("deployment %s (task definition %s)", aws.ToString(v.Primary.Id), aws.ToString(v.Primary.TaskDefinition))
		}
		if v.SD != nil && v.Current != "" {
			by += ", service deployment " + v.Current
		}
		return s, deploymentSuperseded(dep.ID, s.Service, by)
	}
	if err := timedOut(s, now); err != nil {
		return s, err
	}
	s.Poll.DeploymentSeconds = pollSeconds(s, now)
	return s, nil
}

// completed records our deployment's completion (after checking that the
// service runs the digest, if asked).
func (d *Deployer) completed(ctx context.Context, s *State, verify bool, now time.Time) error {
	dep := &s.Deployment
	if verify {
		if err := d.verifyDigest(ctx, s); err != nil {
			return err
		}
	}
	dep.Done = true
	dep.FinishedAt = ptrTime(now)
	if dep.StartedAt != nil {
		s.Phases.DeploymentSeconds = seconds(*dep.StartedAt, now)
	}
	s.Phases.TotalSeconds = seconds(s.Execution.StartTime, now)
	d.log().InfoContext(ctx, "deployment completed", "execution", s.Execution.ID, "cluster", s.Cluster,
		"service", s.Service, "deploymentId", dep.ID)
	return nil
}

// rolledBack ends a failed deployment in DeploymentRolledBack once ECS's
// rollback has settled, and holds the service (nil: look again) until then,
// so that the next queued execution does not deploy over it.
func (d *Deployer) rolledBack(ctx context.Context, s *State, v DeploymentVerdict, now time.Time) error {
	dep := &s.Deployment
	if v.Phase == DeploymentRollingBack {
		// Hold the service until ECS's rollback has settled, so that the next
		// queued execution does not deploy over it.
		if dep.Deadline != nil && !now.After(*dep.Deadline) {
			s.Poll.DeploymentSeconds = waitSeconds(s.Poll.DeploymentIntervalSeconds, dep.Deadline, now)
			return nil
		}
		return rollbackUnsettled(dep.ID, s.Service, v.SD.Status, dep.TimeoutSeconds, v.SD.failedCause(), dep.ServiceDeploymentARN)
	}
	if v.SD != nil {
		outcome := "ECS rolled it back; the service runs the previous version"
		if v.SD.Status == string(ecstypes.ServiceDeploymentStatusRollbackFailed) {
			outcome = "ECS's rollback failed too (ROLLBACK_FAILED): the service may run neither version; act on it now"
		}
		if by := rollbackRequest(dep); by != "" {
			return rolledBackOnRequest(dep.ID, s.Service, by, outcome, dep.ServiceDeploymentARN)
		}
		return deploymentRolledBack(dep.ID, s.Service, v.SD.failedCause(), outcome, d.stoppedTasks(ctx, *s), strings.TrimSuffix(eventList(v.Events), "."), dep.ServiceDeploymentARN, ServiceDeploymentConsoleURL(d.placeOf(*s).Region, s.Cluster, s.Service))
	}
	// Hold the service until ECS's rollback has settled, so that the next
	// queued execution does not deploy over it.
	if rb := rollingBackTo(v, *dep, now); rb != "" {
		dep.RollingBackTo = rb
		s.Poll.DeploymentSeconds = waitSeconds(s.Poll.DeploymentIntervalSeconds, dep.Deadline, now)
		return nil
	}
	return rolledBackByCircuitBreaker(dep.ID, s.Service, strings.TrimSuffix(orUnknown(dep.RolloutStateReason), "."), dep.FailedTasks, d.stoppedTasks(ctx, *s), strings.TrimSuffix(eventList(v.Events), "."))
}

// timedOut ends a deployment that passed its deadline in DeploymentTimedOut.
func timedOut(s State, now time.Time) error {
	dep := &s.Deployment
	dl := dep.deadline()
	if dl == nil || !now.After(*dl) {
		return nil
	}
	progress := "rollout " + orUnknown(dep.RolloutState)
	if dep.Progress != "" {
		progress = dep.Progress
	}
	if p := dep.Paused; p != nil {
		return pausedPastTimeout(dep.ID, s.Service, dep.TimeoutSeconds, p.Stage, p.ID, p.Since.UTC().Format(time.RFC3339), p.Answer)
	}
	return deploymentTimedOut(dep.ID, s.Service, dep.TimeoutSeconds, progress, dep.RunningCount, dep.DesiredCount, dep.PendingCount)
}

// deadline is when the workflow gives up on the deployment. Waiting at a
// pause hook does not count against deploymentTimeout: a person decides,
// and ECS takes the hook's timeout action at its expiresAt, which the
// workflow then sees. Once the pause is answered the deadline moves on by
// the time it took (recordPause).
func (dep Deployment) deadline() *time.Time {
	dl := dep.Deadline
	if p := dep.Paused; p != nil && p.ExpiresAt != nil && dl != nil && p.ExpiresAt.After(*dl) {
		dl = ptrTime(p.ExpiresAt.Add(time.Minute))
	}
	if dl != nil && dep.LatestEnd != nil && dl.After(*dep.LatestEnd) {
		dl = dep.LatestEnd
	}
	return dl
}

// latestEndMargin keeps the deployment's deadline this far before the
// execution's own timeout, so that a long pause still ends in
// DeploymentTimedOut with its cause, not in an execution TIMED_OUT.
const latestEndMargin = 10 * time.Minute

// pollSeconds is the next safety poll of the deployment wait: the
// configured interval, or PausePollInterval while ECS waits at a pause hook.
func pollSeconds(s State, now time.Time) int {
	interval := s.Poll.DeploymentIntervalSeconds
	if s.Deployment.Paused != nil {
		interval = max(interval, int(config.PausePollInterval/time.Second))
	}
	return waitSeconds(interval, s.Deployment.deadline(), now)
}

// judgeDeployment reads the service and ECS's record of our deployment, and
// judges it: by the record when there is one, else by deployments[] (and
// says so in s.Deployment.JudgedBy).
func (d *Deployer) judgeDeployment(ctx context.Context, s *State) (DeploymentVerdict, error) {
	svc, err := d.describeService(ctx, s.Cluster, s.Service)
	if err != nil {
		return DeploymentVerdict{}, err
	}
	v := JudgeDeployment(svc, s.Deployment.ID, s.Deployment.RolloutState == string(ecstypes.DeploymentRolloutStateFailed))
	v.Current = aws.ToString(svc.CurrentServiceDeployment)
	arn := s.Deployment.ServiceDeploymentARN
	if arn == "" && s.Deployment.StaleServiceDeploymentARN != "" && s.Deployment.CreatedAt != nil {
		// An earlier look found only a stale record: look for ours again.
		found, err := d.serviceDeploymentOf(ctx, s.Cluster, s.Service, *s.Deployment.CreatedAt)
		if err != nil || found == nil {
			s.Deployment.JudgedBy = "deployments: ECS lists no service deployment created with ours yet"
			return v, err
		}
		arn = aws.ToString(found.ServiceDeploymentArn)
		s.Deployment.ServiceDeploymentARN = arn
	}
	if arn == "" {
		return v, nil
	}
	out, err := d.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return v, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		reason := "no answer"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		s.Deployment.JudgedBy = "deployments: ECS has no record of service deployment " + arn + " (" + reason + ")"
		return v, nil
	}
	sd := out.ServiceDeployments[0]
	if created := s.Deployment.CreatedAt; created != nil && sd.CreatedAt != nil && !CreatedWith(*sd.CreatedAt, *created) {
		// UpdateService named an earlier service deployment as current
		// (currentServiceDeployment can be stale, kayac/ecspresso #945):
		// judging it would report the previous one's end as ours.
		found, err := d.serviceDeploymentOf(ctx, s.Cluster, s.Service, *created)
		if err != nil {
			return v, err
		}
		if found == nil {
			s.Deployment.StaleServiceDeploymentARN, s.Deployment.ServiceDeploymentARN = arn, ""
			s.Deployment.JudgedBy = fmt.Sprintf("deployments: %s, which ECS named as current, was created before our deployment, and ECS lists no service deployment created with ours yet", arn)
			return v, nil
		}
		s.Deployment.StaleServiceDeploymentARN, s.Deployment.ServiceDeploymentARN = arn, aws.ToString(found.ServiceDeploymentArn)
		sd = *found
	}
	phase, reading := JudgeServiceDeployment(sd, v.Current)
	if phase == DeploymentStoppedPhase || phase == DeploymentFailedNoRollback {
		// The service was read before its service deployment: a newer
		// deployment that stopped ours in between (ECS stops a deployment
		// a newer one replaces) is only in a fresher read of the service.
		// Read it again before concluding that no one replaced ours.
		again, err := d.describeService(ctx, s.Cluster, s.Service)
		if err != nil {
			return v, err
		}
		v = JudgeDeployment(again, s.Deployment.ID, s.Deployment.RolloutState == string(ecstypes.DeploymentRolloutStateFailed))
		v.Current = aws.ToString(again.CurrentServiceDeployment)
		phase, reading = JudgeServiceDeployment(sd, v.Current)
	}
	v.Phase, v.SD = phase, &reading
	s.Deployment.JudgedBy = "serviceDeployment"
	return v, nil
}

// sameCall bounds how far apart ECS may stamp the deployment (deployments[])
// and the service deployment that one UpdateService creates. The previous
// service deployment is older by at least a whole rollout.
const sameCall = 2 * time.Second

// CreatedWith says whether a service deployment created at sd can be the
// record of the deployment created at ours (both on ECS's clock): it was
// not created before it, give or take sameCall.
func CreatedWith(sd, ours time.Time) bool { return !sd.Before(ours.Add(-sameCall)) }

// serviceDeploymentOf finds the service deployment created with ours: the
// oldest that ListServiceDeployments lists as created since (a newer one
// is someone else's, which CheckDeployment judges as replacing ours).
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html
func (d *Deployer) serviceDeploymentOf(ctx context.Context, cluster, service string, created time.Time) (*ecstypes.ServiceDeployment, error) {
	var oldest *ecstypes.ServiceDeploymentBrief
	err := d.listServiceDeployments(ctx, ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: aws.String(service),
		CreatedAt: &ecstypes.CreatedAt{After: aws.Time(created.Add(-sameCall))}}, func(b ecstypes.ServiceDeploymentBrief) bool {
		if CreatedWith(aws.ToTime(b.CreatedAt), created) && (oldest == nil || aws.ToTime(b.CreatedAt).Before(aws.ToTime(oldest.CreatedAt))) {
			oldest = &b
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if oldest == nil {
		return nil, nil
	}
	arn := aws.ToString(oldest.ServiceDeploymentArn)
	out, err := d.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, nil
	}
	return &out.ServiceDeployments[0], nil
}

// rollbackRequest says who asked ECS to roll our deployment back and why,
// if a person did (deployer rollback, recorded in Decisions).
func rollbackRequest(dep *Deployment) string {
	for _, d := range slices.Backward(dep.Decisions) {
		if d.Action == "ROLLBACK" {
			where := ""
			if d.Stage != "" {
				where = " at " + d.Stage
			}
			return fmt.Sprintf("%s asked for it%s (%s)", d.By, where, orUnknown(d.Reason))
		}
	}
	return ""
}

// recordPause notes the pause hook ECS waits at (and how to answer it),
// and the answer a person gave, which the CLI delivered with its wake.
func recordPause(s *State, r *ServiceDeploymentReading, now time.Time) {
	dep := &s.Deployment
	if w := s.Wake; w != nil && w.Decision != nil {
		d := *w.Decision
		d.Reason = clip(d.Reason, MaxReasonRunes)
		if !slices.Contains(dep.Decisions, d) {
			dep.Decisions = append(dep.Decisions, d)
		}
	}
	if dep.Paused != nil && (r == nil || r.Hook == nil || r.Hook.ID != dep.Paused.ID) {
		// The pause was answered: the rest of the rollout gets the time it took.
		if since := dep.Paused.Since; since != nil {
			if dep.Deadline != nil {
				dep.Deadline = ptrTime(dep.Deadline.Add(now.Sub(*since)))
			}
			dep.PausedSeconds += int(now.Sub(*since).Seconds())
		}
		dep.Paused = nil
	}
	if r == nil || r.Hook == nil {
		return
	}
	if dep.Paused != nil {
		dep.Paused.Hook = *r.Hook
		return
	}
	dep.Paused = &Paused{Hook: *r.Hook, Since: ptrTime(now),
		Answer: fmt.Sprintf("deployer continue %s | deployer rollback %s --reason …", s.Environment, s.Environment)}
}

func recordServiceDeployment(dep *Deployment, r ServiceDeploymentReading, now time.Time) {
	dep.ServiceDeploymentStatus, dep.Stage, dep.TrafficPercent, dep.BakeMinutes = r.Status, r.Stage, r.TrafficPercent, r.BakeMinutes
	if r.Stage == "BAKE_TIME" && dep.BakingSince == nil {
		dep.BakingSince = ptrTime(now)
	}
	dep.Progress = r.Progress(dep.BakingSince, now)
}

// rollingBackTo is ECS's rollback deployment of our failed one while it is
// still in progress and our deadline has not passed, else "".
func rollingBackTo(v DeploymentVerdict, dep Deployment, now time.Time) string {
	if rb := v.Primary; rb != nil && aws.ToString(rb.Id) != dep.ID && rb.RolloutState == ecstypes.DeploymentRolloutStateInProgress &&
		dep.Deadline != nil && !now.After(*dep.Deadline) {
		return aws.ToString(rb.Id)
	}
	return ""
}

func record(dep *Deployment, d *ecstypes.Deployment) {
	dep.Status = aws.ToString(d.Status)
	dep.RolloutState = string(d.RolloutState)
	dep.RolloutStateReason = aws.ToString(d.RolloutStateReason)
	dep.DesiredCount = d.DesiredCount
	dep.RunningCount = d.RunningCount
	dep.PendingCount = d.PendingCount
	dep.FailedTasks = d.FailedTasks
}

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

func eventList(evs []string) string {
	if len(evs) == 0 {
		return "none"
	}
	return strings.Join(evs, " | ")
}
