package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

var ecsOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"DescribeServices":       (*Emulator).describeServices,
	"DescribeTaskDefinition": (*Emulator).describeTaskDefinition,
	"RunTask":                (*Emulator).runTask,
	"DescribeTasks":          (*Emulator).describeTasks,
	"StopTask":               (*Emulator).stopTask,
	"UpdateService":          (*Emulator).updateService,
	"RegisterTaskDefinition": (*Emulator).registerTaskDefinition,
	"ListTasks":              (*Emulator).listTasks,
}

type cluster struct {
	name, arn string
	services  map[string]*service
}

type service struct {
	name, arn          string
	cluster            *cluster
	status             string
	taskDefinition     string
	desired            int32
	launchType         string
	capacityProviders  []wCapacityProviderItem
	platformVersion    string
	network            *wNetworkConfiguration
	breaker            *wCircuitBreaker
	controller         string
	deployments        []*deployment // PRIMARY first
	events             []wServiceEvent
	steps              []step
	deploymentsStarted int
}

type deployment struct {
	id, status, taskDefinition string
	desired, running, pending  int32
	failed                     int32
	rolloutState, reason       string
	createdAt, updatedAt       time.Time
	// rampEnd is when a rolling deployment reaches its desired count.
	rampEnd time.Time
	// digests is what each container's image resolved to when the deployment
	// started: ECS resolves a tag once per deployment.
	digests map[string]string
	// endedAt is when it left IN_PROGRESS (COMPLETED or FAILED).
	endedAt time.Time
}

// step is a scheduled change of a service, applied when the clock passes at.
type step struct {
	at    time.Time
	apply func(now time.Time)
}

type taskDef struct {
	wTaskDefinition
}

type task struct {
	arn, clusterArn, taskDefArn                    string
	launchType, capacityProvider, group, startedBy string
	createdAt                                      time.Time
	containers                                     []wContainerDefinition
	overrides                                      *wTaskOverride
	plan                                           MigrationScript
	stoppedAt                                      time.Time
	stopReason                                     string
	digests                                        map[string]string
	// service tasks (of a deployment) run until replaced
	service bool
	// reported are the lastStatus values a task state change event was emitted for.
	reported map[string]bool
}

type tokenEntry struct {
	requestHash [32]byte
	response    any
}

// TaskDefinitionSpec describes a task definition to seed.
type TaskDefinitionSpec struct {
	Family           string
	NetworkMode      string // bridge (default) or awsvpc
	Compatibilities  []string
	Containers       []ContainerSpec
	TaskRoleArn      string
	ExecutionRoleArn string
}

// ContainerSpec describes one container of a seeded task definition.
type ContainerSpec struct {
	Name            string
	Image           string
	Essential       *bool
	LogGroup        string // awslogs-group; empty: no awslogs configuration
	LogStreamPrefix string // awslogs-stream-prefix
}

// ServiceSpec describes a service to seed.
type ServiceSpec struct {
	Cluster                  string
	Name                     string
	TaskDefinition           string // family:revision or ARN
	DesiredCount             int32
	LaunchType               string
	CapacityProviderStrategy []CapacityProvider
	Subnets                  []string
	SecurityGroups           []string
	AssignPublicIP           string
	CircuitBreakerRollback   bool
	Status                   string // ACTIVE (default), DRAINING, INACTIVE
	// DeploymentController is ECS (default), CODE_DEPLOY or EXTERNAL.
	DeploymentController string
}

// CapacityProvider is one item of a capacity provider strategy.
type CapacityProvider struct {
	Name   string
	Weight int32
	Base   int32
}

// RegisterTaskDefinition seeds a task definition revision and returns its ARN.
func (e *Emulator) RegisterTaskDefinition(s TaskDefinitionSpec) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	rev := int32(len(e.families[s.Family]) + 1)
	td := &taskDef{wTaskDefinition{
		TaskDefinitionArn:       fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", e.Region, e.Account, s.Family, rev),
		Family:                  s.Family,
		Revision:                rev,
		Status:                  "ACTIVE",
		NetworkMode:             s.NetworkMode,
		RequiresCompatibilities: s.Compatibilities,
		TaskRoleArn:             s.TaskRoleArn,
		ExecutionRoleArn:        s.ExecutionRoleArn,
	}}
	if td.NetworkMode == "" {
		td.NetworkMode = "bridge"
	}
	for _, c := range s.Containers {
		cd := wContainerDefinition{Name: c.Name, Image: c.Image, Essential: c.Essential}
		if c.LogGroup != "" {
			cd.LogConfiguration = &wLogConfiguration{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group": c.LogGroup, "awslogs-region": e.Region, "awslogs-stream-prefix": c.LogStreamPrefix,
			}}
		}
		td.ContainerDefinitions = append(td.ContainerDefinitions, cd)
	}
	e.taskDefs[td.TaskDefinitionArn] = td
	e.families[s.Family] = append(e.families[s.Family], td)
	return td.TaskDefinitionArn
}

// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
// Every call registers a new revision of the family, even an identical one.
func (e *Emulator) registerTaskDefinition(body json.RawMessage) (any, *apiError) {
	var in wTaskDefinition
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Family == "" || len(in.ContainerDefinitions) == 0 {
		return nil, errorf("ClientException", "family and containerDefinitions are required.")
	}
	in.Revision = int32(len(e.families[in.Family]) + 1)
	in.TaskDefinitionArn = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", e.Region, e.Account, in.Family, in.Revision)
	in.Status = "ACTIVE"
	if in.NetworkMode == "" {
		in.NetworkMode = "bridge"
	}
	td := &taskDef{in}
	e.taskDefs[td.TaskDefinitionArn] = td
	e.families[in.Family] = append(e.families[in.Family], td)
	e.registered = append(e.registered, append(json.RawMessage(nil), body...))
	return map[string]any{"taskDefinition": td.wTaskDefinition, "tags": []any{}}, nil
}

// resolveDigests resolves each container's image to a digest as ECS does when
// it starts a deployment or a task: a tag to the digest it names now.
func (e *Emulator) resolveDigests(td *taskDef) map[string]string {
	out := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		out[c.Name] = e.digestOf(c.Image)
	}
	return out
}

func (e *Emulator) digestOf(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[i+1:]
	}
	name, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	r := e.repos[name[strings.Index(name, "/")+1:]]
	if r == nil {
		return ""
	}
	for _, im := range r.images {
		if slices.Contains(im.tags, tag) {
			return im.digest
		}
	}
	return ""
}

// CreateService seeds a service (and its cluster) with one completed deployment.
func (e *Emulator) CreateService(s ServiceSpec) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	td := e.findTaskDef(s.TaskDefinition)
	if td == nil {
		return fmt.Errorf("create service %s: no task definition %s", s.Name, s.TaskDefinition)
	}
	c := e.clusterNamed(s.Cluster, true)
	now := e.now()
	svc := &service{
		name: s.Name, arn: fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", e.Region, e.Account, c.name, s.Name),
		cluster: c, status: s.Status, taskDefinition: td.TaskDefinitionArn, desired: s.DesiredCount,
		launchType: s.LaunchType, deploymentsStarted: 1, controller: s.DeploymentController,
	}
	if svc.controller == "" {
		svc.controller = "ECS"
	}
	if svc.status == "" {
		svc.status = "ACTIVE"
	}
	for _, cp := range s.CapacityProviderStrategy {
		svc.capacityProviders = append(svc.capacityProviders, wCapacityProviderItem{CapacityProvider: cp.Name, Weight: cp.Weight, Base: cp.Base})
	}
	if svc.launchType == "FARGATE" || len(svc.capacityProviders) > 0 {
		svc.platformVersion = "LATEST"
	}
	if len(s.Subnets) > 0 {
		svc.network = &wNetworkConfiguration{AwsvpcConfiguration: &wAwsvpc{Subnets: s.Subnets, SecurityGroups: s.SecurityGroups, AssignPublicIP: s.AssignPublicIP}}
	}
	if s.CircuitBreakerRollback {
		svc.breaker = &wCircuitBreaker{Enable: true, Rollback: true}
	}
	svc.deployments = []*deployment{{
		id: e.deploymentID(), status: "PRIMARY", taskDefinition: td.TaskDefinitionArn,
		desired: s.DesiredCount, running: s.DesiredCount, rolloutState: "COMPLETED",
		reason: "ECS deployment completed.", createdAt: now.Add(-time.Hour), updatedAt: now.Add(-time.Hour),
		digests: e.resolveDigests(td),
	}}
	c.services[s.Name] = svc
	return nil
}

