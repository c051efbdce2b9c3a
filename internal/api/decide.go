package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// approval answers an environment's approval gate as the caller: refused
// to the person who started the deployment (when the execution knows who,
// see JudgeApprover) and to anyone outside the target's approvers.
func (s *Server) approval(ctx context.Context, who string, in Request) (Answer, error) {
	approved := in.Action == ActionApprove
	if !approved && strings.TrimSpace(in.Reason) == "" {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "a rejection needs a reason: the execution's cause says it")
	}
	t, ok := s.Config.ByEnvironment(in.Environment)
	if !ok || t.Approval == nil {
		return Answer{}, refuse(http.StatusNotFound, "NotFound", "environment %q has no approval gate", in.Environment)
	}
	run, err := deploy.FindRunning(ctx, s.SFN, s.reader(), func(st deploy.State, p *deploy.Parked) bool {
		return p != nil && p.WaitingFor == deploy.WaitingForApproval && st.Environment == in.Environment
	})
	if err != nil {
		return Answer{}, err
	}
	if run == nil {
		return Answer{}, refuse(http.StatusNotFound, "NothingWaits", "no deployment of %s waits for approval (deployer status %s shows its executions)", in.Environment, in.Environment)
	}
	st := run.State
	if err := JudgeApprover(*t.Approval, who, st.Trigger.By); err != nil {
		return Answer{}, err
	}
	dec := deploy.ApprovalDecision{Approved: approved, By: who, Reason: in.Reason, At: s.now(), Digest: st.Image.Digest, Verified: VerifiedBy}
	if !approved {
		dec.Cause = fmt.Sprintf("%s rejected the deployment of %s to %s: %s. Nothing ran.", who, st.Image.Digest, in.Environment, in.Reason)
	}
	out, _ := json.Marshal(dec)
	if _, err := s.SFN.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(run.Parked.Token), Output: aws.String(string(out))}); err != nil {
		if deploy.IsGoneToken(err) {
			return Answer{}, refuse(http.StatusConflict, "WaitEnded", "the approval wait of %s ended before the decision arrived (timed out?)", run.ARN)
		}
		return Answer{}, fmt.Errorf("send the decision to %s: %w", run.ARN, err)
	}
	return Answer{Environment: in.Environment, Execution: run.ARN, Approval: &dec, Recorded: true}, nil
}

// VerifiedBy says, in a decision, how its identity was established.
const VerifiedBy = "IAM (the deployer API's function URL, AuthType AWS_IAM)"

// JudgeApprover decides whether who may answer an approval gate: not the
// person who started the deployment (starter, when the execution knows it),
// and one the target's approvers admit.
func JudgeApprover(a config.Approval, who, starter string) error {
	if starter != "" && samePerson(starter, who) {
		return refuse(http.StatusForbidden, "SelfApproval", "%s started this deployment and cannot approve or reject it: another approver decides (separation of duties)", who)
	}
	if !a.MayApprove(who) {
		return refuse(http.StatusForbidden, "NotAnApprover", "%s is not among the approvers of this target (%s)", who, strings.Join(a.Approvers, ", "))
	}
	return nil
}

// samePerson compares two principals as AWS authenticated them. An assumed
// role's sessions are one person's when their session names are equal
// (arn:aws:sts::<account>:assumed-role/<role>/<session>), whatever the
// role: SSO names the session after the user.
func samePerson(a, b string) bool {
	return a == b || (sessionOf(a) != "" && sessionOf(a) == sessionOf(b) && accountOf(a) == accountOf(b))
}

func sessionOf(arn string) string {
	if !strings.Contains(arn, ":assumed-role/") {
		return ""
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}

func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// record delivers a pause-hook decision, as the caller, to the execution's
// deployment wait, if it is in one now (else Recorded is false: the
// execution is between two waits, or ended).
func (s *Server) record(ctx context.Context, who string, in Request) (Answer, error) {
	if !strings.HasPrefix(in.Execution, executionPrefix(s.StateMachineARN)) {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "%q is not an execution of %s", in.Execution, s.StateMachineARN)
	}
	dec := *in.Decision
	dec.By, dec.At, dec.Verified = who, s.now(), VerifiedBy
	run, ok, err := deploy.LatestState(ctx, s.SFN, in.Execution)
	if err != nil {
		return Answer{}, err
	}
	ans := Answer{Environment: run.State.Environment, Execution: in.Execution, Decision: &dec}
	if !ok || run.Parked == nil || run.Parked.WaitingFor != deploy.WaitingForDeployment {
		return ans, nil
	}
	wake, _ := json.Marshal(deploy.Wake{By: "decision", Reason: fmt.Sprintf("%s chose %s: %s", dec.By, dec.Action, orNone(dec.Reason)), Decision: &dec})
	_, err = s.SFN.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(run.Parked.Token), Output: aws.String(string(wake))})
	switch {
	case err == nil:
		ans.Recorded = true
	case !deploy.IsGoneToken(err):
		return Answer{}, fmt.Errorf("record the decision in %s: %w", in.Execution, err)
	}
	return ans, nil
}

// executionPrefix is the ARN prefix of a state machine's executions.
func executionPrefix(stateMachine string) string {
	return strings.Replace(stateMachine, ":stateMachine:", ":execution:", 1) + ":"
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
