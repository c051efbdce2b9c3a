// Package api is the deployer API: the decisions people make (start a
// deployment, with or without overrides; roll back; approve, reject;
// continue or roll back at a pause hook), performed on their behalf
// through a Lambda function URL with
// AuthType AWS_IAM. IAM authenticated the caller before the function runs
// and the URL's event carries who it is (requestContext.authorizer.iam), so
// the identity a decision records is AWS's, never the client's: a "by" in
// the request is ignored. People hold lambda:InvokeFunctionUrl on the URL of
// their role and never states:SendTaskSuccess or states:StartExecution (docs/architecture.md,
// "Who decides").
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// Capability is what one function URL lets its callers do: IAM grants a
// role by the URL it may invoke, so each capability is its own function.
type Capability string

// The capabilities, and the actions each one takes.
const (
	// Approver approves and rejects deployments that wait for a person, and
	// continues a deployment at a pause hook.
	Approver Capability = "approver"
	// Promoter starts deployments without overrides, rolls back by
	// redeploying an earlier image, and records a rollback at a pause hook
	// or in flight (the ECS call is the promoter's own).
	Promoter Capability = "promoter"
	// Overrider starts deployments with overrides: past the promotion
	// guard, outside the deployment windows, without the migration.
	Overrider Capability = "overrider"
)

// Actions.
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
	// ActionStart starts a deployment of Environment (deployer start).
	ActionStart = "start"
	// ActionRedeploy rolls Environment back by deploying an image it
	// deployed before again (Digest, or the one before the current).
	ActionRedeploy = "redeploy"
	// ActionPromote retags From as To in Repository (deployer promote).
	ActionPromote = "promote"
	// ActionRecord records a pause-hook decision (CONTINUE or ROLLBACK) in
	// the execution's deployment wait.
	ActionRecord = "record"
	// Continue and Rollback are a pause-hook decision's actions
	// (ContinueServiceDeployment's action values).
	Continue = "CONTINUE"
	Rollback = "ROLLBACK"
)

// Request is the body of a call.
type Request struct {
	Action      string `json:"action"`
	Environment string `json:"environment,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Execution and Decision: ActionRecord's execution and decision (its
	// By and At are the API's).
	Execution string           `json:"execution,omitempty"`
	Decision  *deploy.Decision `json:"decision,omitempty"`
	// A start's: the image (optional; a redeploy's earlier image) and the
	// overrides, which only the overrider URL takes.
	Digest         string `json:"digest,omitempty"`
	SkipMigration  bool   `json:"skipMigration,omitempty"`
	OverrideGuard  bool   `json:"overrideGuard,omitempty"`
	OverrideWindow bool   `json:"overrideWindow,omitempty"`
	// A promotion's: the repository, the image (a tag or a digest) and
	// the target's tag to give it.
	Repository string `json:"repository,omitempty"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	// Token and RequestedAt name a start's execution: the same request
	// sent again starts nothing new.
	Token       string    `json:"token,omitempty"`
	RequestedAt time.Time `json:"requestedAt,omitzero"`
}

// Overrides says whether a start asks to pass a gate: the overrider URL's.
func (in Request) Overrides() bool {
	return in.SkipMigration || in.OverrideGuard || in.OverrideWindow
}

// Answer is the body of a successful call.
type Answer struct {
	Environment string                   `json:"environment,omitempty"`
	Execution   string                   `json:"execution"`
	Approval    *deploy.ApprovalDecision `json:"approval,omitempty"`
	Decision    *deploy.Decision         `json:"decision,omitempty"`
	// Recorded is false when the execution was not in a deployment wait
	// (between two waits, or ended): the caller tries again.
	Recorded bool `json:"recorded"`
	// A start's: its name, who started it (as IAM authenticated them) and,
	// for a redeploy, the images it goes from and to.
	Name     string               `json:"name,omitempty"`
	By       string               `json:"by,omitempty"`
	Redeploy *deploy.RedeployPlan `json:"redeploy,omitempty"`
	// A promotion's: the digest the tag names now, and AlreadyTagged when
	// it did before (ECR sends no event: nothing starts).
	Digest        string `json:"digest,omitempty"`
	AlreadyTagged bool   `json:"alreadyTagged,omitempty"`
}

// SFNAPI is what the API calls in Step Functions.
type SFNAPI interface {
	executions.API
	executions.HistoryReader
	deploy.TokenAPI
	deploy.StarterAPI
}

// Server answers the function URL of one capability.
type Server struct {
	Capability      Capability
	SFN             SFNAPI
	StateMachineARN string
	// StartARN is the alias starts go through (STATE_MACHINE_ALIAS_ARN).
	StartARN string
	// ECR retags, and Promotions (PROMOTIONS_TABLE) records who promoted.
	ECR             ECRAPI
	Promotions      deploy.ItemsAPI
	PromotionsTable string
	Config          *config.Config
	Now             func() time.Time
	Log             *slog.Logger
}

