package deploy

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// fakeFleet is a cluster of services, each with one PRIMARY deployment
// "d-<service>" judged by its service deployment "sd-<service>", whose
// status the test sets. UpdateService starts "rb-<service>".
type fakeFleet struct {
	ECSAPI
	status  map[string]ecstypes.ServiceDeploymentStatus
	current map[string]string // service → its PRIMARY deployment id, once UpdateService started one
	taskDef map[string]string // … and its task definition
	updates []string          // service=taskDefinition
}

func (f *fakeFleet) service(name string) ecstypes.Service {
	id, created := f.current[name], time.Unix(900, 0)
	if id == "" {
		id = "d-" + name
	} else {
		created = time.Unix(1005, 0) // started by UpdateService, after ours
	}
	svc := ecstypes.Service{ServiceName: aws.String(name), ServiceArn: aws.String("arn:aws:ecs:us-west-2:123456789012:service/c/" + name), Status: aws.String("ACTIVE"),
		CurrentServiceDeployment: aws.String("sd-" + strings.TrimPrefix(id, "d-")),
		Deployments:              []ecstypes.Deployment{{Id: aws.String(id), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("td-" + name), CreatedAt: aws.Time(created)}}}
	if td, ok := f.taskDef[name]; ok {
		svc.Deployments[0].TaskDefinition = aws.String(td)
	}
	return svc
}

func (f *fakeFleet) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{f.service(in.Services[0])}}, nil
}

func (f *fakeFleet) DescribeServiceDeployments(_ context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	arn := in.ServiceDeploymentArns[0]
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{ServiceDeploymentArn: aws.String(arn), Status: f.status[strings.TrimPrefix(arn, "sd-")]}}}, nil
}

func (f *fakeFleet) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return &ecs.ListTasksOutput{}, nil
}

func (f *fakeFleet) TagResource(context.Context, *ecs.TagResourceInput, ...func(*ecs.Options)) (*ecs.TagResourceOutput, error) {
	return &ecs.TagResourceOutput{}, nil
}

func (f *fakeFleet) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	name := aws.ToString(in.Service)
	f.updates = append(f.updates, name+"="+aws.ToString(in.TaskDefinition))
	f.current[name], f.taskDef[name] = "d-rb-"+name, aws.ToString(in.TaskDefinition)
	svc := f.service(name)
	return &ecs.UpdateServiceOutput{Service: &svc}, nil
}

// severalServices is a state of a target of web and worker, both deploying.
func severalServices(onFailure string) State {
	now := time.Unix(1000, 0)
	dep := func(svc string) Deployment {
		return Deployment{ID: "d-" + svc, ServiceDeploymentARN: "sd-" + svc, TimeoutSeconds: 600, StartedAt: &now, Deadline: ptrTime(now.Add(10 * time.Minute))}
	}
	return State{Environment: "suite", Cluster: "c", Service: "web", Image: Image{Repository: "app", Digest: "sha256:1", Mode: config.ImageDigest},
		Execution: Execution{StartTime: now}, OnFailure: onFailure, Deployment: Deployment{TimeoutSeconds: 600, StartedAt: &now},
		Poll: Poll{DeploymentIntervalSeconds: 60},
		Services: []ServiceRollout{
			{Service: "web", TaskDefinition: "td-web-1", PinnedTaskDefinition: "td-web", Deployment: dep("web"), Outcome: OutcomeDeploying},
			{Service: "worker", TaskDefinition: "td-worker-1", PinnedTaskDefinition: "td-worker", Deployment: dep("worker"), Outcome: OutcomeDeploying},
		}}
}

func TestCheckServices(t *testing.T) {
	const ok, inProgress, failed = ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentStatusRollbackSuccessful
	cases := map[string]struct {
		onFailure string
		status    map[string]ecstypes.ServiceDeploymentStatus
		// outcomes after the check; err is the error name ("" none); updates
		// are the rollbacks started.
		outcomes []string
		done     bool
		err      string
		causeHas []string
		updates  []string
	}{
		"both deployed": {status: map[string]ecstypes.ServiceDeploymentStatus{"web": ok, "worker": ok},
			outcomes: []string{OutcomeDeployed, OutcomeDeployed}, done: true},
		"one still deploying: wait": {status: map[string]ecstypes.ServiceDeploymentStatus{"web": ok, "worker": inProgress},
			outcomes: []string{OutcomeDeployed, OutcomeDeploying}},
		"one failed, one deploying: wait for it": {status: map[string]ecstypes.ServiceDeploymentStatus{"web": inProgress, "worker": failed},
			outcomes: []string{OutcomeDeploying, OutcomeFailed}},
		"one failed, leave the other": {onFailure: config.OnFailureLeaveOthers, status: map[string]ecstypes.ServiceDeploymentStatus{"web": ok, "worker": failed},
			outcomes: []string{OutcomeDeployed, OutcomeFailed}, err: "DeploymentRolledBack",
			causeHas: []string{"Service worker of suite failed (DeploymentRolledBack): Deployment d-worker of service worker failed", "web deployed (deployment d-web) and runs the new image"}},
		"one failed, roll the other back": {onFailure: config.OnFailureRollbackOthers, status: map[string]ecstypes.ServiceDeploymentStatus{"web": ok, "worker": failed, "rb-web": inProgress},
			outcomes: []string{OutcomeRollingBack, OutcomeFailed}, updates: []string{"web=td-web-1"}},
		"both failed": {onFailure: config.OnFailureRollbackOthers, status: map[string]ecstypes.ServiceDeploymentStatus{"web": failed, "worker": failed},
			outcomes: []string{OutcomeFailed, OutcomeFailed}, err: "DeploymentRolledBack", causeHas: []string{"Service web of suite failed", "worker failed too (DeploymentRolledBack)"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &fakeFleet{status: tc.status, current: map[string]string{}, taskDef: map[string]string{}}
			d := &Deployer{ECS: f, Log: quiet, Now: func() time.Time { return time.Unix(1010, 0) }}
			got, err := d.CheckDeployment(context.Background(), severalServices(tc.onFailure))
			name, _ := stepFunctionsName(err)
			if name != tc.err || (err != nil && tc.err == "") {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			var outcomes []string
			for _, r := range got.Services {
				outcomes = append(outcomes, r.Outcome)
			}
			if !reflect.DeepEqual(outcomes, tc.outcomes) || got.Deployment.Done != tc.done || !reflect.DeepEqual(f.updates, tc.updates) {
				t.Errorf("outcomes %v done %v updates %v, want %v %v %v", outcomes, got.Deployment.Done, f.updates, tc.outcomes, tc.done, tc.updates)
			}
			for _, s := range tc.causeHas {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("cause %v does not contain %q", err, s)
				}
			}
			if err == nil && !got.Deployment.Done && got.Poll.DeploymentSeconds < 1 {
				t.Errorf("waits %d s", got.Poll.DeploymentSeconds)
			}
		})
	}
}

