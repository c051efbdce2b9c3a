package awsconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// Places routes each ECS and CloudWatch Logs call to the account and Region
// its context names (deploy.WithPlace): the deployer's own with the
// function's credentials, another with a session of the target account
// stack's role for this function there, made once per warm instance and
// refreshed by the SDK before it expires (docs/multi-account.md).
type Places struct {
	Home config.Place
	// Partition is the deployer's ("aws" when empty).
	Partition string
	Base      aws.Config
	STS       stscreds.AssumeRoleAPIClient
	// RoleName is this function's role in a target account stack, without
	// its Region ("EcrDeployer-RunMigration"); empty: the stack knows no
	// other account, and a call for one is refused.
	RoleName   string
	ExternalID string
	// Session names the role's sessions: CloudTrail in the target account
	// shows which function acted.
	Session string

	mu sync.Mutex
	at map[config.Place]*placeClients
}

// SessionRenewal is how long before its expiry a target role's session is
// renewed.
const SessionRenewal = 5 * time.Minute

type placeClients struct {
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
	role string
}

// NewPlaces routes the calls of a function whose configuration is cfg;
// the stack sets TARGET_ROLE_NAME and TARGET_EXTERNAL_ID.
func NewPlaces(cfg aws.Config, home config.Place) *Places {
	partition := "aws"
	if parts := strings.SplitN(os.Getenv("STATE_MACHINE_ARN"), ":", 3); len(parts) == 3 {
		partition = parts[1]
	}
	return &Places{Home: home, Partition: partition, Base: cfg, STS: sts.NewFromConfig(cfg),
		RoleName: os.Getenv("TARGET_ROLE_NAME"), ExternalID: os.Getenv("TARGET_EXTERNAL_ID"),
		Session: sessionName(os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))}
}

// sessionName is a valid RoleSessionName ([\w+=,.@-]{2,64}) for a function.
func sessionName(fn string) string {
	if len(fn) < 2 {
		return "ecr-deployer"
	}
	return fn[:min(len(fn), 64)]
}

// RoleARN is the role a function assumes in a place.
func (p *Places) RoleARN(at config.Place) string {
	partition := p.Partition
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s-%s", partition, at.Account, p.RoleName, at.Region)
}

func (p *Places) clients(ctx context.Context) (*placeClients, error) {
	at, ok := deploy.PlaceOf(ctx)
	if !ok {
		at = p.Home
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.at[at]; c != nil {
		return c, nil
	}
	cfg := p.Base.Copy()
	c := &placeClients{}
	if at != p.Home {
		if p.RoleName == "" {
			return nil, &deploy.TargetRoleRefused{Place: at, Role: "(none)", Err: errors.New("this deployer stack was deployed without targets in other accounts or Regions (TARGET_ROLE_NAME is not set): deploy it with the targets file that names this one")}
		}
		c.role = p.RoleARN(at)
		cfg.Region = at.Region
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(p.STS, c.role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = p.Session
			if p.ExternalID != "" {
				o.ExternalID = aws.String(p.ExternalID)
			}
		}), func(o *aws.CredentialsCacheOptions) {
			// Renewed well before the session expires: a call signed a
			// moment before would otherwise reach AWS after it and be
			// refused ExpiredToken, which no retry renews.
			o.ExpiryWindow = SessionRenewal
		})
		// Assumed now, so that a refusal is told as such before any call.
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return nil, p.refused(at, c.role, err)
		}
	}
	c.ecs, c.logs = ecs.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg)
	if p.at == nil {
		p.at = map[config.Place]*placeClients{}
	}
	p.at[at] = c
	return c, nil
}

// refused is a failed AssumeRole: TargetRoleRefused when STS said no (the
// role is missing or does not trust this deployer), else the error.
func (p *Places) refused(at config.Place, role string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "RegionDisabledException") {
		return &deploy.TargetRoleRefused{Place: at, Role: role, Err: err}
	}
	return err
}

// via calls f with the clients of ctx's place; a session STS refuses to
// renew is told as TargetRoleRefused.
func via[O any](ctx context.Context, p *Places, f func(*placeClients) (O, error)) (O, error) {
	c, err := p.clients(ctx)
	if err != nil {
		var zero O
		return zero, err
	}
	out, err := f(c)
	if err != nil && c.role != "" && fromSTS(err) {
		at, _ := deploy.PlaceOf(ctx)
		return out, p.refused(at, c.role, err)
	}
	return out, err
}

// fromSTS says an error came from STS (the credentials of a call), not from
// the call's own service.
func fromSTS(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*smithy.OperationError); ok && op.Service() == "STS" {
			return true
		}
	}
	return false
}
