package emulator

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// clients talks to the emulator with the real SDK clients over HTTP, as the
// Lambdas do, so these tests check the wire protocol as well as the behaviour.
func clients(t *testing.T) (*Emulator, *ecs.Client, *ecr.Client) {
	t.Helper()
	e := New(Account, Region)
	if err := e.SeedStandardWorld(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region: Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "x", SecretAccessKey: "y"}, nil
		}),
		Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
	}
	return e, ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func TestDescribeServicesMissingIsAFailureNotAnError(t *testing.T) {
	_, c, _ := clients(t)
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("out = %+v", out)
	}
	_, err = c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"x"}})
	var nf *ecstypes.ClusterNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ClusterNotFoundException", err)
	}
}

func TestServiceWireShape(t *testing.T) {
	_, c, _ := clients(t)
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"prod-service"}})
	if err != nil {
		t.Fatal(err)
	}
	s := out.Services[0]
	if aws.ToString(s.Status) != "ACTIVE" || len(s.CapacityProviderStrategy) != 2 || s.NetworkConfiguration.AwsvpcConfiguration.Subnets[0] != "subnet-0a1b2c3d" ||
		len(s.Deployments) != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || s.Deployments[0].CreatedAt == nil ||
		!s.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback {
		t.Fatalf("service = %+v", s)
	}
}

func TestRunTaskClientToken(t *testing.T) {
	e, c, _ := clients(t)
	in := &ecs.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), ClientToken: aws.String("token-1")}
	a, err := c.RunTask(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RunTask(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.Tasks[0].TaskArn) != aws.ToString(b.Tasks[0].TaskArn) || e.TaskCount() != 1 {
		t.Fatalf("the same token started %d tasks", e.TaskCount())
	}
	in.TaskDefinition = aws.String("app-fargate:1")
	in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"s"}}}
	_, err = c.RunTask(t.Context(), in)
	var conflict *ecstypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("err = %v, want ConflictException for the same token with another request", err)
	}
}

func TestRunTaskValidation(t *testing.T) {
	_, c, _ := clients(t)
	cases := map[string]*ecs.RunTaskInput{
		"awsvpc without network":          {Cluster: aws.String("prod"), TaskDefinition: aws.String("app-fargate:1")},
		"launch type and capacity":        {Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), LaunchType: ecstypes.LaunchTypeEc2, CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("x")}}},
		"override of a missing container": {Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("web")}}}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.RunTask(t.Context(), in)
			var inv *ecstypes.InvalidParameterException
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want InvalidParameterException", err)
			}
		})
	}
}

func TestThrottlingIsTheSDKsThrottlingError(t *testing.T) {
	e, c, _ := clients(t)
	e.SetScenario(Scenario{Throttle: map[string]int{"DescribeTasks": 1}})
	_, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: []string{"x"}})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
		t.Fatalf("err = %v, want ThrottlingException", err)
	}
	if !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Error("the SDK's retryer does not treat the answer as throttling")
	}
}

func TestDescribeImages(t *testing.T) {
	_, _, r := clients(t)
	out, err := r.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("staging")}}})
	if err != nil || aws.ToString(out.ImageDetails[0].ImageDigest) != Digest {
		t.Fatalf("out = %+v, err = %v", out, err)
	}
	_, err = r.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	var nf *ecrtypes.ImageNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ImageNotFoundException", err)
	}
	_, err = r.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("nope")})
	var rnf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("err = %v, want RepositoryNotFoundException", err)
	}
}

func TestLoadScenarioRejectsTypos(t *testing.T) {
	pause := func(stage, strategy string) Scenario {
		return Scenario{Rollout: RolloutScript{Strategy: strategy, Hooks: []HookScript{{Stage: stage, Type: "PAUSE"}}}}
	}
	for name, bad := range map[string]Scenario{
		"unknown outcome":             {Rollout: RolloutScript{Outcome: "DONE"}},
		"unknown operation":           {Throttle: map[string]int{"ListClusters": 1}},
		"hooks on ROLLING":            pause("POST_SCALE_UP", "ROLLING"),
		"PAUSE at a traffic shift":    pause("PRODUCTION_TRAFFIC_SHIFT", "BLUE_GREEN"),
		"test traffic on CANARY":      pause("POST_TEST_TRAFFIC_SHIFT", "CANARY"),
		"unknown hook type":           {Rollout: RolloutScript{Strategy: "LINEAR", Hooks: []HookScript{{Stage: "POST_SCALE_UP", Type: "SNS"}}}},
		"unknown hook timeout action": {Rollout: RolloutScript{Strategy: "LINEAR", Hooks: []HookScript{{Stage: "POST_SCALE_UP", Type: "PAUSE", TimeoutAction: "ABORT"}}}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%s: %+v validated", name, bad)
		}
	}
}

// Every scenario shipped in local/scenarios loads and validates.
func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		if _, err := LoadScenario(f); err != nil {
			t.Error(err)
		}
	}
}

