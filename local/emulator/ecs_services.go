package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ECS services and their deployments: DescribeServices, UpdateService, and the
// scripted rollouts that advance them.

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
		cluster: c, status: s.Status, taskDefinition: td.TaskDefinitionARN, desired: s.DesiredCount,
		launchType: s.LaunchType, deploymentsStarted: 1, controller: s.DeploymentController,
	}
	if svc.controller == "" {
		svc.controller = "ECS"
	}
	svc.strategy, svc.bakeMinutes, svc.alarms, svc.traffic = s.Strategy, s.BakeTimeMinutes, s.Alarms, s.Traffic
	if svc.strategy == "" {
		svc.strategy = "ROLLING"
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
	d := &deployment{
		id: e.deploymentID(), status: "PRIMARY", taskDefinition: td.TaskDefinitionARN,
		desired: s.DesiredCount, running: s.DesiredCount, rolloutState: "COMPLETED",
		reason: "ECS deployment completed.", createdAt: now.Add(-time.Hour), updatedAt: now.Add(-time.Hour),
		digests: e.resolveDigests(td),
	}
	svc.deployments = []*deployment{d}
	if svc.controller == "ECS" {
		d.sd = e.newServiceDeployment(svc, d, d.createdAt, 0, 0)
		d.sd.end(sdSuccessful, "", d.createdAt)
	}
	c.services[s.Name] = svc
	return nil
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
	c, aerr := e.clusterOf(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	now := e.now()
	out := struct {
		Services []wService `json:"services"`
		Failures []wFailure `json:"failures"`
	}{Services: []wService{}, Failures: []wFailure{}}
	for _, ref := range in.Services {
		svc := c.services[shortName(ref)]
		if svc == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", e.Region, e.Account, c.name, ref)
			}
			out.Failures = append(out.Failures, wFailure{ARN: arn, Reason: "MISSING"})
			continue
		}
		e.advance(svc, now)
		out.Services = append(out.Services, svc.wireAt(now))
	}
	return out, nil
}

