package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// HistoryAPI is the part of Step Functions Wake reads to find who waits.
type HistoryAPI interface {
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

var _ HistoryAPI = (*sfn.Client)(nil)

// TagsAPI is the part of ECS Wake reads to learn which execution deploys a service.
type TagsAPI interface {
	ListTagsForResource(context.Context, *ecs.ListTagsForResourceInput, ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error)
}

// ECSEvent is an EventBridge event from ECS: an "ECS Task State Change", an
// "ECS Deployment State Change" or an "ECS Hook State Change".
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html
type ECSEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// Account and Region are where the event happened: a target account
	// forwards its ECS events to the deployer's bus unchanged.
	Account string `json:"account"`
	Region  string `json:"region"`
}

// Change is what an ECS event says happened, reduced to what a waiting
// execution is matched on.
type Change struct {
	// Cluster and Service are names (Service empty for a task).
	Cluster, Service string
	// TaskARN, LastStatus and StartedBy are set for a task state change.
	TaskARN, LastStatus, StartedBy string
	// DeploymentID and EventName are set for a deployment state change;
	// EventName and HookID for a hook state change.
	DeploymentID, EventName, HookID string
	// Place is the event's account and Region (empty in an event without
	// them: then any).
	Place config.Place
}

// ParseECSEvent reads an ECS task or deployment state change event.
func ParseECSEvent(ev ECSEvent) (Change, error) {
	c, err := parseECSDetail(ev)
	c.Place = config.Place{Account: ev.Account, Region: ev.Region}
	return c, err
}

// parseECSDetail reads what an ECS event's detail says changed.
func parseECSDetail(ev ECSEvent) (Change, error) {
	if ev.Source != "aws.ecs" {
		return Change{}, notAnECSEvent(ev.Source, ev.DetailType)
	}
	switch ev.DetailType {
	case "ECS Task State Change":
		var d struct {
			TaskARN    string `json:"taskArn"`
			ClusterARN string `json:"clusterArn"`
			LastStatus string `json:"lastStatus"`
			StartedBy  string `json:"startedBy"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || d.TaskARN == "" {
			return Change{}, taskEventWithoutTask(ev.ID)
		}
		return Change{Cluster: lastSegment(d.ClusterARN), TaskARN: d.TaskARN, LastStatus: d.LastStatus, StartedBy: d.StartedBy}, nil
	case "ECS Deployment State Change":
		var d struct {
			DeploymentID string `json:"deploymentId"`
			EventName    string `json:"eventName"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || len(ev.Resources) == 0 {
			return Change{}, deploymentEventWithoutService(ev.ID)
		}
		// arn:aws:ecs:region:account:service/cluster/service
		parts := strings.Split(ev.Resources[0], "/")
		if len(parts) != 3 {
			return Change{}, deploymentEventBadService(ev.ID, ev.Resources[0])
		}
		return Change{Cluster: parts[1], Service: parts[2], DeploymentID: d.DeploymentID, EventName: d.EventName}, nil
	case "ECS Hook State Change":
		return parseHookEvent(ev)
	}
	return Change{}, unknownECSEvent(ev.DetailType)
}

// parseHookEvent reads an ECS Hook State Change: a pause hook awaits action
// (HOOK_AWAITING_ACTION). The developer guide names the detail-type and the
// event name but shows no example event, so the service is taken from the
// first service or service deployment ARN in resources, or else in the
// detail's serviceArn or serviceDeploymentArn; the safety poll covers an
// event this cannot read.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
func parseHookEvent(ev ECSEvent) (Change, error) {
	var d struct {
		EventName            string `json:"eventName"`
		HookID               string `json:"hookId"`
		ServiceARN           string `json:"serviceArn"`
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	}
	_ = json.Unmarshal(ev.Detail, &d)
	for _, arn := range append(append([]string{}, ev.Resources...), d.ServiceDeploymentARN, d.ServiceARN) {
		for _, kind := range []string{":service-deployment/", ":service/"} {
			_, rest, ok := strings.Cut(arn, kind)
			parts := strings.Split(rest, "/")
			if ok && len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
				return Change{Cluster: parts[0], Service: parts[1], EventName: d.EventName, HookID: d.HookID}, nil
			}
		}
	}
	return Change{}, hookEventWithoutService(ev.ID)
}

