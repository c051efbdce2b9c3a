package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// The real-time benchmark measures the event path without compressing
// time: short migrations and rollouts on the wall clock, with AWS's own
// latencies (EventBridge delivery, Lambda invocation, Step Functions
// transitions) modelled where the local stack has none, so that what the
// design adds reads apart from what AWS adds.

// RealtimeOptions configure one run.
type RealtimeOptions struct {
	Root, BinDir string
	// Deployments run one after another, each a push of a new image.
	Deployments int
	// Migration and Rollout are ECS's durations, on the wall clock.
	Migration, Rollout time.Duration
	// QueueSettle is the target's queueSettle (the default: 0).
	QueueSettle time.Duration
	Latency     *rig.Latency
}

// DefaultLatency is the modelled AWS: see docs/benchmark.md for the sources.
func DefaultLatency(seed uint64) *rig.Latency {
	return &rig.Latency{EventMin: 100 * time.Millisecond, EventMax: 1000 * time.Millisecond,
		LambdaWarm: 15 * time.Millisecond, LambdaCold: 150 * time.Millisecond, Transition: 50 * time.Millisecond, Seed: seed}
}

// Components of the event path, in order.
const (
	// ComponentDelivery: ECS's change → Wake invoked (ECS's emission and
	// EventBridge's delivery: AWS's).
	ComponentDelivery = "eventDelivery"
	// ComponentWake: Wake invoked → its SendTaskSuccess (ours, and Lambda's overhead).
	ComponentWake = "wake"
	// ComponentResume: SendTaskSuccess → the Check function's first look at
	// ECS (Step Functions' transitions, Lambda's overhead, ours).
	ComponentResume = "resume"
	// ComponentBeyond: wake + resume, what the workflow adds to AWS's delivery.
	ComponentBeyond = "beyondDelivery"
	// ComponentTotal: ECS's change → the Check function's first look.
	ComponentTotal = "total"
)

// RealtimeResult is one run's figures, in seconds.
type RealtimeResult struct {
	Deployments int          `json:"deployments"`
	Latency     *rig.Latency `json:"modelledLatency"`
	QueueSettle float64      `json:"queueSettleSeconds"`
	// Lag is per phase (migration, deployment), per component.
	Lag map[string]map[string]Summary `json:"lagSeconds"`
	// WokenBy counts how the waits ended: event, watch (the change came
	// before the wait), poll (the safety poll).
	WokenBy map[string]int `json:"wokenBy"`
	// PushToRunTask is ECR's push → the migration's RunTask; its parts are
	// EventBridge's delivery of the push (AWS), StartExecution → CheckTurn's
	// GO (the queue's settle: the design), and GO → RunTask.
	PushToRunTask      Summary  `json:"pushToRunTaskSeconds"`
	PushDelivery       Summary  `json:"pushDeliverySeconds"`
	StartToGo          Summary  `json:"startToTurnSeconds"`
	GoToRunTask        Summary  `json:"turnToRunTaskSeconds"`
	DoneToEnd          Summary  `json:"deploymentDoneToExecutionEndSeconds"`
	WallSeconds        float64  `json:"wallSeconds"`
	ExecutionsFailures []string `json:"failures,omitempty"`
}