func (e *Emulator) clusterNamed(nameOrArn string, create bool) *cluster {
	name := nameOrArn
	if i := strings.LastIndex(nameOrArn, "cluster/"); strings.HasPrefix(nameOrArn, "arn:") && i >= 0 {
		name = nameOrArn[i+len("cluster/"):]
	}
	if name == "" {
		name = "default"
	}
	c := e.clusters[name]
	if c == nil && create {
		c = &cluster{name: name, arn: fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", e.Region, e.Account, name), services: map[string]*service{}}
		e.clusters[name] = c
	}
	return c
}

func (e *Emulator) findTaskDef(ref string) *taskDef {
	if td, ok := e.taskDefs[ref]; ok {
		return td
	}
	ref = ref[strings.LastIndex(ref, "/")+1:]
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := e.families[family]
	if len(revs) == 0 {
		return nil
	}
	if !hasRev {
		return revs[len(revs)-1]
	}
	for _, td := range revs {
		if fmt.Sprint(td.Revision) == rev {
			return td
		}
	}
	return nil
}

func (e *Emulator) deploymentID() string {
	return fmt.Sprintf("ecs-svc/%019d", e.rng.Uint64()%10_000_000_000_000_000_000)
}

// --- DescribeServices ------------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
// A missing service is a failures[] entry with reason MISSING, not an error;
// a missing cluster is ClusterNotFoundException.

func (e *Emulator) describeServices(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	now := e.now()
	out := struct {
		Services []wService `json:"services"`
		Failures []wFailure `json:"failures"`
	}{Services: []wService{}, Failures: []wFailure{}}
	for _, ref := range in.Services {
		svc := c.services[ref[strings.LastIndex(ref, "/")+1:]]
		if svc == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", e.Region, e.Account, c.name, ref)
			}
			out.Failures = append(out.Failures, wFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		e.advance(svc, now)
		out.Services = append(out.Services, svc.wire())
	}
	return out, nil
}

func (s *service) wire() wService {
	w := wService{
		ServiceArn: s.arn, ServiceName: s.name, ClusterArn: s.cluster.arn, Status: s.status,
		DesiredCount: s.desired, LaunchType: s.launchType, CapacityProviderStrategy: s.capacityProviders,
		PlatformVersion: s.platformVersion, TaskDefinition: s.taskDefinition, NetworkConfiguration: s.network,
		SchedulingStrategy: "REPLICA", Events: s.events, Deployments: []wDeployment{},
		DeploymentController:    &wDeploymentController{Type: s.controller},
		DeploymentConfiguration: &wDeploymentConfiguration{DeploymentCircuitBreaker: s.breaker, MaximumPercent: 200, MinimumHealthyPercent: 100},
	}
	if w.Events == nil {
		w.Events = []wServiceEvent{}
	}
	for _, d := range s.deployments {
		w.RunningCount += d.running
		w.PendingCount += d.pending
		w.Deployments = append(w.Deployments, wDeployment{
			ID: d.id, Status: d.status, TaskDefinition: d.taskDefinition, DesiredCount: d.desired,
			PendingCount: d.pending, RunningCount: d.running, FailedTasks: d.failed,
			CreatedAt: ts(d.createdAt), UpdatedAt: ts(d.updatedAt), LaunchType: s.launchType,
			CapacityProviderStrategy: s.capacityProviders, RolloutState: d.rolloutState, RolloutStateReason: d.reason,
		})
	}
	return w
}

// advance applies the scheduled steps whose time has come, in time order, and
// ramps the running count of rolling deployments.
func (e *Emulator) advance(s *service, now time.Time) {
	for {
		sort.SliceStable(s.steps, func(i, j int) bool { return s.steps[i].at.Before(s.steps[j].at) })
		if len(s.steps) == 0 || s.steps[0].at.After(now) {
			break
		}
		st := s.steps[0]
		s.steps = s.steps[1:]
		st.apply(st.at)
	}
	for _, d := range s.deployments {
		if d.rolloutState != "IN_PROGRESS" || d.rampEnd.IsZero() {
			continue
		}
		total := d.rampEnd.Sub(d.createdAt)
		done := now.Sub(d.createdAt)
		r := d.desired
		if done < total {
			r = int32(int64(d.desired) * int64(done) / int64(total))
		}
		d.running = min(r, d.desired)
		d.pending = 0
		if d.running < d.desired {
			d.pending = 1
		}
	}
}

func (s *service) event(at time.Time, format string, args ...any) {
	msg := fmt.Sprintf("(service %s) ", s.name) + fmt.Sprintf(format, args...)
	ev := wServiceEvent{ID: fmt.Sprintf("%x", sha256.Sum256([]byte(msg+at.String())))[:36], CreatedAt: ts(at), Message: msg}
	s.events = append([]wServiceEvent{ev}, s.events...) // newest first, as ECS lists them
	if len(s.events) > 100 {
		s.events = s.events[:100]
	}
}

// --- UpdateService ---------------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
// forceNewDeployment starts a new PRIMARY deployment of the same task
// definition; the previous PRIMARY becomes ACTIVE until the new one completes.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
// A deployment the circuit breaker fails gets rolloutState FAILED; with
// rollback on, ECS starts a deployment of the last completed revision.

func (e *Emulator) updateService(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster            string `json:"cluster"`
		Service            string `json:"service"`
		ForceNewDeployment bool   `json:"forceNewDeployment"`
		TaskDefinition     string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	svc := c.services[in.Service[strings.LastIndex(in.Service, "/")+1:]]
	if svc == nil {
		return nil, errorf("ServiceNotFoundException", "Service not found.")
	}
	if svc.status != "ACTIVE" {
		return nil, errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	// "For services using the blue/green (CODE_DEPLOY) deployment controller,
	// only the desired count, deployment configuration, health check grace
	// period, task placement constraints and strategies, enable ECS managed
	// tags option, and propagate tags can be updated using this API"; the
	// EXTERNAL controller cannot update the task definition either
	// (UpdateService API reference). The message is the one boto/boto3#1936 reports.
	if svc.controller != "ECS" && (in.ForceNewDeployment || in.TaskDefinition != "") {
		return nil, errorf("InvalidParameterException", "Unable to update task definition on services with a %s deployment controller.", svc.controller)
	}
	now := e.now()
	e.advance(svc, now)
	td := svc.taskDefinition
	if in.TaskDefinition != "" {
		t := e.findTaskDef(in.TaskDefinition)
		if t == nil {
			return nil, errorf("ClientException", "TaskDefinition not found.")
		}
		td = t.TaskDefinitionArn
	}
	if in.ForceNewDeployment || td != svc.taskDefinition {
		plan := e.script.Rollout
		if r := e.script.Random; r != nil {
			plan = RolloutScript{Seconds: e.draw(r), Outcome: OutcomeCompleted}
			if e.random.Float64() < r.RolloutFailureRate {
				plan.Outcome = OutcomeRolledBack
			}
		}
		d := e.startDeployment(svc, td, now, plan)
		e.spans = append(e.spans, Span{Kind: "deployment", Cluster: svc.cluster.name, Service: svc.name, ID: d.id, Start: now, deployment: d})
	}
	return map[string]any{"service": svc.wire()}, nil
}

func (e *Emulator) startDeployment(svc *service, td string, now time.Time, plan RolloutScript) *deployment {
	prev := svc.deployments[0]
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			d.status = "ACTIVE"
			d.updatedAt = now
		}
	}
	dur := secs(plan.duration())
	d := &deployment{
		id: e.deploymentID(), status: "PRIMARY", taskDefinition: td, desired: svc.desired,
		rolloutState: "IN_PROGRESS", createdAt: now, updatedAt: now, rampEnd: now.Add(dur),
	}
	if t := e.findTaskDef(td); t != nil {
		d.digests = e.resolveDigests(t)
	}
	d.reason = fmt.Sprintf("ECS deployment %s in progress.", d.id)
	svc.taskDefinition = td
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.deploymentsStarted++
	e.deploymentEvent(svc, d, now)
	switch plan.Outcome {
	case OutcomeStuck:
		d.rampEnd = now.Add(1000 * time.Hour)
	case OutcomeRolledBack:
		d.rampEnd = time.Time{}
		e.schedule(svc, step{at: now.Add(dur), apply: func(at time.Time) { e.failDeployment(svc, d, prev.taskDefinition, at, dur) }})
	case OutcomeSuperseded:
		e.schedule(svc, step{at: now.Add(dur / 2), apply: func(at time.Time) {
			svc.event(at, "updated by another client: a new deployment was started.")
			e.startDeployment(svc, td, at, RolloutScript{Seconds: plan.duration(), Outcome: OutcomeCompleted})
		}})
	default:
		e.schedule(svc, step{at: now.Add(dur), apply: func(at time.Time) { e.completeDeployment(svc, d, at) }})
	}
	return d
}