// Parked is an execution waiting for a task token in WaitForMigration or WaitForDeployment.
type Parked struct {
	ExecutionARN string
	Token        string
	WaitingFor   string
	State        State
}

// Wakes says whether the change is one the parked execution waits for: its
// migration task stopped, or anything happened to its service's deployments
// other than ours starting (ours completing or failing, ECS's rollback, or
// somebody else's deployment).
func Wakes(c Change, p Parked) bool {
	s := p.State
	switch {
	case c.Cluster != lastSegment(s.Cluster):
		return false
	case c.TaskARN != "":
		return p.WaitingFor == WaitingForMigration && c.TaskARN == s.Migration.TaskARN && c.LastStatus == "STOPPED"
	default:
		dep, ours := s.DeploymentOf(c.Service)
		return p.WaitingFor == WaitingForDeployment && ours &&
			!(c.DeploymentID == dep.ID && c.EventName == "SERVICE_DEPLOYMENT_IN_PROGRESS")
	}
}

// wakes is Wakes for a change in the place the parked execution's target
// is: the same cluster and service names may be in several accounts.
func (d *Deployer) wakes(c Change, p Parked) bool {
	return Wakes(c, p) && c.in(d.placeOf(p.State))
}

// in says whether the change may have happened in a place: an event
// without an account and Region may be anywhere.
func (c Change) in(p config.Place) bool { return c.Place == (config.Place{}) || c.Place == p }

// ParkedFrom finds the wait an execution is in from its latest history
// events, newest first: a TaskScheduled of a lambda:invoke.waitForTaskToken
// state not yet followed by its end. Its parameters hold the Payload with
// the task token and the state.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskScheduledEventDetails.html
func ParkedFrom(arn string, newestFirst []sfntypes.HistoryEvent) (Parked, bool) {
	for _, ev := range newestFirst {
		switch ev.Type {
		case sfntypes.HistoryEventTypeTaskScheduled:
			det := ev.TaskScheduledEventDetails
			// resourceType "lambda", resource "invoke.waitForTaskToken"; the
			// payload's token and waitingFor are what identify ours.
			if det == nil || !strings.HasSuffix(aws.ToString(det.Resource), ".waitForTaskToken") {
				return Parked{}, false
			}
			var params struct {
				Payload WatchInput `json:"Payload"`
			}
			if json.Unmarshal([]byte(aws.ToString(det.Parameters)), &params) != nil || params.Payload.TaskToken == "" || params.Payload.WaitingFor == "" {
				return Parked{}, false
			}
			p := params.Payload
			return Parked{ExecutionARN: arn, Token: p.TaskToken, WaitingFor: p.WaitingFor, State: p.State}, true
		case sfntypes.HistoryEventTypeTaskStarted, sfntypes.HistoryEventTypeTaskSubmitted:
			continue
		default:
			// TaskSucceeded, TaskFailed, TaskTimedOut, a state exited or
			// anything else: the latest event is not a pending wait.
			return Parked{}, false
		}
	}
	return Parked{}, false
}

// WakeOutput is what Wake did with one event.
type WakeOutput struct {
	Change Change `json:"change"`
	// Woken is the execution whose wait the event ended, if any.
	Woken string `json:"woken,omitempty"`
	// Read counts the execution histories read to find it.
	Read int `json:"historiesRead"`
	// Ignored says why an event was not ours to act on (logged as
	// "event ignored", one line per event, for a metric filter).
	Ignored string `json:"ignored,omitempty"`
}

// deploys is what Wake remembers of an execution: the cluster and service it
// deploys and its migration task once started. None of it changes, so
// executions an event cannot be about are not read again while Wake is warm.
type deploys struct {
	cluster  string
	services []string
	taskARN  string
	place    config.Place
}

