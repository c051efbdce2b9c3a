package deploy

import (
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// State is the document that flows through the state machine: each Lambda
// takes it and returns it updated. It is what a person sees as the input and
// output of every step in the console, and the execution's final output.
//
// Two kinds of fields. Read by the ASL (Choice variables, Wait and
// heartbeat paths; statemachine's TestEveryPathTheASLReadsIsInTheState
// checks each): turn.decision, turn.waitSeconds, window.waitUntil,
// approval.timeoutSeconds, image.mode, migration.skipped, migration.done,
// migration.retryInSeconds, migration.taskArn, poll.migrationSeconds,
// poll.deploymentSeconds, deployment.done; the ASL itself writes wake and
// approval.decision. Renaming one of these breaks executions in flight.
// Every other field is for people (the console, deployer status, the
// notification) and for the next Lambda.
type State struct {
	// Version is the State document's version (StateVersion when this code
	// wrote it; absent, 1, from a release before versions), and Build the
	// deployer build whose function wrote it. How the document may change
	// between versions: docs/architecture.md, "Upgrades".
	Version     int       `json:"version"`
	Build       string    `json:"build,omitempty"`
	Execution   Execution `json:"execution"`
	Trigger     Trigger   `json:"trigger"`
	Turn        Turn      `json:"turn"`
	Environment string    `json:"environment"`
	Cluster     string    `json:"cluster"`
	Service     string    `json:"service"`
	// Account and Region are the target's when it is not in the deployer's
	// own account and Region (absent: the deployer's; place.go).
	Account    string     `json:"account,omitempty"`
	Region     string     `json:"region,omitempty"`
	Image      Image      `json:"image"`
	Launch     Launch     `json:"launch"`
	Migration  Migration  `json:"migration"`
	Deployment Deployment `json:"deployment"`
	Poll       Poll       `json:"poll"`
	Phases     Phases     `json:"phases"`
	// Window is set for a target with deployment windows.
	Window *Window `json:"window,omitempty"`
	// Approval is set for a target with an approval gate.
	Approval *Approval `json:"approval,omitempty"`
	// Rollback is set when this execution redeploys an earlier image.
	Rollback *Rollback `json:"rollback,omitempty"`
	// Wake says what last ended a WaitForMigration or WaitForDeployment early.
	Wake *Wake `json:"wake,omitempty"`
	// Services is set for a target of several services: each one's
	// deployment and outcome. Service is then the first of them (the
	// migration ran on its task definition), and Deployment holds what they
	// share: the timeout, when the deployment became due, and Done once
	// every service has deployed.
	Services []ServiceRollout `json:"services,omitempty"`
	// OnFailure is what the services that deployed do when another fails
	// (config.OnFailureLeaveOthers or config.OnFailureRollbackOthers).
	OnFailure string `json:"onFailure,omitempty"`
}

// StateVersion is the version of the State document this code writes.
// Version 2 added version, build, turn.spanSeconds, turn.inFlight and
// turn.note; every reader takes version 1 documents too (a missing field
// is its zero value, and each reader says what that means).
const StateVersion = 2

// Build names the deployer build that wrote a document: the commit, set at
// link time (-ldflags "-X github.com/ecr-deployer/ecr-deployer/internal/deploy.Build=…").
var Build = "dev"

// DocumentVersion is the document's version: 1 for one written before
// documents had a version.
func (s State) DocumentVersion() int { return max(s.Version, 1) }

// ServiceRollout is one service of a target of several.
type ServiceRollout struct {
	Service string `json:"service"`
	// TaskDefinition is the revision the service ran when the execution
	// began: what rollback-others deploys again.
	TaskDefinition string `json:"taskDefinition"`
	// PinnedTaskDefinition is its revision pinned to the digest ("image": "digest").
	PinnedTaskDefinition string     `json:"pinnedTaskDefinition,omitempty"`
	Deployment           Deployment `json:"deployment"`
	// DeployedDigest and Note: what the deployment's tasks run (see Image).
	DeployedDigest string `json:"deployedDigest,omitempty"`
	Note           string `json:"note,omitempty"`
	// Outcome is one of the Outcome constants; Error and Cause say why a
	// service failed (the error name and cause its own execution would
	// have ended with).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	Cause   string `json:"cause,omitempty"`
	// Log is where the container of the target's image logs (awslogs), for
	// the log lines of a failed deployment's stopped task.
	Log *TaskLog `json:"log,omitempty"`
	// Rollback is rollback-others' deployment of TaskDefinition, after
	// another service failed; RollbackCause says why it failed, if it did.
	Rollback      *Deployment `json:"rollback,omitempty"`
	RollbackCause string      `json:"rollbackCause,omitempty"`
}

// TaskLog is a container's awslogs stream location.
type TaskLog struct {
	Container    string `json:"container"`
	Group        string `json:"group"`
	StreamPrefix string `json:"streamPrefix,omitempty"`
	Region       string `json:"region,omitempty"`
}

// A service's outcome in a target of several.
const (
	OutcomePending     = "pending"
	OutcomeDeploying   = "deploying"
	OutcomeDeployed    = "deployed"
	OutcomeFailed      = "failed"
	OutcomeRollingBack = "rolling back"
	OutcomeRolledBack  = "rolled back"
	// OutcomeRollbackFailed: rollback-others' deployment of the previous
	// task definition did not complete.
	OutcomeRollbackFailed = "rollback failed"
)

// ServiceNames lists the services the execution deploys.
func (s State) ServiceNames() []string {
	if len(s.Services) == 0 {
		return []string{s.Service}
	}
	out := make([]string, len(s.Services))
	for i, r := range s.Services {
		out[i] = r.Service
	}
	return out
}

// Rollout is one service's deployment in an execution.
type Rollout struct {
	Service    string
	Deployment *Deployment
}

// Rollouts lists the execution's service deployments in both shapes of the
// State: its one (Service, Deployment), or each of a target of several
// (Services). The pointers let a caller update them in place.
func (s *State) Rollouts() []Rollout {
	if len(s.Services) == 0 {
		return []Rollout{{Service: s.Service, Deployment: &s.Deployment}}
	}
	out := make([]Rollout, len(s.Services))
	for i := range s.Services {
		out[i] = Rollout{Service: s.Services[i].Service, Deployment: &s.Services[i].Deployment}
	}
	return out
}

// DeploymentOf is the deployment of a service the execution deploys: its
// own, or rollback-others' once that has begun.
func (s State) DeploymentOf(service string) (Deployment, bool) {
	if len(s.Services) == 0 {
		return s.Deployment, service == s.Service
	}
	for _, r := range s.Services {
		if r.Service == service {
			if r.Rollback != nil {
				return *r.Rollback, true
			}
			return r.Deployment, true
		}
	}
	return Deployment{}, false
}

// Window is what the deployment windows decided when the execution began:
// Decision "open" (inside one), "waiting" (WaitingForWindow waits until
// WaitUntil, then goes to its turn) or "overridden" (a manual start's
// override, with its reason).
type Window struct {
	Schedule string `json:"schedule"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// WaitUntil is when the next window opens: the Wait state's TimestampPath.
	WaitUntil *time.Time `json:"waitUntil,omitempty"`
}

// Window decisions.
const (
	WindowOpen       = "open"
	WindowWaiting    = "waiting"
	WindowOverridden = "overridden"
)

// workStart is when the execution's work began: when its window opened if
// it waited for one, else when it started. The workflow's own bounds
// (LatestEnd) count from it.
func (s State) workStart() time.Time {
	if w := s.Window; w != nil && w.WaitUntil != nil && w.WaitUntil.After(s.Execution.StartTime) {
		return *w.WaitUntil
	}
	return s.Execution.StartTime
}

// queueWaitSeconds is how long a waiting check waits before the next: the
// queue poll, backing off the longer the execution has waited
// (config.QueuePoll).
func (s State) queueWaitSeconds(now time.Time) int {
	return int(config.QueuePoll(time.Duration(s.Turn.PollSeconds)*time.Second, now.Sub(s.workStart())) / time.Second)
}

// Approval is the approval gate: WaitForApproval waits TimeoutSeconds for
// a person's Decision (deployer approve or reject).
type Approval struct {
	TimeoutSeconds int    `json:"timeoutSeconds"`
	Answer         string `json:"answer"`
	// Decision is what the CLI sent the wait's task token.
	Decision *ApprovalDecision `json:"decision,omitempty"`
}

// ApprovalDecision is a person's answer to the approval gate.
type ApprovalDecision struct {
	Approved bool      `json:"approved"`
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	// Cause is the Rejected Fail state's cause.
	Cause string `json:"cause,omitempty"`
	// Digest is the image the decision is about (the execution's resolved
	// digest, which digest mode then deploys); Verified says how By was
	// established (the deployer API: IAM). Both empty in decisions of
	// earlier releases, whose By the CLI wrote.
	Digest   string `json:"digest,omitempty"`
	Verified string `json:"verified,omitempty"`
}

// Rollback says what a rollback execution undoes.
type Rollback struct {
	// Of is the digest the environment ran; To the earlier one deployed again.
	Of string `json:"of"`
	To string `json:"to"`
	By string `json:"by,omitempty"`
	// Retagged says the environment's tag was moved back to To (the push
	// this caused starts an execution that is a duplicate of this one).
	Retagged bool   `json:"retagged"`
	Note     string `json:"note,omitempty"`
}

// Execution identifies the Step Functions execution (from the context object).
type Execution struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	StartTime    time.Time `json:"startTime"`
	StateMachine string    `json:"stateMachine"`
}

// Turn is this execution's place in its service's queue.
type Turn struct {
	// Decision is GO, WAIT, SUPERSEDED or DUPLICATE.
	Decision     string `json:"decision,omitempty"`
	Reason       string `json:"reason,omitempty"`
	WaitingFor   string `json:"waitingFor,omitempty"`
	SupersededBy string `json:"supersededBy,omitempty"`
	DuplicateOf  string `json:"duplicateOf,omitempty"`
	// WaitSeconds is the WaitingForTurn pause before the next check.
	WaitSeconds int `json:"waitSeconds"`
	Checks      int `json:"checks"`
	// Throttled counts the checks in a row that could not read the queue
	// in time: each waits longer (ThrottledWait).
	Throttled              int `json:"throttled,omitempty"`
	SettleSeconds          int `json:"settleSeconds"`
	PollSeconds            int `json:"pollSeconds"`
	DuplicateWindowSeconds int `json:"duplicateWindowSeconds"`
	// Requires is the environment the image must have deployed to first
	// (the promotion guard), RequiresWaitSeconds how long to wait for its
	// deployment to end; OverrideGuard is a manual start's override; Guard
	// is what the guard decided.
	Requires            string `json:"requires,omitempty"`
	RequiresWaitSeconds int    `json:"requiresWaitSeconds,omitempty"`
	OverrideGuard       bool   `json:"overrideGuard,omitempty"`
	Guard               *Guard `json:"guard,omitempty"`
	// SpanSeconds is the longest this execution may hold its turn, as its
	// target said when it started (config's TurnSpan): the budget
	// QueueTimedOut leaves for its own work, whatever targets.json says later.
	SpanSeconds int `json:"spanSeconds,omitempty"`
	// InFlight is the rollout ECS is still doing, that no running
	// execution holds, which this one waits for (inflight.go).
	InFlight *InFlight `json:"inFlight,omitempty"`
	// Note says what the check could not read and set aside: a turn
	// holder of another state machine, or one it may not describe.
	Note string `json:"note,omitempty"`
}

// Trigger says why this deployment runs.
type Trigger struct {
	// Type is "push" (an ECR event), "manual" or "rollback" (deployer
	// rollback: a manual start that redeploys an earlier image).
	Type    string `json:"type"`
	EventID string `json:"eventId,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// By is who started a manual start, or promoted a push through the
	// deployer API (PromotedAt: when): as IAM authenticated them when
	// Verified says so, else as the input said; empty for a push by other
	// means (the ECR event names no one).
	By         string    `json:"by,omitempty"`
	Verified   string    `json:"verified,omitempty"`
	PromotedAt time.Time `json:"promotedAt,omitzero"`
	// Note says why a push's promoter is unknown when it could not be read.
	Note string `json:"note,omitempty"`
}

// Image is the image being deployed.
type Image struct {
	Registry   string `json:"registry,omitempty"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	// Mode is "tag" (force a new deployment; ECS resolves the tag) or
	// "digest" (a task definition revision pinned to Digest).
	Mode string `json:"mode"`
	// PinnedTaskDefinition is the revision PinImage registered or reused.
	PinnedTaskDefinition string `json:"pinnedTaskDefinition,omitempty"`
	// DeployedDigest is what the tasks of our deployment run.
	DeployedDigest string `json:"deployedDigest,omitempty"`
	// Note explains a DeployedDigest other than Digest.
	Note string `json:"note,omitempty"`
}

// Launch is how the service runs its tasks; the migration runs the same way.
type Launch struct {
	TaskDefinition           string                     `json:"taskDefinition"`
	LaunchType               string                     `json:"launchType,omitempty"`
	PlatformVersion          string                     `json:"platformVersion,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategy `json:"capacityProviderStrategy,omitempty"`
	Network                  *AwsvpcConfiguration       `json:"awsvpcConfiguration,omitempty"`
}

// CapacityProviderStrategy is one item of the service's strategy.
type CapacityProviderStrategy struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight"`
	Base             int32  `json:"base"`
}