// rollback-others, on: the rollback completes, and the execution fails
// saying the other service was rolled back; a retried check adopts the
// rollback rather than starting a second one.
func TestRollbackOthersEnds(t *testing.T) {
	s := severalServices(config.OnFailureRollbackOthers)
	f := &fakeFleet{status: map[string]ecstypes.ServiceDeploymentStatus{"web": ecstypes.ServiceDeploymentStatusSuccessful, "worker": ecstypes.ServiceDeploymentStatusRollbackSuccessful,
		"rb-web": ecstypes.ServiceDeploymentStatusInProgress}, current: map[string]string{}, taskDef: map[string]string{}}
	d := &Deployer{ECS: f, Log: quiet, Now: func() time.Time { return time.Unix(1010, 0) }}
	s, err := d.CheckDeployment(context.Background(), s)
	if err != nil || s.Services[0].Outcome != OutcomeRollingBack {
		t.Fatalf("first check: %v, %+v", err, s.Services[0])
	}
	// The same input again (a retried invocation) adopts the rollback.
	again := severalServices(config.OnFailureRollbackOthers)
	if _, err := d.CheckDeployment(context.Background(), again); err != nil || len(f.updates) != 1 {
		t.Fatalf("retried check: %v, updates %v", err, f.updates)
	}
	f.status["rb-web"] = ecstypes.ServiceDeploymentStatusSuccessful
	_, err = d.CheckDeployment(context.Background(), s)
	if name, _ := stepFunctionsName(err); name != "DeploymentRolledBack" || !strings.Contains(err.Error(), "web had deployed and was rolled back to td-web-1 (deployment d-rb-web)") {
		t.Fatalf("last check: %v", err)
	}
}

func TestForServiceNarrows(t *testing.T) {
	s := severalServices(config.OnFailureLeaveOthers)
	s.Migration = Migration{Container: "app", LogGroup: "/ecs/app", LogStreamPrefix: "web"}
	s.Services[1].Log = &TaskLog{Container: "worker", Group: "/ecs/worker", StreamPrefix: "worker"}
	s.Wake = &Wake{By: "decision", Decision: &Decision{Action: "CONTINUE", Service: "worker", HookID: "h"}}
	web := s.forService(s.Services[0], s.Services[0].Deployment, s.Services[0].PinnedTaskDefinition)
	worker := s.forService(s.Services[1], s.Services[1].Deployment, "")
	switch {
	case web.Service != "web" || web.Launch.TaskDefinition != "td-web" || web.Image.PinnedTaskDefinition != "td-web" || web.Services != nil:
		t.Errorf("web = %+v", web)
	case web.Migration.LogGroup != "/ecs/app" || worker.Migration.LogGroup != "/ecs/worker" || worker.Migration.Container != "worker":
		t.Errorf("logs: web %+v, worker %+v", web.Migration, worker.Migration)
	case worker.Launch.TaskDefinition != "td-worker-1" || worker.Image.PinnedTaskDefinition != "":
		t.Errorf("worker deploys %q pinned %q, want its own revision forced", worker.Launch.TaskDefinition, worker.Image.PinnedTaskDefinition)
	case web.Wake.Decision != nil || worker.Wake.Decision == nil:
		t.Errorf("the decision about worker reached web %v, worker %v", web.Wake.Decision, worker.Wake.Decision)
	}
}

func TestFailureLikeKeepsTheName(t *testing.T) {
	for _, e := range AllErrors() {
		want := reflect.TypeOf(e).Elem().Name()
		got := failureLike(want, "the cause")
		if name, ok := stepFunctionsName(got); !ok || name != want || got.Error() != "the cause" {
			t.Errorf("%s: got %T %q", want, got, got)
		}
	}
	if name, ok := stepFunctionsName(context.Canceled); ok || name != "" {
		t.Errorf("an untyped error has the name %q", name)
	}
}
