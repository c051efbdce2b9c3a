package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// ResolveInput is what the ResolveTarget state passes: the execution input
// untouched, and the execution from the context object.
type ResolveInput struct {
	Input     json.RawMessage `json:"input"`
	Execution Execution       `json:"execution"`
}

// ResolveTarget reads the input, finds the configured target, checks the image
// exists and reads how the service runs, and returns the initial State.
func (d *Deployer) ResolveTarget(ctx context.Context, in ResolveInput) (State, error) {
	req, err := ParseInput(in.Input)
	if err != nil {
		return State{}, err
	}
	target, err := d.lookup(req)
	if err != nil {
		return State{}, err
	}
	if err := d.checkName(in.Execution.Name, target); err != nil {
		return State{}, err
	}
	s := newState(in.Execution, req, target)
	if s.Image.Digest, err = d.resolveDigest(ctx, req, target); err != nil {
		return State{}, err
	}
	if req.Rollback != nil {
		s.Rollback = &Rollback{Of: req.Rollback.Of, To: s.Image.Digest, By: req.Rollback.By}
	}
	d.promoter(ctx, &s, req)
	if len(target.Windows) > 0 {
		// Decided as of the execution's start, as the queue reads it for
		// other executions (Candidate.Ready), so that both agree.
		at := s.Execution.StartTime
		if at.IsZero() {
			at = d.now()
		}
		s.Window = decideWindow(target.Windows, req, at)
	}
	if err := d.resolveService(d.in(ctx, s), &s, req, target); err != nil {
		return State{}, err
	}
	now := d.now()
	s.Phases.ResolveSeconds = seconds(s.Execution.StartTime, now)
	d.log().InfoContext(ctx, "target resolved", "execution", s.Execution.ID, "environment", s.Environment,
		"cluster", s.Cluster, "service", s.Service, "digest", s.Image.Digest, "taskDefinition", s.Launch.TaskDefinition)
	return s, nil
}

// checkName refuses an execution whose name says another configured
// environment than its input deploys: the queue reads the environment from
// the name (executions.EnvironmentOfName) and would misread it.
func (d *Deployer) checkName(name string, target config.Resolved) error {
	env, ok := executions.EnvironmentOfName(name)
	if !ok || env == target.Environment {
		return nil
	}
	if _, known := d.Config.ByEnvironment(env); !known {
		return nil
	}
	return nameSaysAnotherEnvironment(name, env, target.Environment)
}

// newState is the State a target starts an execution with: its settings for
// the queue, the polls, the deployment and the approval.
func newState(ex Execution, req Request, target config.Resolved) State {
	s := State{
		Execution:   ex,
		Trigger:     req.Trigger,
		Environment: target.Environment,
		Cluster:     target.Cluster,
		Service:     target.Service,
		Account:     target.Account,
		Region:      target.Region,
		Image:       Image{Registry: req.Registry, Repository: target.Repository, Tag: target.Tag, Mode: target.Image},
		Turn: Turn{
			SettleSeconds:          int(time.Duration(target.QueueSettle) / time.Second),
			PollSeconds:            target.QueuePollInterval.Seconds(),
			DuplicateWindowSeconds: int(time.Duration(target.DuplicateWindow) / time.Second),
			Requires:               target.Requires,
			RequiresWaitSeconds:    int(time.Duration(target.RequiresWait) / time.Second),
			OverrideGuard:          req.OverrideGuard,
			SpanSeconds:            int(target.TurnSpan() / time.Second),
		},
		Poll: Poll{
			MigrationSeconds:          target.MigrationPollInterval.Seconds(),
			DeploymentSeconds:         target.DeploymentPollInterval.Seconds(),
			MigrationIntervalSeconds:  target.MigrationPollInterval.Seconds(),
			DeploymentIntervalSeconds: target.DeploymentPollInterval.Seconds(),
		},
		Deployment: Deployment{TimeoutSeconds: target.DeploymentTimeout.Seconds()},
	}
	s.Approval = approvalOf(target)
	return s
}