// schedule adds a step to the service, applied when the clock passes it:
// when the service is next read, or by a timer at that moment, whichever
// comes first, so that its events go out on time.
func (e *Emulator) schedule(svc *service, st step) {
	svc.steps = append(svc.steps, st)
	e.at(st.at, func(now time.Time) { e.advance(svc, now) })
}

func (e *Emulator) completeDeployment(svc *service, d *deployment, at time.Time) {
	if d.status != "PRIMARY" || d.rolloutState != "IN_PROGRESS" {
		return
	}
	d.endedAt = at
	d.rolloutState = "COMPLETED"
	d.reason = fmt.Sprintf("ECS deployment %s completed.", d.id)
	d.running, d.pending, d.updatedAt = d.desired, 0, at
	svc.deployments = []*deployment{d} // the others drained and are INACTIVE, which DescribeServices omits
	svc.event(at, "(deployment %s) deployment completed.", d.id)
	svc.event(at, "has reached a steady state.")
	e.deploymentEvent(svc, d, at)
}

func (e *Emulator) failDeployment(svc *service, d *deployment, previous string, at time.Time, dur time.Duration) {
	d.rolloutState = "FAILED"
	d.endedAt = at
	d.reason = "ECS deployment circuit breaker: tasks failed to start."
	d.failed = max(3, d.desired*2)
	d.running, d.pending, d.updatedAt = 0, 0, at
	svc.event(at, "(deployment %s) deployment failed: tasks failed to start.", d.id)
	e.deploymentEvent(svc, d, at)
	if svc.breaker == nil || !svc.breaker.Rollback {
		return
	}
	rb := e.startDeployment(svc, previous, at, RolloutScript{Seconds: dur.Seconds(), Outcome: OutcomeCompleted})
	svc.event(at, "rolling back to deployment %s.", rb.id)
	e.spans = append(e.spans, Span{Kind: "rollback", Cluster: svc.cluster.name, Service: svc.name, ID: rb.id, Start: at, deployment: rb})
}

