package awsconf

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

type fakeSTS struct {
	calls []sts.AssumeRoleInput
	err   error
	// lasts is how long a session lasts (default an hour).
	lasts time.Duration
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.calls = append(f.calls, *in)
	lasts := f.lasts
	if lasts == 0 {
		lasts = time.Hour
	}
	if f.err != nil {
		return nil, f.err
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIA1"), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: aws.Time(time.Now().Add(lasts))}}, nil
}

// A call at home uses the function's own credentials; one elsewhere
// assumes the function's role in that place's target account stack once,
// with the external ID and the function's name; a refusal is
// TargetRoleRefused, naming the role.
func TestPlaces(t *testing.T) {
	home := config.Place{Account: "111111111111", Region: "us-west-2"}
	remote := config.Place{Account: "222222222222", Region: "eu-west-1"}
	newPlaces := func(f *fakeSTS, role string) *Places {
		return &Places{Home: home, Base: aws.Config{Region: home.Region}, STS: f, RoleName: role, ExternalID: "arn:aws:cloudformation:us-west-2:111111111111:stack/EcrDeployer/1", Session: "ecr-deployer-run-migration"}
	}
	t.Run("home", func(t *testing.T) {
		f := &fakeSTS{}
		p := newPlaces(f, "EcrDeployer-RunMigration")
		for _, ctx := range []context.Context{context.Background(), deploy.WithPlace(context.Background(), home)} {
			c, err := p.clients(ctx)
			if err != nil || c.role != "" || c.ecs.Options().Region != home.Region {
				t.Fatalf("clients = %+v, %v", c, err)
			}
		}
		if len(f.calls) != 0 {
			t.Errorf("assumed a role at home: %+v", f.calls)
		}
	})
	t.Run("elsewhere", func(t *testing.T) {
		f := &fakeSTS{}
		p := newPlaces(f, "EcrDeployer-RunMigration")
		ctx := deploy.WithPlace(context.Background(), remote)
		for range 2 {
			c, err := p.clients(ctx)
			if err != nil || c.ecs.Options().Region != "eu-west-1" || c.logs.Options().Region != "eu-west-1" {
				t.Fatalf("clients = %+v, %v", c, err)
			}
		}
		if len(f.calls) != 1 {
			t.Fatalf("%d AssumeRole calls, want 1 (cached)", len(f.calls))
		}
		in := f.calls[0]
		if aws.ToString(in.RoleArn) != "arn:aws:iam::222222222222:role/EcrDeployer-RunMigration-eu-west-1" ||
			aws.ToString(in.ExternalId) != p.ExternalID || aws.ToString(in.RoleSessionName) != "ecr-deployer-run-migration" {
			t.Errorf("AssumeRole %+v", in)
		}
	})
	t.Run("renewed before it expires", func(t *testing.T) {
		f := &fakeSTS{lasts: SessionRenewal - time.Minute}
		p := newPlaces(f, "EcrDeployer-RunMigration")
		ctx := deploy.WithPlace(context.Background(), remote)
		c, err := p.clients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ecs.Options().Credentials.Retrieve(ctx); err != nil || len(f.calls) != 2 {
			t.Errorf("a session %s from its expiry was not renewed (%d AssumeRole calls, %v)", f.lasts, len(f.calls), err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for name, p := range map[string]*Places{
			"STS says no":     newPlaces(&fakeSTS{err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: sts:AssumeRole"}}, "EcrDeployer-RunMigration"),
			"no role to name": newPlaces(&fakeSTS{}, ""),
		} {
			_, err := p.clients(deploy.WithPlace(context.Background(), remote))
			var refused *deploy.TargetRoleRefused
			if !errors.As(err, &refused) || refused.Place != remote {
				t.Errorf("%s: err = %v, want TargetRoleRefused", name, err)
			}
		}
		other := newPlaces(&fakeSTS{err: errors.New("dial tcp: timeout")}, "EcrDeployer-RunMigration")
		_, err := other.clients(deploy.WithPlace(context.Background(), remote))
		var refused *deploy.TargetRoleRefused
		if err == nil || errors.As(err, &refused) {
			t.Errorf("a network error is %v, want it as it is (retried by the step), not TargetRoleRefused", err)
		}
	})
}
