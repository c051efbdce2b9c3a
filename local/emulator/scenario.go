package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// Scenario scripts how AWS behaves during one deployment. The zero value is a
// deployment where everything works. It is read from the Go tests and from a
// JSON file (make demo SCENARIO=…); see the README for the format.
type Scenario struct {
	// Description is printed by the demo.
	Description string `json:"description,omitempty"`
	// Layout "multi-account" runs the demo on local/multi-account: the
	// deployer in the local stack's own account, its targets in two others
	// (docs/multi-account.md).
	Layout string `json:"layout,omitempty"`
	// Input replaces the execution input (default: AWS's documented ECR push
	// event with the tag "staging" and the seeded image's digest).
	Input json.RawMessage `json:"input,omitempty"`
	// Migration scripts the migration task.
	Migration MigrationScript `json:"migration"`
	// CapacityFailures is how many RunTask calls answer with a RESOURCE:MEMORY
	// failure before one succeeds; -1 means every call.
	CapacityFailures int `json:"capacityFailures,omitempty"`
	// CapacityError answers those calls with an error instead, as ECS does
	// for some capacity limits (the per-cluster PROVISIONING tasks quota with
	// managed scaling, aws/aws-sdk-ruby#3047). Its error code is unverified:
	// ClientException, one RunTask declares.
	CapacityError bool `json:"capacityError,omitempty"`
	// Rollout scripts the service deployment.
	Rollout RolloutScript `json:"rollout"`
	// ServiceRollouts scripts the deployments of the named services
	// instead of Rollout (a target of several services, one failing).
	ServiceRollouts map[string]RolloutScript `json:"serviceRollouts,omitempty"`
	// Throttle makes the first N calls of an operation (e.g. "DescribeTasks")
	// answer ThrottlingException.
	Throttle map[string]int `json:"throttle,omitempty"`
	// LambdaFaults makes the first N invocations of a Task state (by state
	// name) run the function and then lose its response, answering
	// Lambda.ServiceException as the Lambda service can.
	LambdaFaults map[string]int `json:"lambdaFaults,omitempty"`
	// DeleteImage removes the image from ECR before the execution starts.
	DeleteImage bool `json:"deleteImage,omitempty"`
	// Random, when set, draws each migration's and each rollout's duration
	// and outcome from a seeded generator instead of Migration and Rollout.
	Random *RandomScript `json:"random,omitempty"`
	// RateLimit throttles operations with a token bucket each, as ECS does
	// per account and Region.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// Events scripts the delivery of ECS events: lost, late or duplicated.
	Events EventsScript `json:"events"`
	// Adversary turns the adversarial mode on: the local stack does, at
	// random from a seed, what AWS documents as possible (adversary.go).
	Adversary *AdversaryScript `json:"adversary,omitempty"`
}

// RateLimit is a token bucket per operation: PerSecond tokens a second, at
// most PerSecond in the bucket (one second of burst).
type RateLimit struct {
	PerSecond  float64  `json:"perSecond"`
	Operations []string `json:"operations"`
}

// RandomScript draws durations and failures per task and per deployment.
type RandomScript struct {
	Seed uint64 `json:"seed"`
	// MinSeconds and MaxSeconds bound every migration and rollout.
	MinSeconds float64 `json:"minSeconds"`
	MaxSeconds float64 `json:"maxSeconds"`
	// MigrationFailureRate is the share of migrations that exit 1.
	MigrationFailureRate float64 `json:"migrationFailureRate"`
	// RolloutFailureRate is the share of rollouts the circuit breaker fails.
	RolloutFailureRate float64 `json:"rolloutFailureRate"`
}

// MigrationScript scripts the one-off migration task.
type MigrationScript struct {
	// Seconds from RunTask until the task has STOPPED (default 1).
	Seconds float64 `json:"seconds,omitempty"`
	// ExitCode of the migration container (default 0).
	ExitCode int32 `json:"exitCode,omitempty"`
	// FailToStart, when set, stops the task with stop code TaskFailedToStart
	// and this stopped reason; its container never runs and has no exit code.
	FailToStart string `json:"failToStart,omitempty"`
	// Hang keeps the task RUNNING until it is stopped.
	Hang bool `json:"hang,omitempty"`
	// Disappear makes the task vanish from DescribeTasks (MISSING) once started.
	Disappear bool `json:"disappear,omitempty"`
	// LogLines are what the migration container writes to its awslogs
	// stream over its run (default: goose's lines, with an error when the
	// exit code is not 0).
	LogLines []string `json:"logLines,omitempty"`
}

