package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
)

// Each documented constraint the emulator enforces, broken once through the
// real SDK clients: the request the SDK serializes reaches the emulator and
// comes back with AWS's error type.
func TestConstraintsOverTheWire(t *testing.T) {
	e, c, r := clients(t)
	sf := sfnClient(t)
	lg := logsClient(t, e)
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := map[string]struct {
		call     func(ctx context.Context) error
		code     string
		contains string
	}{
		// ECS, prose rules (ecs_rules.go)
		"DescribeServiceDeployments 21 ARNs": {func(ctx context.Context) error {
			arns := make([]string, 21)
			for i := range arns {
				arns[i] = fmt.Sprintf("arn:aws:ecs:us-west-2:123456789012:service-deployment/staging/staging-service/%d", i)
			}
			_, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns})
			return err
		}, "InvalidParameterException", "at most 20"},
		"ListServiceDeployments maxResults 101": {func(ctx context.Context) error {
			_, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), MaxResults: aws.Int32(101)})
			return err
		}, "InvalidParameterException", "between 1 and 100"},
		"StopServiceDeployment ABORT": {func(ctx context.Context) error {
			_, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-west-2:123456789012:service-deployment/staging/staging-service/1"), StopType: ecstypes.StopServiceDeploymentStopTypeAbort})
			return err
		}, "InvalidParameterException", "valid value is ROLLBACK"},
		"StopServiceDeployment of a completed deployment": {func(ctx context.Context) error {
			svc, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
			if err != nil {
				return err
			}
			_, err = c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: svc.Services[0].CurrentServiceDeployment, StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
			return err
		}, "ConflictException", "can no longer be stopped"},
		"ContinueServiceDeployment of an unknown deployment": {func(ctx context.Context) error {
			_, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-west-2:123456789012:service-deployment/staging/staging-service/nope"), HookId: aws.String("ecs-pause-1")})
			return err
		}, "ServiceDeploymentNotFoundException", "does not exist"},
		"ContinueServiceDeployment of a completed deployment": {func(ctx context.Context) error {
			svc, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"staging-service"}})
			if err != nil {
				return err
			}
			_, err = c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: svc.Services[0].CurrentServiceDeployment, HookId: aws.String("ecs-pause-1"), Action: ecstypes.DeploymentLifecycleHookActionContinue})
			return err
		}, "ClientException", "only an IN_PROGRESS deployment can be continued"},
		// CloudWatch Logs (logs_rules.go; the model: limit 1–10000)
		"GetLogEvents with logGroupName and logGroupIdentifier": {func(ctx context.Context) error {
			_, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/app"), LogGroupIdentifier: aws.String("/ecs/app"), LogStreamName: aws.String("s")})
			return err
		}, "InvalidParameterException", "Only one of logGroupName or logGroupIdentifier"},
		"GetLogEvents without a log group": {func(ctx context.Context) error {
			_, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogStreamName: aws.String("s")})
			return err
		}, "InvalidParameterException", "Either logGroupName or logGroupIdentifier"},
		"DescribeLogGroups with a prefix and a pattern": {func(ctx context.Context) error {
			_, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/"), LogGroupNamePattern: aws.String("app")})
			return err
		}, "InvalidParameterException", "mutually exclusive"},
		"DescribeLogGroups with identifiers and a prefix": {func(ctx context.Context) error {
			_, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"/ecs/app"}, LogGroupNamePrefix: aws.String("/ecs/")})
			return err
		}, "InvalidParameterException", "cannot be combined"},
		"DescribeLogGroups limit 51": {func(ctx context.Context) error {
			_, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)})
			return err
		}, "InvalidParameterException", "limit"},
		"GetLogEvents limit 10001": {func(ctx context.Context) error {
			_, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/app"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)})
			return err
		}, "InvalidParameterException", "limit"},
		"GetLogEvents forward token without startFromHead": {func(ctx context.Context) error {
			_, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/app"), LogStreamName: aws.String("s"), NextToken: aws.String("f/123")})
			return err
		}, "InvalidParameterException", "startFromHead must be true"},
		"GetLogEvents of a stream that does not exist": {func(ctx context.Context) error {
			_, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/nope"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceNotFoundException", "log group does not exist"},
		"ListTasks startedBy with serviceName": {func(ctx context.Context) error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), ServiceName: aws.String("staging-service"), StartedBy: aws.String("ecs-svc/1")})
			return err
		}, "InvalidParameterException", "cannot specify startedBy with other arguments"},
		"ListTasks startedBy with desiredStatus": {func(ctx context.Context) error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), DesiredStatus: ecstypes.DesiredStatusStopped, StartedBy: aws.String("x")})
			return err
		}, "InvalidParameterException", "startedBy"},
		"ListTasks serviceName with family": {func(ctx context.Context) error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), ServiceName: aws.String("staging-service"), Family: aws.String("app")})
			return err
		}, "InvalidParameterException", "serviceName and family"},
		"ListTasks maxResults 101": {func(ctx context.Context) error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), MaxResults: aws.Int32(101)})
			return err
		}, "InvalidParameterException", "between 1 and 100"},
		"RunTask launchType and capacityProviderStrategy": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), LaunchType: ecstypes.LaunchTypeEc2,
				CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}})
			return err
		}, "InvalidParameterException", "launch type and capacity provider strategy"},
		"RunTask 21 capacity providers": {func(ctx context.Context) error {
			var s []ecstypes.CapacityProviderStrategyItem
			for i := range 21 {
				s = append(s, ecstypes.CapacityProviderStrategyItem{CapacityProvider: aws.String(fmt.Sprint("cp", i))})
			}
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), CapacityProviderStrategy: s})
			return err
		}, "InvalidParameterException", "at most 20"},
		"RunTask count 11": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), Count: aws.Int32(11)})
			return err
		}, "InvalidParameterException", "between 1 and 10"},
		"RunTask clientToken 65 characters": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), ClientToken: aws.String(long(65))})
			return err
		}, "InvalidParameterException", "clientToken"},
		"RunTask clientToken with a space": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), ClientToken: aws.String("a b")})
			return err
		}, "InvalidParameterException", "range 33-126"},
		"RunTask startedBy 129 characters": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), StartedBy: aws.String(long(129))})
			return err
		}, "InvalidParameterException", "startedBy"},
		"RunTask startedBy with a colon": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), StartedBy: aws.String("ecr:deployer")})
			return err
		}, "InvalidParameterException", "startedBy"},
		"RunTask overrides over 8192 characters": {func(ctx context.Context) error {
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"),
				Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Command: []string{long(8200)}}}}})
			return err
		}, "InvalidParameterException", "8192"},
		"RunTask 11 placement constraints": {func(ctx context.Context) error {
			pcs := make([]ecstypes.PlacementConstraint, 11)
			for i := range pcs {
				pcs[i] = ecstypes.PlacementConstraint{Type: ecstypes.PlacementConstraintTypeDistinctInstance}
			}
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), PlacementConstraints: pcs})
			return err
		}, "InvalidParameterException", "at most 10"},
		"DescribeTasks 101 tasks": {func(ctx context.Context) error {
			_, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: make([]string, 101)})
			return err
		}, "InvalidParameterException", "between 1 and 100"},
		"DescribeServices 11 services": {func(ctx context.Context) error {
			_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: make([]string, 11)})
			return err
		}, "InvalidParameterException", "between 1 and 10"},
		"RegisterTaskDefinition family with a dot": {func(ctx context.Context) error {
			_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("app.v2"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app")}}})
			return err
		}, "ClientException", "Family"},
		// ECS, model (models/ecs.json.gz)
		"RunTask 51 tags": {func(ctx context.Context) error {
			tags := make([]ecstypes.Tag, 51)
			for i := range tags {
				tags[i] = ecstypes.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
			}
			_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app:1"), Cluster: aws.String("staging"), Tags: tags})
			return err
		}, "InvalidParameterException", "Member must have length less than or equal to 50"},
		"ListTasks desiredStatus outside the enum": {func(ctx context.Context) error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), DesiredStatus: "DONE"})
			return err
		}, "InvalidParameterException", "enum value set"},
		// ECR, model and prose rules
		"DescribeImages repository name in upper case": {func(ctx context.Context) error {
			_, err := r.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("App")})
			return err
		}, "InvalidParameterException", "regular expression pattern"},
		"DescribeImages 101 image ids": {func(ctx context.Context) error {
			ids := make([]ecrtypes.ImageIdentifier, 101)
			for i := range ids {
				ids[i] = ecrtypes.ImageIdentifier{ImageTag: aws.String("t")}
			}
			_, err := r.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: ids})
			return err
		}, "InvalidParameterException", "less than or equal to 100"},
		"DescribeImages maxResults with imageIds": {func(ctx context.Context) error {
			_, err := r.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), MaxResults: aws.Int32(10),
				ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("staging")}}})
			return err
		}, "InvalidParameterException", "cannot be used when you specify images with imageIds"},
		"DescribeImages registryId of 11 digits": {func(ctx context.Context) error {
			_, err := r.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), RegistryId: aws.String("12345678901x")})
			return err
		}, "InvalidParameterException", "[0-9]{12}"},
		"BatchGetImage an unknown media type": {func(ctx context.Context) error {
			_, err := r.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("staging")}},
				AcceptedMediaTypes: []string{"text/plain"}})
			return err
		}, "InvalidParameterException", "media type"},
		"PutImage a tag of 301 characters": {func(ctx context.Context) error {
			_, err := r.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(`{"mediaType":"x"}`), ImageTag: aws.String(long(301))})
			return err
		}, "InvalidParameterException", "length less than or equal to 300"},
		"PutImage a manifest without mediaType and no media type": {func(ctx context.Context) error {
			_, err := r.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(`{"schemaVersion":2}`), ImageTag: aws.String("t")})
			return err
		}, "InvalidParameterException", "imageManifestMediaType"},
		// Step Functions (the local Step Functions API runs the same Validate)
		"StartExecution name with a colon": {func(ctx context.Context) error {
			_, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-west-2:123456789012:stateMachine:x"), Name: aws.String("a:b")})
			return err
		}, "InvalidName", "Invalid Name"},
		"StartExecution name of 81 characters": {func(ctx context.Context) error {
			_, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-west-2:123456789012:stateMachine:x"), Name: aws.String(long(81))})
			return err
		}, "ValidationException", "length less than or equal to 80"},
		"StartExecution input that is not JSON": {func(ctx context.Context) error {
			_, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-west-2:123456789012:stateMachine:x"), Input: aws.String("{")})
			return err
		}, "InvalidExecutionInput", "not valid JSON"},
		"ListExecutions stateMachineArn and mapRunArn": {func(ctx context.Context) error {
			_, err := sf.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:us-west-2:123456789012:stateMachine:x"), MapRunArn: aws.String("arn:x")})
			return err
		}, "ValidationException", "Exactly one"},
		"ListExecutions maxResults 1001": {func(ctx context.Context) error {
			_, err := sf.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:us-west-2:123456789012:stateMachine:x"), MaxResults: 1001})
			return err
		}, "ValidationException", "less than or equal to 1000"},
		"GetExecutionHistory maxResults 1001": {func(ctx context.Context) error {
			_, err := sf.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String("arn:x"), MaxResults: 1001})
			return err
		}, "ValidationException", "less than or equal to 1000"},
		"SendTaskSuccess output that is not JSON": {func(ctx context.Context) error {
			_, err := sf.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("t"), Output: aws.String("nope")})
			return err
		}, "InvalidOutput", "not valid JSON"},
		"SendTaskFailure error of 257 characters": {func(ctx context.Context) error {
			_, err := sf.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("t"), Error: aws.String(long(257))})
			return err
		}, "ValidationException", "less than or equal to 256"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.call(t.Context())
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if api.ErrorCode() != tc.code || !strings.Contains(api.ErrorMessage(), tc.contains) {
				t.Fatalf("got %s: %s; want %s containing %q", api.ErrorCode(), api.ErrorMessage(), tc.code, tc.contains)
			}
		})
	}
}