// AwsvpcConfiguration is the service's awsvpc network configuration.
type AwsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

// Migration is the one-off migration task: its settings and what happened.
type Migration struct {
	Skipped    bool     `json:"skipped"`
	SkipReason string   `json:"skipReason,omitempty"`
	Container  string   `json:"container,omitempty"`
	Command    []string `json:"command,omitempty"`
	// TimeoutSeconds bounds the migration from the moment its task started.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// Attempt counts RunTask calls; MaxAttempts is 1 + the configured capacity retries.
	Attempt              int `json:"attempt,omitempty"`
	MaxAttempts          int `json:"maxAttempts,omitempty"`
	RetryIntervalSeconds int `json:"retryIntervalSeconds,omitempty"`
	// RetryInSeconds is set when RunTask found no capacity and will be tried again.
	RetryInSeconds int    `json:"retryInSeconds,omitempty"`
	LastFailure    string `json:"lastFailure,omitempty"`

	TaskARN    string     `json:"taskArn,omitempty"`
	LastStatus string     `json:"lastStatus,omitempty"`
	ExitCode   *int32     `json:"exitCode,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	Deadline   *time.Time `json:"deadline,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	LogGroup   string     `json:"logGroup,omitempty"`
	LogStream  string     `json:"logStream,omitempty"`
	// LogStreamPrefix is the container's awslogs-stream-prefix, from the task definition.
	LogStreamPrefix string `json:"logStreamPrefix,omitempty"`
	LogRegion       string `json:"logRegion,omitempty"`
	// LogDriver is the container's log driver when it is not awslogs.
	LogDriver string `json:"logDriver,omitempty"`
	Done      bool   `json:"done"`
}

