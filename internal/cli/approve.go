package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// approve answers an environment's approval gate: the decision, with who
// made it and why, goes to the waiting execution's task token, and its
// output keeps it (approval.decision).
func (a *App) approve(ctx context.Context, args []string) error {
	return a.decideApproval(ctx, args, true)
}

func (a *App) reject(ctx context.Context, args []string) error {
	return a.decideApproval(ctx, args, false)
}

func (a *App) decideApproval(ctx context.Context, args []string, approved bool) error {
	name, summary, example := "approve", "Approve the deployment that waits for a person in an environment (its target has \"approval\"): it goes on to the migration and the deployment.",
		"deployer approve prod --reason 'release notes reviewed'"
	if !approved {
		name, summary, example = "reject", "Reject the deployment that waits for a person in an environment: it ends Rejected, and nothing runs.",
			"deployer reject prod --reason 'freeze until the incident is closed'"
	}
	fs := a.flags(name, summary, example)
	reason := fs.String("reason", "", "why, recorded in the execution with who you are (required to reject)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return &usageError{"give exactly one environment, e.g. deployer " + name + " prod"}
	case !approved && strings.TrimSpace(*reason) == "":
		return &usageError{"--reason is required to reject: the execution's cause says it"}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	env := pos[0]
	sm, err := a.workflowFor(ctx, env)
	if err != nil {
		return err
	}
	p, err := a.awaitingApproval(ctx, sm, env)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("no deployment of %s waits for approval (deployer status %s shows its executions)", env, env)
	}
	by, err := a.caller(ctx)
	if err != nil {
		return err
	}
	dec := deploy.ApprovalDecision{Approved: approved, By: by, Reason: *reason, At: a.Now().UTC()}
	if !approved {
		dec.Cause = fmt.Sprintf("%s rejected the deployment of %s to %s: %s. Nothing ran.", by, p.State.Image.Digest, env, *reason)
	}
	out, _ := json.Marshal(dec)
	if _, err := a.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(p.Token), Output: aws.String(string(out))}); err != nil {
		if deploy.IsGoneToken(err) {
			return fmt.Errorf("the approval wait of %s ended before the decision arrived (timed out?): deployer history %s", lastPart(p.ExecutionARN), lastPart(p.ExecutionARN))
		}
		return fmt.Errorf("send the decision: %w", err)
	}
	if a.global.output == "json" {
		return json.NewEncoder(a.Out).Encode(map[string]any{"environment": env, "execution": p.ExecutionARN, "decision": dec})
	}
	verb := map[bool]string{true: "Approved", false: "Rejected"}[approved]
	fmt.Fprintf(a.Out, "%s the deployment of %s to %s, as %s.\n  %s\n", verb, p.State.Image.Digest, env, by, deploy.ExecutionConsoleURL(a.region, p.ExecutionARN))
	return nil
}

// awaitingApproval finds the environment's execution parked in WaitForApproval.
func (a *App) awaitingApproval(ctx context.Context, sm, env string) (*deploy.Parked, error) {
	_, _, p, err := a.findRunning(ctx, sm, func(st deploy.State, p *deploy.Parked) bool {
		return p != nil && p.WaitingFor == deploy.WaitingForApproval && st.Environment == env
	})
	return p, err
}