// resolveService reads the service (and the others of a target of several)
// and its task definition, checks that the target can deploy them, and
// plans the migration.
func (d *Deployer) resolveService(ctx context.Context, s *State, req Request, target config.Resolved) error {
	svc, err := d.describeService(ctx, target.Cluster, target.Service)
	if err != nil {
		return err
	}
	if err := CheckController(svc, target); err != nil {
		return err
	}
	if err := CheckBakeTime(svc, target); err != nil {
		return err
	}
	s.Launch = LaunchOf(svc)
	if len(target.Services) > 0 {
		if s.Services, err = d.resolveServices(ctx, target, svc); err != nil {
			return err
		}
		s.OnFailure = target.OnFailure
	}
	td, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		return fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
	}
	if err := CheckTaskDefinition(target, td.TaskDefinition, !req.SkipMigration); err != nil {
		return err
	}
	if err := CheckTagMode(target, td.TaskDefinition); err != nil {
		return err
	}
	switch {
	case target.Migration.Disabled:
		s.Migration = Migration{Skipped: true, SkipReason: "the target has no migration (\"migration\": false)", Done: true}
	case req.Rollback != nil:
		s.Migration = Migration{Skipped: true, SkipReason: "a rollback returns to earlier code and never runs the migration", Done: true}
	case req.SkipMigration:
		s.Migration = Migration{Skipped: true, SkipReason: skipRequested, Done: true}
	default:
		if s.Migration, err = PlanMigration(target, td.TaskDefinition, target.PlaceIn(d.home()).Region); err != nil {
			return err
		}
	}
	return nil
}

// resolveServices checks each other service of a target of several as the
// first is checked (it exists, UpdateService can deploy it, its bake fits
// the timeout, and with "image": "digest" the stack may pin its task
// definition), so that nothing runs unless all of them can deploy. It
// records the revision each one runs now.
func (d *Deployer) resolveServices(ctx context.Context, target config.Resolved, first ecstypes.Service) ([]ServiceRollout, error) {
	out := []ServiceRollout{{Service: target.Service, TaskDefinition: aws.ToString(first.TaskDefinition), Outcome: OutcomePending}}
	for _, ref := range target.Services[1:] {
		t := target
		t.Service, t.TaskDefinitionFamily = ref.Service, ref.TaskDefinitionFamily
		svc, err := d.describeService(ctx, t.Cluster, t.Service)
		if err != nil {
			return nil, err
		}
		if err := CheckController(svc, t); err != nil {
			return nil, err
		}
		if err := CheckBakeTime(svc, t); err != nil {
			return nil, err
		}
		td, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
		if err != nil {
			return nil, fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
		}
		if err := CheckTaskDefinition(t, td.TaskDefinition, false); err != nil {
			return nil, err
		}
		if err := CheckTagMode(t, td.TaskDefinition); err != nil {
			return nil, err
		}
		r := ServiceRollout{Service: t.Service, TaskDefinition: aws.ToString(svc.TaskDefinition), Outcome: OutcomePending}
		// Where the container of the target's image logs: a failed
		// deployment's cause carries the log of one of its stopped tasks.
		t.Migration.Container = ""
		if m, err := PlanMigration(t, td.TaskDefinition, t.PlaceIn(d.home()).Region); err == nil && m.LogGroup != "" {
			r.Log = &TaskLog{Container: m.Container, Group: m.LogGroup, StreamPrefix: m.LogStreamPrefix, Region: m.LogRegion}
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *Deployer) lookup(req Request) (config.Resolved, error) {
	if req.Environment != "" {
		t, ok := d.Config.ByEnvironment(req.Environment)
		if !ok {
			return t, unknownEnvironment(req.Environment, strings.Join(d.Config.Environments(), ", "))
		}
		return t, nil
	}
	t, ok := d.Config.ByImage(req.Repository, req.Tag)
	if !ok {
		var known []string
		for _, r := range d.Config.Repositories() {
			known = append(known, r.Repository+":"+strings.Join(r.Tags, "|"))
		}
		return t, noTargetForImage(req.Repository, req.Tag, strings.Join(known, ", "))
	}
	return t, nil
}

// resolveDigest checks the image exists. An event names its digest; a manual
// start deploys what the tag names now, and a digest given by hand must be that
// one, because a forced deployment deploys the tag. A rollback names its
// digest, and moves the tag back to it before deploying (StartDeployment).
func (d *Deployer) resolveDigest(ctx context.Context, req Request, t config.Resolved) (string, error) {
	id := ecrtypes.ImageIdentifier{ImageTag: aws.String(t.Tag)}
	byDigest := req.Trigger.Type == "push" || req.Rollback != nil
	if byDigest {
		id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(req.Digest)}
	}
	what := "tag " + t.Tag
	if byDigest {
		what = "digest " + req.Digest
	}
	digest, err := DescribeImage(ctx, d.ECR, req.Registry, t.Repository, id, what)
	if err != nil {
		return "", err
	}
	if req.Trigger.Type == "manual" && req.Digest != "" && req.Digest != digest {
		return "", digestNotTheTags(req.Digest, t.Tag, digest)
	}
	return digest, nil
}

// ImagesAPI reads an image's details.
type ImagesAPI interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// DescribeImage finds an image of a repository by tag or digest (what says
// which, for the error) and returns its digest, or ImageNotFound naming a
// missing repository or image.
func DescribeImage(ctx context.Context, api ImagesAPI, registry, repository string, id ecrtypes.ImageIdentifier, what string) (string, error) {
	in := &ecr.DescribeImagesInput{RepositoryName: aws.String(repository), ImageIds: []ecrtypes.ImageIdentifier{id}}
	if registry != "" {
		in.RegistryId = aws.String(registry)
	}
	out, err := api.DescribeImages(ctx, in)
	var notFound *ecrtypes.ImageNotFoundException
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noRepo):
		return "", noRepository(repository)
	case errors.As(err, &notFound) || (err == nil && len(out.ImageDetails) == 0):
		return "", noImage(repository, what)
	case err != nil:
		return "", fmt.Errorf("describe image %s (%s): %w", repository, what, err)
	}
	return aws.ToString(out.ImageDetails[0].ImageDigest), nil
}

