package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	if err == nil {
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Who may answer an approval gate: not who started the deployment, and
// one the approvers admit.
func TestJudgeApprover(t *testing.T) {
	const (
		alice     = "arn:aws:iam::123456789012:user/alice"
		bob       = "arn:aws:iam::123456789012:user/bob"
		aliceSSO  = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deploy_1a2b/alice@example.com"
		aliceSSO2 = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Release_3c4d/alice@example.com"
		carolSSO  = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Release_3c4d/carol@example.com"
		otherAcct = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_Release_3c4d/alice@example.com"
	)
	release := config.Approval{Approvers: []string{"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Release_*/*", bob}}
	cases := []struct {
		name           string
		approval       config.Approval
		who, starter   string
		want           int
		wantCodeInText string
	}{
		{"anyone, no starter known (a push)", config.Approval{}, alice, "", http.StatusOK, ""},
		{"another person", config.Approval{}, bob, alice, http.StatusOK, ""},
		{"the starter", config.Approval{}, alice, alice, http.StatusForbidden, "started this deployment"},
		{"the starter in another role's session", config.Approval{}, aliceSSO2, aliceSSO, http.StatusForbidden, "started this deployment"},
		{"another person in the same role", config.Approval{}, carolSSO, aliceSSO, http.StatusOK, ""},
		{"the same session name in another account", config.Approval{}, otherAcct, aliceSSO, http.StatusOK, ""},
		{"an approver by pattern", release, carolSSO, alice, http.StatusOK, ""},
		{"an approver by name", release, bob, alice, http.StatusOK, ""},
		{"outside the approvers", release, alice, bob, http.StatusForbidden, "not among the approvers"},
		{"an approver who started it", release, carolSSO, carolSSO, http.StatusForbidden, "started this deployment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := JudgeApprover(tc.approval, tc.who, tc.starter)
			if status(err) != tc.want || (tc.wantCodeInText != "" && !strings.Contains(err.Error(), tc.wantCodeInText)) {
				t.Errorf("JudgeApprover = %v, want %d %q", err, tc.want, tc.wantCodeInText)
			}
		})
	}
}

// Each URL takes its capability's actions only.
func TestCapabilityAllows(t *testing.T) {
	cases := []struct {
		c    Capability
		in   Request
		want int
	}{
		{Approver, Request{Action: ActionApprove}, http.StatusOK},
		{Approver, Request{Action: ActionReject}, http.StatusOK},
		{Approver, Request{Action: ActionRecord, Decision: &deploy.Decision{Action: Continue}}, http.StatusOK},
		{Approver, Request{Action: ActionRecord, Decision: &deploy.Decision{Action: Rollback}}, http.StatusForbidden},
		{Promoter, Request{Action: ActionRecord, Decision: &deploy.Decision{Action: Rollback}}, http.StatusOK},
		{Promoter, Request{Action: ActionRecord, Decision: &deploy.Decision{Action: Continue}}, http.StatusForbidden},
		{Promoter, Request{Action: ActionApprove}, http.StatusForbidden},
		{Promoter, Request{Action: ActionReject}, http.StatusForbidden},
		{Approver, Request{Action: ActionRecord}, http.StatusBadRequest},
		{Approver, Request{Action: "deploy"}, http.StatusBadRequest},
		{Promoter, Request{Action: ActionStart}, http.StatusOK},
		{Promoter, Request{Action: ActionRedeploy}, http.StatusOK},
		{Overrider, Request{Action: ActionStart}, http.StatusOK},
		{Overrider, Request{Action: ActionStart, OverrideGuard: true}, http.StatusOK},
		{Overrider, Request{Action: ActionStart, OverrideWindow: true}, http.StatusOK},
		{Overrider, Request{Action: ActionStart, SkipMigration: true}, http.StatusOK},
		{Promoter, Request{Action: ActionStart, OverrideGuard: true}, http.StatusForbidden},
		{Promoter, Request{Action: ActionStart, OverrideWindow: true}, http.StatusForbidden},
		{Promoter, Request{Action: ActionStart, SkipMigration: true}, http.StatusForbidden},
		{Promoter, Request{Action: ActionRedeploy, SkipMigration: true}, http.StatusForbidden},
		{Overrider, Request{Action: ActionRedeploy}, http.StatusForbidden},
		{Overrider, Request{Action: ActionApprove}, http.StatusForbidden},
		{Overrider, Request{Action: ActionRecord, Decision: &deploy.Decision{Action: Rollback}}, http.StatusForbidden},
		{Approver, Request{Action: ActionStart}, http.StatusForbidden},
		{Approver, Request{Action: ActionRedeploy}, http.StatusForbidden},
		{Promoter, Request{Action: ActionPromote}, http.StatusOK},
		{Approver, Request{Action: ActionPromote}, http.StatusForbidden},
		{Overrider, Request{Action: ActionPromote}, http.StatusForbidden},
	}
	for _, tc := range cases {
		if got := status(tc.c.allows(tc.in)); got != tc.want {
			t.Errorf("%s allows %+v = %d, want %d", tc.c, tc.in, got, tc.want)
		}
	}
}