func (s *service) wire() wService {
	w := wService{
		ServiceARN: s.arn, ServiceName: s.name, ClusterARN: s.cluster.arn, Status: s.status,
		DesiredCount: s.desired, LaunchType: s.launchType, CapacityProviderStrategy: s.capacityProviders,
		PlatformVersion: s.platformVersion, TaskDefinition: s.taskDefinition, NetworkConfiguration: s.network,
		SchedulingStrategy: "REPLICA", Events: s.events, Deployments: []wDeployment{},
		DeploymentController:    &wDeploymentController{Type: s.controller},
		DeploymentConfiguration: s.deploymentConfiguration(),
	}
	if cur := s.current(); cur != nil {
		w.CurrentServiceDeployment = cur.arn
	}
	if w.Events == nil {
		w.Events = []wServiceEvent{}
	}
	for _, d := range s.deployments {
		w.RunningCount += d.running
		w.PendingCount += d.pending
		wd := wDeployment{
			ID: d.id, Status: d.status, TaskDefinition: d.taskDefinition, DesiredCount: d.desired,
			PendingCount: d.pending, RunningCount: d.running, FailedTasks: d.failed,
			CreatedAt: ts(d.createdAt), UpdatedAt: ts(d.updatedAt), LaunchType: s.launchType,
			CapacityProviderStrategy: s.capacityProviders, RolloutState: d.rolloutState, RolloutStateReason: d.reason,
		}
		// "The rolloutState of a service is only returned for services that
		// use the rolling update (ECS) deployment type" (API_Deployment).
		if s.strategy != "ROLLING" {
			wd.RolloutState, wd.RolloutStateReason = "", ""
		}
		w.Deployments = append(w.Deployments, wd)
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
		if st.owner != nil && st.owner.status != "PRIMARY" {
			// A newer deployment replaced it: ECS no longer rolls it out, so
			// its scripted failure or completion does not happen.
			continue
		}
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
	svc, aerr := e.serviceOf(in.Cluster, in.Service)
	if aerr != nil {
		return nil, aerr
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
		td = t.TaskDefinitionARN
	}
	if in.ForceNewDeployment || td != svc.taskDefinition {
		if cur := svc.current(); cur != nil && e.adv.Roll(AdvStaleCurrent) {
			svc.staleCurrent, svc.staleUntil = cur.arn, now.Add(staleWindow)
		}
		plan := e.script.Rollout
		if p, ok := e.script.ServiceRollouts[svc.name]; ok {
			plan = p
		}
		if plan.Strategy != "" {
			svc.strategy, svc.bakeMinutes = plan.Strategy, plan.BakeTimeMinutes
		}
		if plan.Traffic != nil {
			svc.traffic = *plan.Traffic
		}
		if plan.Alarms != nil {
			svc.alarms = plan.Alarms
		}
		if plan.Hooks != nil {
			svc.hooks = plan.Hooks
		}
		if plan.NoRollback && svc.breaker != nil {
			svc.breaker = &wCircuitBreaker{Enable: true, Rollback: false}
		}
		if r := e.script.Random; r != nil {
			plan = RolloutScript{Seconds: e.draw(r), Outcome: OutcomeCompleted}
			if e.random.Float64() < r.RolloutFailureRate {
				plan.Outcome = OutcomeRolledBack
			}
		}
		d := e.startDeployment(svc, td, now, plan, nil)
		e.spans = append(e.spans, Span{Kind: "deployment", Cluster: svc.cluster.name, Service: svc.name, ID: d.id, Start: now, deployment: d})
	}
	return map[string]any{"service": svc.wireAt(now)}, nil
}

// staleWindow is how long currentServiceDeployment keeps naming the
// previous service deployment after an UpdateService, in the adversarial
// mode (AdvStaleCurrent): a few seconds, long enough for a Lambda to read it
// in UpdateService's answer and in the next DescribeServices.
const staleWindow = 5 * time.Second

// wireAt is the service as DescribeServices and UpdateService answer at now.
func (s *service) wireAt(now time.Time) wService {
	w := s.wire()
	if s.staleCurrent != "" && now.Before(s.staleUntil) {
		w.CurrentServiceDeployment = s.staleCurrent
	}
	return w
}

// startDeployment starts a deployment of td: with sd nil a new service
// deployment (UpdateService), else ECS's rollback within sd.
func (e *Emulator) startDeployment(svc *service, td string, now time.Time, plan RolloutScript, sd *serviceDeployment) *deployment {
	prev := svc.deployments[0]
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			d.status = "ACTIVE"
			d.updatedAt = now
		}
	}
	dur := secs(plan.duration())
	if _, bakes := svc.traffic.weights(svc.strategy); sd == nil && bakes > 0 {
		// LINEAR and CANARY bake between their traffic steps: the
		// deployment takes those bakes before its final one.
		dur += time.Duration(bakes) * svc.traffic.stepBake()
	}
	d := &deployment{
		id: e.deploymentID(), status: "PRIMARY", taskDefinition: td, desired: svc.desired,
		rolloutState: "IN_PROGRESS", createdAt: now, updatedAt: now, rampEnd: now.Add(dur),
		previous: prev.taskDefinition, previousDigests: prev.digests, ramp: dur, sd: sd,
	}
	if t := e.findTaskDef(td); t != nil {
		d.digests = e.resolveDigests(t)
	}
	d.reason = fmt.Sprintf("ECS deployment %s in progress.", d.id)
	svc.taskDefinition = td
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.deploymentsStarted++
	// A bake follows the traffic shift of BLUE_GREEN, LINEAR and CANARY, and
	// a rolling deployment with alarms stays IN_PROGRESS through it too.
	var bake time.Duration
	if svc.strategy != "ROLLING" || len(svc.alarms) > 0 {
		bake = plan.bake()
	}
	if sd == nil && svc.controller == "ECS" {
		for _, old := range svc.serviceDeployments {
			if old.status == sdInProgress {
				old.end(sdStopped, "Stopped because a new service deployment started.", now)
			}
		}
		d.sd = e.newServiceDeployment(svc, d, now, dur, bake)
	}
	e.deploymentEvent(svc, d, now)
	switch plan.Outcome {
	case OutcomeStuck:
		d.rampEnd = now.Add(1000 * time.Hour)
	case OutcomeRolledBack:
		d.rampEnd = time.Time{}
		e.schedule(svc, step{at: now.Add(dur), owner: d, apply: func(at time.Time) {
			e.failDeployment(svc, d, at, failure{reason: "ECS deployment circuit breaker: tasks failed to start.", breaker: true, event: "tasks failed to start"})
		}})
	case OutcomeAlarm:
		e.schedule(svc, step{at: now.Add(dur + bake/2), owner: d, apply: func(at time.Time) {
			alarm := "app-5xx-errors"
			if len(svc.alarms) > 0 {
				alarm = svc.alarms[0]
			}
			e.failDeployment(svc, d, at, failure{reason: fmt.Sprintf("CloudWatch alarm %s went into ALARM state.", alarm), alarm: alarm, event: "alarm " + alarm + " is in ALARM"})
		}})
	case OutcomeSuperseded:
		e.schedule(svc, step{at: now.Add(dur / 2), owner: d, apply: func(at time.Time) {
			svc.event(at, "updated by another client: a new deployment was started.")
			e.startDeployment(svc, td, at, RolloutScript{Seconds: plan.duration(), BakeSeconds: plan.BakeSeconds, Outcome: OutcomeCompleted}, nil)
		}})
	case OutcomeStopped:
		e.schedule(svc, step{at: now.Add(dur / 2), owner: d, apply: func(at time.Time) {
			d.rampEnd = now.Add(1000 * time.Hour)
			if d.sd != nil {
				d.sd.end(sdStopped, "The service deployment was stopped by a user.", at)
			}
			svc.event(at, "(deployment %s) deployment stopped by a user.", d.id)
		}})
	default:
		e.schedule(svc, step{at: now.Add(dur + bake), owner: d, apply: func(at time.Time) { e.completeDeployment(svc, d, at) }})
	}
	if sd == nil && d.sd != nil && len(svc.hooks) > 0 {
		e.armHooks(svc, d, svc.hooks, now)
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
	if sd := d.sd; sd != nil {
		switch {
		case sd.deployment != d && sd.ongoing():
			sd.end(sdRollbackSuccessful, "", at)
		case sd.status == sdInProgress:
			sd.end(sdSuccessful, "", at)
		}
	}
	svc.event(at, "(deployment %s) deployment completed.", d.id)
	svc.event(at, "has reached a steady state.")
	e.deploymentEvent(svc, d, at)
}

