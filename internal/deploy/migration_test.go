package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestClientToken(t *testing.T) {
	a := ClientToken("arn:aws:states:us-west-2:1:execution:sm:x", 1)
	if len(a) != 64 {
		t.Errorf("token has %d characters; ECS takes at most 64", len(a))
	}
	if a != ClientToken("arn:aws:states:us-west-2:1:execution:sm:x", 1) {
		t.Error("the same execution and attempt must give the same token (a Lambda retry)")
	}
	if a == ClientToken("arn:aws:states:us-west-2:1:execution:sm:x", 2) || a == ClientToken("arn:aws:states:us-west-2:1:execution:sm:y", 1) {
		t.Error("another attempt or execution must give another token")
	}
}

func TestCapacityBackoff(t *testing.T) {
	cases := []struct{ interval, next, want int }{
		{30, 2, 30}, {30, 3, 60}, {30, 4, 120}, {30, 5, 240}, {30, 6, 300}, {30, 20, 300}, {1, 2, 1}, {1, 4, 4},
	}
	for _, c := range cases {
		if got := CapacityBackoff(c.interval, c.next); got != c.want {
			t.Errorf("CapacityBackoff(%d, %d) = %d, want %d", c.interval, c.next, got, c.want)
		}
	}
}

var quiet = slog.New(slog.DiscardHandler)

// fakeECS is a func-field fake: each test sets the calls it expects.
type fakeECS struct {
	ECSAPI
	runTask func(*ecs.RunTaskInput) (*ecs.RunTaskOutput, error)
}

func (f *fakeECS) RunTask(_ context.Context, in *ecs.RunTaskInput, _ ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	return f.runTask(in)
}

func TestRunMigrationFailures(t *testing.T) {
	failure := func(reasons ...string) func(*ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
		return func(*ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
			out := &ecs.RunTaskOutput{}
			for _, r := range reasons {
				out.Failures = append(out.Failures, ecstypes.Failure{Reason: aws.String(r)})
			}
			return out, nil
		}
	}
	cases := map[string]struct {
		run     func(*ecs.RunTaskInput) (*ecs.RunTaskOutput, error)
		attempt int
		errType string
		retryIn int
		errHas  string
	}{
		"capacity, retries left":     {run: failure("RESOURCE:MEMORY"), attempt: 0, retryIn: 30},
		"capacity, second retry":     {run: failure("AGENT"), attempt: 1, retryIn: 60},
		"capacity, attempts used up": {run: failure("RESOURCE:CPU"), attempt: 2, errType: "MigrationCapacityUnavailable", errHas: "after 3 attempts"},
		"attribute mismatch":         {run: failure("ATTRIBUTE"), errType: "MigrationFailedToStart", errHas: "ATTRIBUTE"},
		"mixed capacity and other":   {run: failure("RESOURCE:CPU", "ATTRIBUTE"), errType: "MigrationFailedToStart"},
		"neither tasks nor failures": {run: failure(), errType: "MigrationFailedToStart", errHas: "neither a task nor a failure"},
		"API error is InternalError": {run: func(*ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
			return nil, errors.New("AccessDeniedException: not authorized")
		}, errType: "InternalError", errHas: "AccessDenied"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := &Deployer{ECS: &fakeECS{runTask: tc.run}, Now: func() time.Time { return time.Unix(0, 0) }, Log: quiet}
			s := State{Cluster: "staging", Migration: Migration{Container: "app", Attempt: tc.attempt, MaxAttempts: 3, RetryIntervalSeconds: 30}}
			out, err := Handler(d.RunMigration)(context.Background(), s)
			if tc.errType == "" {
				if err != nil || out.Migration.RetryInSeconds != tc.retryIn || out.Migration.TaskARN != "" {
					t.Fatalf("err = %v, retryIn = %d, want nil and %d", err, out.Migration.RetryInSeconds, tc.retryIn)
				}
				return
			}
			if got := errorName(err); got != tc.errType || !strings.Contains(fmt.Sprint(err), tc.errHas) {
				t.Fatalf("err = %s %v, want %s mentioning %q", got, err, tc.errType, tc.errHas)
			}
		})
	}
}

func TestRunMigrationSendsTheServiceLaunch(t *testing.T) {
	var got *ecs.RunTaskInput
	d := &Deployer{ECS: &fakeECS{runTask: func(in *ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
		got = in
		return &ecs.RunTaskOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String("arn:aws:ecs:us-west-2:1:task/prod/abc"), LastStatus: aws.String("PROVISIONING")}}}, nil
	}}, Now: func() time.Time { return time.Unix(100, 0).UTC() }, Log: quiet}
	s := State{Cluster: "prod", Execution: Execution{ID: "exec"}, Launch: Launch{TaskDefinition: "app:3", LaunchType: "FARGATE",
		Network: &AwsvpcConfiguration{Subnets: []string{"subnet-1"}, AssignPublicIP: "DISABLED"}},
		Migration: Migration{Container: "app", Command: []string{"goose", "up"}, TimeoutSeconds: 60, MaxAttempts: 1,
			LogGroup: "/ecs/app", LogStreamPrefix: "web"}}
	out, err := d.RunMigration(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if got.LaunchType != ecstypes.LaunchTypeFargate || got.NetworkConfiguration.AwsvpcConfiguration.Subnets[0] != "subnet-1" ||
		aws.ToString(got.ClientToken) != ClientToken("exec", 1) || !reflect.DeepEqual(got.Overrides.ContainerOverrides[0].Command, []string{"goose", "up"}) {
		t.Errorf("RunTask input = %+v", got)
	}
	m := out.Migration
	if m.TaskARN == "" || m.LogStream != "web/app/abc" || !m.Deadline.Equal(time.Unix(160, 0)) {
		t.Errorf("migration = %+v", m)
	}
}