// A request without IAM's identity, or with a bad body, is refused before
// anything is read.
func TestHandleRefusesBeforeReading(t *testing.T) {
	s := &Server{Capability: Approver} // no SFN: a call would panic
	iam := &events.LambdaFunctionURLRequestContextAuthorizerDescription{IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/alice"}}
	cases := map[string]struct {
		req  events.LambdaFunctionURLRequest
		want int
	}{
		"no authorizer (AuthType NONE)": {events.LambdaFunctionURLRequest{Body: `{"action":"approve"}`}, http.StatusForbidden},
		"not JSON":                      {events.LambdaFunctionURLRequest{Body: `approve`, RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam}}, http.StatusBadRequest},
		"a GET":                         {events.LambdaFunctionURLRequest{RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam, HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}}}, http.StatusMethodNotAllowed},
		"a reason too long":             {events.LambdaFunctionURLRequest{Body: `{"action":"approve","reason":"` + strings.Repeat("x", deploy.MaxReasonRunes+1) + `"}`, RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam}}, http.StatusBadRequest},
		"a body too large":              {events.LambdaFunctionURLRequest{Body: strings.Repeat(" ", MaxBody+1), RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam}}, http.StatusBadRequest},
		"the promoter's action":         {events.LambdaFunctionURLRequest{Body: `{"action":"record","decision":{"action":"ROLLBACK"}}`, RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam}}, http.StatusForbidden},
	}
	// At the bounds the request is read: the promoter's URL then refuses
	// approve as not its own (403), not as too large (400).
	promoter := &Server{Capability: Promoter}
	atBounds := map[string]string{
		"a body of MaxBody bytes":          `{"action":"approve"}` + strings.Repeat(" ", MaxBody-len(`{"action":"approve"}`)),
		"a reason of MaxReasonRunes runes": `{"action":"approve","reason":"` + strings.Repeat("é", deploy.MaxReasonRunes) + `"}`,
	}
	for name, body := range atBounds {
		resp, _ := promoter.Handle(context.Background(), events.LambdaFunctionURLRequest{Body: body, RequestContext: events.LambdaFunctionURLRequestContext{Authorizer: iam}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403 WrongCapability", name, resp.StatusCode, resp.Body)
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := s.Handle(context.Background(), tc.req)
			if err != nil || resp.StatusCode != tc.want {
				t.Errorf("Handle = %d %s %v, want %d", resp.StatusCode, resp.Body, err, tc.want)
			}
		})
	}
}

func TestExecutionPrefix(t *testing.T) {
	got := executionPrefix("arn:aws:states:eu-west-1:123456789012:stateMachine:EcrDeployer-deploy")
	if got != "arn:aws:states:eu-west-1:123456789012:execution:EcrDeployer-deploy:" {
		t.Errorf("executionPrefix = %s", got)
	}
}