func (d *Deployer) describeService(ctx context.Context, cluster, service string) (ecstypes.Service, error) {
	return DescribeService(ctx, d.ECS, cluster, service)
}

// ServicesAPI reads a service and its task definition: ResolveTarget, and
// deployer check, plan and init, which judge a target as ResolveTarget would.
type ServicesAPI interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

var _ ServicesAPI = (*ecs.Client)(nil)

// DescribeService reads an ACTIVE service, or says why it cannot be
// deployed: no cluster, no service (DescribeServices answers it as a
// failure, not an error), or a service DRAINING or INACTIVE.
func DescribeService(ctx context.Context, api ServicesAPI, cluster, service string) (ecstypes.Service, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	var noCluster *ecstypes.ClusterNotFoundException
	if errors.As(err, &noCluster) {
		return ecstypes.Service{}, clusterNotFound(cluster)
	}
	if err != nil {
		return ecstypes.Service{}, fmt.Errorf("describe service %s/%s: %w", cluster, service, err)
	}
	if len(out.Services) > 0 {
		s := out.Services[0]
		if st := aws.ToString(s.Status); st != "ACTIVE" {
			return ecstypes.Service{}, serviceNotActive(service, cluster, st)
		}
		return s, nil
	}
	reason := "MISSING"
	if len(out.Failures) > 0 {
		reason = aws.ToString(out.Failures[0].Reason)
	}
	return ecstypes.Service{}, noService(service, cluster, reason)
}

// LaunchOf is how the migration's task runs: the service's task
// definition, launch type or capacity provider strategy, and network.
func LaunchOf(svc ecstypes.Service) Launch {
	l := Launch{
		TaskDefinition:  aws.ToString(svc.TaskDefinition),
		LaunchType:      string(svc.LaunchType),
		PlatformVersion: aws.ToString(svc.PlatformVersion),
	}
	for _, c := range svc.CapacityProviderStrategy {
		l.CapacityProviderStrategy = append(l.CapacityProviderStrategy, CapacityProviderStrategy{
			CapacityProvider: aws.ToString(c.CapacityProvider), Weight: c.Weight, Base: c.Base,
		})
	}
	if len(l.CapacityProviderStrategy) > 0 {
		// launchType and capacityProviderStrategy are mutually exclusive in RunTask.
		l.LaunchType = ""
	}
	if nc := svc.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		l.Network = &AwsvpcConfiguration{
			Subnets:        nc.AwsvpcConfiguration.Subnets,
			SecurityGroups: nc.AwsvpcConfiguration.SecurityGroups,
			AssignPublicIP: string(nc.AwsvpcConfiguration.AssignPublicIp),
		}
	}
	return l
}

