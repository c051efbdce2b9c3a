package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ECS service deployments: ECS's record of each deployment (2024-10), its
// strategy's lifecycle stages and bake time, rollbacks, and the operations
// that read and stop it.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html

// Service deployment statuses.
const (
	sdInProgress         = "IN_PROGRESS"
	sdSuccessful         = "SUCCESSFUL"
	sdStopped            = "STOPPED"
	sdRollbackRequested  = "ROLLBACK_REQUESTED"
	sdRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	sdRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
)

// serviceDeployment is one service deployment: the deployment UpdateService
// started and, after a failure, ECS's rollback of it (one record: its
// status becomes ROLLBACK_*).
type serviceDeployment struct {
	arn, status, statusReason string
	strategy                  string
	bakeMinutes               int32
	createdAt, updatedAt      time.Time
	finishedAt, stoppedAt     time.Time
	source, target            string // service revision ARNs
	// stages are the lifecycle stages, each from its start time on.
	stages []stageAt
	// steps are the production traffic weights of a LINEAR or CANARY
	// deployment, each from its time on.
	steps               []stepAt
	rollbackReason      string
	rollbackAt          time.Time
	failures, threshold int32
	breaker             bool
	alarms, triggered   []string
	deployment          *deployment
	// hooks are the lifecycle hooks of the rollout, in stage order.
	hooks []*hook
}

// id is the last part of its ARN.
func (sd *serviceDeployment) id() string { return sd.arn[strings.LastIndex(sd.arn, "/")+1:] }

type stageAt struct {
	stage string
	from  time.Time
}

type stepAt struct {
	weight float64
	from   time.Time
}

// newServiceDeployment records a deployment UpdateService started. Its
// stages follow the service's strategy: ROLLING has none; BLUE_GREEN scales
// up, shifts test then production traffic and bakes; LINEAR and CANARY shift
// production traffic in steps, then bake. The bake ends it: ECS reports
// SUCCESSFUL only after the bake time.
func (e *Emulator) newServiceDeployment(svc *service, d *deployment, now time.Time, ramp, bake time.Duration) *serviceDeployment {
	id := strings.TrimPrefix(d.id, "ecs-svc/")
	sd := &serviceDeployment{
		arn:    e.arn("ecs", fmt.Sprintf("service-deployment/%s/%s/%s", svc.cluster.name, svc.name, id)),
		status: sdInProgress, strategy: svc.strategy, bakeMinutes: svc.bakeMinutes,
		createdAt: now, updatedAt: now, target: e.arn("ecs", fmt.Sprintf("service-revision/%s/%s/%s", svc.cluster.name, svc.name, id)),
		breaker: svc.breaker != nil && svc.breaker.Enable, alarms: svc.alarms, deployment: d,
		threshold: max(3, min(200, (svc.desired+1)/2)),
	}
	if cur := svc.current(); cur != nil {
		sd.source = cur.target
	}
	switch svc.strategy {
	case "BLUE_GREEN":
		sd.stages = []stageAt{{"SCALE_UP", now}, {"TEST_TRAFFIC_SHIFT", now.Add(ramp / 2)}, {"PRODUCTION_TRAFFIC_SHIFT", now.Add(ramp * 3 / 4)}, {"BAKE_TIME", now.Add(ramp)}, {"CLEAN_UP", now.Add(ramp + bake)}}
		sd.steps = []stepAt{{0, now}, {100, now.Add(ramp * 3 / 4)}}
	case "LINEAR", "CANARY":
		sd.stages = []stageAt{{"SCALE_UP", now}, {"PRODUCTION_TRAFFIC_SHIFT", now.Add(ramp / 2)}, {"BAKE_TIME", now.Add(ramp)}, {"CLEAN_UP", now.Add(ramp + bake)}}
		weights, _ := svc.traffic.weights(svc.strategy)
		sd.steps = []stepAt{{0, now}}
		for i, w := range weights {
			sd.steps = append(sd.steps, stepAt{w, now.Add(ramp/2 + time.Duration(i)*ramp/2/time.Duration(len(weights)))})
		}
	}
	svc.serviceDeployments = append([]*serviceDeployment{sd}, svc.serviceDeployments...)
	return sd
}

