package rig

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// queryStack serves the local stack's Query protocol (IAM, CloudFormation)
// for the committed local template, without functions or workflow.
func queryStack(t *testing.T) (*Stack, aws.Config) {
	t.Helper()
	g, err := newGuard("../template.json")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{Emulator: emulator.New(emulator.Account, emulator.Region), guard: g, opts: Options{Template: "../template.json"}}
	srv := httptest.NewServer(http.HandlerFunc(s.serveQuery))
	t.Cleanup(srv.Close)
	return s, aws.Config{Region: emulator.Region, BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "admin", SecretAccessKey: "local"}, nil
		})}
}

// SimulatePrincipalPolicy through the real SDK: the role's own policy
// decides (the engine that enforces it on the functions' calls), context
// keys count, an unknown role is NoSuchEntity, a person without
// iam:SimulatePrincipalPolicy is refused, and short pages page on.
func TestSimulatePrincipalPolicyOverTheWire(t *testing.T) {
	s, cfg := queryStack(t)
	c := iam.NewFromConfig(cfg)
	ctx := t.Context()
	role := "arn:aws:iam::123456789012:role/" + roleName(s.guard.pol().roles[accessKey(functionNamed(t, "RunMigration"))].Role)
	runTask := func(td, cluster string) *iam.SimulatePrincipalPolicyInput {
		return &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: []string{"ecs:RunTask"},
			ResourceArns: []string{"arn:aws:ecs:us-west-2:123456789012:task-definition/" + td},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("ecs:cluster"), ContextKeyValues: []string{"arn:aws:ecs:us-west-2:123456789012:cluster/" + cluster},
				ContextKeyType: iamtypes.ContextKeyTypeEnumString}}}
	}
	cases := map[string]struct {
		in   *iam.SimulatePrincipalPolicyInput
		want iamtypes.PolicyEvaluationDecisionType
	}{
		"a configured family on a configured cluster": {runTask("app:7", "staging"), iamtypes.PolicyEvaluationDecisionTypeAllowed},
		"another family": {runTask("web:1", "staging"), iamtypes.PolicyEvaluationDecisionTypeImplicitDeny},
		"another cluster (the ecs:cluster condition)": {runTask("app:7", "elsewhere"), iamtypes.PolicyEvaluationDecisionTypeImplicitDeny},
		"an action the role does not have": {&iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: []string{"ecs:UpdateService"},
			ResourceArns: []string{"arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service"}}, iamtypes.PolicyEvaluationDecisionTypeImplicitDeny},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := c.SimulatePrincipalPolicy(ctx, tc.in)
			if err != nil || len(out.EvaluationResults) != 1 || out.EvaluationResults[0].EvalDecision != tc.want {
				t.Fatalf("%+v, %v; want %s", out, err, tc.want)
			}
		})
	}
	t.Run("an unknown role", func(t *testing.T) {
		_, err := c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:role/nope"), ActionNames: []string{"ecs:RunTask"}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchEntity" {
			t.Fatalf("err = %v, want NoSuchEntity", err)
		}
	})
	t.Run("a person without iam:SimulatePrincipalPolicy", func(t *testing.T) {
		pc := cfg.Copy()
		pc.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: OperatorAccessKey, SecretAccessKey: SecretOf(OperatorAccessKey)}, nil
		})
		_, err := iam.NewFromConfig(pc).SimulatePrincipalPolicy(ctx, runTask("app:7", "staging"))
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "iam:SimulatePrincipalPolicy") {
			t.Fatalf("err = %v, want AccessDenied for iam:SimulatePrincipalPolicy", err)
		}
	})
	t.Run("short pages page on to every result", func(t *testing.T) {
		s.Emulator.SetScenario(emulator.Scenario{Adversary: &emulator.AdversaryScript{Seed: 7, Rate: 0.5, Only: []string{emulator.AdvIAMShortPage}}})
		defer s.Emulator.SetScenario(emulator.Scenario{})
		in := runTask("app:7", "staging")
		in.ActionNames = []string{"ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks", "ecs:UpdateService"}
		var got []string
		pages := 0
		p := iam.NewSimulatePrincipalPolicyPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil || pages > 20 {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			for _, r := range out.EvaluationResults {
				got = append(got, aws.ToString(r.EvalActionName)+"="+string(r.EvalDecision))
			}
		}
		want := "ecs:RunTask=allowed ecs:StopTask=implicitDeny ecs:DescribeTasks=implicitDeny ecs:UpdateService=implicitDeny"
		if strings.Join(got, " ") != want || pages < 2 {
			t.Fatalf("%d pages: %v; want %s over more than one page", pages, got, want)
		}
	})
}

// ListStackResources pages through the template's resources (more than
// one page of 100), each role named after its logical ID as CloudFormation
// names it (the stack's name first).
func TestListStackResourcesPages(t *testing.T) {
	_, cfg := queryStack(t)
	c := cloudformation.NewFromConfig(cfg)
	p := cloudformation.NewListStackResourcesPaginator(c, &cloudformation.ListStackResourcesInput{StackName: aws.String(StackName)})
	roles, all, pages := 0, 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.StackResourceSummaries {
			all++
			if aws.ToString(r.ResourceType) == "AWS::IAM::Role" {
				roles++
				if aws.ToString(r.PhysicalResourceId) != StackName+"-"+aws.ToString(r.LogicalResourceId) {
					t.Errorf("role %s's physical ID is %s", aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId))
				}
			}
		}
	}
	if pages < 2 || roles < 14 {
		t.Fatalf("%d resources in %d pages, %d roles; want more than a page and every function's role", all, pages, roles)
	}
	_, err := c.ListStackResources(t.Context(), &cloudformation.ListStackResourcesInput{StackName: aws.String("Other")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Fatalf("another stack: %v, want ValidationError", err)
	}
}

func functionNamed(t *testing.T, name string) statemachine.Function {
	t.Helper()
	for _, f := range statemachine.Functions {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no function %s", name)
	return statemachine.Function{}
}