func (d *Deployer) deploysOf(s State) deploys {
	var services []string
	for _, n := range s.ServiceNames() {
		services = append(services, lastSegment(n))
	}
	return deploys{lastSegment(s.Cluster), services, s.Migration.TaskARN, d.placeOf(s)}
}

// rulesOut says the change cannot be about the execution.
func (k deploys) rulesOut(c Change) bool {
	switch {
	case k.cluster != c.Cluster, !c.in(k.place):
		return true
	case c.Service != "":
		return !slices.Contains(k.services, c.Service)
	default: // a task: many services can share the cluster
		return k.taskARN != "" && k.taskARN != c.TaskARN
	}
}

// Wake ends the wait of the execution an ECS event is about, by sending its
// task token. The event names it: a migration task's startedBy
// (ecr-deployer/<execution>), or the service's ecr-deployer:execution tag,
// which StartDeployment sets. Wake then reads that one execution's latest
// history events: two calls per event however many executions run. An event
// that names none (a task or a service deployment started by an earlier
// version, a service that could not be tagged) is looked for among the
// state machine's RUNNING executions. Nobody waiting is not an error: the
// change may have come before the wait, which Watch then sees.
func (d *Deployer) Wake(ctx context.Context, ev ECSEvent) (WakeOutput, error) {
	c, err := ParseECSEvent(ev)
	out := WakeOutput{Change: c}
	if err != nil && ev.DetailType == "ECS Hook State Change" {
		// The hook rule filters no service, and the event's fields are not
		// documented: one we cannot read is not ours to fail on (the
		// deployment's safety poll sees the pause either way).
		return d.ignore(ctx, ev, out, err.Error()), nil
	}
	if err != nil {
		return out, err
	}
	if d.StateMachineARN == "" {
		return out, errors.New("wake: no state machine ARN (STATE_MACHINE_ARN)")
	}
	if c.Place != (config.Place{}) {
		// The service's tags are read where the event happened.
		ctx = WithPlace(ctx, c.Place)
	}
	if name, ok := d.namedBy(ctx, c); ok {
		arn := executions.ARN(d.StateMachineARN, name)
		events, err := executions.LatestEvents(ctx, d.History, arn, 5)
		if executions.Gone(err) {
			// An execution closed more than 90 days ago, or another
			// deployer's (a tag or startedBy left on a service): nobody
			// here waits for the event.
			return d.ignore(ctx, ev, out, fmt.Sprintf("the event names execution %s, which this state machine does not have (closed over 90 days ago, or another stack's)", name)), nil
		}
		if err != nil {
			return out, fmt.Errorf("read the history of %s, which the event names: %w", arn, err)
		}
		out.Read++
		if p, parked := ParkedFrom(arn, events); parked && d.wakes(c, p) {
			return d.wake(ctx, ev, c, p, out)
		}
		d.log().InfoContext(ctx, "the execution the event names does not wait for it", "event", ev.ID, "execution", arn)
		return out, nil
	}
	return d.scanForWaiter(ctx, ev, c, out)
}