// Deployment is the ECS service deployment this execution started.
type Deployment struct {
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// NotBefore is when the deployment became due: a PRIMARY deployment of
	// our task definition created since is ours (a retried StartDeployment).
	NotBefore *time.Time `json:"notBefore,omitempty"`
	ID        string     `json:"id,omitempty"`
	// CreatedAt is ECS's createdAt of our deployment (deployments[]), on
	// ECS's clock: the service deployment created with it is ours.
	CreatedAt          *time.Time `json:"createdAt,omitempty"`
	StartedAt          *time.Time `json:"startedAt,omitempty"`
	Deadline           *time.Time `json:"deadline,omitempty"`
	FinishedAt         *time.Time `json:"finishedAt,omitempty"`
	Status             string     `json:"status,omitempty"`
	RolloutState       string     `json:"rolloutState,omitempty"`
	RolloutStateReason string     `json:"rolloutStateReason,omitempty"`
	DesiredCount       int32      `json:"desiredCount"`
	RunningCount       int32      `json:"runningCount"`
	PendingCount       int32      `json:"pendingCount"`
	FailedTasks        int32      `json:"failedTasks"`
	// RollingBackTo is ECS's rollback deployment, waited for before failing.
	RollingBackTo string `json:"rollingBackTo,omitempty"`
	// ServiceDeploymentARN is ECS's record of our deployment
	// (UpdateService's service.currentServiceDeployment), which judges it.
	ServiceDeploymentARN string `json:"serviceDeploymentArn,omitempty"`
	// StaleServiceDeploymentARN is the earlier service deployment that
	// UpdateService named as current instead of ours, when it did.
	StaleServiceDeploymentARN string `json:"staleServiceDeploymentArn,omitempty"`
	// ServiceDeploymentStatus, Stage, TrafficPercent and BakeMinutes are that
	// record's status, lifecycle stage, production traffic weight and bake
	// time at the last look; BakingSince is when a look first saw BAKE_TIME.
	ServiceDeploymentStatus string     `json:"serviceDeploymentStatus,omitempty"`
	Stage                   string     `json:"stage,omitempty"`
	TrafficPercent          *float64   `json:"trafficPercent,omitempty"`
	BakeMinutes             int32      `json:"bakeMinutes,omitempty"`
	BakingSince             *time.Time `json:"bakingSince,omitempty"`
	// Progress says it for people: "IN_PROGRESS, BAKE_TIME, 4 of 10 min".
	Progress string `json:"progress,omitempty"`
	// JudgedBy is "serviceDeployment" (ECS's record) or "deployments" (the
	// service's deployments[], where ECS has no record), with the reason.
	JudgedBy string `json:"judgedBy,omitempty"`
	// Paused is the pause hook our deployment waits at, and what a person
	// runs to answer it; Decisions are the answers given (deployer continue
	// and rollback), each with who gave it.
	Paused    *Paused    `json:"paused,omitempty"`
	Decisions []Decision `json:"decisions,omitempty"`
	// LatestEnd caps Deadline however long pauses last: ten minutes before
	// the execution's own 24-hour timeout.
	LatestEnd *time.Time `json:"latestEnd,omitempty"`
	// PausedSeconds is the time spent at answered pause hooks, which
	// deploymentTimeout does not count.
	PausedSeconds int `json:"pausedSeconds,omitempty"`
	// WakeTag says how the service names this execution for Wake (its
	// ecr-deployer:execution tag), or why it does not.
	WakeTag string `json:"wakeTag,omitempty"`
	Done    bool   `json:"done"`
}