// RolloutScript scripts the service deployment that UpdateService starts.
type RolloutScript struct {
	// Seconds the rollout takes (default 2).
	Seconds float64 `json:"seconds,omitempty"`
	// Outcome is COMPLETED (default), ROLLED_BACK (the circuit breaker fails
	// it and ECS rolls back), ALARM (one of the service's alarms fires half
	// way through the bake and ECS rolls back), SUPERSEDED (another
	// UpdateService arrives half way), STOPPED (a person stops it half way),
	// or STUCK (never completes).
	Outcome string `json:"outcome,omitempty"`
	// Strategy, when set, is the deployed service's
	// deploymentConfiguration.strategy for this run: ROLLING, BLUE_GREEN,
	// LINEAR or CANARY.
	Strategy string `json:"strategy,omitempty"`
	// BakeTimeMinutes is the service's bakeTimeInMinutes for this run
	// (BLUE_GREEN, LINEAR, CANARY; 0–1440).
	BakeTimeMinutes int32 `json:"bakeTimeMinutes,omitempty"`
	// Traffic is the service's LINEAR or CANARY configuration for this run.
	Traffic *TrafficSteps `json:"traffic,omitempty"`
	// Alarms are the service's deployment alarms for this run (rollback on).
	Alarms []string `json:"alarms,omitempty"`
	// NoRollback turns the circuit breaker's rollback off for this run.
	NoRollback bool `json:"noRollback,omitempty"`
	// BakeSeconds is how long the local stack bakes a deployment whose
	// service has a bake time (BLUE_GREEN, LINEAR, CANARY, or alarms): the
	// service's bakeTimeInMinutes stays what ECS reports, but its wall-clock
	// bake is compressed to this (default: 1 s).
	BakeSeconds float64 `json:"bakeSeconds,omitempty"`
	// Hooks are the service's deployment lifecycle hooks for this run
	// (BLUE_GREEN, LINEAR, CANARY).
	Hooks []HookScript `json:"hooks,omitempty"`
}

// HookScript is one lifecycle hook at one stage.
type HookScript struct {
	// Stage is the lifecycle stage it runs at: PRE_SCALE_UP, POST_SCALE_UP,
	// POST_TEST_TRAFFIC_SHIFT (BLUE_GREEN), PRE_PRODUCTION_TRAFFIC_SHIFT or
	// POST_PRODUCTION_TRAFFIC_SHIFT.
	Stage string `json:"stage"`
	// Type is PAUSE (the deployment waits for ContinueServiceDeployment) or
	// AWS_LAMBDA (a function passes or fails the stage).
	Type string `json:"type"`
	// Result is what an AWS_LAMBDA hook returns: SUCCEEDED (default) or
	// FAILED, which rolls the deployment back.
	Result string `json:"result,omitempty"`
	// TimeoutMinutes is a PAUSE hook's timeoutInMinutes as ECS reports it;
	// TimeoutSeconds how long the local stack waits before taking
	// TimeoutAction (ROLLBACK, the default, or CONTINUE); default 600 s.
	TimeoutMinutes int32   `json:"timeoutMinutes,omitempty"`
	TimeoutSeconds float64 `json:"timeoutSeconds,omitempty"`
	TimeoutAction  string  `json:"timeoutAction,omitempty"`
}

func (h HookScript) timeoutAction() string {
	if h.TimeoutAction == "" {
		return "ROLLBACK"
	}
	return h.TimeoutAction
}

func (h HookScript) timeoutSeconds() float64 {
	if h.TimeoutSeconds == 0 {
		return 600
	}
	return h.TimeoutSeconds
}

func (h HookScript) lambdaName() string { return "deployment-hook-" + strings.ToLower(h.Stage) }

// validate checks a hook against its strategy: "PAUSE hooks cannot be
// configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages"
// (DeploymentLifecycleHook.LifecycleStages), and the emulator models hooks
// at the stages its strategies pass through.
func (h HookScript) validate(strategy string) error {
	stages := hookStages[strategy]
	if stages == nil {
		return fmt.Errorf("scenario: rollout.hooks need a strategy with lifecycle stages (BLUE_GREEN, LINEAR, CANARY), not %q", strategy)
	}
	if _, ok := stages[h.Stage]; !ok {
		return fmt.Errorf("scenario: rollout.hooks: stage %q is not one a %s hook can run at (%s)", h.Stage, strategy, strings.Join(slices.Sorted(maps.Keys(stages)), ", "))
	}
	switch {
	case h.Type != hookPause && h.Type != hookLambda:
		return fmt.Errorf("scenario: rollout.hooks: type %q must be PAUSE or AWS_LAMBDA", h.Type)
	case h.Result != "" && h.Result != hookSucceeded && h.Result != hookFailed:
		return fmt.Errorf("scenario: rollout.hooks: result %q must be SUCCEEDED or FAILED", h.Result)
	case h.TimeoutAction != "" && h.TimeoutAction != "ROLLBACK" && h.TimeoutAction != "CONTINUE":
		return fmt.Errorf("scenario: rollout.hooks: timeoutAction %q must be ROLLBACK or CONTINUE", h.TimeoutAction)
	case h.TimeoutSeconds < 0:
		return fmt.Errorf("scenario: seconds must not be negative")
	}
	return nil
}