// PlanMigration picks the migration container and its log location from the
// service's task definition.
func PlanMigration(t config.Resolved, td *ecstypes.TaskDefinition, region string) (Migration, error) {
	m := Migration{
		Container:            t.Migration.Container,
		Command:              t.Migration.Command,
		TimeoutSeconds:       t.MigrationTimeout.Seconds(),
		MaxAttempts:          1 + t.CapacityRetries,
		RetryIntervalSeconds: t.CapacityRetryInterval.Seconds(),
	}
	var chosen *ecstypes.ContainerDefinition
	var names []string
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		names = append(names, aws.ToString(c.Name))
		if m.Container != "" && aws.ToString(c.Name) == m.Container {
			chosen = c
		}
	}
	if m.Container != "" && chosen == nil {
		return m, noMigrationContainer(aws.ToString(td.TaskDefinitionArn), m.Container, strings.Join(names, ", "))
	}
	if chosen == nil {
		chosen = defaultContainer(td.ContainerDefinitions, t.Repository)
		m.Container = aws.ToString(chosen.Name)
	}
	if chosen.LogConfiguration != nil && chosen.LogConfiguration.LogDriver != ecstypes.LogDriverAwslogs {
		m.LogDriver = string(chosen.LogConfiguration.LogDriver)
	}
	if chosen.LogConfiguration != nil && chosen.LogConfiguration.LogDriver == ecstypes.LogDriverAwslogs {
		o := chosen.LogConfiguration.Options
		m.LogGroup = o["awslogs-group"]
		m.LogStreamPrefix = o["awslogs-stream-prefix"]
		m.LogRegion = o["awslogs-region"]
		if m.LogRegion == "" {
			m.LogRegion = region
		}
	}
	return m, nil
}

// defaultContainer is the container that runs an image of the target's
// repository, else the first essential container, else the first.
func defaultContainer(cs []ecstypes.ContainerDefinition, repository string) *ecstypes.ContainerDefinition {
	for i := range cs {
		if ImageRepository(aws.ToString(cs[i].Image)) == repository {
			return &cs[i]
		}
	}
	for i := range cs {
		if cs[i].Essential == nil || *cs[i].Essential {
			return &cs[i]
		}
	}
	return &cs[0]
}

// ImageRepository returns the repository part of an image reference:
// "123.dkr.ecr.us-east-1.amazonaws.com/team/app:tag" → "team/app".
func ImageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	if i := strings.Index(image, "/"); i >= 0 && strings.ContainsAny(image[:i], ".:") {
		image = image[i+1:]
	}
	return image
}

// CheckBakeTime refuses a target whose deploymentTimeout cannot cover the
// least time the service's strategy takes: ECS reports SUCCESSFUL only
// after the bake, and LINEAR and CANARY bake between their traffic steps
// too (MinimumDuration), so such a deployment could only end
// DeploymentTimedOut while ECS goes on, and the next queued push would
// deploy over it.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
func CheckBakeTime(svc ecstypes.Service, t config.Resolved) error {
	least, how := MinimumDuration(svc.DeploymentConfiguration)
	if least == 0 {
		return nil
	}
	if timeout := time.Duration(t.DeploymentTimeout); timeout <= least {
		return timeoutShorterThanBake(t.Cluster, t.Service, least, how, timeout, (least + 30*time.Minute).String())
	}
	return nil
}

// ECS's defaults for the traffic steps ("The default value is …",
// LinearConfiguration and CanaryConfiguration).
const (
	defaultStepPercent    = 10.0
	defaultStepBakeMinute = 6
	defaultCanaryBake     = 10
)

