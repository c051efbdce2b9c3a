package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// ECS deployment lifecycle hooks: Lambda hooks that pass or fail a stage,
// and pause hooks that stop the deployment at a stage until
// ContinueServiceDeployment (CONTINUE or ROLLBACK) or their timeout.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html

// Hook types and statuses (DeploymentLifecycleHookDetail).
const (
	hookPause          = "PAUSE"
	hookLambda         = "AWS_LAMBDA"
	hookAwaitingAction = "AWAITING_ACTION"
	hookInProgress     = "IN_PROGRESS"
	hookSucceeded      = "SUCCEEDED"
	hookFailed         = "FAILED"
	hookTimedOut       = "TIMED_OUT"
)

// hookStages is when each stage a hook can sit at begins, as a share of the
// rollout's ramp, per strategy. "PAUSE hooks cannot be configured at
// TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages"
// (DeploymentLifecycleHook.LifecycleStages); scenario validation keeps them out.
var hookStages = map[string]map[string]float64{
	"BLUE_GREEN": {
		"PRE_SCALE_UP": 0, "POST_SCALE_UP": 0.4, "POST_TEST_TRAFFIC_SHIFT": 0.6,
		"PRE_PRODUCTION_TRAFFIC_SHIFT": 0.7, "POST_PRODUCTION_TRAFFIC_SHIFT": 0.95,
	},
	"LINEAR": {"PRE_SCALE_UP": 0, "POST_SCALE_UP": 0.4, "PRE_PRODUCTION_TRAFFIC_SHIFT": 0.45, "POST_PRODUCTION_TRAFFIC_SHIFT": 0.95},
	"CANARY": {"PRE_SCALE_UP": 0, "POST_SCALE_UP": 0.4, "PRE_PRODUCTION_TRAFFIC_SHIFT": 0.45, "POST_PRODUCTION_TRAFFIC_SHIFT": 0.95},
}

// paused is how far a pause pushes what follows it: out of reach until
// ContinueServiceDeployment brings it back.
const paused = 1000 * time.Hour

// hook is one lifecycle hook's run in a service deployment.
type hook struct {
	id, stage, targetType, targetARN string
	status, timeoutAction            string
	at, expiresAt                    time.Time
	script                           HookScript
}

// armHooks adds the rollout's hooks to a new service deployment: each runs
// when its stage begins. A pause holds everything after its stage (stages,
// traffic steps, the ramp and the deployment's scheduled end) until it is
// answered.
func (e *Emulator) armHooks(svc *service, d *deployment, hooks []HookScript, now time.Time) {
	sd := d.sd
	// In stage order, so that a pause holds the hooks of later stages too,
	// whatever order the scenario lists them in.
	hooks = append([]HookScript(nil), hooks...)
	sort.SliceStable(hooks, func(i, j int) bool {
		return hookStages[svc.strategy][hooks[i].Stage] < hookStages[svc.strategy][hooks[j].Stage]
	})
	var pauses []time.Time
	for i, h := range hooks {
		at := now.Add(time.Duration(hookStages[svc.strategy][h.Stage] * float64(d.ramp)))
		hk := &hook{id: fmt.Sprintf("ecs-%s-%s-%d", map[bool]string{true: "pause", false: "lambda"}[h.Type == hookPause], sd.id(), i),
			stage: h.Stage, targetType: h.Type, at: at, script: h, timeoutAction: h.timeoutAction()}
		if h.Type == hookLambda {
			hk.targetARN = e.arn("lambda", "function:"+h.lambdaName())
		}
		sd.hooks = append(sd.hooks, hk)
		sd.insertStage(h.Stage, at)
		if h.Type == hookPause {
			pauses = append(pauses, at)
		}
		e.schedule(svc, step{at: at, owner: d, apply: func(at time.Time) { e.runHook(svc, d, hk, at) }})
	}
	// Once everything is on the timeline, each pause holds what follows
	// it: the latest first, so that an earlier pause holds a later one too.
	for i := len(pauses) - 1; i >= 0; i-- {
		e.shift(svc, d, pauses[i], paused)
	}
}

// runHook runs a hook as its stage begins.
func (e *Emulator) runHook(svc *service, d *deployment, hk *hook, at time.Time) {
	sd := d.sd
	if sd.status != sdInProgress {
		return
	}
	hk.at = at
	if hk.targetType == hookLambda {
		if hk.script.Result == hookFailed {
			hk.status = hookFailed
			e.failDeployment(svc, d, at, failure{reason: fmt.Sprintf("Lifecycle hook %s returned FAILED at %s.", hk.targetARN, hk.stage), event: "lifecycle hook " + hk.targetARN + " failed at " + hk.stage})
			return
		}
		hk.status = hookSucceeded
		return
	}
	hk.status = hookAwaitingAction
	hk.expiresAt = at.Add(secs(hk.script.timeoutSeconds()))
	svc.event(at, "(service deployment %s) is paused at %s, awaiting action on hook %s.", sd.arn, hk.stage, hk.id)
	e.hookEvent(svc, sd, hk, at)
	e.schedule(svc, step{at: hk.expiresAt, apply: func(at time.Time) {
		if hk.status != hookAwaitingAction {
			return
		}
		hk.status = hookTimedOut
		e.answerHook(svc, d, hk, hk.timeoutAction, at, "timed out")
	}})
}

