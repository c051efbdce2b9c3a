package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// ECSAPI is the part of ECS the CLI calls: the record of a deployment in
// flight, and the answers to it.
type ECSAPI interface {
	DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ContinueServiceDeployment(context.Context, *ecs.ContinueServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(context.Context, *ecs.StopServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// STSAPI tells who runs the CLI, for the record of a decision.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ ECSAPI = (*ecs.Client)(nil)
	_ STSAPI = (*sts.Client)(nil)
)

// Decided is what continue and rollback did, as --output json prints it.
type Decided struct {
	Environment       string `json:"environment"`
	Execution         string `json:"execution"`
	ServiceDeployment string `json:"serviceDeployment"`
	// Action is CONTINUE or ROLLBACK; How is the ECS call that carried it.
	Action string `json:"action"`
	How    string `json:"how"`
	HookID string `json:"hookId,omitempty"`
	Stage  string `json:"stage,omitempty"`
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Recorded says the execution's output holds the decision.
	Recorded bool `json:"recorded"`
}

// deploying is an environment's execution whose service deployment is under way.
type deploying struct {
	arn   string
	state deploy.State
}

// findDeploying finds the running execution of the environment that has
// started its service deployment. Only one execution per service is past
// its turn.
func (a *App) findDeploying(ctx context.Context, sm, env string) (*deploying, error) {
	arn, st, _, err := a.findRunning(ctx, sm, func(st deploy.State, _ *deploy.Parked) bool {
		return st.Environment == env && st.Deployment.ServiceDeploymentArn != "" && !st.Deployment.Done
	})
	if err != nil || arn == "" {
		return nil, err
	}
	return &deploying{arn: arn, state: st}, nil
}

// findRunning finds the first running execution whose latest state (and
// the wait it is parked in, if any) matches, from each one's latest history
// events: the state is in them, whichever state the execution is in.
func (a *App) findRunning(ctx context.Context, sm string, match func(deploy.State, *deploy.Parked) bool) (string, deploy.State, *deploy.Parked, error) {
	pages := sfn.NewListExecutionsPaginator(a.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 100})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", deploy.State{}, nil, fmt.Errorf("list running executions: %w", err)
		}
		for _, ex := range page.Executions {
			arn := aws.ToString(ex.ExecutionArn)
			st, p, ok, err := a.latestState(ctx, arn)
			if err != nil {
				return "", deploy.State{}, nil, err
			}
			if ok && match(st, p) {
				return arn, st, p, nil
			}
		}
	}
	return "", deploy.State{}, nil, nil
}

// scanExecutions describes the state machine's executions newest first
// (only those of status, if given), at most limit of them (0: no bound),
// until visit says stop. stats bounds its scan by start time instead.
func (a *App) scanExecutions(ctx context.Context, sm string, status sfntypes.ExecutionStatus, limit int,
	visit func(sfntypes.ExecutionListItem, *sfn.DescribeExecutionOutput) (stop bool, err error)) error {
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: status, MaxResults: 100}
	pages := sfn.NewListExecutionsPaginator(a.sfn, in)
	read := 0
	for pages.HasMorePages() && (limit == 0 || read < limit) {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			if limit > 0 && read >= limit {
				return nil
			}
			read++
			d, err := a.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				return fmt.Errorf("describe execution %s: %w", aws.ToString(ex.Name), err)
			}
			if stop, err := visit(ex, d); stop || err != nil {
				return err
			}
		}
	}
	return nil
}

// latestState reads an execution's state from its latest history events,
// and the deployment wait it is parked in, if it is.
func (a *App) latestState(ctx context.Context, arn string) (deploy.State, *deploy.Parked, bool, error) {
	h, err := a.sfn.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 5})
	if err != nil {
		return deploy.State{}, nil, false, fmt.Errorf("read the history of %s: %w", arn, err)
	}
	if p, ok := deploy.ParkedFrom(arn, h.Events); ok {
		return p.State, &p, true, nil
	}
	st, ok := deploy.StateIn(h.Events)
	return st, nil, ok, nil
}

// ended says the latest history events end the execution.
func ended(arn string, h *sfn.GetExecutionHistoryOutput) bool {
	if len(h.Events) == 0 {
		return false
	}
	switch h.Events[0].Type {
	case sfntypes.HistoryEventTypeExecutionSucceeded, sfntypes.HistoryEventTypeExecutionFailed,
		sfntypes.HistoryEventTypeExecutionAborted, sfntypes.HistoryEventTypeExecutionTimedOut:
		return true
	}
	return false
}

// serviceDeployment reads ECS's record of the deployment.
func (a *App) serviceDeployment(ctx context.Context, arn string) (ecstypes.ServiceDeployment, error) {
	out, err := a.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return ecstypes.ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return ecstypes.ServiceDeployment{}, fmt.Errorf("ECS has no record of service deployment %s", arn)
	}
	return out.ServiceDeployments[0], nil
}

// caller is who runs the CLI.
func (a *App) caller(ctx context.Context) (string, error) {
	out, err := a.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("find who you are (sts:GetCallerIdentity), to record it with what you ask: %w", err)
	}
	return aws.ToString(out.Arn), nil
}

