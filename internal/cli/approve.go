package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
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
	action := api.ActionApprove
	if !approved {
		action = api.ActionReject
	}
	// The deployer API finds the waiting execution and answers it as the
	// identity IAM authenticated; it refuses the person who started the
	// deployment and anyone outside the target's approvers.
	ans, err := a.callAPI(ctx, api.Approver, api.Request{Action: action, Environment: env, Reason: *reason})
	switch {
	case isAPIError(err, "WaitEnded"):
		return fmt.Errorf("%w: deployer history %s", err, env)
	case err != nil:
		return err
	}
	dec := ans.Approval
	if a.global.output == "json" {
		return json.NewEncoder(a.Out).Encode(map[string]any{"environment": env, "execution": ans.Execution, "decision": dec})
	}
	verb := map[bool]string{true: "Approved", false: "Rejected"}[approved]
	fmt.Fprintf(a.Out, "%s the deployment of %s to %s, as %s (verified by IAM).\n  %s\n", verb, dec.Digest, env, dec.By, deploy.ExecutionConsoleURL(a.region, ans.Execution))
	return nil
}
