package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

func sampleEvent(t *testing.T, file string, change func(ev *ECSEvent, detail map[string]any)) ECSEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev ECSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var detail map[string]any
	_ = json.Unmarshal(ev.Detail, &detail)
	change(&ev, detail)
	ev.Detail, _ = json.Marshal(detail)
	return ev
}

func TestParseECSEvent(t *testing.T) {
	sampled := config.Place{Account: "111122223333", Region: "us-west-2"}
	cases := map[string]struct {
		event   ECSEvent
		want    Change
		invalid bool
	}{
		"task state change (AWS's sample)": {
			event: sampleEvent(t, "ecs-task-state-change-event.json", func(*ECSEvent, map[string]any) {}),
			want:  Change{Cluster: "FargateCluster", TaskARN: "arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad", LastStatus: "STOPPED", StartedBy: "ecr-deployer", Place: sampled},
		},
		"deployment state change (AWS's sample)": {
			event: sampleEvent(t, "ecs-deployment-state-change-event.json", func(*ECSEvent, map[string]any) {}),
			want:  Change{Cluster: "default", Service: "servicetest", DeploymentID: "ecs-svc/123", EventName: "SERVICE_DEPLOYMENT_IN_PROGRESS", Place: sampled},
		},
		"an ECR event": {
			event:   sampleEvent(t, "ecr-image-push-event.json", func(*ECSEvent, map[string]any) {}),
			invalid: true,
		},
		"a task event without its task": {
			event:   sampleEvent(t, "ecs-task-state-change-event.json", func(_ *ECSEvent, d map[string]any) { delete(d, "taskArn") }),
			invalid: true,
		},
		"a deployment event with an old-format service ARN": {
			event: sampleEvent(t, "ecs-deployment-state-change-event.json", func(ev *ECSEvent, _ map[string]any) {
				ev.Resources = []string{"arn:aws:ecs:us-west-2:111122223333:service/servicetest"}
			}),
			invalid: true,
		},
		"a pause hook awaits action (service deployment in resources)": {
			event: ECSEvent{ID: "h1", Source: "aws.ecs", DetailType: "ECS Hook State Change",
				Resources: []string{"arn:aws:ecs:us-west-2:1:service-deployment/staging/staging-service/abc"},
				Detail:    json.RawMessage(`{"eventName":"HOOK_AWAITING_ACTION","hookId":"ecs-pause-1"}`)},
			want: Change{Cluster: "staging", Service: "staging-service", EventName: "HOOK_AWAITING_ACTION", HookID: "ecs-pause-1"},
		},
		"a pause hook awaits action (service in the detail)": {
			event: ECSEvent{ID: "h2", Source: "aws.ecs", DetailType: "ECS Hook State Change",
				Detail: json.RawMessage(`{"eventName":"HOOK_AWAITING_ACTION","serviceArn":"arn:aws:ecs:us-west-2:1:service/staging/staging-service"}`)},
			want: Change{Cluster: "staging", Service: "staging-service", EventName: "HOOK_AWAITING_ACTION"},
		},
		"a hook event that names no service": {
			event:   ECSEvent{ID: "h3", Source: "aws.ecs", DetailType: "ECS Hook State Change", Detail: json.RawMessage(`{"eventName":"HOOK_AWAITING_ACTION"}`)},
			invalid: true,
		},
		"a service action event": {
			event:   sampleEvent(t, "ecs-deployment-state-change-event.json", func(ev *ECSEvent, _ map[string]any) { ev.DetailType = "ECS Service Action" }),
			invalid: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseECSEvent(tc.event)
			var inv *InvalidInput
			if tc.invalid != errors.As(err, &inv) {
				t.Fatalf("err = %v, want invalid = %v", err, tc.invalid)
			}
			if !tc.invalid && got != tc.want {
				t.Fatalf("change = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func parkedOn(waitingFor string) Parked {
	return Parked{WaitingFor: waitingFor, Token: "tok", State: State{
		Cluster: "staging", Service: "staging-service",
		Migration:  Migration{TaskARN: "arn:aws:ecs:us-west-2:1:task/staging/abc"},
		Deployment: Deployment{ID: "ecs-svc/ours"},
	}}
}

// parkedOnSeveral waits for the deployments of web and worker.
func parkedOnSeveral() Parked {
	p := parkedOn(WaitingForDeployment)
	p.State.Service = "web"
	p.State.Services = []ServiceRollout{{Service: "web", Deployment: Deployment{ID: "ecs-svc/web"}, Outcome: OutcomeDeploying},
		{Service: "worker", Deployment: Deployment{ID: "ecs-svc/w"}, Outcome: OutcomeDeploying}}
	return p
}

func TestWakes(t *testing.T) {
	task := func(arn, status string) Change { return Change{Cluster: "staging", TaskARN: arn, LastStatus: status} }
	dep := func(service, id, name string) Change {
		return Change{Cluster: "staging", Service: service, DeploymentID: id, EventName: name}
	}
	const ours = "arn:aws:ecs:us-west-2:1:task/staging/abc"
	cases := map[string]struct {
		change Change
		parked Parked
		want   bool
	}{
		"our migration stopped":             {task(ours, "STOPPED"), parkedOn(WaitingForMigration), true},
		"our migration running":             {task(ours, "RUNNING"), parkedOn(WaitingForMigration), false},
		"another task stopped":              {task("arn:aws:ecs:us-west-2:1:task/staging/other", "STOPPED"), parkedOn(WaitingForMigration), false},
		"task stopped, waiting for deploy":  {task(ours, "STOPPED"), parkedOn(WaitingForDeployment), false},
		"task of another cluster":           {Change{Cluster: "prod", TaskARN: ours, LastStatus: "STOPPED"}, parkedOn(WaitingForMigration), false},
		"our deployment completed":          {dep("staging-service", "ecs-svc/ours", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOn(WaitingForDeployment), true},
		"our deployment failed":             {dep("staging-service", "ecs-svc/ours", "SERVICE_DEPLOYMENT_FAILED"), parkedOn(WaitingForDeployment), true},
		"our deployment in progress":        {dep("staging-service", "ecs-svc/ours", "SERVICE_DEPLOYMENT_IN_PROGRESS"), parkedOn(WaitingForDeployment), false},
		"someone else's deployment began":   {dep("staging-service", "ecs-svc/theirs", "SERVICE_DEPLOYMENT_IN_PROGRESS"), parkedOn(WaitingForDeployment), true},
		"ECS's rollback completed":          {dep("staging-service", "ecs-svc/rollback", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOn(WaitingForDeployment), true},
		"another service's deployment":      {dep("other-service", "ecs-svc/x", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOn(WaitingForDeployment), false},
		"our service waits at a pause hook": {Change{Cluster: "staging", Service: "staging-service", EventName: "HOOK_AWAITING_ACTION", HookID: "h"}, parkedOn(WaitingForDeployment), true},
		"another service's pause hook":      {Change{Cluster: "staging", Service: "other-service", EventName: "HOOK_AWAITING_ACTION", HookID: "h"}, parkedOn(WaitingForDeployment), false},
		"deployment, waiting for the task":  {dep("staging-service", "ecs-svc/ours", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOn(WaitingForMigration), false},
		"several: the second service's":     {dep("worker", "ecs-svc/w", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOnSeveral(), true},
		"several: its own start":            {dep("worker", "ecs-svc/w", "SERVICE_DEPLOYMENT_IN_PROGRESS"), parkedOnSeveral(), false},
		"several: its rollback-others":      {dep("worker", "ecs-svc/rb", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOnSeveral(), true},
		"several: a service not among them": {dep("staging-service", "ecs-svc/x", "SERVICE_DEPLOYMENT_COMPLETED"), parkedOnSeveral(), false},
	}
	for name, tc := range cases {
		if got := Wakes(tc.change, tc.parked); got != tc.want {
			t.Errorf("%s: wakes = %v, want %v", name, got, tc.want)
		}
	}
}

func scheduled(params string, resource string) sfntypes.HistoryEvent {
	return sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskScheduled, TaskScheduledEventDetails: &sfntypes.TaskScheduledEventDetails{
		Parameters: aws.String(params), Resource: aws.String(resource), ResourceType: aws.String("lambda"), Region: aws.String("us-west-2"),
	}}
}

func event(typ sfntypes.HistoryEventType) sfntypes.HistoryEvent {
	return sfntypes.HistoryEvent{Type: typ}
}

const watchParams = `{"FunctionName":"arn:aws:lambda:us-west-2:1:function:watch","Payload":{"taskToken":"tok-1","waitingFor":"deployment","state":{"cluster":"staging","service":"staging-service","deployment":{"id":"ecs-svc/ours"}}}}`

func TestParkedFrom(t *testing.T) {
	cases := map[string]struct {
		newestFirst []sfntypes.HistoryEvent
		parked      bool
	}{
		"waiting (Watch returned)": {[]sfntypes.HistoryEvent{event("TaskSubmitted"), event("TaskStarted"), scheduled(watchParams, "invoke.waitForTaskToken"), event("TaskStateEntered")}, true},
		"waiting (Watch running)":  {[]sfntypes.HistoryEvent{event("TaskStarted"), scheduled(watchParams, "invoke.waitForTaskToken")}, true},
		"woken already":            {[]sfntypes.HistoryEvent{event("TaskSucceeded"), event("TaskSubmitted"), event("TaskStarted"), scheduled(watchParams, "invoke.waitForTaskToken")}, false},
		"timed out":                {[]sfntypes.HistoryEvent{event("TaskTimedOut"), event("TaskSubmitted"), scheduled(watchParams, "invoke.waitForTaskToken")}, false},
		"in a Check":               {[]sfntypes.HistoryEvent{event("LambdaFunctionStarted"), event("LambdaFunctionScheduled"), event("TaskStateEntered")}, false},
		"another integration":      {[]sfntypes.HistoryEvent{event("TaskStarted"), scheduled(watchParams, "invoke")}, false},
		"no token in the payload":  {[]sfntypes.HistoryEvent{event("TaskStarted"), scheduled(`{"Payload":{"state":{}}}`, "invoke.waitForTaskToken")}, false},
		"no history":               {nil, false},
	}
	for name, tc := range cases {
		p, ok := ParkedFrom("arn:ex", tc.newestFirst)
		if ok != tc.parked {
			t.Errorf("%s: parked = %v, want %v", name, ok, tc.parked)
		}
		if ok && (p.Token != "tok-1" || p.WaitingFor != WaitingForDeployment || p.State.Deployment.ID != "ecs-svc/ours" || p.ExecutionARN != "arn:ex") {
			t.Errorf("%s: parked = %+v", name, p)
		}
	}
}

func TestMigrationChanged(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Second)
	status := func(s string) *ecstypes.Task { return &ecstypes.Task{LastStatus: aws.String(s)} }
	cases := map[string]struct {
		task     *ecstypes.Task
		deadline *time.Time
		want     bool
	}{
		"pending":                  {status("PENDING"), &later, false},
		"running":                  {status("RUNNING"), &later, false},
		"deprovisioning (exiting)": {status("DEPROVISIONING"), &later, false},
		"stopped":                  {status("STOPPED"), &later, true},
		"gone":                     {nil, &later, true},
		"running past deadline":    {status("RUNNING"), &earlier, true},
	}
	for name, tc := range cases {
		if got, why := MigrationChanged(tc.task, tc.deadline, now); got != tc.want || why == "" {
			t.Errorf("%s: changed = %v (%q), want %v", name, got, why, tc.want)
		}
	}
}

func TestDeploymentChanged(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Second)
	d := func(id, status string, rollout ecstypes.DeploymentRolloutState) ecstypes.Deployment {
		return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: rollout}
	}
	svc := func(deps ...ecstypes.Deployment) ecstypes.Service { return ecstypes.Service{Deployments: deps} }
	cases := map[string]struct {
		svc  ecstypes.Service
		dep  Deployment
		want bool
	}{
		"in progress": {svc(d("ours", "PRIMARY", "IN_PROGRESS"), d("old", "ACTIVE", "COMPLETED")), Deployment{ID: "ours", Deadline: &later}, false},
		"completed":   {svc(d("ours", "PRIMARY", "COMPLETED")), Deployment{ID: "ours", Deadline: &later}, true},
		"failed, rollback not yet seen": {svc(d("rb", "PRIMARY", "IN_PROGRESS"), d("ours", "ACTIVE", "FAILED")),
			Deployment{ID: "ours", Deadline: &later}, true},
		"rollback under way, already seen": {svc(d("rb", "PRIMARY", "IN_PROGRESS"), d("ours", "ACTIVE", "FAILED")),
			Deployment{ID: "ours", RolloutState: "FAILED", RollingBackTo: "rb", Deadline: &later}, false},
		"rollback settled": {svc(d("rb", "PRIMARY", "COMPLETED")),
			Deployment{ID: "ours", RolloutState: "FAILED", RollingBackTo: "rb", Deadline: &later}, true},
		"replaced":               {svc(d("theirs", "PRIMARY", "IN_PROGRESS"), d("ours", "ACTIVE", "IN_PROGRESS")), Deployment{ID: "ours", Deadline: &later}, true},
		"in progress past limit": {svc(d("ours", "PRIMARY", "IN_PROGRESS")), Deployment{ID: "ours", Deadline: &earlier}, true},
	}
	for name, tc := range cases {
		v := JudgeDeployment(tc.svc, tc.dep.ID, tc.dep.RolloutState == "FAILED")
		if got, why := DeploymentChanged(v, tc.dep, now); got != tc.want || why == "" {
			t.Errorf("%s: changed = %v (%q), want %v", name, got, why, tc.want)
		}
	}
}

// A pause hook wakes the wait once, for CheckDeployment to show it; the
// wait goes on while it is still the same hook, and ends when it is answered.
func TestDeploymentChangedAtPauseHooks(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	reading := func(hook string) DeploymentVerdict {
		r := ServiceDeploymentReading{Status: "IN_PROGRESS", Stage: "POST_TEST_TRAFFIC_SHIFT"}
		if hook != "" {
			r.Hook = &Hook{ID: hook, Stage: "POST_TEST_TRAFFIC_SHIFT"}
		}
		return DeploymentVerdict{Phase: DeploymentInProgress, SD: &r}
	}
	paused := func(hook string) Deployment {
		return Deployment{ID: "ours", Deadline: &later, Paused: &Paused{Hook: Hook{ID: hook, Stage: "POST_TEST_TRAFFIC_SHIFT"}}}
	}
	cases := map[string]struct {
		v    DeploymentVerdict
		dep  Deployment
		want bool
	}{
		"paused, not yet seen":         {reading("h1"), Deployment{ID: "ours", Deadline: &later}, true},
		"paused, seen":                 {reading("h1"), paused("h1"), false},
		"paused again at another hook": {reading("h2"), paused("h1"), true},
		"the pause was answered":       {reading(""), paused("h1"), true},
		"never paused":                 {reading(""), Deployment{ID: "ours", Deadline: &later}, false},
	}
	for name, tc := range cases {
		if got, why := DeploymentChanged(tc.v, tc.dep, now); got != tc.want || why == "" {
			t.Errorf("%s: changed = %v (%q), want %v", name, got, why, tc.want)
		}
	}
}

func TestWaitSeconds(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	cases := map[string]struct {
		interval int
		deadline *time.Time
		want     int
	}{
		"no deadline":             {60, nil, 60},
		"deadline far":            {60, at(time.Hour), 60},
		"deadline within":         {60, at(20 * time.Second), 21},
		"deadline passed":         {60, at(-time.Minute), 1},
		"no interval (old state)": {0, nil, 60},
		"deadline in 0.5s":        {60, at(500 * time.Millisecond), 1},
		"deadline in 1m exactly":  {60, at(time.Minute), 60},
	}
	for name, tc := range cases {
		if got := waitSeconds(tc.interval, tc.deadline, now); got != tc.want {
			t.Errorf("%s: wait = %d, want %d", name, got, tc.want)
		}
	}
}

// fakeHistory serves ListExecutions, GetExecutionHistory and SendTaskSuccess.
type fakeHistory struct {
	running []string
	history map[string][]sfntypes.HistoryEvent
	read    []string
	sent    map[string]string // token → output
	sendErr error
	// gone are the executions Step Functions answers ExecutionDoesNotExist for.
	gone map[string]bool
}

func (f *fakeHistory) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	out := &sfn.ListExecutionsOutput{}
	for _, arn := range f.running {
		out.Executions = append(out.Executions, sfntypes.ExecutionListItem{ExecutionArn: aws.String(arn)})
	}
	return out, nil
}

func (f *fakeHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.read = append(f.read, aws.ToString(in.ExecutionArn))
	if !in.ReverseOrder {
		return nil, errors.New("Wake must read the newest events first")
	}
	if f.gone[aws.ToString(in.ExecutionArn)] {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + aws.ToString(in.ExecutionArn) + "'")}
	}
	return &sfn.GetExecutionHistoryOutput{Events: f.history[aws.ToString(in.ExecutionArn)]}, nil
}

func (f *fakeHistory) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	if f.sent == nil {
		f.sent = map[string]string{}
	}
	f.sent[aws.ToString(in.TaskToken)] = aws.ToString(in.Output)
	return &sfn.SendTaskSuccessOutput{}, nil
}

func parkedHistory(token, cluster, service, waitingFor string) []sfntypes.HistoryEvent {
	p, _ := json.Marshal(map[string]any{"FunctionName": "watch", "Payload": WatchInput{TaskToken: token, WaitingFor: waitingFor,
		State: State{Cluster: cluster, Service: service, Deployment: Deployment{ID: "ecs-svc/" + service}}}})
	return []sfntypes.HistoryEvent{event("TaskSubmitted"), event("TaskStarted"), scheduled(string(p), "invoke.waitForTaskToken")}
}

func TestWakeFindsTheWaitingExecution(t *testing.T) {
	f := &fakeHistory{
		running: []string{"ex-other-service", "ex-in-queue", "ex-ours"},
		history: map[string][]sfntypes.HistoryEvent{
			"ex-other-service": parkedHistory("tok-other", "prod", "prod-service", WaitingForDeployment),
			"ex-in-queue": {{Type: "WaitStateEntered", StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{
				Name: aws.String("WaitingForTurn"), Input: aws.String(`{"environment":"qa","cluster":"qa","service":"qa-service"}`)}}},
			"ex-ours": parkedHistory("tok-ours", "staging", "staging-service", WaitingForDeployment),
		},
	}
	d := &Deployer{History: f, Tokens: f, StateMachineARN: "arn:aws:states:us-west-2:111122223333:stateMachine:ecr-deployer", Log: quiet}
	ev := sampleEvent(t, "ecs-deployment-state-change-event.json", func(ev *ECSEvent, det map[string]any) {
		ev.Resources = []string{"arn:aws:ecs:us-west-2:1:service/staging/staging-service"}
		det["eventName"] = "SERVICE_DEPLOYMENT_COMPLETED"
		det["deploymentId"] = "ecs-svc/staging-service"
	})
	out, err := d.Wake(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if out.Woken != "ex-ours" || len(f.sent) != 1 || f.sent["tok-ours"] == "" {
		t.Fatalf("woke %q, sent %v", out.Woken, f.sent)
	}
	var w Wake
	if err := json.Unmarshal([]byte(f.sent["tok-ours"]), &w); err != nil || w.By != "event" || w.EventID != ev.ID {
		t.Fatalf("wake output = %s (%v)", f.sent["tok-ours"], err)
	}
	// A warm instance remembers that ex-other-service deploys prod and
	// ex-in-queue qa (from the input of the state it is in): a second event
	// for staging reads only the executions it does not know.
	f.read, f.sent = nil, nil
	if _, err := d.Wake(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, arn := range f.read {
		if arn == "ex-other-service" || arn == "ex-in-queue" {
			t.Errorf("read the history of an execution known to deploy another service: %v", f.read)
		}
	}
	// The token was used already (a duplicate event): not an error.
	f.sendErr = &smithy.GenericAPIError{Code: "TaskTimedOut", Message: "Task Timed Out: 'Provided task does not exist anymore'"}
	if _, err := d.Wake(context.Background(), ev); err != nil {
		t.Fatalf("a used token failed the wake: %v", err)
	}
	f.sendErr = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	if _, err := d.Wake(context.Background(), ev); err == nil {
		t.Fatal("AccessDenied was swallowed")
	}
}

// fakeDescribe answers DescribeTasks with one task, or none.
type fakeDescribe struct {
	ECSAPI
	task *ecstypes.Task
}

func (f *fakeDescribe) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	out := &ecs.DescribeTasksOutput{}
	if f.task != nil {
		out.Tasks = []ecstypes.Task{*f.task}
	}
	return out, nil
}

func TestWatch(t *testing.T) {
	cases := map[string]struct {
		in     WatchInput
		task   *ecstypes.Task
		parked bool
		sent   bool
		err    bool
	}{
		"still running: parks":       {WatchInput{TaskToken: "t", WaitingFor: WaitingForMigration}, &ecstypes.Task{LastStatus: aws.String("RUNNING")}, true, false, false},
		"stopped already: sends":     {WatchInput{TaskToken: "t", WaitingFor: WaitingForMigration}, &ecstypes.Task{LastStatus: aws.String("STOPPED")}, false, true, false},
		"no token":                   {WatchInput{WaitingFor: WaitingForMigration}, nil, false, false, true},
		"waiting for something else": {WatchInput{TaskToken: "t", WaitingFor: "turn"}, nil, false, false, true},
	}
	for name, tc := range cases {
		f := &fakeHistory{}
		d := &Deployer{ECS: &fakeDescribe{task: tc.task}, Tokens: f, Log: quiet}
		out, err := d.Watch(context.Background(), tc.in)
		if (err != nil) != tc.err || out.Parked != tc.parked || (len(f.sent) == 1) != tc.sent {
			t.Errorf("%s: out %+v, err %v, sent %v", name, out, err, f.sent)
		}
	}
}

func TestDeploysRulesOut(t *testing.T) {
	k := deploys{cluster: "scale", services: []string{"s1"}, taskARN: "arn:task/scale/1"}
	noTask := deploys{cluster: "scale", services: []string{"s1"}}
	several := (&Deployer{}).deploysOf(State{Cluster: "scale", Service: "web", Services: []ServiceRollout{{Service: "web"}, {Service: "worker"}}})
	cases := map[string]struct {
		known deploys
		c     Change
		want  bool
	}{
		"another cluster":                   {k, Change{Cluster: "other", TaskARN: "arn:task/other/1"}, true},
		"its own task":                      {k, Change{Cluster: "scale", TaskARN: "arn:task/scale/1"}, false},
		"another task of the cluster":       {k, Change{Cluster: "scale", TaskARN: "arn:task/scale/2"}, true},
		"a task, its own not yet known":     {noTask, Change{Cluster: "scale", TaskARN: "arn:task/scale/2"}, false},
		"its service's deployment":          {k, Change{Cluster: "scale", Service: "s1", DeploymentID: "d"}, false},
		"another service's of the cluster":  {k, Change{Cluster: "scale", Service: "s2", DeploymentID: "d"}, true},
		"its service, before its migration": {noTask, Change{Cluster: "scale", Service: "s1", DeploymentID: "d"}, false},
		"several: its second service":       {several, Change{Cluster: "scale", Service: "worker", DeploymentID: "d"}, false},
		"several: a service not among them": {several, Change{Cluster: "scale", Service: "s1", DeploymentID: "d"}, true},
	}
	for name, tc := range cases {
		if got := tc.known.rulesOut(tc.c); got != tc.want {
			t.Errorf("%s: rules out = %v, want %v", name, got, tc.want)
		}
	}
}

// Events that are not ours are a logged no-op, never an error (which
// Lambda would retry and dead-letter, raising the alarm): a task or service
// naming an execution Step Functions no longer keeps, or another stack's;
// an ECS Hook State Change Wake cannot read; a listed execution whose
// history is not readable.
func TestWakeIgnoresEventsThatAreNotOurs(t *testing.T) {
	smARN := "arn:aws:states:us-west-2:111122223333:stateMachine:ecr-deployer" // the samples' account and Region
	old := executions.ARN(smARN, "staging-old-20250101T000000Z-1")
	cases := map[string]struct {
		ev      func(t *testing.T) ECSEvent
		history *fakeHistory
		woken   string
		ignored string
	}{
		"a migration task of an execution long gone": {func(t *testing.T) ECSEvent {
			return sampleEvent(t, "ecs-task-state-change-event.json", func(ev *ECSEvent, det map[string]any) {
				det["startedBy"] = StartedByPrefix + "staging-old-20250101T000000Z-1"
			})
		}, &fakeHistory{gone: map[string]bool{old: true}}, "", "does not have"},
		"a hook event naming no service": {func(t *testing.T) ECSEvent {
			return ECSEvent{ID: "h1", Source: "aws.ecs", DetailType: "ECS Hook State Change", Detail: json.RawMessage(`{"eventName":"HOOK_AWAITING_ACTION"}`)}
		}, &fakeHistory{}, "", "names no service"},
		"a listed execution not readable yet": {func(t *testing.T) ECSEvent {
			return sampleEvent(t, "ecs-deployment-state-change-event.json", func(ev *ECSEvent, det map[string]any) {
				ev.Resources = []string{"arn:aws:ecs:us-west-2:1:service/staging/staging-service"}
				det["eventName"], det["deploymentId"] = "SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/staging-service"
			})
		}, &fakeHistory{running: []string{"ex-new", "ex-ours"}, gone: map[string]bool{"ex-new": true},
			history: map[string][]sfntypes.HistoryEvent{"ex-ours": parkedHistory("tok", "staging", "staging-service", WaitingForDeployment)}}, "ex-ours", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := &Deployer{History: tc.history, Tokens: tc.history, StateMachineARN: smARN, Log: quiet}
			out, err := d.Wake(context.Background(), tc.ev(t))
			if err != nil {
				t.Fatalf("Wake failed on an event that is not ours: %v", err)
			}
			if out.Woken != tc.woken || !strings.Contains(out.Ignored, tc.ignored) || (tc.ignored == "") != (out.Ignored == "") {
				t.Fatalf("woke %q, ignored %q; want woken %q, ignored containing %q", out.Woken, out.Ignored, tc.woken, tc.ignored)
			}
		})
	}
	// A history read that fails otherwise is still an error: Lambda retries it.
	f := &fakeHistory{}
	d := &Deployer{History: &deniedHistory{f}, Tokens: f, StateMachineARN: smARN, Log: quiet}
	ev := sampleEvent(t, "ecs-task-state-change-event.json", func(ev *ECSEvent, det map[string]any) {
		det["startedBy"] = StartedByPrefix + "staging-old-20250101T000000Z-1"
	})
	if _, err := d.Wake(context.Background(), ev); err == nil {
		t.Fatal("an AccessDenied history read was ignored")
	}
}

type deniedHistory struct{ *fakeHistory }

func (f *deniedHistory) GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
}

// shortPages answers one event per page, with a token while more remain.
type shortPages struct{ events []sfntypes.HistoryEvent }

func (f shortPages) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	i := 0
	if in.NextToken != nil {
		i, _ = strconv.Atoi(*in.NextToken)
	}
	out := &sfn.GetExecutionHistoryOutput{Events: f.events[i : i+1]}
	if i+1 < len(f.events) {
		out.NextToken = aws.String(strconv.Itoa(i + 1))
	}
	return out, nil
}

// A page may be shorter than MaxResults: Wake still finds the parked
// execution's TaskScheduled event three events down.
func TestLatestEventsReadsOnPastShortPages(t *testing.T) {
	h := parkedHistory("tok", "staging", "staging-service", WaitingForDeployment)
	h = append(h, event("LambdaFunctionScheduled"), event("TaskStateEntered"), event("StateExited"))
	events, err := executions.LatestEvents(context.Background(), shortPages{h}, "ex", 5)
	if err != nil || len(events) != 5 {
		t.Fatalf("%d events, %v; want 5 over five short pages", len(events), err)
	}
	if p, ok := ParkedFrom("ex", events); !ok || p.Token != "tok" {
		t.Fatalf("not parked in the events read: %+v", p)
	}
	two, _ := executions.LatestEvents(context.Background(), shortPages{h[:2]}, "ex", 5)
	if len(two) != 2 {
		t.Fatalf("%d events of a history of 2", len(two))
	}
}
