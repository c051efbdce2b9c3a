package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
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
	Environment string `json:"environment"`
	Execution   string `json:"execution"`
	// Service is the service decided about in a target of several ("": all
	// of its deployments in flight); ServiceDeployment is each one's ARN.
	Service           string `json:"service,omitempty"`
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

// flight is one service deployment in flight.
type flight struct{ service, arn string }

// inFlight lists the execution's service deployments in flight: its one,
// or each ongoing one of a target of several (only service's, if given).
func (d *deploying) inFlight(service string) ([]flight, error) {
	st := d.state
	if len(st.Services) == 0 {
		if service != "" && service != st.Service {
			return nil, &usageError{fmt.Sprintf("--service %s: %s deploys only %s", service, st.Environment, st.Service)}
		}
		return []flight{{service: "", arn: st.Deployment.ServiceDeploymentARN}}, nil
	}
	if service != "" && !slices.Contains(st.ServiceNames(), service) {
		return nil, &usageError{fmt.Sprintf("--service %s: %s deploys %s", service, st.Environment, strings.Join(st.ServiceNames(), ", "))}
	}
	var out []flight
	for _, r := range st.Services {
		dep := r.Deployment
		if r.Rollback != nil {
			dep = *r.Rollback
		}
		if (service == "" || r.Service == service) && dep.ServiceDeploymentARN != "" && (r.Outcome == deploy.OutcomeDeploying || r.Outcome == deploy.OutcomeRollingBack) {
			out = append(out, flight{service: r.Service, arn: dep.ServiceDeploymentARN})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no deployment of %s is in flight in execution %s (%s)", orAll(service, st.Environment), lastPart(d.arn), st.Deployment.Progress)
	}
	return out, nil
}

func orAll(service, env string) string {
	if service == "" {
		return "the services of " + env
	}
	return service
}

// findDeploying finds the running execution of the environment that has
// started its service deployment (or deployments). Only one execution per
// service is past its turn.
func (a *App) findDeploying(ctx context.Context, sm, env string) (*deploying, error) {
	arn, st, _, err := a.findRunning(ctx, sm, func(st deploy.State, _ *deploy.Parked) bool {
		if st.Environment != env || st.Deployment.Done {
			return false
		}
		if len(st.Services) > 0 {
			return st.Services[0].Deployment.ID != ""
		}
		return st.Deployment.ServiceDeploymentARN != ""
	})
	if err != nil || arn == "" {
		return nil, err
	}
	return &deploying{arn: arn, state: st}, nil
}

// findRunning finds the first running execution whose latest state (and
// the wait it is parked in, if any) matches (deploy.FindRunning).
func (a *App) findRunning(ctx context.Context, sm string, match func(deploy.State, *deploy.Parked) bool) (string, deploy.State, *deploy.Parked, error) {
	r, err := deploy.FindRunning(ctx, a.sfn, a.executions(sm), match)
	if err != nil || r == nil {
		return "", deploy.State{}, nil, err
	}
	return r.ARN, r.State, r.Parked, nil
}

// latestState reads an execution's state and wait (deploy.LatestState).
func (a *App) latestState(ctx context.Context, arn string) (deploy.State, *deploy.Parked, bool, error) {
	r, ok, err := deploy.LatestState(ctx, a.sfn, arn)
	return r.State, r.Parked, ok, err
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
	// The deployer API of the decision's duty delivers it, as the identity
	// IAM authenticated: continue is the approver's, rollback the promoter's.
	c := api.Approver
	if dec.Action == api.Rollback {
		c = api.Promoter
	}
	deadline := a.Now().Add(time.Minute)
	for {
		events, err := executions.LatestEvents(ctx, a.sfn, arn, 5)
		if err != nil {
			return false, fmt.Errorf("read the history of %s: %w", arn, err)
		}
		if deploy.Ended(events) {
			return false, nil
		}
		if p, ok := deploy.ParkedFrom(arn, events); ok && p.WaitingFor == deploy.WaitingForDeployment {
			ans, err := a.callAPI(ctx, c, api.Request{Action: api.ActionRecord, Execution: arn, Decision: &dec})
			if err != nil {
				return false, fmt.Errorf("record the decision in %s: %w", arn, err)
			}
			if ans.Recorded {
				return true, nil
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
	service := fs.String("service", "", "the service whose deployment to continue, in a target of several (default: the one waiting at a pause hook)")
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
	flights, err := dep.inFlight(*service)
	if err != nil {
		return err
	}
	var paused []flight
	var hooks []deploy.Hook
	var states []string
	for _, f := range flights {
		sd, err := a.serviceDeployment(ctx, f.arn)
		if err != nil {
			return err
		}
		if hook, ok := pausedHook(sd); ok {
			paused, hooks = append(paused, f), append(hooks, hook)
		}
		states = append(states, strings.TrimSpace(f.service+" "+string(sd.Status)+stageOf(sd)))
	}
	switch len(paused) {
	case 0:
		return fmt.Errorf("the deployment of %s (execution %s) is not waiting at a pause hook: ECS reports %s. Nothing was changed", env, lastPart(dep.arn), strings.Join(states, "; "))
	case 1:
		return a.decide(ctx, dep, paused[0], hooks[0], "CONTINUE", *reason)
	}
	var names []string
	for _, f := range paused {
		names = append(names, f.service)
	}
	return &usageError{fmt.Sprintf("%s wait at pause hooks: say which with --service (one of %s)", strings.Join(names, " and "), strings.Join(names, ", "))}
}

// decide answers the pause hook of f (ContinueServiceDeployment with
// action) and records the decision in the execution.
func (a *App) decide(ctx context.Context, dep *deploying, f flight, hook deploy.Hook, action, reason string) error {
	by, err := a.caller(ctx)
	if err != nil {
		return err
	}
	if _, err := a.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(f.arn), HookId: aws.String(hook.ID),
		Action: ecstypes.DeploymentLifecycleHookAction(action)}); err != nil {
		return fmt.Errorf("answer the pause hook %s of %s: %w", hook.ID, f.arn, err)
	}
	return a.report(ctx, dep, Decided{Service: f.service, ServiceDeployment: f.arn, Action: action, How: "ContinueServiceDeployment " + action, HookID: hook.ID, Stage: hook.Stage, By: by, Reason: reason})
}

// report records the decision in the execution and prints what was done.
func (a *App) report(ctx context.Context, dep *deploying, d Decided) error {
	d.Environment, d.Execution = dep.state.Environment, dep.arn
	recorded, err := a.record(ctx, dep.arn, deploy.Decision{Action: d.Action, Service: d.Service, HookID: d.HookID, Stage: d.Stage, By: d.By, Reason: d.Reason, At: a.Now().UTC()})
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
	of := d.Environment
	if d.Service != "" {
		of = d.Service + " of " + d.Environment
	}
	fmt.Fprintf(a.Out, "%s the deployment of %s%s (%s), as %s.\n", what, of, where, d.How, d.By)
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
