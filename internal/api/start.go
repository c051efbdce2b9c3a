package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// tokenSyntax is a request token: the execution name's suffix.
var tokenSyntax = regexp.MustCompile(`^[0-9a-z]{4,12}$`)

// maxSkew bounds how far a start's requestedAt may be from the API's
// clock: the execution is named after it.
const maxSkew = 5 * time.Minute

// start starts a deployment of an environment by hand, as the caller
// (deployer start), with the overrides the request carries: the overrider
// URL's (Capability.allows).
func (s *Server) start(ctx context.Context, who string, in Request) (Answer, error) {
	input := deploy.ManualInput{Environment: in.Environment, Digest: in.Digest, SkipMigration: in.SkipMigration, Reason: in.Reason,
		OverrideGuard: in.OverrideGuard, OverrideWindow: in.OverrideWindow}
	return s.startExecution(ctx, who, in, input, in.Digest)
}

// redeploy rolls an environment back by deploying an image it deployed
// before again, without the migration (deployer rollback when nothing is
// in flight). The API picks the image from the environment's record, and
// refuses one that never deployed here: a rollback skips the migration, so
// a promoter cannot skip it for any image by calling it a rollback.
func (s *Server) redeploy(ctx context.Context, who string, in Request) (Answer, error) {
	deployed, err := deploy.DeployedImages(ctx, s.reader(), in.Environment)
	if err != nil {
		return Answer{}, err
	}
	plan, err := deploy.PlanRedeploy(in.Environment, in.Digest, deployed)
	if err != nil {
		return Answer{}, refuse(http.StatusConflict, "NothingToRollBackTo", "%v", err)
	}
	input := deploy.ManualInput{Environment: in.Environment, Digest: plan.To.Digest, Reason: in.Reason,
		Rollback: &deploy.RollbackRequest{Of: plan.From.Digest, By: who}}
	ans, err := s.startExecution(ctx, who, in, input, plan.To.Digest)
	ans.Redeploy = &plan
	return ans, err
}

// startExecution starts the workflow, through its alias, with the input the
// API wrote: By is the caller IAM authenticated, Verified says so. The
// name is the request's (its requestedAt and token): a request sent again
// after a lost answer starts nothing new (StartExecution is idempotent for
// a running execution's name and input, and answers ExecutionAlreadyExists
// for an ended one).
func (s *Server) startExecution(ctx context.Context, who string, in Request, input deploy.ManualInput, digest string) (Answer, error) {
	if !tokenSyntax.MatchString(in.Token) {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "token %q: want 4 to 12 of [0-9a-z], the same when a request is sent again", in.Token)
	}
	if skew := s.now().Sub(in.RequestedAt); skew > maxSkew || skew < -maxSkew {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "requestedAt %s is %s from the API's clock (at most %s): check the clock", in.RequestedAt.Format(time.RFC3339), skew.Round(time.Second), maxSkew)
	}
	if _, ok := s.Config.ByEnvironment(in.Environment); !ok {
		return Answer{}, refuse(http.StatusNotFound, "NotFound", "no environment %q in this stack (environments: %v)", in.Environment, s.Config.Environments())
	}
	input.By, input.Verified = who, VerifiedBy
	raw, _ := json.Marshal(input)
	if _, err := deploy.ParseInput(raw); err != nil {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "%v", err)
	}
	suffix := in.Token
	if input.Rollback != nil {
		suffix = "rb" + in.Token
	}
	name := executions.ExecutionName(in.Environment, digest, in.RequestedAt, suffix)
	ans := Answer{Environment: in.Environment, Execution: executions.ARN(s.StateMachineARN, name), Name: name, By: who}
	out, err := s.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(s.startARN()), Name: aws.String(name), Input: aws.String(string(raw))})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return Answer{}, refuse(http.StatusConflict, "AlreadyStarted", "execution %s was started by this request already and has ended, or by another with other input: deployer history %s shows it", name, name)
	case err != nil:
		return Answer{}, fmt.Errorf("start execution %s: %w", name, err)
	}
	ans.Execution, ans.Recorded = aws.ToString(out.ExecutionArn), true
	s.log().InfoContext(ctx, "deployment started", "execution", ans.Execution, "by", who, "environment", in.Environment, "digest", digest)
	return ans, nil
}

// startARN is what executions start on: the alias (the release it points
// to), as the Trigger function starts them.
func (s *Server) startARN() string {
	if s.StartARN != "" {
		return s.StartARN
	}
	return s.StateMachineARN
}