// --- DescribeTaskDefinition ------------------------------------------------

func (e *Emulator) describeTaskDefinition(body json.RawMessage) (any, *apiError) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	td := e.findTaskDef(in.TaskDefinition)
	if td == nil {
		return nil, errorf("ClientException", "Unable to describe task definition.")
	}
	return map[string]any{"taskDefinition": td.wTaskDefinition}, nil
}

// --- RunTask ---------------------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
// Placement problems are failures[] in an HTTP 200 answer
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html);
// clientToken makes the call idempotent, and the same token with another
// request is ConflictException.

type runTaskInput struct {
	Cluster                  string                  `json:"cluster"`
	TaskDefinition           string                  `json:"taskDefinition"`
	Count                    int32                   `json:"count"`
	LaunchType               string                  `json:"launchType"`
	CapacityProviderStrategy []wCapacityProviderItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     *wNetworkConfiguration  `json:"networkConfiguration"`
	Overrides                *wTaskOverride          `json:"overrides"`
	StartedBy                string                  `json:"startedBy"`
	Group                    string                  `json:"group"`
	ClientToken              string                  `json:"clientToken"`
	PlatformVersion          string                  `json:"platformVersion"`
}

func (e *Emulator) runTask(body json.RawMessage) (any, *apiError) {
	var in runTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var hash [32]byte
	if in.ClientToken != "" {
		token := in.ClientToken
		in.ClientToken = ""
		canon, _ := json.Marshal(in)
		hash = sha256.Sum256(canon)
		if prev, ok := e.tokens[token]; ok {
			if prev.requestHash != hash {
				return nil, errorf("ConflictException", "The provided clientToken is already in use with a different RunTask request.")
			}
			return prev.response, nil
		}
		defer func() { in.ClientToken = token }()
		resp, aerr := e.runTaskOnce(in)
		if aerr == nil {
			e.tokens[token] = tokenEntry{requestHash: hash, response: resp}
		}
		return resp, aerr
	}
	return e.runTaskOnce(in)
}