func TestRateLimitIsATokenBucket(t *testing.T) {
	e, c, _ := clients(t)
	e.SetScenario(Scenario{RateLimit: &RateLimit{PerSecond: 5, Operations: []string{"DescribeServices"}}})
	in := &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}}
	ok, throttled := 0, 0
	for range 8 {
		if _, err := c.DescribeServices(t.Context(), in); err != nil {
			throttled++
		} else {
			ok++
		}
	}
	if ok != 5 || throttled != 3 {
		t.Errorf("a burst of 8 against 5/s: %d served, %d throttled; want 5 and 3", ok, throttled)
	}
	if _, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: []string{"x"}}); err != nil {
		t.Errorf("an operation without a bucket was throttled: %v", err)
	}
}

// A pause holds the stages and hooks after it, whatever order the scenario
// lists the hooks in: the Lambda hook of a later stage runs only after the
// pause is answered.
func TestPauseHoldsLaterHooks(t *testing.T) {
	e, c, _ := clients(t)
	e.SetTimeScale(100) // a 10 s rollout plays in 0.1 s
	e.SetScenario(Scenario{Rollout: RolloutScript{Seconds: 10, Strategy: "BLUE_GREEN", BakeTimeMinutes: 1, BakeSeconds: 5, Hooks: []HookScript{
		{Stage: "POST_PRODUCTION_TRAFFIC_SHIFT", Type: "AWS_LAMBDA"},
		{Stage: "POST_SCALE_UP", Type: "PAUSE", TimeoutSeconds: 3600},
	}}})
	out, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Service.CurrentServiceDeployment
	describe := func() ecstypes.ServiceDeployment {
		sd, err := c.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(arn)}})
		if err != nil || len(sd.ServiceDeployments) != 1 {
			t.Fatalf("describe: %v", err)
		}
		return sd.ServiceDeployments[0]
	}
	until := func(what string, ok func(ecstypes.ServiceDeployment) bool) ecstypes.ServiceDeployment {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if sd := describe(); ok(sd) {
				return sd
			}
		}
		t.Fatalf("never %s: %+v", what, describe())
		return ecstypes.ServiceDeployment{}
	}
	awaiting := func(sd ecstypes.ServiceDeployment) bool {
		return len(sd.LifecycleHookDetails) == 1 && sd.LifecycleHookDetails[0].Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction
	}
	until("paused", awaiting)
	// Fifty seconds of the emulator's clock: five times the unpaused rollout.
	waitClock(t, e, e.Now().Add(50*time.Second))
	sd := describe()
	if sd.Status != ecstypes.ServiceDeploymentStatusInProgress || sd.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStagePostScaleUp || !awaiting(sd) {
		t.Fatalf("the pause did not hold: %s at %s, hooks %+v", sd.Status, sd.LifecycleStage, sd.LifecycleHookDetails)
	}
	if _, err := c.ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: arn, HookId: sd.LifecycleHookDetails[0].HookId}); err != nil {
		t.Fatal(err)
	}
	sd = until("successful", func(sd ecstypes.ServiceDeployment) bool {
		return sd.Status == ecstypes.ServiceDeploymentStatusSuccessful
	})
	if len(sd.LifecycleHookDetails) != 2 {
		t.Errorf("after continue, the later Lambda hook did not run: %+v", sd.LifecycleHookDetails)
	}
}

// ECS's rollback redeploys the last successful service revision, with the
// digests it resolved then, not the tag resolved again: a tag that moved to
// the failed image does not come back with the rollback.
func TestRollbackRunsThePreviousDigest(t *testing.T) {
	e, c, _ := clients(t)
	e.SetTimeScale(100)
	before := e.RunningDigest("staging", "staging-service", "app")
	e.SetScenario(Scenario{Rollout: RolloutScript{Seconds: 2, Outcome: OutcomeRolledBack}})
	newer := e.PushManifest(Repository, "staging", SampleManifest(77)) // the task definition names app:staging
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.RunningDigest("staging", "staging-service", "app"); got != newer {
		t.Fatalf("the deployment runs %s, want the moved tag's %s", got, newer)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
		if err != nil {
			t.Fatal(err)
		}
		if d := out.Services[0].Deployments; len(d) == 1 && d[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			if got := e.RunningDigest("staging", "staging-service", "app"); got != before {
				t.Fatalf("after the rollback the service runs %s, want the previous %s", got, before)
			}
			return
		}
	}
	t.Fatal("the rollback never completed")
}

// GetRepositoryPolicy over the wire: no policy is
// RepositoryPolicyNotFoundException, a missing repository
// RepositoryNotFoundException, a policy comes back as its text.
func TestGetRepositoryPolicy(t *testing.T) {
	e, _, c := clients(t)
	_, err := c.GetRepositoryPolicy(t.Context(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(Repository)})
	var none *ecrtypes.RepositoryPolicyNotFoundException
	if !errors.As(err, &none) {
		t.Fatalf("no policy: %v", err)
	}
	_, err = c.GetRepositoryPolicy(t.Context(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("nope")})
	var missing *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &missing) {
		t.Fatalf("no repository: %v", err)
	}
	const policy = `{"Version":"2012-10-17","Statement":[]}`
	if err := e.SetRepositoryPolicy(Repository, policy); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetRepositoryPolicy(t.Context(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(Repository)})
	if err != nil || aws.ToString(out.PolicyText) != policy || aws.ToString(out.RegistryId) != Account {
		t.Fatalf("%+v, %v", out, err)
	}
}