// failure is why a deployment failed: the circuit breaker, an alarm, or a
// person's StopServiceDeployment(ROLLBACK).
type failure struct {
	reason  string
	breaker bool
	alarm   string
	event   string // the service event's words
}

// failDeployment fails a deployment. ECS rolls back when the failure's
// monitor has rollback on (alarms always here; a person's stop always), and
// the service deployment becomes ROLLBACK_IN_PROGRESS; without rollback it
// is STOPPED ("The rollback option is not in use for the failure detection
// mechanism and the service fails", ServiceDeployment.stoppedAt).
func (e *Emulator) failDeployment(svc *service, d *deployment, at time.Time, f failure) {
	d.rolloutState = "FAILED"
	d.endedAt = at
	d.reason = f.reason
	d.running, d.pending, d.updatedAt = 0, 0, at
	rollback := !f.breaker || (svc.breaker != nil && svc.breaker.Rollback)
	if sd := d.sd; sd != nil {
		if f.breaker {
			d.failed = max(sd.threshold, d.desired*2)
			sd.failures = d.failed
		}
		if f.alarm != "" {
			sd.triggered = append(sd.triggered, f.alarm)
		}
		if rollback {
			sd.status, sd.updatedAt, sd.rollbackReason, sd.rollbackAt = sdRollbackInProgress, at, f.reason, at
		} else {
			sd.end(sdStopped, f.reason, at)
		}
	} else if f.breaker {
		d.failed = max(3, d.desired*2)
	}
	if f.breaker {
		for i := range min(d.failed, maxCrashedTasks) {
			svc.crashed = append(svc.crashed, e.crashedTask(svc, d, int(i)))
		}
	}
	svc.event(at, "(deployment %s) deployment failed: %s.", d.id, f.event)
	e.deploymentEvent(svc, d, at)
	if !rollback {
		return
	}
	rb := e.startDeployment(svc, d.previous, at, RolloutScript{Seconds: d.ramp.Seconds(), Outcome: OutcomeCompleted}, d.sd)
	if d.previousDigests != nil {
		rb.digests = d.previousDigests // the last revision's images, not the tag resolved again
	}
	svc.event(at, "rolling back to deployment %s.", rb.id)
	e.spans = append(e.spans, Span{Kind: "rollback", Cluster: svc.cluster.name, Service: svc.name, ID: rb.id, Start: at, deployment: rb})
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