// MinimumDuration is the least time a deployment of the strategy takes
// besides its rollout, and how it adds up: BLUE_GREEN bakes
// (bakeTimeInMinutes); LINEAR shifts ceil(100/stepPercent) steps with a
// step bake between each ("This bake time is not applied after reaching
// 100 percent traffic"), then bakes; CANARY bakes the canary
// (canaryBakeTimeInMinutes), then the deployment. ROLLING has none.
func MinimumDuration(c *ecstypes.DeploymentConfiguration) (time.Duration, string) {
	if c == nil || c.Strategy == ecstypes.DeploymentStrategyRolling || c.Strategy == "" {
		return 0, ""
	}
	bake := aws.ToInt32(c.BakeTimeInMinutes)
	minutes, how := bake, fmt.Sprintf("%s: a bake of %d min", c.Strategy, bake)
	switch c.Strategy {
	case ecstypes.DeploymentStrategyLinear:
		percent, stepBake := defaultStepPercent, int32(defaultStepBakeMinute)
		if l := c.LinearConfiguration; l != nil {
			percent = valueOr(l.StepPercent, percent)
			stepBake = valueOr(l.StepBakeTimeInMinutes, stepBake)
		}
		steps := int32(math.Ceil(100/percent - 1e-9))
		minutes += (steps - 1) * stepBake
		how = fmt.Sprintf("LINEAR: %d steps of %g%% with %d step bakes of %d min, then a bake of %d min", steps, percent, steps-1, stepBake, bake)
	case ecstypes.DeploymentStrategyCanary:
		canary := int32(defaultCanaryBake)
		if cc := c.CanaryConfiguration; cc != nil {
			canary = valueOr(cc.CanaryBakeTimeInMinutes, canary)
		}
		minutes += canary
		how = fmt.Sprintf("CANARY: a canary bake of %d min, then a bake of %d min", canary, bake)
	}
	return time.Duration(minutes) * time.Minute, how
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// CheckController refuses services whose deployments UpdateService cannot
// start: "For services using the blue/green (CODE_DEPLOY) deployment
// controller, only the desired count, deployment configuration, health check
// grace period, task placement constraints and strategies, enable ECS managed
// tags option, and propagate tags can be updated using this API"; for the
// EXTERNAL controller the task definition cannot be updated either
// (UpdateService API reference). Checked before anything runs, so that no
// migration runs for a deployment that cannot happen.
func CheckController(svc ecstypes.Service, t config.Resolved) error {
	if svc.DeploymentController == nil {
		return nil
	}
	switch c := svc.DeploymentController.Type; c {
	case ecstypes.DeploymentControllerTypeCodeDeploy:
		return codeDeployController(t.Cluster, t.Service)
	case ecstypes.DeploymentControllerTypeExternal:
		return externalController(t.Cluster, t.Service)
	}
	return nil
}

// CheckTaskDefinition compares the service's task definition with what the
// stack's IAM policy allows, which targets.json decides: RunTask only on
// task-definition/<taskDefinitionFamily>:*, and iam:PassRole, which RunTask
// and RegisterTaskDefinition need for the task and execution roles, only on
// taskRoles. A mismatch fails here, before the migration, naming the entry to
// add, rather than as AccessDenied half-way.
func CheckTaskDefinition(t config.Resolved, td *ecstypes.TaskDefinition, runsMigration bool) error {
	pins := t.Image == config.ImageDigest
	if td == nil || (!pins && (t.Migration.Disabled || !runsMigration)) {
		return nil
	}
	var problems []string
	if f := aws.ToString(td.Family); f != t.TaskDefinitionFamily {
		problems = append(problems, fmt.Sprintf("its family is %q, but the target's taskDefinitionFamily is %q: set \"taskDefinitionFamily\": %q", f, t.TaskDefinitionFamily, f))
	}
	for _, role := range []struct{ what, arn string }{{"task role", aws.ToString(td.TaskRoleArn)}, {"execution role", aws.ToString(td.ExecutionRoleArn)}} {
		if role.arn == "" || roleAllowed(role.arn, t.TaskRoles) {
			continue
		}
		problems = append(problems, fmt.Sprintf("its %s %s is not in taskRoles: add %q to \"taskRoles\"", role.what, role.arn, roleEntry(role.arn)))
	}
	if len(problems) == 0 {
		return nil
	}
	return taskDefinitionNotCovered(aws.ToString(td.TaskDefinitionArn), t.Cluster, t.Service, t.Environment, strings.Join(problems, "; "))
}

// CheckTagMode refuses a target in tag mode whose service's task definition
// does not run the target's tag: a forced new deployment deploys what the
// task definition names, so a service whose container says app:staging
// would deploy staging's image on a push of prod, and its migration would
// run it too. Digest mode pins the pushed digest whatever the tag says.
func CheckTagMode(t config.Resolved, td *ecstypes.TaskDefinition) error {
	if td == nil || t.Image != config.ImageTag {
		return nil
	}
	var wrong []string
	for _, c := range td.ContainerDefinitions {
		image := aws.ToString(c.Image)
		if ImageRepository(image) == t.Repository && image != imageName(image)+":"+t.Tag {
			wrong = append(wrong, fmt.Sprintf("container %s runs %s", aws.ToString(c.Name), image))
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	return tagModeRunsAnotherImage(aws.ToString(td.TaskDefinitionArn), t.Cluster, t.Service, t.Environment, strings.Join(wrong, "; "), t.Repository+":"+t.Tag)
}

// roleAllowed says whether a role ARN is one of the configured taskRoles: an
// ARN, or a name that the stack turns into arn:…:role/<name> (no path).
func roleAllowed(arn string, roles []string) bool {
	for _, r := range roles {
		if r == arn || (!strings.HasPrefix(r, "arn:") && strings.HasSuffix(arn, ":role/"+r)) {
			return true
		}
	}
	return false
}

// roleEntry is what to add to taskRoles for a role ARN: its name, or the
// whole ARN for a role with a path (a name stands for a role without one).
func roleEntry(arn string) string {
	_, res, _ := strings.Cut(arn, ":role/")
	if res == "" || strings.Contains(res, "/") {
		return arn
	}
	return res
}

// decideWindow decides, at the start, whether the deployment may go now or
// waits for its next deployment window (WaitingForWindow, a Wait state: no
// polling). A window is checked once: a deployment that started inside one
// runs to its end.
func decideWindow(ws config.Windows, req Request, now time.Time) *Window {
	w := &Window{Schedule: ws.String()}
	open, at := ws.Open(now)
	switch {
	case open:
		w.Decision, w.Reason = WindowOpen, "inside the deployment window ("+ws.String()+") until "+at.UTC().Format(time.RFC3339)
	case req.OverrideWindow:
		w.Decision, w.Reason = WindowOverridden, "outside the deployment window ("+ws.String()+"); overridden by a manual start: "+req.Trigger.Reason
	default:
		until := at.UTC().Truncate(time.Second)
		w.Decision, w.WaitUntil = WindowWaiting, &until
		w.Reason = fmt.Sprintf("outside the deployment window (%s): waits until it opens at %s (in %s)", ws.String(), until.Format(time.RFC3339), until.Sub(now).Round(time.Minute))
	}
	return w
}

// promoter names a push's starter from the promotion the deployer API
// recorded for it, if any (promotion.go). A record that cannot be read
// leaves the starter unknown, as for any push, and says so in the state:
// the deployment is not held back for its audit line.
func (d *Deployer) promoter(ctx context.Context, s *State, req Request) {
	if req.Trigger.Type != "push" || d.Promotions == nil || d.PromotionsTable == "" {
		return
	}
	p, err := LookupPromotion(ctx, d.Promotions, d.PromotionsTable, req.Repository, req.Tag, s.Image.Digest, req.PushedAt)
	switch {
	case err != nil:
		d.log().WarnContext(ctx, "who promoted is unknown", "error", err)
		s.Trigger.Note = "who promoted this image could not be read (" + err.Error() + "): the starter is unknown, as for a push by other means"
	case p != nil:
		s.Trigger.By, s.Trigger.Verified, s.Trigger.Reason = p.By, p.Verified, p.Reason
		s.Trigger.PromotedAt = p.At
	}
}