func (e *Emulator) runTaskOnce(in runTaskInput) (any, *apiError) {
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	td := e.findTaskDef(in.TaskDefinition)
	if td == nil {
		return nil, errorf("ClientException", "TaskDefinition not found.")
	}
	if td.NetworkMode == "awsvpc" && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		return nil, errorf("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if td.NetworkMode != "awsvpc" && in.NetworkConfiguration != nil {
		return nil, errorf("InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition.")
	}
	if in.LaunchType == "FARGATE" && td.NetworkMode != "awsvpc" {
		return nil, errorf("ClientException", "Fargate only supports network mode 'awsvpc'.")
	}
	if in.Overrides != nil {
		for _, o := range in.Overrides.ContainerOverrides {
			found := false
			for _, cd := range td.ContainerDefinitions {
				found = found || cd.Name == o.Name
			}
			if !found {
				return nil, errorf("InvalidParameterException", "Override for container named %s is not a container in the TaskDefinition.", o.Name)
			}
		}
	}
	count := max(in.Count, 1) // 1 to 10 (ecs_rules.go)
	e.runTasks++
	out := struct {
		Tasks    []wTask    `json:"tasks"`
		Failures []wFailure `json:"failures"`
	}{Tasks: []wTask{}, Failures: []wFailure{}}
	if n := e.script.CapacityFailures; n < 0 || e.runTasks <= n {
		switch {
		case e.script.CapacityError:
			return nil, errorf("ClientException", "Tasks provisioning capacity limit exceeded.")
		case in.LaunchType == "FARGATE" || strings.HasPrefix(firstProvider(in.CapacityProviderStrategy), "FARGATE"):
			// Fargate says so in a sentence, not a RESOURCE:* code (gchq/sleeper#904).
			out.Failures = append(out.Failures, wFailure{Reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone"})
		default:
			out.Failures = append(out.Failures, wFailure{Arn: c.arn, Reason: "RESOURCE:MEMORY"})
		}
		return out, nil
	}
	now := e.now()
	plan := e.script.Migration
	if r := e.script.Random; r != nil {
		plan = MigrationScript{Seconds: e.draw(r)}
		if e.random.Float64() < r.MigrationFailureRate {
			plan.ExitCode = 1
		}
	}
	provider := ""
	if len(in.CapacityProviderStrategy) > 0 {
		provider = in.CapacityProviderStrategy[0].CapacityProvider
	}
	for range count {
		t := &task{
			arn:        fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", e.Region, e.Account, c.name, e.id(32)),
			clusterArn: c.arn, taskDefArn: td.TaskDefinitionArn, launchType: in.LaunchType, capacityProvider: provider,
			group: in.Group, startedBy: in.StartedBy, createdAt: now, containers: td.ContainerDefinitions,
			overrides: in.Overrides, plan: plan, digests: e.resolveDigests(td),
		}
		e.spans = append(e.spans, Span{Kind: "migration", Cluster: c.name, ID: t.arn, Start: now, task: t})
		if t.group == "" {
			t.group = "family:" + td.Family
		}
		e.tasks[t.arn] = t
		t.reported = map[string]bool{}
		e.watchTask(t)
		out.Tasks = append(out.Tasks, t.wire(now, e.migrationContainer(t)))
	}
	return out, nil
}

// migrationContainer is the container whose command was overridden: the one
// the scenario's exit code and failure apply to.
func (e *Emulator) migrationContainer(t *task) string {
	if t.overrides != nil && len(t.overrides.ContainerOverrides) > 0 {
		return t.overrides.ContainerOverrides[0].Name
	}
	return t.containers[0].Name
}

// wire renders the task as DescribeTasks shows it at now, following the task
// lifecycle: PROVISIONING → PENDING → RUNNING → DEPROVISIONING → STOPPED.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
// A container that never ran has no exitCode and a reason such as
// CannotPullContainerError; the task's stopCode is then TaskFailedToStart.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
func (t *task) wire(now time.Time, migration string) wTask {
	p := t.plan
	dur := secs(p.duration())
	el := now.Sub(t.createdAt)
	w := wTask{
		TaskArn: t.arn, ClusterArn: t.clusterArn, TaskDefinitionArn: t.taskDefArn, DesiredStatus: "RUNNING",
		LaunchType: t.launchType, CapacityProviderName: t.capacityProvider, Group: t.group, StartedBy: t.startedBy,
		CreatedAt: ts(t.createdAt), Overrides: t.overrides,
	}
	var exit *int32
	containerStatus, containerReason := "PENDING", ""
	startedAt := t.createdAt.Add(dur / 5)
	switch {
	case t.service && t.stoppedAt.IsZero():
		w.LastStatus, containerStatus = "RUNNING", "RUNNING"
		w.StartedAt = tsp(t.createdAt)
	case !t.stoppedAt.IsZero():
		w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "UserInitiated", t.stopReason
		w.StoppingAt, w.StoppedAt = tsp(t.stoppedAt), tsp(t.stoppedAt)
		if t.stoppedAt.After(startedAt) && p.FailToStart == "" {
			w.StartedAt = tsp(startedAt)
			code := int32(137) // SIGKILL after the stop timeout
			exit = &code
		}
		containerStatus = "STOPPED"
	case p.FailToStart != "":
		w.LastStatus = "PROVISIONING"
		if el >= dur/3 {
			w.LastStatus = "PENDING"
		}
		if el >= dur {
			w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "TaskFailedToStart", p.FailToStart
			w.StoppingAt, w.StoppedAt = tsp(t.createdAt.Add(dur)), tsp(t.createdAt.Add(dur))
			containerStatus, containerReason = "STOPPED", p.FailToStart
		}
	case el < dur/10:
		w.LastStatus = "PROVISIONING"
	case el < dur/5:
		w.LastStatus = "PENDING"
	case el < dur*9/10 || p.Hang:
		w.LastStatus, containerStatus = "RUNNING", "RUNNING"
		w.StartedAt = tsp(startedAt)
	case el < dur:
		w.LastStatus, containerStatus = "DEPROVISIONING", "STOPPED"
		w.DesiredStatus = "STOPPED"
		w.StartedAt, w.StoppingAt = tsp(startedAt), tsp(t.createdAt.Add(dur*9/10))
		exit = &p.ExitCode
	default:
		w.LastStatus, w.DesiredStatus, w.StopCode, w.StoppedReason = "STOPPED", "STOPPED", "EssentialContainerExited", "Essential container in task exited"
		w.StartedAt, w.StoppingAt, w.StoppedAt = tsp(startedAt), tsp(t.createdAt.Add(dur*9/10)), tsp(t.createdAt.Add(dur))
		exit = &p.ExitCode
		containerStatus = "STOPPED"
	}
	for _, cd := range t.containers {
		c := wContainer{
			ContainerArn: fmt.Sprintf("%s/%s", strings.Replace(t.arn, ":task/", ":container/", 1), cd.Name),
			TaskArn:      t.arn, Name: cd.Name, Image: cd.Image, LastStatus: containerStatus, ImageDigest: t.digests[cd.Name],
		}
		if cd.Name == migration {
			c.ExitCode, c.Reason = exit, containerReason
		} else if containerStatus == "STOPPED" && exit != nil {
			// sidecars are stopped with the task
			code := int32(0)
			c.ExitCode = &code
		}
		w.Containers = append(w.Containers, c)
	}
	return w
}

// --- DescribeTasks / StopTask ----------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
// A task ECS no longer knows (stopped tasks are kept for at least an hour) is
// a failures[] entry with reason MISSING.

func (e *Emulator) describeTasks(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	now := e.now()
	out := struct {
		Tasks    []wTask    `json:"tasks"`
		Failures []wFailure `json:"failures"`
	}{Tasks: []wTask{}, Failures: []wFailure{}}
	for _, ref := range in.Tasks {
		t := e.findTask(c, ref)
		if t == nil || (t.plan.Disappear && now.Sub(t.createdAt) >= secs(t.plan.duration())/2) {
			out.Failures = append(out.Failures, wFailure{Arn: ref, Reason: "MISSING"})
			continue
		}
		out.Tasks = append(out.Tasks, t.wire(now, e.migrationContainer(t)))
	}
	return out, nil
}

func (e *Emulator) findTask(c *cluster, ref string) *task {
	if t, ok := e.tasks[ref]; ok && t.clusterArn == c.arn {
		return t
	}
	if t, ok := e.serviceTasks[ref]; ok && t.clusterArn == c.arn {
		return t
	}
	for arn, t := range e.tasks {
		if t.clusterArn == c.arn && strings.HasSuffix(arn, "/"+ref) {
			return t
		}
	}
	return nil
}

// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html
func (e *Emulator) stopTask(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	t := e.findTask(c, in.Task)
	if t == nil {
		return nil, errorf("InvalidParameterException", "The referenced task was not found.")
	}
	now := e.now()
	if w := t.wire(now, e.migrationContainer(t)); w.LastStatus != "STOPPED" {
		t.stoppedAt = now
		t.stopReason = in.Reason
		if t.stopReason == "" {
			t.stopReason = "Task stopped by user"
		}
		if t.reported != nil {
			e.taskEvent(t, now)
		}
	}
	return map[string]any{"task": t.wire(now, e.migrationContainer(t))}, nil
}

// ListTasks lists a service's running tasks: each running task of a
// deployment has startedBy set to the deployment's id.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
func (e *Emulator) listTasks(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		StartedBy     string `json:"startedBy"`
		DesiredStatus string `json:"desiredStatus"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c := e.clusterNamed(in.Cluster, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	arns := []string{}
	if in.DesiredStatus == "STOPPED" {
		return map[string]any{"taskArns": arns}, nil
	}
	now := e.now()
	for _, svc := range c.services {
		if in.ServiceName != "" && svc.name != in.ServiceName {
			continue
		}
		e.advance(svc, now)
		for _, d := range svc.deployments {
			if in.StartedBy != "" && d.id != in.StartedBy {
				continue
			}
			for i := range d.running {
				arns = append(arns, e.serviceTask(c, svc, d, int(i)).arn)
			}
		}
	}
	if in.ServiceName == "" {
		for arn, t := range e.tasks {
			if t.clusterArn == c.arn && (in.StartedBy == "" || t.startedBy == in.StartedBy) {
				arns = append(arns, arn)
			}
		}
	}
	sort.Strings(arns)
	return map[string]any{"taskArns": arns}, nil
}

// serviceTask is the i-th running task of a deployment, made on first sight.
func (e *Emulator) serviceTask(c *cluster, svc *service, d *deployment, i int) *task {
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", e.Region, e.Account, c.name, fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("%s/%d", d.id, i))))[:32])
	if t, ok := e.serviceTasks[arn]; ok {
		return t
	}
	td := e.findTaskDef(d.taskDefinition)
	t := &task{arn: arn, clusterArn: c.arn, taskDefArn: d.taskDefinition, launchType: svc.launchType, group: "service:" + svc.name,
		startedBy: d.id, createdAt: d.createdAt, containers: td.ContainerDefinitions, digests: d.digests, service: true}
	e.serviceTasks[arn] = t
	return t
}

// RegisteredTaskDefinitions returns the bodies of the RegisterTaskDefinition calls served.
func (e *Emulator) RegisteredTaskDefinitions() []json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]json.RawMessage(nil), e.registered...)
}

// RunningDigest is the digest the service's PRIMARY deployment runs in its
// container named container.
func (e *Emulator) RunningDigest(clusterName, serviceName, container string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.clusters[clusterName]
	if c == nil || c.services[serviceName] == nil {
		return ""
	}
	svc := c.services[serviceName]
	e.advance(svc, e.now())
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			return d.digests[container]
		}
	}
	return ""
}

// Span is how long a migration task or a deployment was active: from RunTask
// until the task stopped, from UpdateService (or ECS's rollback) until the
// deployment left IN_PROGRESS. A zero End means it still is.
type Span struct {
	Kind    string // migration, deployment or rollback
	Cluster string
	Service string
	ID      string
	Start   time.Time
	End     time.Time
	// Digest is what the migration's or deployment's app container ran.
	Digest     string
	ExitCode   *int32
	task       *task
	deployment *deployment
}

// Spans returns every migration and deployment span so far.
func (e *Emulator) Spans() []Span {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for _, c := range e.clusters {
		for _, svc := range c.services {
			e.advance(svc, now)
		}
	}
	out := make([]Span, len(e.spans))
	for i, sp := range e.spans {
		if t := sp.task; t != nil {
			w := t.wire(now, e.migrationContainer(t))
			if w.StoppedAt != nil {
				sp.End = time.UnixMilli(int64(float64(*w.StoppedAt) * 1000)).UTC()
			}
			sp.Digest = t.digests[e.migrationContainer(t)]
			for _, c := range w.Containers {
				if c.Name == e.migrationContainer(t) {
					sp.ExitCode = c.ExitCode
				}
			}
		}
		if d := sp.deployment; d != nil {
			sp.End = d.endedAt
			sp.Digest = d.digests["app"]
		}
		sp.task, sp.deployment = nil, nil
		out[i] = sp
	}
	return out
}

func (e *Emulator) draw(r *RandomScript) float64 {
	return r.MinSeconds + e.random.Float64()*(r.MaxSeconds-r.MinSeconds)
}

func firstProvider(s []wCapacityProviderItem) string {
	if len(s) == 0 {
		return ""
	}
	return s[0].CapacityProvider
}
