package deploy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestCreatedWith(t *testing.T) {
	ours := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		sd   time.Time
		want bool
	}{
		"the same instant":                     {ours, true},
		"a moment later (one UpdateService)":   {ours.Add(300 * time.Millisecond), true},
		"a moment earlier (one UpdateService)": {ours.Add(-time.Second), true},
		"the previous deployment, an hour ago": {ours.Add(-time.Hour), false},
		"just past the bound":                  {ours.Add(-sameCall - time.Millisecond), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := CreatedWith(tc.sd, ours); got != tc.want {
				t.Fatalf("CreatedWith(%s, %s) = %v, want %v", tc.sd, ours, got, tc.want)
			}
		})
	}
}

// staleECS is a service whose currentServiceDeployment still names the
// previous service deployment ("old", SUCCESSFUL an hour ago) while ours
// ("new", created with our deployment) is in progress.
type staleECS struct {
	ECSAPI
	created time.Time
	listed  bool // ListServiceDeployments lists ours yet
	lists   int
}

func (f *staleECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{ServiceName: aws.String("staging-service"), Status: aws.String("ACTIVE"),
		CurrentServiceDeployment: aws.String("old"),
		Deployments: []ecstypes.Deployment{{Id: aws.String("ecs-svc/new"), Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateInProgress,
			CreatedAt: aws.Time(f.created), DesiredCount: 2, RunningCount: 1}}}}}, nil
}

func (f *staleECS) DescribeServiceDeployments(_ context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	sd := ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String("old"), Status: ecstypes.ServiceDeploymentStatusSuccessful, CreatedAt: aws.Time(f.created.Add(-time.Hour))}
	if in.ServiceDeploymentArns[0] == "new" {
		sd = ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String("new"), Status: ecstypes.ServiceDeploymentStatusInProgress, CreatedAt: aws.Time(f.created.Add(100 * time.Millisecond))}
	}
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{sd}}, nil
}

func (f *staleECS) ListServiceDeployments(_ context.Context, in *ecs.ListServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	f.lists++
	out := &ecs.ListServiceDeploymentsOutput{}
	if f.listed && in.CreatedAt != nil && aws.ToTime(in.CreatedAt.After).Before(f.created) {
		out.ServiceDeployments = []ecstypes.ServiceDeploymentBrief{{ServiceDeploymentArn: aws.String("new"), Status: ecstypes.ServiceDeploymentStatusInProgress, CreatedAt: aws.Time(f.created.Add(100 * time.Millisecond))}}
	}
	return out, nil
}

// A stale currentServiceDeployment names the previous, SUCCESSFUL record:
// judging it would report Deployed while ECS still rolls ours out
// (kayac/ecspresso #945). CheckDeployment finds ours by its createdAt.
func TestCheckDeploymentDoesNotJudgeAStaleCurrentServiceDeployment(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	created := now.Add(-20 * time.Second)
	for _, listed := range []bool{true, false} {
		f := &staleECS{created: created, listed: listed}
		d := &Deployer{ECS: f, Log: quiet, Now: func() time.Time { return now }}
		s := State{Cluster: "staging", Service: "staging-service", Deployment: Deployment{ID: "ecs-svc/new", ServiceDeploymentARN: "old",
			CreatedAt: &created, TimeoutSeconds: 1800, StartedAt: &created, Deadline: ptrTime(now.Add(time.Hour))}}
		out, err := d.CheckDeployment(context.Background(), s)
		if err != nil {
			t.Fatalf("listed %v: %v", listed, err)
		}
		if out.Deployment.Done {
			t.Fatalf("listed %v: Deployed on the previous deployment's record (%s)", listed, out.Deployment.JudgedBy)
		}
		if f.lists != 1 {
			t.Fatalf("listed %v: %d ListServiceDeployments calls, want 1", listed, f.lists)
		}
		switch {
		case listed && (out.Deployment.ServiceDeploymentARN != "new" || out.Deployment.StaleServiceDeploymentARN != "old" || out.Deployment.ServiceDeploymentStatus != "IN_PROGRESS"):
			t.Fatalf("judged %q (stale %q, %s), want ours, new, IN_PROGRESS", out.Deployment.ServiceDeploymentARN, out.Deployment.StaleServiceDeploymentARN, out.Deployment.ServiceDeploymentStatus)
		case !listed && (out.Deployment.JudgedBy == "serviceDeployment" || out.Deployment.ServiceDeploymentARN != ""):
			t.Fatalf("not listed yet: judged by a service deployment record %q (%s)", out.Deployment.ServiceDeploymentARN, out.Deployment.JudgedBy)
		}
		if !listed {
			// The next look finds ours once ECS lists it.
			f.listed = true
			out, err = d.CheckDeployment(context.Background(), out)
			if err != nil || out.Deployment.ServiceDeploymentARN != "new" || out.Deployment.JudgedBy != "serviceDeployment" {
				t.Fatalf("next look: %q (%s), %v; want ours", out.Deployment.ServiceDeploymentARN, out.Deployment.JudgedBy, err)
			}
		}
	}
}

// replacedECS is a service whose deployment a newer one replaces between
// two reads: the first DescribeServices still names ours as current, the
// service deployment read after it is STOPPED, and a fresher read names
// the newer one.
type replacedECS struct {
	ECSAPI
	created time.Time
	reads   int
}

func (f *replacedECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.reads++
	current, deps := "ours", []ecstypes.Deployment{{Id: aws.String("ecs-svc/ours"), Status: aws.String("PRIMARY"), CreatedAt: aws.Time(f.created)}}
	if f.reads > 1 {
		current = "newer"
		deps = []ecstypes.Deployment{{Id: aws.String("ecs-svc/newer"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("app:8"), CreatedAt: aws.Time(f.created.Add(time.Minute))},
			{Id: aws.String("ecs-svc/ours"), Status: aws.String("ACTIVE"), CreatedAt: aws.Time(f.created)}}
	}
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{ServiceName: aws.String("staging-service"), Status: aws.String("ACTIVE"),
		CurrentServiceDeployment: aws.String(current), Deployments: deps}}}, nil
}

func (f *replacedECS) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{ServiceDeploymentArn: aws.String("ours"),
		Status: ecstypes.ServiceDeploymentStatusStopped, StatusReason: aws.String("Stopped because a new service deployment started."), CreatedAt: aws.Time(f.created)}}}, nil
}

// A STOPPED service deployment read after a service that still named it
// current is judged on a fresher read: superseded by the newer one, not
// stopped by a person.
func TestCheckDeploymentRereadsTheServiceBeforeJudgingStopped(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC)
	created := now.Add(-3 * time.Minute)
	f := &replacedECS{created: created}
	d := &Deployer{ECS: f, Log: quiet, Now: func() time.Time { return now }}
	s := State{Cluster: "staging", Service: "staging-service", Deployment: Deployment{ID: "ecs-svc/ours", ServiceDeploymentARN: "ours",
		CreatedAt: &created, TimeoutSeconds: 1800, StartedAt: &created, Deadline: ptrTime(now.Add(time.Hour))}}
	_, err := d.CheckDeployment(context.Background(), s)
	var superseded *DeploymentSuperseded
	if !errors.As(err, &superseded) || f.reads != 2 {
		t.Fatalf("CheckDeployment = %v after %d reads of the service, want DeploymentSuperseded after a second read", err, f.reads)
	}
}