// record delivers the decision to the execution's deployment wait: the wake
// it sends ends up in the execution's state, and CheckDeployment keeps it in
// deployment.decisions. Between two waits the execution is in
// CheckDeployment for a moment, so it tries again until a wait takes it,
// the execution ends, or a minute has passed.
func (a *App) record(ctx context.Context, arn string, dec deploy.Decision) (bool, error) {
	wake, _ := json.Marshal(deploy.Wake{By: "decision", Reason: fmt.Sprintf("%s chose %s: %s", dec.By, dec.Action, orNone(dec.Reason)), Decision: &dec})
	deadline := a.Now().Add(time.Minute)
	for {
		h, err := a.sfn.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 5})
		if err != nil {
			return false, fmt.Errorf("read the history of %s: %w", arn, err)
		}
		if ended(arn, h) {
			return false, nil
		}
		if p, ok := deploy.ParkedFrom(arn, h.Events); ok && p.WaitingFor == deploy.WaitingForDeployment {
			_, err := a.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(p.Token), Output: aws.String(string(wake))})
			switch {
			case err == nil:
				return true, nil
			case !deploy.IsGoneToken(err):
				return false, fmt.Errorf("record the decision in %s: %w", arn, err)
			}
		}
		if a.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(a.Poll):
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// pausedHook is the pause hook the service deployment waits at.
func pausedHook(sd ecstypes.ServiceDeployment) (deploy.Hook, bool) {
	_, r := deploy.JudgeServiceDeployment(sd, "")
	if r.Hook == nil {
		return deploy.Hook{}, false
	}
	return *r.Hook, true
}

func (a *App) continueCmd(ctx context.Context, args []string) error {
	fs := a.flags("continue", "Continue a deployment that waits at a pause hook (ContinueServiceDeployment CONTINUE); who you are and why is recorded in the execution.",
		"deployer continue staging --reason 'smoke tests passed on the green tasks'")
	reason := fs.String("reason", "", "why, recorded in the execution with who you are")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give exactly one environment, e.g. deployer continue staging"}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	env := pos[0]
	sm, err := a.workflowFor(ctx, env)
	if err != nil {
		return err
	}
	dep, err := a.findDeploying(ctx, sm, env)
	if err != nil {
		return err
	}
	if dep == nil {
		return fmt.Errorf("no deployment of %s is in progress: no running execution of it has started its service deployment (deployer status %s shows its executions)", env, env)
	}
	sd, err := a.serviceDeployment(ctx, dep.state.Deployment.ServiceDeploymentArn)
	if err != nil {
		return err
	}
	hook, ok := pausedHook(sd)
	if !ok {
		return fmt.Errorf("the deployment of %s (execution %s) is not waiting at a pause hook: ECS reports it %s%s. Nothing was changed", env, lastPart(dep.arn), sd.Status, stageOf(sd))
	}
	return a.decide(ctx, dep, hook, "CONTINUE", *reason)
}

// decide answers the pause hook (ContinueServiceDeployment with action) and
// records the decision in the execution.
func (a *App) decide(ctx context.Context, dep *deploying, hook deploy.Hook, action, reason string) error {
	by, err := a.caller(ctx)
	if err != nil {
		return err
	}
	arn := dep.state.Deployment.ServiceDeploymentArn
	if _, err := a.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(hook.ID),
		Action: ecstypes.DeploymentLifecycleHookAction(action)}); err != nil {
		return fmt.Errorf("answer the pause hook %s of %s: %w", hook.ID, arn, err)
	}
	return a.report(ctx, dep, Decided{Action: action, How: "ContinueServiceDeployment " + action, HookID: hook.ID, Stage: hook.Stage, By: by, Reason: reason})
}

// report records the decision in the execution and prints what was done.
func (a *App) report(ctx context.Context, dep *deploying, d Decided) error {
	d.Environment, d.Execution, d.ServiceDeployment = dep.state.Environment, dep.arn, dep.state.Deployment.ServiceDeploymentArn
	recorded, err := a.record(ctx, dep.arn, deploy.Decision{Action: d.Action, HookID: d.HookID, Stage: d.Stage, By: d.By, Reason: d.Reason, At: a.Now().UTC()})
	if err != nil {
		return err
	}
	d.Recorded = recorded
	if a.global.output == "json" {
		return json.NewEncoder(a.Out).Encode(d)
	}
	what := map[string]string{"CONTINUE": "Continued", "ROLLBACK": "Rolling back"}[d.Action]
	where := ""
	if d.Stage != "" {
		where = " at " + d.Stage
	}
	fmt.Fprintf(a.Out, "%s the deployment of %s%s (%s), as %s.\n", what, d.Environment, where, d.How, d.By)
	if recorded {
		fmt.Fprintf(a.Out, "Recorded in execution %s\n  %s\n", lastPart(dep.arn), deploy.ExecutionConsoleURL(a.region, dep.arn))
	} else {
		fmt.Fprintf(a.Err, "deployer: warning: ECS has the decision, but execution %s did not take its record (it ended, or no wait came within a minute)\n", lastPart(dep.arn))
	}
	return nil
}

func stageOf(sd ecstypes.ServiceDeployment) string {
	if sd.LifecycleStage == "" {
		return ""
	}
	return ", " + string(sd.LifecycleStage)
}

func lastPart(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}

// isOngoing says ECS can still stop the deployment.
func isOngoing(sd ecstypes.ServiceDeployment) bool {
	switch sd.Status {
	case ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress:
		return true
	}
	return false
}