// Realtime runs the deployments and measures each wake's path.
func Realtime(ctx context.Context, o RealtimeOptions) (RealtimeResult, error) {
	settle := o.QueueSettle
	res := RealtimeResult{Deployments: o.Deployments, Latency: o.Latency, QueueSettle: settle.Seconds(), WokenBy: map[string]int{},
		Lag: map[string]map[string]Summary{}}
	cfg := filepath.Join(os.TempDir(), fmt.Sprintf("bench-realtime-%d.json", os.Getpid()))
	doc, _ := json.Marshal(map[string]any{"targets": []any{map[string]any{
		"repository": "app", "tag": "staging", "queueSettle": settle.String(), "taskRoles": []string{"app-task", "app-execution"}}}})
	if err := os.WriteFile(cfg, doc, 0o600); err != nil {
		return res, err
	}
	defer os.Remove(cfg)
	tpl, err := rig.SynthTemplate(ctx, o.Root, cfg, filepath.Join(os.TempDir(), fmt.Sprintf("bench-realtime-cdk-%d", os.Getpid())))
	if err != nil {
		return res, err
	}
	stack, err := rig.Start(ctx, rig.Options{Root: o.Root, BinDir: o.BinDir, ConfigFile: cfg, TimeScale: 1, Retry: 100 * time.Millisecond,
		LambdaLog: io.Discard, Template: tpl, Latency: o.Latency})
	if err != nil {
		return res, err
	}
	defer stack.Close()
	em := stack.Emulator
	if err := em.SeedStandardWorld(); err != nil {
		return res, err
	}
	// The emulator's own clock is the wall clock (no SetTimeScale), so that
	// its records compare with the deliveries and the Step Functions calls.
	stack.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: o.Migration.Seconds()}, Rollout: emulator.RolloutScript{Seconds: o.Rollout.Seconds()}})
	client := ecr.NewFromConfig(stack.AdminConfig())
	lags := map[string]map[string][]float64{"migration": {}, "deployment": {}}
	var pushToRun, pushDelivery, startToGo, goToRun, doneToEnd []float64
	began := time.Now()
	for i := range o.Deployments {
		manifest := emulator.SampleManifest(1000 + i)
		spansFrom, callsFrom := len(em.Spans()), len(em.Calls(""))
		pushed := time.Now()
		if _, err := client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(emulator.Repository), ImageTag: aws.String("staging"),
			ImageManifest: aws.String(manifest), ImageManifestMediaType: aws.String(emulator.ManifestMediaType)}); err != nil {
			return res, fmt.Errorf("push %d: %w", i, err)
		}
		r, err := awaitExecution(ctx, stack, i+1)
		if err != nil {
			return res, fmt.Errorf("deployment %d: %w", i, err)
		}
		if r.Status != "SUCCEEDED" {
			res.ExecutionsFailures = append(res.ExecutionsFailures, fmt.Sprintf("%s: %s %s", r.Name, r.Error, r.Cause))
			continue
		}
		calls := em.Calls("")[callsFrom:]
		deliveries, sfnCalls := stack.Deliveries(), stack.SFN.CallLog()
		runTask := firstCallAfter(calls, "RunTask", pushed)
		pushToRun = append(pushToRun, runTask.Sub(pushed).Seconds())
		if d, ok := deliveredAfter(deliveries, "ecr "+emulator.DigestOf(manifest), pushed); ok {
			pushDelivery = append(pushDelivery, d.Sub(pushed).Seconds())
		}
		if goAt, ok := turnGo(r); ok {
			startToGo = append(startToGo, goAt.Sub(r.StartTime).Seconds())
			goToRun = append(goToRun, runTask.Sub(goAt).Seconds())
		}
		for _, sp := range em.Spans()[spansFrom:] {
			if sp.End.IsZero() || (sp.Kind != "migration" && sp.Kind != "deployment") {
				continue
			}
			p, how := wakePath(deliveries, sfnCalls, calls, sp)
			res.WokenBy[how]++
			if how != "event" {
				continue
			}
			for k, v := range p {
				lags[sp.Kind][k] = append(lags[sp.Kind][k], v)
			}
			if sp.Kind == "deployment" {
				doneToEnd = append(doneToEnd, endOf(r).Sub(sp.End).Seconds())
			}
		}
	}
	res.WallSeconds = time.Since(began).Seconds()
	for phase, m := range lags {
		res.Lag[phase] = map[string]Summary{}
		for k, xs := range m {
			res.Lag[phase][k] = summarize(xs)
		}
	}
	res.PushToRunTask, res.PushDelivery, res.StartToGo, res.GoToRunTask, res.DoneToEnd =
		summarize(pushToRun), summarize(pushDelivery), summarize(startToGo), summarize(goToRun), summarize(doneToEnd)
	return res, nil
}

// awaitExecution waits for the n-th execution the stack started, and for its end.
func awaitExecution(ctx context.Context, s *rig.Stack, n int) (*rig.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		if arns := s.SFN.ExecutionARNs(); len(arns) >= n {
			return s.SFN.Result(ctx, arns[n-1])
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the push started no execution: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wakePath splits the path from ECS's change (the span's end) to the Check
// function's first look into its components, when an event woke the wait;
// how says what ended it otherwise.
func wakePath(deliveries []rig.Delivery, sfnCalls []rig.SFNCall, calls []emulator.Call, sp emulator.Span) (map[string]float64, string) {
	key := sp.ID + " SERVICE_DEPLOYMENT_COMPLETED"
	look := "DescribeServices"
	if sp.Kind == "migration" {
		key, look = sp.ID+" STOPPED", "DescribeTasks"
	}
	delivered, ok := deliveredAfter(deliveries, key, sp.End)
	if !ok {
		return nil, "poll"
	}
	var sent time.Time
	watched := false
	for _, c := range sfnCalls {
		if c.Operation != "SendTaskSuccess" || c.At.Before(sp.End) {
			continue
		}
		if c.By == "Watch" {
			watched = true
		}
		sent = c.At
		break
	}
	if sent.IsZero() || sent.Before(delivered) {
		if watched {
			return nil, "watch"
		}
		return nil, "poll"
	}
	checked := firstCallAfter(calls, look, sent)
	return map[string]float64{
		ComponentDelivery: delivered.Sub(sp.End).Seconds(),
		ComponentWake:     sent.Sub(delivered).Seconds(),
		ComponentResume:   checked.Sub(sent).Seconds(),
		ComponentBeyond:   checked.Sub(delivered).Seconds(),
		ComponentTotal:    checked.Sub(sp.End).Seconds(),
	}, "event"
}

// deliveredAfter is when EventBridge handed the event about key to a rule's
// target, the first time at or after t.
func deliveredAfter(ds []rig.Delivery, key string, t time.Time) (time.Time, bool) {
	for _, d := range ds {
		if d.Key == key && !d.At.Before(t) {
			return d.At, true
		}
	}
	return time.Time{}, false
}

// turnGo is when CheckTurn decided GO: the end of its last run.
func turnGo(r *rig.Result) (time.Time, bool) {
	var at time.Time
	for _, ev := range r.Events {
		if ev.Type != "StateExited" || ev.State == nil || ev.State.Name != "CheckTurn" {
			continue
		}
		var s deploy.State
		if json.Unmarshal(ev.State.Output, &s) == nil && s.Turn.Decision == deploy.TurnGo {
			at = time.UnixMilli(ev.Timestamp)
		}
	}
	return at, !at.IsZero()
}

// endOf is when the execution ended.
func endOf(r *rig.Result) time.Time {
	for _, ev := range r.Events {
		if strings.HasPrefix(ev.Type, "Execution") && ev.Type != "ExecutionStarted" {
			return time.UnixMilli(ev.Timestamp)
		}
	}
	return time.UnixMilli(r.Events[len(r.Events)-1].Timestamp)
}