// Paused is a pause hook ECS waits at for ContinueServiceDeployment.
type Paused struct {
	Hook
	Since *time.Time `json:"since"`
	// Answer says how to answer it: "deployer continue staging" or
	// "deployer rollback staging".
	Answer string `json:"answer"`
}

// Decision is a person's answer to a pause hook, as the CLI delivers it
// with the wake it sends the waiting execution.
type Decision struct {
	// Action is CONTINUE or ROLLBACK (ContinueServiceDeployment's action).
	Action string `json:"action"`
	// Service is the service it is about in a target of several ("": each
	// of its deployments in flight).
	Service string `json:"service,omitempty"`
	HookID  string `json:"hookId"`
	Stage   string `json:"stage,omitempty"`
	// By is the caller's identity: as IAM authenticated it (Verified says
	// so: the deployer API), or in releases before it the CLI's
	// sts:GetCallerIdentity.
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	Verified string    `json:"verified,omitempty"`
}

// Poll holds how long WaitForMigration and WaitForDeployment wait for an
// ECS event before looking themselves (TimeoutSecondsPath): the configured
// safety poll interval, cut short to end at the phase's deadline.
type Poll struct {
	MigrationSeconds  int `json:"migrationSeconds"`
	DeploymentSeconds int `json:"deploymentSeconds"`
	// The configured intervals.
	MigrationIntervalSeconds  int `json:"migrationIntervalSeconds"`
	DeploymentIntervalSeconds int `json:"deploymentIntervalSeconds"`
}