// errorName is the error name Step Functions sees: aws-lambda-go reports the
// type name of the returned error, dereferencing a pointer (lambda/errors.go).
func errorName(err error) string {
	if err == nil {
		return ""
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func TestForStepFunctionsKeepsTheTypedError(t *testing.T) {
	typed := &MigrationFailed{newf("exit 1")}
	cases := map[string]struct {
		err  error
		want string
	}{
		"typed":         {err: typed, want: "MigrationFailed"},
		"wrapped typed": {err: fmt.Errorf("check migration: %w", typed), want: "MigrationFailed"},
		"plain error":   {err: errors.New("boom"), want: "InternalError"},
		"wrapped plain": {err: fmt.Errorf("describe service: %w", errors.New("AccessDenied")), want: "InternalError"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := errorName(ForStepFunctions(tc.err)); got != tc.want {
				t.Errorf("error name = %s, want %s", got, tc.want)
			}
		})
	}
	for _, e := range AllErrors() {
		if !strings.HasPrefix(reflect.TypeOf(e).String(), "*deploy.") {
			t.Errorf("%T is not a pointer to a named deploy type", e)
		}
	}
}

// The migration's containers of the repository must run the resolved digest
// once ECS reports one; other repositories' containers (sidecars) and a
// container that has not pulled yet say nothing.
func TestRanOtherImage(t *testing.T) {
	want, other := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	c := func(name, image, digest string) ecstypes.Container {
		return ecstypes.Container{Name: aws.String(name), Image: aws.String(image), ImageDigest: aws.String(digest)}
	}
	const repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
	cases := []struct {
		name                 string
		containers           []ecstypes.Container
		wantName, wantDigest string
	}{
		{"the resolved digest", []ecstypes.Container{c("app", repo+":staging", want)}, "", ""},
		{"pinned by digest", []ecstypes.Container{c("app", repo+"@"+want, want)}, "", ""},
		{"not pulled yet", []ecstypes.Container{c("app", repo+":staging", "")}, "", ""},
		{"a sidecar of another repository", []ecstypes.Container{c("envoy", "public.ecr.aws/envoy:v1", other), c("app", repo+":staging", want)}, "", ""},
		{"the tag moved", []ecstypes.Container{c("envoy", "public.ecr.aws/envoy:v1", other), c("app", repo+":staging", other)}, "app", other},
		{"a second container of the repository", []ecstypes.Container{c("app", repo+":staging", want), c("worker", repo+":staging", other)}, "worker", other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, digest := ranOtherImage(tc.containers, "app", want)
			if name != tc.wantName || digest != tc.wantDigest {
				t.Errorf("ranOtherImage = %q %q, want %q %q", name, digest, tc.wantName, tc.wantDigest)
			}
		})
	}
}

// deploymentTasksECS lists one running task of deployment "ecs-svc/ours"
// whose app container runs digest.
type deploymentTasksECS struct {
	ECSAPI
	digest string
}

func (f *deploymentTasksECS) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return &ecs.ListTasksOutput{TaskArns: []string{"task/1"}}, nil
}

func (f *deploymentTasksECS) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String("task/1"), StartedBy: aws.String("ecs-svc/ours"),
		Containers: []ecstypes.Container{{Name: aws.String("app"), Image: aws.String("app:staging"), ImageDigest: aws.String(f.digest)}}}}}, nil
}

// A completed deployment whose tasks run another digest than the resolved
// one (tag mode: the tag moved between the check before UpdateService and
// ECS's resolution) ends DigestMismatch, not Deployed with a note.
func TestVerifyDigest(t *testing.T) {
	want, other := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	for _, tc := range []struct {
		name, runs string
		mismatch   bool
	}{{"the resolved digest", want, false}, {"another digest", other, true}} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Deployer{ECS: &deploymentTasksECS{digest: tc.runs}, Log: quiet}
			s := State{Cluster: "staging", Service: "staging-service", Image: Image{Repository: "app", Tag: "staging", Digest: want, Mode: "tag"},
				Deployment: Deployment{ID: "ecs-svc/ours"}}
			err := d.verifyDigest(context.Background(), &s)
			var mismatch *DigestMismatch
			if errors.As(err, &mismatch) != tc.mismatch || (!tc.mismatch && err != nil) {
				t.Fatalf("verifyDigest = %v, want mismatch %v", err, tc.mismatch)
			}
			if s.Image.DeployedDigest != tc.runs {
				t.Errorf("deployedDigest = %s, want %s", s.Image.DeployedDigest, tc.runs)
			}
			if tc.mismatch && !strings.Contains(err.Error(), other) {
				t.Errorf("cause %q does not name the digest the service runs", err)
			}
		})
	}
}
