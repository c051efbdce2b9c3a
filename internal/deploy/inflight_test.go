package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// rolloutsECS lists each service's service deployments as ECS would,
// filtered by status, a page of at most one (with a next token, and an
// empty page first: "it's possible the number of results is fewer than
// maxResults").
type rolloutsECS struct {
	ECSAPI
	rollouts map[string][]ecstypes.ServiceDeploymentBrief // by service
	calls    int
}

func (f *rolloutsECS) ListServiceDeployments(_ context.Context, in *ecs.ListServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	f.calls++
	var all []ecstypes.ServiceDeploymentBrief
	for _, b := range f.rollouts[aws.ToString(in.Service)] {
		if len(in.Status) == 0 || slices.Contains(in.Status, b.Status) {
			all = append(all, b)
		}
	}
	switch tok := aws.ToString(in.NextToken); {
	case tok == "" && len(all) > 0:
		return &ecs.ListServiceDeploymentsOutput{NextToken: aws.String("0")}, nil
	case tok == "":
		return &ecs.ListServiceDeploymentsOutput{}, nil
	default:
		i := int(tok[0] - '0')
		out := &ecs.ListServiceDeploymentsOutput{ServiceDeployments: all[i : i+1]}
		if i+1 < len(all) {
			out.NextToken = aws.String(string(rune('0' + i + 1)))
		}
		return out, nil
	}
}

// CheckTurn takes no turn while ECS still rolls out one of its services,
// whoever started that rollout: it WAITs, saying which service deployment
// it waits for, and goes once the rollout has ended.
func TestCheckTurnWaitsForARolloutECSIsStillDoing(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging","services":["api","worker"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	brief := func(id string, status ecstypes.ServiceDeploymentStatus) ecstypes.ServiceDeploymentBrief {
		return ecstypes.ServiceDeploymentBrief{ServiceDeploymentArn: aws.String("arn:aws:ecs:r:1:service-deployment/staging/" + id), Status: status, StartedAt: aws.Time(now.Add(-time.Minute))}
	}
	ended := []ecstypes.ServiceDeploymentBrief{brief("ok", "SUCCESSFUL"), brief("rolled", "ROLLBACK_SUCCESSFUL"), brief("failed", "ROLLBACK_FAILED"), brief("stopped", "STOPPED")}
	cases := []struct {
		name     string
		rollouts map[string][]ecstypes.ServiceDeploymentBrief
		want     string
		waitsFor string
	}{
		{"nothing in flight", nil, TurnGo, ""},
		{"only ended rollouts", map[string][]ecstypes.ServiceDeploymentBrief{"api": ended, "worker": ended}, TurnGo, ""},
		{"the second service is IN_PROGRESS", map[string][]ecstypes.ServiceDeploymentBrief{"api": ended, "worker": append(slices.Clone(ended), brief("x", "IN_PROGRESS"))}, TurnWait, "x"},
		{"PENDING", map[string][]ecstypes.ServiceDeploymentBrief{"api": {brief("p", "PENDING")}}, TurnWait, "p"},
		{"STOP_REQUESTED", map[string][]ecstypes.ServiceDeploymentBrief{"api": {brief("s", "STOP_REQUESTED")}}, TurnWait, "s"},
		{"ROLLBACK_REQUESTED", map[string][]ecstypes.ServiceDeploymentBrief{"api": {brief("r", "ROLLBACK_REQUESTED")}}, TurnWait, "r"},
		{"ROLLBACK_IN_PROGRESS", map[string][]ecstypes.ServiceDeploymentBrief{"worker": {brief("ri", "ROLLBACK_IN_PROGRESS")}}, TurnWait, "ri"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": now}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
			turns := &fakeTurns{}
			ecsAPI := &rolloutsECS{rollouts: tc.rollouts}
			d := &Deployer{ECS: ecsAPI, SFN: fake, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "api",
				Services: []ServiceRollout{{Service: "api"}, {Service: "worker"}}, Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if err != nil || out.Turn.Decision != tc.want {
				t.Fatalf("decision %s (%s), err %v; want %s", out.Turn.Decision, out.Turn.Reason, err, tc.want)
			}
			if tc.want == TurnGo {
				if out.Turn.InFlight != nil || turns.holder("staging/api") != "me" {
					t.Fatalf("GO with in flight %+v, holder %q", out.Turn.InFlight, turns.holder("staging/api"))
				}
				return
			}
			f := out.Turn.InFlight
			if f == nil || !strings.HasSuffix(f.ServiceDeploymentARN, "/"+tc.waitsFor) || !strings.Contains(out.Turn.Reason, f.ServiceDeploymentARN) ||
				out.Turn.WaitSeconds != 15 || turns.writes != 0 {
				t.Fatalf("WAIT for %+v (%s, %d s), %d writes; want the service deployment %s named, no turn taken", f, out.Turn.Reason, out.Turn.WaitSeconds, turns.writes, tc.waitsFor)
			}
			// The rollout ends: the next check goes.
			ecsAPI.rollouts = nil
			out, err = d.CheckTurn(context.Background(), out)
			if err != nil || out.Turn.Decision != TurnGo || out.Turn.InFlight != nil {
				t.Fatalf("after the rollout: %s (%s), %v; want GO", out.Turn.Decision, out.Turn.Reason, err)
			}
		})
	}
}

