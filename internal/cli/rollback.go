package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

var digestSyntax = regexp.MustCompile(`^sha(256|384|512):[0-9a-f]{32,128}$`)

func (a *App) rollback(ctx context.Context, args []string) error {
	fs := a.flags("rollback", `Roll an environment back. A deployment in flight is rolled back by ECS (StopServiceDeployment ROLLBACK, or
ContinueServiceDeployment ROLLBACK when it waits at a pause hook). Otherwise the image that deployed successfully before
the current one is deployed again, without the migration, as a queued execution that moves the environment's tag back.`,
		"deployer rollback prod --reason 'checkout errors since 14:02'\n  deployer rollback prod --to sha256:4f2c1e9… --reason 'back to Monday'\n  deployer rollback staging --reason 'bad config' --follow")
	to := fs.String("to", "", "the earlier image (sha256: digest) to deploy again; default: the one that deployed before the current one")
	reason := fs.String("reason", "", "why (required); recorded in the execution with who you are")
	follow := fs.Bool("follow", false, "follow the rollback's execution until it ends; exit 0 only if it SUCCEEDED")
	service := fs.String("service", "", "in a target of several services, roll back only this service's deployment in flight (default: all of them)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return &usageError{"give exactly one environment, e.g. deployer rollback prod --reason '…'"}
	case *reason == "":
		return &usageError{"--reason is required: say why, it is recorded with who you are"}
	case *to != "" && !digestSyntax.MatchString(*to):
		return &usageError{fmt.Sprintf("--to %q is not an image digest (sha256:<hex>)", *to)}
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
	if dep != nil {
		if *to != "" {
			return fmt.Errorf("a deployment of %s is in flight (execution %s): rollback without --to rolls it back to the revision before it; --to is for when nothing is in flight", env, lastPart(dep.arn))
		}
		return a.rollbackInFlight(ctx, dep, *service, *reason)
	}
	if *service != "" {
		return &usageError{"--service is for a deployment in flight: nothing of " + env + " is in flight, and redeploying the earlier image deploys every service of the target"}
	}
	// An execution of the environment that has not reached its deployment
	// (queued, migrating) would deploy after the rollback: say so rather
	// than queue a rollback behind it.
	if other, err := a.runningOf(ctx, sm, env); err != nil {
		return err
	} else if other != "" {
		return fmt.Errorf("execution %s of %s is running but has not started its service deployment yet: wait until it does (then rollback stops it) or ends, or stop it (aws stepfunctions stop-execution --execution-arn %s)", lastPart(other), env, other)
	}
	return a.redeploy(ctx, env, *to, *reason, *follow)
}

// runningOf is a running execution of the environment, if any.
func (a *App) runningOf(ctx context.Context, sm, env string) (string, error) {
	arn, _, _, err := a.findRunning(ctx, sm, func(st deploy.State, _ *deploy.Parked) bool { return st.Environment == env })
	return arn, err
}

// rollbackInFlight has ECS roll back the deployment in flight: the one of
// the target, or of a target of several services each ongoing one (only
// service's, if given).
func (a *App) rollbackInFlight(ctx context.Context, dep *deploying, service, reason string) error {
	flights, err := dep.inFlight(service)
	if err != nil {
		return err
	}
	by := ""
	var hows, arns, stages, notes []string
	for _, f := range flights {
		sd, err := a.serviceDeployment(ctx, f.arn)
		if err != nil {
			return err
		}
		hook, paused := pausedHook(sd)
		if paused && len(flights) == 1 {
			return a.decide(ctx, dep, f, hook, "ROLLBACK", reason)
		}
		if !isOngoing(sd) {
			notes = append(notes, fmt.Sprintf("%s is %s", orTarget(f.service, dep.state.Environment), sd.Status))
			continue
		}
		if by == "" {
			if by, err = a.caller(ctx); err != nil {
				return err
			}
		}
		how := "StopServiceDeployment ROLLBACK"
		if paused {
			// A pause hook is answered, not stopped.
			if _, err := a.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(f.arn), HookId: aws.String(hook.ID),
				Action: ecstypes.DeploymentLifecycleHookActionRollback}); err != nil {
				return fmt.Errorf("answer the pause hook %s of %s: %w", hook.ID, f.arn, err)
			}
			how = "ContinueServiceDeployment ROLLBACK"
		} else if _, err := a.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(f.arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
			// StopServiceDeployment: "The valid values are ROLLBACK."
			return fmt.Errorf("stop service deployment %s: %w", f.arn, err)
		}
		hows, arns = append(hows, strings.TrimSpace(f.service+" "+how)), append(arns, f.arn)
		if sd.LifecycleStage != "" {
			stages = append(stages, string(sd.LifecycleStage))
		}
	}
	if len(arns) == 0 {
		return fmt.Errorf("the deployment of %s (execution %s) has nothing for ECS to stop: %s; follow it with deployer history %s", dep.state.Environment, lastPart(dep.arn), strings.Join(notes, "; "), lastPart(dep.arn))
	}
	stage := ""
	if len(stages) == 1 && len(arns) == 1 {
		stage = stages[0] // one decision, at one stage: say where
	}
	return a.report(ctx, dep, Decided{Service: service, ServiceDeployment: strings.Join(arns, " "), Action: "ROLLBACK", How: strings.Join(hows, ", "),
		Stage: stage, By: by, Reason: reason})
}

func orTarget(service, env string) string {
	if service == "" {
		return "the deployment of " + env
	}
	return service
}

// redeploy has the promoter API deploy an earlier image again: the API
// picks it from the environment's record (the one before the current, or
// to, which must have deployed here) and starts the execution as the caller.
func (a *App) redeploy(ctx context.Context, env, to, reason string, follow bool) error {
	ans, err := a.startThroughAPI(ctx, api.Promoter, api.Request{Action: api.ActionRedeploy, Environment: env, Digest: to, Reason: reason})
	if err != nil {
		return err
	}
	arn, plan := ans.Execution, ans.Redeploy
	if plan == nil {
		return fmt.Errorf("the deployer API started %s but did not say what it rolls back: deploy this release of the stack (make deploy)", ans.Name)
	}
	if a.global.output == "json" && !follow {
		return json.NewEncoder(a.Out).Encode(map[string]string{"executionArn": arn, "name": ans.Name, "consoleUrl": deploy.ExecutionConsoleURL(a.region, arn),
			"environment": env, "from": plan.From.Digest, "to": plan.To.Digest, "by": ans.By})
	}
	from := ""
	if plan.To.Execution != "" {
		from = fmt.Sprintf(" (deployed by %s, %s)", plan.To.Execution, plan.To.Stop.UTC().Format("2006-01-02 15:04Z"))
	}
	fmt.Fprintf(a.Out, "Rolling back %s from %s to %s%s, without the migration; its tag moves back to that image.\nStarted %s as %s\n  %s\n",
		env, plan.From.Digest, plan.To.Digest, from, ans.Name, ans.By, deploy.ExecutionConsoleURL(a.region, arn))
	if !follow {
		return nil
	}
	return a.follow(ctx, arn, "")
}
