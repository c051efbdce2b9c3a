package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

var ecsOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"DescribeServices":           (*Emulator).describeServices,
	"DescribeServiceDeployments": (*Emulator).describeServiceDeployments,
	"ListServiceDeployments":     (*Emulator).listServiceDeployments,
	"StopServiceDeployment":      (*Emulator).stopServiceDeployment,
	"ContinueServiceDeployment":  (*Emulator).continueServiceDeployment,
	"DescribeTaskDefinition":     (*Emulator).describeTaskDefinition,
	"RunTask":                    (*Emulator).runTask,
	"DescribeTasks":              (*Emulator).describeTasks,
	"StopTask":                   (*Emulator).stopTask,
	"UpdateService":              (*Emulator).updateService,
	"RegisterTaskDefinition":     (*Emulator).registerTaskDefinition,
	"ListTasks":                  (*Emulator).listTasks,
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
	strategy           string
	bakeMinutes        int32
	traffic            TrafficSteps
	alarms             []string
	hooks              []HookScript
	deployments        []*deployment        // PRIMARY first
	crashed            []*task              // the tasks failed deployments' circuit breaker counted
	serviceDeployments []*serviceDeployment // newest first
	events             []wServiceEvent
	steps              []step
	tags               map[string]string
	deploymentsStarted int
	// staleCurrent is the service deployment currentServiceDeployment still
	// names until staleUntil (AdvStaleCurrent): the one before the newest.
	staleCurrent string
	staleUntil   time.Time
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
	// sd is the service deployment it belongs to: its own, or for ECS's
	// rollback deployment, the one of the deployment it rolls back.
	sd *serviceDeployment
	// previous is the task definition a rollback returns to; ramp how long
	// the rollout takes.
	previous string
	ramp     time.Duration
	// previousDigests are the digests the previous deployment resolved: a
	// rollback runs them again, since "Amazon ECS doesn't create a new
	// service revision for a rollback operation. Amazon ECS uses the last
	// successful service revision for the rollback", whose container images
	// hold the digests resolved then (ContainerImage.imageDigest).
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-revision.html
	previousDigests map[string]string
}

// step is a scheduled change of a service, applied when the clock passes at.
type step struct {
	at    time.Time
	apply func(now time.Time)
	// owner is the deployment whose rollout the step belongs to: a pause
	// hook holds it (shift).
	owner *deployment
}

type taskDef struct {
	wTaskDefinition
}

type task struct {
	arn, clusterARN, taskDefARN                    string
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
	// crashed is set on a service task the circuit breaker counted: it
	// stopped because its essential container exited.
	crashed bool
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
	TaskRoleARN      string
	ExecutionRoleARN string
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
	// Strategy is deploymentConfiguration.strategy: ROLLING (default),
	// BLUE_GREEN, LINEAR or CANARY.
	Strategy string
	// BakeTimeMinutes is deploymentConfiguration.bakeTimeInMinutes (0–1440)
	// of the BLUE_GREEN, LINEAR and CANARY strategies.
	BakeTimeMinutes int32
	// Traffic is the LINEAR or CANARY configuration.
	Traffic TrafficSteps
	// Alarms are the CloudWatch alarms of deploymentConfiguration.alarms
	// (enable and rollback on).
	Alarms []string
}

// CapacityProvider is one item of a capacity provider strategy.
type CapacityProvider struct {
	Name   string
	Weight int32
	Base   int32
}