// A wait for ECS is bounded like any other: past the work span it ends in
// QueueTimedOut, naming the service deployment.
func TestWaitForECSEndsInQueueTimedOut(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	start := now.Add(-WorkSpan)
	fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": start}},
		status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
	ecsAPI := &rolloutsECS{rollouts: map[string][]ecstypes.ServiceDeploymentBrief{"staging-service": {{ServiceDeploymentArn: aws.String("arn:aws:ecs:r:1:service-deployment/staging/long"), Status: "IN_PROGRESS"}}}}
	d := &Deployer{ECS: ecsAPI, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
	s := State{Execution: Execution{ID: "me", Name: "me", StartTime: start, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
		Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
	_, err = d.CheckTurn(context.Background(), s)
	var timedOut *QueueTimedOut
	if !errors.As(err, &timedOut) || !strings.Contains(err.Error(), "ECS service deployment arn:aws:ecs:r:1:service-deployment/staging/long") {
		t.Fatalf("err = %v, want QueueTimedOut naming the service deployment", err)
	}
}

// Every wait of CheckTurn backs off the longer the execution has waited
// (config.QueuePoll): behind an execution, behind a rollout ECS is doing,
// so that a day's wait stays within the execution's history.
func TestWaitsBackOff(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		waited  time.Duration
		older   bool // an older execution runs (else ECS's rollout)
		seconds int
	}{
		{"behind an execution, just started", time.Minute, true, 15},
		{"behind an execution, 2 hours", 2 * time.Hour, true, 300},
		{"behind a rollout, 20 minutes", 20 * time.Minute, false, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := now.Add(-tc.waited)
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`, "older": `{"environment":"staging"}`},
				starts: map[string]time.Time{"me": start, "older": start.Add(-time.Minute)}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning, "older": sfntypes.ExecutionStatusRunning}}
			ecsAPI := &rolloutsECS{}
			if tc.older {
				fake.list = map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusRunning: {{ExecutionArn: aws.String("older"), Name: aws.String("older"),
					Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(start.Add(-time.Minute))}}}
			} else {
				ecsAPI.rollouts = map[string][]ecstypes.ServiceDeploymentBrief{"staging-service": {{ServiceDeploymentArn: aws.String("arn:aws:ecs:r:1:service-deployment/staging/x"), Status: "IN_PROGRESS"}}}
			}
			d := &Deployer{ECS: ecsAPI, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: start, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if err != nil || out.Turn.Decision != TurnWait || out.Turn.WaitSeconds != tc.seconds {
				t.Fatalf("%s %d s (%s), %v; want WAIT %d s", out.Turn.Decision, out.Turn.WaitSeconds, out.Turn.Reason, err, tc.seconds)
			}
		})
	}
}

// deniedECS denies ListServiceDeployments, as IAM does once a stack update
// removed the service from the policy.
type deniedECS struct{ ECSAPI }

func (deniedECS) ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: … is not authorized to perform: ecs:ListServiceDeployments"}
}

// liveTargetsOf is the stack's published targets, read at each call.
type liveTargetsOf func() config.Targets

func (l liveTargetsOf) Targets(context.Context) (config.Targets, error) { return l(), nil }

// A stack update that removes the target replaces the policies before the
// outputs: CheckTurn read the target (still published), then IAM denies
// its read of the service. Read again, the target is gone: TargetRemoved,
// not the denial; while the target is still published the denial stands.
func TestCheckTurnDeniedByAStackUpdate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	staging := config.Published{Environment: "staging", Repository: "app", Tag: "staging", Cluster: "staging", Service: "staging-service"}
	for _, tc := range []struct {
		name    string
		updated bool
	}{{"the update removed the target", true}, {"the target is still published", false}} {
		t.Run(tc.name, func(t *testing.T) {
			reads := 0
			live := liveTargetsOf(func() config.Targets {
				reads++
				if tc.updated && reads > 1 {
					return config.Targets{}
				}
				return config.Targets{staging}
			})
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": now.Add(-time.Minute)}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
			d := &Deployer{ECS: deniedECS{}, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: stagingConfig(t), Live: live, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now.Add(-time.Minute), StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			_, err := d.CheckTurn(context.Background(), s)
			var removed *TargetRemoved
			if tc.updated != errors.As(err, &removed) || (!tc.updated && !strings.Contains(fmt.Sprint(err), "AccessDeniedException")) {
				t.Fatalf("err = %v; want TargetRemoved %v, else the denial", err, tc.updated)
			}
		})
	}
}

func stagingConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