// The SDK refuses to send a request without a required member, so these
// are sent as raw JSON 1.1 requests, as another client could.
func TestRequiredMembers(t *testing.T) {
	e := New(Account, Region)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	cases := map[string]struct{ target, body, missing string }{
		"RunTask without taskDefinition":            {ecsPrefix + "RunTask", `{"cluster":"staging"}`, "taskDefinition"},
		"DescribeTasks without tasks":               {ecsPrefix + "DescribeTasks", `{"cluster":"staging"}`, "tasks"},
		"UpdateService without service":             {ecsPrefix + "UpdateService", `{"cluster":"staging","forceNewDeployment":true}`, "service"},
		"StopTask without task":                     {ecsPrefix + "StopTask", `{"cluster":"staging"}`, "task"},
		"RegisterTaskDefinition without containers": {ecsPrefix + "RegisterTaskDefinition", `{"family":"app"}`, "containerDefinitions"},
		"DescribeImages without repositoryName":     {ecrPrefix + "DescribeImages", `{}`, "repositoryName"},
		"PutImage without imageManifest":            {ecrPrefix + "PutImage", `{"repositoryName":"app"}`, "imageManifest"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewBufferString(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out bytes.Buffer
			_, _ = out.ReadFrom(resp.Body)
			want := fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", tc.missing)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "InvalidParameterException") {
				t.Fatalf("HTTP %d %s; want 400 InvalidParameterException %q", resp.StatusCode, out.String(), want)
			}
		})
	}
}