// Error is a refusal with its HTTP status; its code names it.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

func refuse(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// MaxBody bounds a request: a decision with a reason of deploy.MaxReasonRunes.
const MaxBody = 16 * 1024

// Handle answers one function URL request.
func (s *Server) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	ans, err := s.serve(ctx, req)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.log().ErrorContext(ctx, "api call failed", "error", err)
			e = refuse(http.StatusInternalServerError, "InternalError", "%v", err)
		}
		return respond(e.Status, e), nil
	}
	return respond(http.StatusOK, ans), nil
}

func respond(status int, body any) events.LambdaFunctionURLResponse {
	b, _ := json.Marshal(body)
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

func (s *Server) serve(ctx context.Context, req events.LambdaFunctionURLRequest) (Answer, error) {
	who, err := caller(req)
	if err != nil {
		return Answer{}, err
	}
	in, err := parse(req)
	if err != nil {
		return Answer{}, err
	}
	if err := s.Capability.allows(in); err != nil {
		return Answer{}, err
	}
	s.log().InfoContext(ctx, "api call", "caller", who, "action", in.Action, "environment", in.Environment, "execution", in.Execution)
	switch in.Action {
	case ActionApprove, ActionReject:
		return s.approval(ctx, who, in)
	case ActionStart:
		return s.start(ctx, who, in)
	case ActionRedeploy:
		return s.redeploy(ctx, who, in)
	case ActionPromote:
		return s.promote(ctx, who, in)
	default:
		return s.record(ctx, who, in)
	}
}

// caller is the principal AWS authenticated, from the IAM authorizer's
// context of a function URL with AuthType AWS_IAM.
// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
func caller(req events.LambdaFunctionURLRequest) (string, error) {
	a := req.RequestContext.Authorizer
	if a == nil || a.IAM == nil || a.IAM.UserARN == "" {
		return "", refuse(http.StatusForbidden, "NotAuthenticated", "the request carries no IAM identity: the function URL must use AuthType AWS_IAM")
	}
	return a.IAM.UserARN, nil
}

func parse(req events.LambdaFunctionURLRequest) (Request, error) {
	if req.RequestContext.HTTP.Method != "" && req.RequestContext.HTTP.Method != http.MethodPost {
		return Request{}, refuse(http.StatusMethodNotAllowed, "MethodNotAllowed", "POST a JSON request")
	}
	if len(req.Body) > MaxBody || req.IsBase64Encoded {
		return Request{}, refuse(http.StatusBadRequest, "BadRequest", "the body must be a JSON request of at most %d bytes", MaxBody)
	}
	var in Request
	if err := json.Unmarshal([]byte(req.Body), &in); err != nil {
		return Request{}, refuse(http.StatusBadRequest, "BadRequest", "the body is not a request: %v", err)
	}
	if n := utf8.RuneCountInString(in.Reason); n > deploy.MaxReasonRunes {
		return Request{}, refuse(http.StatusBadRequest, "BadRequest", "the reason has %d characters, at most %d", n, deploy.MaxReasonRunes)
	}
	return in, nil
}

// allows says whether the capability takes the action.
func (c Capability) allows(in Request) error {
	ok := false
	switch in.Action {
	case ActionApprove, ActionReject:
		ok = c == Approver
	case ActionRecord:
		if in.Decision == nil {
			return refuse(http.StatusBadRequest, "BadRequest", "record needs a decision")
		}
		ok = (c == Approver && in.Decision.Action == Continue) || (c == Promoter && in.Decision.Action == Rollback)
	case ActionStart:
		ok = c == Overrider || (c == Promoter && !in.Overrides())
	case ActionRedeploy, ActionPromote:
		ok = c == Promoter && !in.Overrides()
	default:
		return refuse(http.StatusBadRequest, "BadRequest", "action %q: want promote, start, redeploy, approve, reject or record", in.Action)
	}
	if !ok {
		what := in.Action
		if in.Decision != nil {
			what += " " + in.Decision.Action
		}
		if in.Overrides() {
			what += " with overrides"
		}
		return refuse(http.StatusForbidden, "WrongCapability", "the %s URL does not take %s (approve, reject and CONTINUE are the approver's; promote, start, redeploy and ROLLBACK the promoter's; a start with overrides the overrider's)", c, strings.ToLower(what))
	}
	return nil
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) reader() *executions.Reader {
	return &executions.Reader{API: s.SFN, StateMachine: s.StateMachineARN}
}
