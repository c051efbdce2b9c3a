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
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// The prod account and Region of the tests: another account than the
// local stack's own (123456789012), in another Region.
const (
	prodAccount = "210987654321"
	prodRegion  = "eu-west-1"
)

// routedStack serves the local stack's routing (JSON protocols to the
// emulator of the key's account and Region, Query to STS, IAM,
// CloudFormation) without functions or workflow.
func routedStack(t *testing.T) (*Stack, aws.Config) {
	t.Helper()
	s, _ := queryStack(t)
	s.Emulator.SetAuthorizer(s.guard.authorize)
	srv := httptest.NewServer(http.HandlerFunc(s.route))
	t.Cleanup(srv.Close)
	return s, aws.Config{Region: emulator.Region, BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "admin", SecretAccessKey: "local"}, nil
		})}
}

// The trust policy the target stack will make: the deployer's account,
// only its principals named like the stack's roles, only with the stack's
// external ID.
const trust = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
  "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "EcrDeployer-123456789012"},
  "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}}}]}`

const readProd = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeServices",
  "Resource": "arn:aws:ecs:eu-west-1:210987654321:service/prod/*"}]}`

// A role in another account is assumed through the real SDK's stscreds
// only as its trust policy and the caller's identity policy allow; its
// session's calls reach that account's emulator in the Region they are
// signed for, and are authorized by the role's permissions alone.
func TestAssumeRoleIntoAnotherAccount(t *testing.T) {
	s, cfg := routedStack(t)
	prod := s.AddAccount(prodAccount, prodRegion)
	td := prod.RegisterTaskDefinition(emulator.TaskDefinitionSpec{Family: "app", Compatibilities: []string{"EC2"},
		Containers: []emulator.ContainerSpec{{Name: "app", Image: prodAccount + ".dkr.ecr.eu-west-1.amazonaws.com/app:prod"}}})
	if err := prod.CreateService(emulator.ServiceSpec{Cluster: "prod", Name: "prod-service", TaskDefinition: td, DesiredCount: 1, LaunchType: "EC2"}); err != nil {
		t.Fatal(err)
	}
	roleARN, err := s.AddRole(prodAccount, "EcrDeployerTarget", []byte(trust), []byte(readProd), 0)
	if err != nil {
		t.Fatal(err)
	}
	untrusting, err := s.AddRole(prodAccount, "Other", []byte(`{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]}`), []byte(readProd), 0)
	if err != nil {
		t.Fatal(err)
	}
	assumed := func(role, ext string, region string) *ecs.Client {
		c := cfg.Copy()
		c.Region = region
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role, func(o *stscreds.AssumeRoleOptions) {
			o.ExternalID = aws.String(ext)
			o.RoleSessionName = "staging-abc123"
		}))
		return ecs.NewFromConfig(c)
	}
	ctx := t.Context()
	describe := func(c *ecs.Client) (*ecs.DescribeServicesOutput, error) {
		return c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"prod-service"}})
	}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}
	t.Run("trusted, with the external ID: the other account's service", func(t *testing.T) {
		out, err := describe(assumed(roleARN, "EcrDeployer-123456789012", prodRegion))
		if err != nil || len(out.Services) != 1 || !strings.HasPrefix(aws.ToString(out.Services[0].ServiceArn), "arn:aws:ecs:eu-west-1:210987654321:service/prod/") {
			t.Fatalf("%+v, %v", out, err)
		}
	})
	t.Run("the role's permissions alone decide its calls", func(t *testing.T) {
		_, err := assumed(roleARN, "EcrDeployer-123456789012", prodRegion).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("app:1")})
		if code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "assumed-role/EcrDeployerTarget/staging-abc123") {
			t.Fatalf("err = %v, want AccessDeniedException naming the session", err)
		}
	})
	t.Run("the session's identity is the assumed role in its account", func(t *testing.T) {
		c := cfg.Copy()
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.ExternalID, o.RoleSessionName = aws.String("EcrDeployer-123456789012"), "who"
		}))
		id, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::210987654321:assumed-role/EcrDeployerTarget/who" || aws.ToString(id.Account) != prodAccount {
			t.Fatalf("%+v, %v", id, err)
		}
	})
	for name, tc := range map[string]struct{ role, ext string }{
		"a wrong external ID":           {roleARN, "EcrDeployer-000000000000"},
		"a role that does not trust it": {untrusting, "EcrDeployer-123456789012"},
		"a role that does not exist":    {"arn:aws:iam::210987654321:role/Missing", "EcrDeployer-123456789012"},
	} {
		t.Run(name+": AccessDenied before any call", func(t *testing.T) {
			before := len(prod.Calls(""))
			_, err := describe(assumed(tc.role, tc.ext, prodRegion))
			if code(err) != "AccessDenied" || !strings.Contains(err.Error(), "is not authorized to perform: sts:AssumeRole on resource: "+tc.role) || len(prod.Calls("")) != before {
				t.Fatalf("err = %v, want STS's AccessDenied and no call to the account", err)
			}
		})
	}
	t.Run("a person's key whose policy does not allow sts:AssumeRole", func(t *testing.T) {
		pc := cfg.Copy()
		pc.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: OperatorAccessKey, SecretAccessKey: SecretOf(OperatorAccessKey)}, nil
		})
		_, err := sts.NewFromConfig(pc).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("op"), ExternalId: aws.String("EcrDeployer-123456789012")})
		if code(err) != "AccessDenied" {
			t.Fatalf("err = %v, want AccessDenied", err)
		}
	})
	t.Run("longer than the role's MaxSessionDuration", func(t *testing.T) {
		_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("long"),
			ExternalId: aws.String("EcrDeployer-123456789012"), DurationSeconds: aws.Int32(7200)})
		if code(err) != "ValidationError" || !strings.Contains(err.Error(), "MaxSessionDuration") {
			t.Fatalf("err = %v, want ValidationError", err)
		}
	})
	t.Run("an account's resources are its own, by Region", func(t *testing.T) {
		// In us-east-1 the same name is another service, which the role's
		// policy (eu-west-1 only) does not name.
		_, err := describe(assumed(roleARN, "EcrDeployer-123456789012", "us-east-1"))
		if code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "arn:aws:ecs:us-east-1:210987654321:service/prod/prod-service") {
			t.Fatalf("prod in us-east-1: %v, want AccessDeniedException on us-east-1's service", err)
		}
		// The local stack's own account has no cluster prod in its emulator.
		if _, err := describe(ecs.NewFromConfig(cfg)); code(err) != "ClusterNotFoundException" {
			t.Fatalf("the local stack's own account: %v, want ClusterNotFoundException", err)
		}
	})
}

// AssumeRole's documented input constraints, broken once each through the
// real SDK (the SDK checks only that RoleArn and RoleSessionName are set).
func TestAssumeRoleConstraintsOverTheWire(t *testing.T) {
	s, cfg := routedStack(t)
	roleARN, err := s.AddRole(prodAccount, "EcrDeployerTarget", []byte(trust), []byte(readProd), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := sts.NewFromConfig(cfg)
	for name, tc := range map[string]struct {
		in   sts.AssumeRoleInput
		want string
	}{
		"a session name of one character": {sts.AssumeRoleInput{RoleSessionName: aws.String("a")}, "roleSessionName"},
		"a session name with a space":     {sts.AssumeRoleInput{RoleSessionName: aws.String("a b")}, "roleSessionName"},
		"an external ID of one character": {sts.AssumeRoleInput{ExternalId: aws.String("x")}, "externalId"},
		"an external ID of 1,225":         {sts.AssumeRoleInput{ExternalId: aws.String(strings.Repeat("x", 1225))}, "externalId"},
		"a duration under 15 minutes":     {sts.AssumeRoleInput{DurationSeconds: aws.Int32(899)}, "durationSeconds"},
		"a duration over 12 hours":        {sts.AssumeRoleInput{DurationSeconds: aws.Int32(43201)}, "durationSeconds"},
		"a role ARN shorter than 20":      {sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::1:r/x")}, "roleArn"},
	} {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			if in.RoleArn == nil {
				in.RoleArn = aws.String(roleARN)
			}
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("ok")
			}
			if in.ExternalId == nil {
				in.ExternalId = aws.String("EcrDeployer-123456789012")
			}
			_, err := c.AssumeRole(t.Context(), &in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || !strings.Contains(ae.ErrorMessage(), tc.want) {
				t.Fatalf("err = %v, want ValidationError on %s", err, tc.want)
			}
		})
	}
}