// Rollout outcomes.
const (
	OutcomeCompleted  = "COMPLETED"
	OutcomeRolledBack = "ROLLED_BACK"
	OutcomeSuperseded = "SUPERSEDED"
	OutcomeStuck      = "STUCK"
	OutcomeAlarm      = "ALARM"
	OutcomeStopped    = "STOPPED"
)

// LoadScenario reads a scenario file, rejecting unknown fields.
func LoadScenario(path string) (Scenario, error) {
	var s Scenario
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read scenario: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, s.Validate()
}

// validate checks a rollout's values; field names it in the message.
func (r RolloutScript) validate(field string) error {
	switch r.Outcome {
	case "", OutcomeCompleted, OutcomeRolledBack, OutcomeAlarm, OutcomeSuperseded, OutcomeStopped, OutcomeStuck:
	default:
		return fmt.Errorf("scenario: %s.outcome %q must be one of COMPLETED, ROLLED_BACK, ALARM, SUPERSEDED, STOPPED, STUCK", field, r.Outcome)
	}
	switch r.Strategy {
	case "", "ROLLING", "BLUE_GREEN", "LINEAR", "CANARY":
	default:
		return fmt.Errorf("scenario: %s.strategy %q must be one of ROLLING, BLUE_GREEN, LINEAR, CANARY", field, r.Strategy)
	}
	if r.BakeTimeMinutes < 0 || r.BakeTimeMinutes > 1440 {
		return fmt.Errorf("scenario: %s.bakeTimeMinutes must be 0–1440", field)
	}
	if r.Seconds < 0 || r.BakeSeconds < 0 {
		return fmt.Errorf("scenario: %s: seconds must not be negative", field)
	}
	if t := r.Traffic; t != nil {
		// LinearConfiguration: stepPercent "multiples of 0.1 from 3.0 to
		// 100.0", step bake "0 to 1440 minutes"; CanaryConfiguration:
		// canaryPercent "from 0.1 to 100.0", canary bake "0 to 1440".
		bad := func(m *int32) bool { return m != nil && (*m < 0 || *m > 1440) }
		switch {
		case t.StepPercent != 0 && (t.StepPercent < 3 || t.StepPercent > 100):
			return fmt.Errorf("scenario: %s.traffic.stepPercent must be 3–100", field)
		case t.CanaryPercent != 0 && (t.CanaryPercent < 0.1 || t.CanaryPercent > 100):
			return fmt.Errorf("scenario: %s.traffic.canaryPercent must be 0.1–100", field)
		case bad(t.StepBakeTimeMinutes) || bad(t.CanaryBakeTimeMinutes):
			return fmt.Errorf("scenario: %s.traffic: bake minutes must be 0–1440", field)
		case t.StepBakeSeconds < 0:
			return fmt.Errorf("scenario: %s: seconds must not be negative", field)
		}
	}
	for _, h := range r.Hooks {
		if err := h.validate(r.Strategy); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the scenario's values.
func (s Scenario) Validate() error {
	if s.Layout != "" && s.Layout != "multi-account" {
		return fmt.Errorf("scenario: layout %q must be \"multi-account\" or absent", s.Layout)
	}
	if err := s.Rollout.validate("rollout"); err != nil {
		return err
	}
	for name, r := range s.ServiceRollouts {
		if err := r.validate("serviceRollouts." + name); err != nil {
			return err
		}
	}
	if s.Migration.Seconds < 0 || s.Events.DelaySeconds < 0 {
		return fmt.Errorf("scenario: seconds must not be negative")
	}
	if s.Adversary != nil {
		if _, err := NewAdversary(*s.Adversary); err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
	}
	for op := range s.Throttle {
		if _, ok := ecsOps[op]; !ok {
			if _, ok := ecrOps[op]; !ok {
				return fmt.Errorf("scenario: throttle: %q is not an operation the emulator serves", op)
			}
		}
	}
	return nil
}

func (m MigrationScript) duration() float64 {
	if m.Seconds == 0 {
		return 1
	}
	return m.Seconds
}

func (r RolloutScript) bake() time.Duration {
	if r.BakeSeconds == 0 {
		return time.Second
	}
	return secs(r.BakeSeconds)
}

func (r RolloutScript) duration() float64 {
	if r.Seconds == 0 {
		return 2
	}
	return r.Seconds
}
