package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// StopperAPI stops what a stack deletion would leave unobserved: the
// running executions (StopExecution) and their migration tasks (StopTask).
type StopperAPI interface {
	StopExecution(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
}

// stopper is StopperAPI of the SDK's clients.
type stopper struct {
	sfn *sfn.Client
	ecs *ecs.Client
}

// StopExecution stops an execution.
func (s stopper) StopExecution(ctx context.Context, in *sfn.StopExecutionInput, o ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	return s.sfn.StopExecution(ctx, in, o...)
}

// StopTask stops a task.
func (s stopper) StopTask(ctx context.Context, in *ecs.StopTaskInput, o ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	return s.ecs.StopTask(ctx, in, o...)
}

// stranded is a running execution a change would leave without its
// target (a deploy) or without its workflow (a deletion).
type stranded struct {
	arn   string
	state deploy.State
	why   string
}

// preflight is what make deploy and make destroy run first: the running
// executions the change would strand, and, for a deletion, stopping them.
func (a *App) preflight(ctx context.Context, args []string) error {
	fs := a.flags("preflight", "Before make deploy or make destroy: list the running deployments the change would strand, and refuse.",
		"deployer preflight --targets targets.json   # make deploy\n  deployer preflight --destroy [--stop]       # make destroy")
	targetsFile := fs.String("targets", "", "the targets.json about to be deployed: refuse if it removes, or changes the services of, a target with a running deployment")
	destroy := fs.Bool("destroy", false, "the stack is about to be deleted: refuse while any deployment runs (Step Functions would end them at their next step, with migrations and rollouts going on unobserved)")
	stop := fs.Bool("stop", false, "with --destroy: stop the running executions and their migration tasks first (rollouts ECS is doing go on, and end by themselves)")
	force := fs.Bool("force", false, "with --targets: warn instead of refusing")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if (*targetsFile == "") == !*destroy || (*stop && !*destroy) || (*force && *destroy) {
		return &usageError{"give --targets FILE (before a deploy) or --destroy [--stop] (before a deletion)"}
	}
	var next *config.Config
	if *targetsFile != "" {
		var err error
		if next, err = config.LoadFile(*targetsFile); err != nil {
			return err
		}
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	if _, err := a.stackOutputs(ctx); err != nil {
		if notDeployed(err) {
			fmt.Fprintf(a.Out, "Stack %s is not deployed: nothing runs in it.\n", a.global.stack)
			return nil
		}
		return err
	}
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return err
	}
	list, err := a.strandedBy(ctx, sm, next)
	if err != nil {
		return err
	}
	return a.reportStranded(ctx, list, *destroy, *stop, *force)
}

// notDeployed says DescribeStacks found no such stack ("Stack with id … does not exist").
func notDeployed(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist")
}

// strandedBy lists the running executions the change strands: every one
// for a deletion (next nil), else those whose target next removes or
// changes (deploy.Regate's own reading).
func (a *App) strandedBy(ctx context.Context, sm string, next *config.Config) ([]stranded, error) {
	var out []stranded
	err := a.executions(sm).List(ctx, executions.Query{Status: sfntypes.ExecutionStatusRunning}, func(ex sfntypes.ExecutionListItem) (bool, error) {
		arn := aws.ToString(ex.ExecutionArn)
		st, _, ok, err := a.latestState(ctx, arn)
		if err != nil || !ok {
			return err != nil, err
		}
		if next == nil {
			out = append(out, stranded{arn: arn, state: st, why: "the stack is deleted"})
			return false, nil
		}
		t, found := next.ByEnvironment(st.Environment)
		var removed *deploy.TargetRemoved
		if _, err := deploy.Regate(st, t.Published(), found, a.Now()); errors.As(err, &removed) {
			out = append(out, stranded{arn: arn, state: st, why: strings.SplitN(err.Error(), " while ", 2)[0]})
		}
		return false, nil
	})
	return out, err
}

// reportStranded says what would be stranded and refuses, or (--stop)
// stops it, or (--force) only warns.
func (a *App) reportStranded(ctx context.Context, list []stranded, destroy, stop, force bool) error {
	if len(list) == 0 {
		fmt.Fprintln(a.Out, "No running deployment would be stranded.")
		return nil
	}
	w := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ENVIRONMENT\tEXECUTION\tIN FLIGHT\tWHY")
	for _, s := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.state.Environment, lastPart(s.arn), inFlightOf(s.state), s.why)
	}
	_ = w.Flush()
	switch {
	case stop:
		return a.stopStranded(ctx, list)
	case force:
		fmt.Fprintf(a.Out, "Deploying anyway (--force): these deployments lose their target's permissions at their next step.\n")
		return nil
	case destroy:
		return fmt.Errorf("%d deployments are running: wait for them (deployer status), or stop them and their migrations first (make destroy STOP=1)", len(list))
	}
	return fmt.Errorf("%d running deployments would lose their target: wait for them (deployer status), or deploy anyway (make deploy FORCE=1)", len(list))
}

// inFlightOf says what of an execution ECS is doing now.
func inFlightOf(s deploy.State) string {
	var parts []string
	if m := s.Migration; m.TaskARN != "" && !m.Done {
		parts = append(parts, "migration "+lastPart(m.TaskARN))
	}
	for _, r := range s.Rollouts() {
		if d := r.Deployment; d.ID != "" && !d.Done {
			parts = append(parts, "deployment "+d.ID+" of "+r.Service)
		}
	}
	if len(parts) == 0 {
		return "nothing (waiting)"
	}
	return strings.Join(parts, ", ")
}

// stopReason is what a stopped execution and its migration task say.
const stopReason = "stopped by deployer preflight --destroy --stop: the stack is being deleted"

// stopStranded stops each execution and its running migration task. A
// rollout ECS is doing is left to end by itself: stopping it would roll the
// service back, which nobody asked for.
func (a *App) stopStranded(ctx context.Context, list []stranded) error {
	for _, s := range list {
		if _, err := a.stopper.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(s.arn), Error: aws.String("StackDeleted"), Cause: aws.String(stopReason)}); err != nil {
			return fmt.Errorf("stop execution %s: %w", lastPart(s.arn), err)
		}
		fmt.Fprintf(a.Out, "Stopped %s.\n", lastPart(s.arn))
		if m := s.state.Migration; m.TaskARN != "" && !m.Done {
			if _, err := a.stopper.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(s.state.Cluster), Task: aws.String(m.TaskARN), Reason: aws.String(stopReason)}); err != nil {
				return fmt.Errorf("stop migration task %s: %w", m.TaskARN, err)
			}
			fmt.Fprintf(a.Out, "Stopped its migration task %s.\n", lastPart(m.TaskARN))
		}
		for _, r := range s.state.Rollouts() {
			if d := r.Deployment; d.ID != "" && !d.Done {
				fmt.Fprintf(a.Out, "ECS goes on with deployment %s of %s: it completes or rolls back by itself (follow it in the ECS console).\n", d.ID, r.Service)
			}
		}
	}
	return nil
}