// Every prose rule cites its sentence.
func TestEveryRuleCitesItsSentence(t *testing.T) {
	for svc, ops := range RuleCitations() {
		for op, cites := range ops {
			for _, c := range cites {
				if !strings.Contains(c, `"`) && !strings.Contains(c, "AWS-FACTS") {
					t.Errorf("%s %s: rule without a quoted sentence: %s", svc, op, c)
				}
			}
		}
	}
}

// The patterns of the served operations all compile: none is silently left unchecked.
func TestServedPatternsCompile(t *testing.T) {
	for _, svc := range []string{"ecs", "ecr", "stepfunctions"} {
		m, err := serviceModel(svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range UncompiledPatterns(svc) {
			for op, in := range m.ops {
				if usesPattern(m, in, p, map[string]bool{}) && served(svc, op) {
					t.Errorf("%s %s uses pattern %q, which RE2 cannot compile", svc, op, p)
				}
			}
		}
	}
}

func usesPattern(m *model, name, p string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	s := m.shapes[name]
	if s.Pattern == p {
		return true
	}
	refs := []*shapeRef{s.Member, s.Key, s.Value}
	for _, r := range s.Members {
		refs = append(refs, &r)
	}
	for _, r := range refs {
		if r != nil && usesPattern(m, r.Shape, p, seen) {
			return true
		}
	}
	return false
}

func served(svc, op string) bool {
	switch svc {
	case "ecs":
		return ecsOps[op] != nil
	case "ecr":
		return ecrOps[op] != nil
	}
	return slices.Contains([]string{"StartExecution", "DescribeExecution", "ListExecutions", "GetExecutionHistory", "StopExecution", "SendTaskSuccess", "SendTaskFailure"}, op)
}

// sfnClient is a real Step Functions client whose endpoint answers with
// Validate, the check the local Step Functions API applies first.
func sfnClient(t *testing.T) *sfn.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		code, msg := Validate("stepfunctions", op, body.Bytes())
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if code == "" {
			code, msg = "ValidAccordingToTheEmulator", "valid"
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
	}))
	t.Cleanup(srv.Close)
	return sfn.New(sfn.Options{Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "x", SecretAccessKey: "y"}, nil
		}),
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1)})
}

// logsClient is a CloudWatch Logs client of the emulator e.
func logsClient(t *testing.T, e *Emulator) *cloudwatchlogs.Client {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "x", SecretAccessKey: "y"}, nil
		}),
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1)})
}