// current is the service's newest service deployment.
func (s *service) current() *serviceDeployment {
	if len(s.serviceDeployments) == 0 {
		return nil
	}
	return s.serviceDeployments[0]
}

// stageAt is the lifecycle stage at a moment: the last one begun.
func (sd *serviceDeployment) stageAt(now time.Time) string {
	stage := ""
	for _, st := range sd.stages {
		if !now.Before(st.from) {
			stage = st.stage
		}
	}
	return stage
}

func (sd *serviceDeployment) weightAt(now time.Time) *float64 {
	if len(sd.steps) == 0 {
		return nil
	}
	w := 0.0
	for _, st := range sd.steps {
		if !now.Before(st.from) {
			w = st.weight
		}
	}
	return &w
}

func (sd *serviceDeployment) ongoing() bool {
	return sd.status == sdInProgress || sd.status == sdRollbackRequested || sd.status == sdRollbackInProgress
}

// end moves it to a final status.
func (sd *serviceDeployment) end(status, reason string, at time.Time) {
	sd.status, sd.updatedAt = status, at
	if reason != "" {
		sd.statusReason = reason
	}
	if status == sdStopped {
		sd.stoppedAt = at
	} else {
		sd.finishedAt = at
	}
}

type wServiceDeployment struct {
	ServiceDeploymentARN     string             `json:"serviceDeploymentArn"`
	ServiceARN               string             `json:"serviceArn"`
	ClusterARN               string             `json:"clusterArn"`
	CreatedAt                epoch              `json:"createdAt"`
	StartedAt                epoch              `json:"startedAt"`
	UpdatedAt                epoch              `json:"updatedAt"`
	FinishedAt               *epoch             `json:"finishedAt,omitempty"`
	StoppedAt                *epoch             `json:"stoppedAt,omitempty"`
	SourceServiceRevisions   []wRevisionSummary `json:"sourceServiceRevisions"`
	TargetServiceRevision    wRevisionSummary   `json:"targetServiceRevision"`
	Status                   string             `json:"status"`
	StatusReason             string             `json:"statusReason,omitempty"`
	LifecycleStage           string             `json:"lifecycleStage,omitempty"`
	DeploymentConfiguration  map[string]any     `json:"deploymentConfiguration"`
	Rollback                 *wRollback         `json:"rollback,omitempty"`
	DeploymentCircuitBreaker *wSDMonitor        `json:"deploymentCircuitBreaker,omitempty"`
	Alarms                   *wSDAlarms         `json:"alarms,omitempty"`
	LifecycleHookDetails     []wHookDetail      `json:"lifecycleHookDetails,omitempty"`
}

type wRevisionSummary struct {
	ARN                              string   `json:"arn"`
	RequestedTaskCount               int32    `json:"requestedTaskCount"`
	RunningTaskCount                 int32    `json:"runningTaskCount"`
	PendingTaskCount                 int32    `json:"pendingTaskCount"`
	RequestedProductionTrafficWeight *float64 `json:"requestedProductionTrafficWeight,omitempty"`
}

type wRollback struct {
	Reason             string `json:"reason"`
	StartedAt          epoch  `json:"startedAt"`
	ServiceRevisionARN string `json:"serviceRevisionArn"`
}

type wSDMonitor struct {
	Status       string `json:"status"`
	FailureCount int32  `json:"failureCount"`
	Threshold    int32  `json:"threshold"`
}

type wSDAlarms struct {
	Status              string   `json:"status"`
	AlarmNames          []string `json:"alarmNames"`
	TriggeredAlarmNames []string `json:"triggeredAlarmNames"`
}

func optEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