// namedBy finds the execution an event names: the migration task's
// startedBy, or the service's execution tag.
func (d *Deployer) namedBy(ctx context.Context, c Change) (string, bool) {
	if c.TaskARN != "" {
		return ExecutionOfTask(c.StartedBy)
	}
	if c.Service == "" || d.Tags == nil {
		return "", false
	}
	out, err := d.Tags.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(d.serviceARNOf(c))})
	if err != nil {
		d.log().WarnContext(ctx, "could not read the service's tags: reading the running executions instead", "cluster", c.Cluster, "service", c.Service, "error", err)
		return "", false
	}
	for _, t := range out.Tags {
		if aws.ToString(t.Key) == ExecutionTag && executionNameSyntax.MatchString(aws.ToString(t.Value)) {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// serviceARNOf is the long ARN of the service a change is about, in the
// event's account and Region, else the state machine's.
func (d *Deployer) serviceARNOf(c Change) string {
	// arn:partition:states:region:account:stateMachine:name
	p := strings.SplitN(d.StateMachineARN, ":", 6)
	if len(p) < 6 {
		return ""
	}
	at := d.at(c.Place.Account, c.Place.Region)
	return fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", p[1], at.Region, at.Account, c.Cluster, c.Service)
}

// wake sends the parked execution's token for the event.
func (d *Deployer) wake(ctx context.Context, ev ECSEvent, c Change, p Parked, out WakeOutput) (WakeOutput, error) {
	reason := describeChange(ev.DetailType, c)
	if err := d.sendWake(ctx, p.Token, Wake{By: "event", Reason: reason, EventID: ev.ID}); err != nil {
		return out, err
	}
	out.Woken = p.ExecutionARN
	d.log().InfoContext(ctx, "woke execution", "execution", p.ExecutionARN, "waitingFor", p.WaitingFor, "event", ev.ID, "reason", reason)
	return out, nil
}

// scanForWaiter looks for the execution an event is about among the
// state machine's RUNNING executions, reading their latest history events.
func (d *Deployer) scanForWaiter(ctx context.Context, ev ECSEvent, c Change, out WakeOutput) (WakeOutput, error) {
	found := false
	err := executions.List(ctx, d.History, d.StateMachineARN, executions.Query{Status: sfntypes.ExecutionStatusRunning}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		arn := aws.ToString(ex.ExecutionArn)
		if known, ok := d.wakeCache.Get(arn); ok && known.rulesOut(c) {
			return false, nil
		}
		events, err := executions.LatestEvents(ctx, d.History, arn, 5)
		if executions.Gone(err) {
			return false, nil // listed a moment ago, not readable (yet, or any more)
		}
		if err != nil {
			return true, fmt.Errorf("read the history of %s: %w", arn, err)
		}
		out.Read++
		p, parked := ParkedFrom(arn, events)
		if !parked {
			if s, ok := executions.Latest[State](events); ok {
				d.wakeCache.Put(arn, d.deploysOf(s))
			}
			return false, nil
		}
		d.wakeCache.Put(arn, d.deploysOf(p.State))
		if !d.wakes(c, p) {
			return false, nil
		}
		// One execution per service is past its turn: nobody else waits for this.
		found = true
		out, err = d.wake(ctx, ev, c, p, out)
		return true, err
	})
	if err != nil || found {
		return out, err
	}
	d.log().InfoContext(ctx, "nobody waits for this event", "event", ev.ID, "detailType", ev.DetailType, "cluster", c.Cluster,
		"service", c.Service, "taskArn", c.TaskARN, "deploymentId", c.DeploymentID, "historiesRead", out.Read)
	return out, nil
}

// ignore logs an event that is not ours to act on, once, and says why.
func (d *Deployer) ignore(ctx context.Context, ev ECSEvent, out WakeOutput, why string) WakeOutput {
	out.Ignored = why
	d.log().InfoContext(ctx, "event ignored", "event", ev.ID, "detailType", ev.DetailType, "reason", why)
	return out
}

func describeChange(detailType string, c Change) string {
	if c.TaskARN != "" {
		return fmt.Sprintf("%s: task %s is %s", detailType, taskID(c.TaskARN), c.LastStatus)
	}
	if c.DeploymentID == "" {
		return fmt.Sprintf("%s: %s for hook %s of %s/%s", detailType, c.EventName, orUnknown(c.HookID), c.Cluster, c.Service)
	}
	return fmt.Sprintf("%s: %s for deployment %s of %s/%s", detailType, c.EventName, c.DeploymentID, c.Cluster, c.Service)
}

// IsGoneToken says the task token was already used or timed out.
func IsGoneToken(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "TaskTimedOut", "TaskDoesNotExist", "InvalidToken":
		return true
	}
	return false
}

func lastSegment(s string) string { return s[strings.LastIndex(s, "/")+1:] }