// Wake is what a waiting state's task token was sent: who woke it and why.
type Wake struct {
	// By is "event" (the Wake function, on an ECS event), "watch" (the
	// Watch function found the change already there when the wait began)
	// or "decision" (deployer continue or rollback answered a pause hook).
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	// EventID is the EventBridge event's id.
	EventID string `json:"eventId,omitempty"`
	// Decision is set when the CLI woke the wait to record a person's
	// answer to a pause hook (By "decision").
	Decision *Decision `json:"decision,omitempty"`
	// Error and Cause are set instead when the wait ended without a wake:
	// States.Timeout (the safety poll looks), or the Watch function's error.
	Error string `json:"Error,omitempty"`
	Cause string `json:"Cause,omitempty"`
}

// waitSeconds is the next wait: interval, or less to end one second past
// the deadline, and at least one second (TimeoutSecondsPath takes a
// positive integer).
func waitSeconds(interval int, deadline *time.Time, now time.Time) int {
	w := interval
	if w <= 0 {
		// A state from before the intervals were recorded (an execution
		// that was running when the functions were updated).
		w = config.DefaultMigrationPollInterval.Seconds()
	}
	if deadline != nil {
		left := int(deadline.Sub(now).Seconds()) + 1
		w = min(w, left)
	}
	return max(w, 1)
}

// Phases are the durations of each phase in seconds, filled as they end.
type Phases struct {
	ResolveSeconds    float64 `json:"resolveSeconds"`
	QueueSeconds      float64 `json:"queueSeconds"`
	MigrationSeconds  float64 `json:"migrationSeconds"`
	DeploymentSeconds float64 `json:"deploymentSeconds"`
	TotalSeconds      float64 `json:"totalSeconds"`
}

func seconds(from, to time.Time) float64 {
	return float64(to.Sub(from).Milliseconds()) / 1000
}