func (sd *serviceDeployment) wire(svc *service, now time.Time) wServiceDeployment {
	d := sd.deployment
	w := wServiceDeployment{
		ServiceDeploymentARN: sd.arn, ServiceARN: svc.arn, ClusterARN: svc.cluster.arn,
		CreatedAt: ts(sd.createdAt), StartedAt: ts(sd.createdAt), UpdatedAt: ts(sd.updatedAt),
		FinishedAt: optEpoch(sd.finishedAt), StoppedAt: optEpoch(sd.stoppedAt),
		SourceServiceRevisions: []wRevisionSummary{},
		TargetServiceRevision:  wRevisionSummary{ARN: sd.target, RequestedTaskCount: d.desired, RunningTaskCount: d.running, PendingTaskCount: d.pending},
		Status:                 sd.status, StatusReason: sd.statusReason,
		DeploymentConfiguration: svc.deploymentConfiguration(),
	}
	if sd.source != "" {
		w.SourceServiceRevisions = append(w.SourceServiceRevisions, wRevisionSummary{ARN: sd.source, RequestedTaskCount: svc.desired})
	}
	if sd.status == sdInProgress {
		w.LifecycleStage = sd.stageAt(now)
		w.TargetServiceRevision.RequestedProductionTrafficWeight = sd.weightAt(now)
	}
	w.LifecycleHookDetails = sd.hookDetails()
	if sd.rollbackReason != "" {
		w.Rollback = &wRollback{Reason: sd.rollbackReason, StartedAt: ts(sd.rollbackAt), ServiceRevisionARN: sd.source}
	}
	monitor := func(on, fired bool) string {
		switch {
		case !on:
			return "DISABLED"
		case fired:
			return "TRIGGERED"
		case sd.ongoing():
			return "MONITORING"
		}
		return "MONITORING_COMPLETE"
	}
	w.DeploymentCircuitBreaker = &wSDMonitor{Status: monitor(sd.breaker, sd.failures >= sd.threshold), FailureCount: sd.failures, Threshold: sd.threshold}
	if len(sd.alarms) > 0 {
		w.Alarms = &wSDAlarms{Status: monitor(true, len(sd.triggered) > 0), AlarmNames: sd.alarms, TriggeredAlarmNames: append([]string{}, sd.triggered...)}
	}
	return w
}

func (s *service) deploymentConfiguration() map[string]any {
	c := map[string]any{"maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": s.strategy}
	if s.breaker != nil {
		c["deploymentCircuitBreaker"] = s.breaker
	}
	if s.strategy != "ROLLING" {
		c["bakeTimeInMinutes"] = s.bakeMinutes
	}
	if name, tc := s.traffic.configuration(s.strategy); name != "" {
		c[name] = tc
	}
	if len(s.alarms) > 0 {
		c["alarms"] = map[string]any{"alarmNames": s.alarms, "enable": true, "rollback": true}
	}
	if len(s.hooks) > 0 {
		var hooks []map[string]any
		for _, h := range s.hooks {
			w := map[string]any{"targetType": h.Type, "lifecycleStages": []string{h.Stage}}
			if h.Type == hookPause {
				w["timeoutConfiguration"] = map[string]any{"timeoutInMinutes": h.TimeoutMinutes, "action": h.timeoutAction()}
			} else {
				w["hookTargetArn"] = "arn:aws:lambda:" + Region + ":" + Account + ":function:" + h.lambdaName()
			}
			hooks = append(hooks, w)
		}
		c["lifecycleHooks"] = hooks
	}
	return c
}

// findServiceDeployment finds a service deployment by ARN.
func (e *Emulator) findServiceDeployment(arn string) (*service, *serviceDeployment) {
	for _, c := range e.clusters {
		for _, svc := range c.services {
			for _, sd := range svc.serviceDeployments {
				if sd.arn == arn {
					return svc, sd
				}
			}
		}
	}
	return nil, nil
}

// liveServiceDeployment finds a service deployment an operation acts on,
// brought up to now: ServiceDeploymentNotFoundException if there is none.
func (e *Emulator) liveServiceDeployment(arn string) (*service, *serviceDeployment, time.Time, *apiError) {
	svc, sd := e.findServiceDeployment(arn)
	if sd == nil {
		return nil, nil, time.Time{}, errorf("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", arn)
	}
	now := e.now()
	e.advance(svc, now)
	return svc, sd, now, nil
}

// --- DescribeServiceDeployments --------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
// An unknown ARN is a failures[] entry with reason MISSING ("If you describe
// a deployment with a service revision created before October 25, 2024, the
// call fails. The failure includes the service revision ARN and the reason
// set to MISSING").