// answerHook resumes a paused deployment (CONTINUE) or rolls it back.
func (e *Emulator) answerHook(svc *service, d *deployment, hk *hook, action string, at time.Time, by string) {
	if action == "ROLLBACK" {
		if hk.status == hookAwaitingAction {
			hk.status = hookFailed
		}
		e.failDeployment(svc, d, at, failure{reason: fmt.Sprintf("Rollback at the pause hook %s at %s (%s).", hk.id, hk.stage, by), event: "rollback requested at the pause hook " + hk.id})
		return
	}
	if hk.status == hookAwaitingAction {
		hk.status = hookSucceeded
	}
	// What was held resumes from now, as far from the pause as it was.
	e.shift(svc, d, hk.at, -paused+at.Sub(hk.at))
	svc.event(at, "(service deployment %s) continues after hook %s at %s (%s).", d.sd.arn, hk.id, hk.stage, by)
}

// shift moves everything of d's rollout that comes after from by delta: the
// service deployment's stages and traffic steps, the ramp, and the steps
// scheduled for d (its end, its failure, its later hooks).
func (e *Emulator) shift(svc *service, d *deployment, from time.Time, delta time.Duration) {
	sd := d.sd
	for i := range sd.stages {
		if sd.stages[i].from.After(from) {
			sd.stages[i].from = sd.stages[i].from.Add(delta)
		}
	}
	for i := range sd.steps {
		if sd.steps[i].from.After(from) {
			sd.steps[i].from = sd.steps[i].from.Add(delta)
		}
	}
	for _, hk := range sd.hooks {
		if hk.at.After(from) {
			hk.at = hk.at.Add(delta)
		}
	}
	if d.rampEnd.After(from) {
		d.rampEnd = d.rampEnd.Add(delta)
	}
	for i := range svc.steps {
		if st := &svc.steps[i]; st.owner == d && st.at.After(from) {
			st.at = st.at.Add(delta)
			e.at(st.at, func(now time.Time) { e.advance(svc, now) })
		}
	}
}

// insertStage adds a hook's stage to the timeline, in time order.
func (sd *serviceDeployment) insertStage(stage string, at time.Time) {
	for _, st := range sd.stages {
		if st.stage == stage {
			return
		}
	}
	i := 0
	for i < len(sd.stages) && !sd.stages[i].from.After(at) {
		i++
	}
	sd.stages = append(sd.stages[:i], append([]stageAt{{stage, at}}, sd.stages[i:]...)...)
}

// hookEvent emits the ECS Hook State Change a pause sends. The developer
// guide names the detail-type and the event name HOOK_AWAITING_ACTION but
// documents no example of the event: the emulator names the service
// deployment only in resources (its ARN carries cluster and service), the
// least a consumer could rely on.
func (e *Emulator) hookEvent(svc *service, sd *serviceDeployment, hk *hook, at time.Time) {
	e.emitECS("ECS Hook State Change", []string{sd.arn}, map[string]any{
		"eventType": "INFO", "eventName": "HOOK_AWAITING_ACTION", "hookId": hk.id, "lifecycleStage": hk.stage,
		"updatedAt": at.UTC().Format("2006-01-02T15:04:05.000Z"),
	}, at)
}

type wHookDetail struct {
	HookID        string `json:"hookId"`
	TargetType    string `json:"targetType"`
	TargetARN     string `json:"targetArn,omitempty"`
	Status        string `json:"status"`
	ExpiresAt     *epoch `json:"expiresAt,omitempty"`
	TimeoutAction string `json:"timeoutAction,omitempty"`
}

// hookDetails lists the hooks that have run, for lifecycleHookDetails.
func (sd *serviceDeployment) hookDetails() []wHookDetail {
	var out []wHookDetail
	for _, hk := range sd.hooks {
		if hk.status == "" {
			continue
		}
		w := wHookDetail{HookID: hk.id, TargetType: hk.targetType, TargetARN: hk.targetARN, Status: hk.status}
		if hk.targetType == hookPause {
			w.ExpiresAt, w.TimeoutAction = optEpoch(hk.expiresAt), hk.timeoutAction
		}
		out = append(out, w)
	}
	return out
}

// --- ContinueServiceDeployment ----------------------------------------------
// "You can continue a deployment that has a pause hook in AWAITING_ACTION
// status. The deployment must be in the IN_PROGRESS state" (Continuing
// service deployments). AWS's error for each breach is not documented: an
// unknown hook or one not awaiting action is InvalidParameterException, a
// deployment no longer IN_PROGRESS ClientException (the stricter reading:
// both refuse).

func (e *Emulator) continueServiceDeployment(body json.RawMessage) (any, *apiError) {
	var in struct {
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
		HookID               string `json:"hookId"`
		Action               string `json:"action"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, sd, now, aerr := e.liveServiceDeployment(in.ServiceDeploymentARN)
	if aerr != nil {
		return nil, aerr
	}
	if sd.status != sdInProgress {
		return nil, errorf("ClientException", "The service deployment %s is %s; only an IN_PROGRESS deployment can be continued.", sd.arn, sd.status)
	}
	var hk *hook
	for _, h := range sd.hooks {
		if h.id == in.HookID {
			hk = h
		}
	}
	switch {
	case hk == nil:
		return nil, errorf("InvalidParameterException", "The hook %s does not exist in service deployment %s.", in.HookID, sd.arn)
	case hk.status != hookAwaitingAction:
		return nil, errorf("InvalidParameterException", "The hook %s is %s, not AWAITING_ACTION.", hk.id, hk.status)
	}
	action := in.Action
	if action == "" {
		action = "CONTINUE" // "If no value is specified, the default action is CONTINUE."
	}
	e.answerHook(svc, sd.deployment, hk, action, now, "ContinueServiceDeployment "+action)
	return map[string]any{"serviceDeploymentArn": sd.arn}, nil
}