// clusterOf is the cluster a request names, or ClusterNotFoundException.
func (e *Emulator) clusterOf(ref string) (*cluster, *apiError) {
	c := e.clusterNamed(ref, false)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

// serviceOf is the service a request names in its cluster, or the
// ClusterNotFoundException or ServiceNotFoundException ECS answers.
func (e *Emulator) serviceOf(clusterRef, serviceRef string) (*service, *apiError) {
	c, err := e.clusterOf(clusterRef)
	if err != nil {
		return nil, err
	}
	svc := c.services[shortName(serviceRef)]
	if svc == nil {
		return nil, errorf("ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

func (e *Emulator) clusterNamed(nameOrARN string, create bool) *cluster {
	name := nameOrARN
	if i := strings.LastIndex(nameOrARN, "cluster/"); strings.HasPrefix(nameOrARN, "arn:") && i >= 0 {
		name = nameOrARN[i+len("cluster/"):]
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

func (e *Emulator) deploymentID() string {
	return fmt.Sprintf("ecs-svc/%019d", e.rng.Uint64()%10_000_000_000_000_000_000)
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
	Digest string
	// StartedBy is a migration task's startedBy.
	StartedBy  string
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
			sp.Digest, sp.StartedBy = t.digests[e.migrationContainer(t)], t.startedBy
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

// TrafficSteps is deploymentConfiguration.linearConfiguration or
// canaryConfiguration; unset members are left out of what ECS reports, and
// ECS's defaults apply (LinearConfiguration: stepPercent 10,
// stepBakeTimeInMinutes 6; CanaryConfiguration: canaryPercent 5,
// canaryBakeTimeInMinutes 10).
type TrafficSteps struct {
	StepPercent           float64 `json:"stepPercent,omitempty"`
	StepBakeTimeMinutes   *int32  `json:"stepBakeTimeMinutes,omitempty"`
	CanaryPercent         float64 `json:"canaryPercent,omitempty"`
	CanaryBakeTimeMinutes *int32  `json:"canaryBakeTimeMinutes,omitempty"`
	// StepBakeSeconds is the wall-clock length of each step bake (LINEAR)
	// or of the canary bake (CANARY), compressed as BakeSeconds is
	// (default 0.2 s).
	StepBakeSeconds float64 `json:"stepBakeSeconds,omitempty"`
}

// weights are the production traffic weights a LINEAR or CANARY
// deployment shifts through, and the number of bakes between them: LINEAR
// ceil(100/stepPercent) steps, a step bake between each ("not applied
// after reaching 100 percent traffic"); CANARY the canary, its bake, then 100.
func (t TrafficSteps) weights(strategy string) (ws []float64, bakes int) {
	switch strategy {
	case "LINEAR":
		p := t.StepPercent
		if p == 0 {
			p = 10
		}
		for w := p; ; w += p {
			if w >= 100-1e-9 {
				ws = append(ws, 100)
				break
			}
			ws = append(ws, math.Round(w*10)/10)
		}
		return ws, len(ws) - 1
	case "CANARY":
		p := t.CanaryPercent
		if p == 0 {
			p = 5
		}
		return []float64{p, 100}, 1
	}
	return nil, 0
}

// stepBake is one step or canary bake on the wall clock.
func (t TrafficSteps) stepBake() time.Duration {
	if t.StepBakeSeconds == 0 {
		return 200 * time.Millisecond
	}
	return secs(t.StepBakeSeconds)
}

// configuration is what ECS reports of it for the strategy.
func (t TrafficSteps) configuration(strategy string) (string, map[string]any) {
	c := map[string]any{}
	switch strategy {
	case "LINEAR":
		if t.StepPercent != 0 {
			c["stepPercent"] = t.StepPercent
		}
		if t.StepBakeTimeMinutes != nil {
			c["stepBakeTimeInMinutes"] = *t.StepBakeTimeMinutes
		}
		return "linearConfiguration", c
	case "CANARY":
		if t.CanaryPercent != 0 {
			c["canaryPercent"] = t.CanaryPercent
		}
		if t.CanaryBakeTimeMinutes != nil {
			c["canaryBakeTimeInMinutes"] = *t.CanaryBakeTimeMinutes
		}
		return "canaryConfiguration", c
	}
	return "", nil
}

// ServiceDeploymentRecord is ECS's record of a service deployment as it is
// now: its status, when it finished, and the digest its app container runs.
type ServiceDeploymentRecord struct {
	Status     string
	FinishedAt time.Time
	Digest     string
}

// ServiceDeploymentOf reads the record of a service deployment by ARN.
func (e *Emulator) ServiceDeploymentOf(arn string) (ServiceDeploymentRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	svc, sd := e.findServiceDeployment(arn)
	if sd == nil {
		return ServiceDeploymentRecord{}, false
	}
	e.advance(svc, e.now())
	r := ServiceDeploymentRecord{Status: sd.status, FinishedAt: sd.finishedAt}
	if sd.deployment != nil {
		r.Digest = sd.deployment.digests["app"]
	}
	return r, true
}