func (e *Emulator) describeServiceDeployments(body json.RawMessage) (any, *apiError) {
	var in struct {
		ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	now := e.now()
	out := struct {
		ServiceDeployments []wServiceDeployment `json:"serviceDeployments"`
		Failures           []wFailure           `json:"failures"`
	}{ServiceDeployments: []wServiceDeployment{}, Failures: []wFailure{}}
	for _, arn := range in.ServiceDeploymentArns {
		svc, sd := e.findServiceDeployment(arn)
		if sd == nil {
			out.Failures = append(out.Failures, wFailure{ARN: arn, Reason: "MISSING"})
			continue
		}
		e.advance(svc, now)
		out.ServiceDeployments = append(out.ServiceDeployments, sd.wire(svc, now))
	}
	return out, nil
}

// --- ListServiceDeployments ------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html
// Newest first, optionally filtered by status.

func (e *Emulator) listServiceDeployments(body json.RawMessage) (any, *apiError) {
	var in struct {
		Cluster    string   `json:"cluster"`
		Service    string   `json:"service"`
		Status     []string `json:"status"`
		MaxResults int      `json:"maxResults"`
		NextToken  string   `json:"nextToken"`
		// "An optional filter you can use to narrow the results by the
		// service creation date" (ListServiceDeploymentsInput.CreatedAt):
		// "created after this time", "created before this time", both
		// taken strictly (the stricter reading; the ends are not documented).
		CreatedAt *struct {
			After  *epoch `json:"after"`
			Before *epoch `json:"before"`
		} `json:"createdAt"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, aerr := e.serviceOf(in.Cluster, in.Service)
	if aerr != nil {
		return nil, aerr
	}
	e.advance(svc, e.now())
	var all []map[string]any
	for _, sd := range svc.serviceDeployments {
		if len(in.Status) > 0 && !slices.Contains(in.Status, sd.status) {
			continue
		}
		if r := in.CreatedAt; r != nil && (r.After != nil && !sd.createdAt.After(r.After.Time()) || r.Before != nil && !sd.createdAt.Before(r.Before.Time())) {
			continue
		}
		b := map[string]any{"serviceDeploymentArn": sd.arn, "serviceArn": svc.arn, "clusterArn": svc.cluster.arn, "createdAt": ts(sd.createdAt),
			"startedAt": ts(sd.createdAt), "targetServiceRevisionArn": sd.target, "status": sd.status}
		if !sd.finishedAt.IsZero() {
			b["finishedAt"] = ts(sd.finishedAt)
		}
		all = append(all, b)
	}
	from, to, next, ok := Page(in.NextToken, in.MaxResults, 20, len(all))
	if !ok {
		return nil, errorf("InvalidParameterException", "The nextToken is not valid.")
	}
	to, next = e.adv.ShortPage(AdvECSListShortPage, from, to, next)
	out := map[string]any{"serviceDeployments": append([]map[string]any{}, all[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// --- StopServiceDeployment -------------------------------------------------
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html
// "PENDING / IN_PROGRESS - The service deployment moves to the
// ROLLBACK_REQUESTED state, and then the rollback operation starts";
// ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS continue the rollback. The
// reference lists ABORT among the values but says "The valid values are
// ROLLBACK": ABORT is refused (ecs_rules.go), and so is stopping a
// deployment that has completed (AWS's answer is not documented: the
// stricter reading).

func (e *Emulator) stopServiceDeployment(body json.RawMessage) (any, *apiError) {
	var in struct {
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
		StopType             string `json:"stopType"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, sd, now, aerr := e.liveServiceDeployment(in.ServiceDeploymentARN)
	if aerr != nil {
		return nil, aerr
	}
	switch sd.status {
	case sdRollbackRequested, sdRollbackInProgress:
	case sdInProgress:
		sd.status, sd.updatedAt = sdRollbackRequested, now
		e.failDeployment(svc, sd.deployment, now, failure{reason: "Rollback requested by a user (StopServiceDeployment).", event: "rollback requested by a user"})
	default:
		return nil, errorf("ConflictException", "The service deployment %s is %s and can no longer be stopped.", sd.arn, sd.status)
	}
	return map[string]any{"serviceDeploymentArn": sd.arn}, nil
}
