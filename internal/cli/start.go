package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func (a *App) start(ctx context.Context, args []string) error {
	fs := a.flags("start", "Start a deployment of an environment by hand (what the ECR push would start).",
		"deployer start staging --reason 'redeploy after a config change' --follow\n  deployer start prod --follow --until traffic-shifted   # CI returns once prod takes the traffic; the bake goes on\n  deployer start prod --override-window --reason 'hotfix for INC-42'   # outside prod's deployment window")
	digest := fs.String("digest", "", "deploy only if the environment's tag names this sha256: digest")
	skip := fs.Bool("skip-migration", false, "deploy without running the migration")
	reason := fs.String("reason", "", "why, recorded in the execution")
	override := fs.Bool("override-guard", false, "deploy although the image has not passed the environment this one requires (needs --reason)")
	overrideWindow := fs.Bool("override-window", false, "deploy now although the environment's deployment windows are closed (needs --reason)")
	follow := fs.Bool("follow", false, "show progress until the end; exit 0 only if it SUCCEEDED")
	untilFlag := fs.String("until", "", "with --follow: return (exit 0) once the deployment reaches this point: migrated, deploying, traffic-shifted, baking or an ECS lifecycle stage; the workflow keeps watching to the end")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	until, err := a.untilFlag(*untilFlag, *follow)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give exactly one environment, e.g. deployer start staging"}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	env := pos[0]
	if *override && strings.TrimSpace(*reason) == "" {
		return &usageError{"--override-guard needs --reason: say why this image skips the environment it requires"}
	}
	if *overrideWindow && strings.TrimSpace(*reason) == "" {
		return &usageError{"--override-window needs --reason: say why this deployment cannot wait for the deployment window"}
	}
	if *digest != "" && !digestSyntax.MatchString(*digest) {
		return &usageError{fmt.Sprintf("--digest %q is not an image digest (sha256:<hex>)", *digest)}
	}
	if _, err := a.workflowFor(ctx, env); err != nil {
		return err
	}
	req := api.Request{Action: api.ActionStart, Environment: env, Digest: *digest, SkipMigration: *skip, Reason: *reason, OverrideGuard: *override, OverrideWindow: *overrideWindow}
	capability := api.Promoter
	if req.Overrides() {
		capability = api.Overrider
	}
	ans, err := a.startThroughAPI(ctx, capability, req)
	if err != nil {
		return err
	}
	arn, name := ans.Execution, ans.Name
	if a.global.output == "json" && !*follow {
		return json.NewEncoder(a.Out).Encode(map[string]string{"executionArn": arn, "name": name, "consoleUrl": deploy.ExecutionConsoleURL(a.region, arn), "by": ans.By})
	}
	fmt.Fprintf(a.Out, "Started %s as %s\n  %s\n", name, ans.By, deploy.ExecutionConsoleURL(a.region, arn))
	if !*follow {
		return nil
	}
	return a.follow(ctx, arn, until)
}

// workflowFor connects, refuses an environment the stack has no target for,
// and finds the state machine: what every command about one environment
// does first.
func (a *App) workflowFor(ctx context.Context, env string) (string, error) {
	if err := a.connect(ctx); err != nil {
		return "", err
	}
	if err := a.checkEnvironment(ctx, env); err != nil {
		return "", err
	}
	return a.stateMachine(ctx)
}

// checkEnvironment refuses an environment the stack has no target for,
// suggesting the closest name: the execution would only end UnknownTarget.
func (a *App) checkEnvironment(ctx context.Context, env string) error {
	ts, err := a.targets(ctx)
	if err != nil {
		return err
	}
	if _, ok := ts.ByEnvironment(env); ok {
		return nil
	}
	msg := fmt.Sprintf("no environment %q in stack %s", env, a.global.stack)
	if near, ok := ts.Closest(env); ok {
		msg += fmt.Sprintf(": did you mean %s?", near)
	}
	return &usageError{fmt.Sprintf("%s (environments: %s)", msg, strings.Join(ts.Environments(), ", "))}
}

// untilFlag reads --until, which only --follow uses.
func (a *App) untilFlag(s string, follow bool) (Until, error) {
	u, err := ParseUntil(s)
	switch {
	case err != nil:
		return "", &usageError{err.Error()}
	case u != "" && !follow:
		return "", &usageError{"--until needs --follow"}
	}
	return u, nil
}

// follow prints each step as it completes until the execution ends; it
// fails (exit 1) unless the execution SUCCEEDED. With until, it returns
// (exit 0) as soon as a state's output shows the deployment reached it.
// Interrupted (Ctrl-C), it says the deployment carries on and how to
// re-attach, and exits 130.
func (a *App) follow(ctx context.Context, arn string, until Until) error {
	printed := 0
	last := ""
	var events []sfntypes.HistoryEvent
	reader := a.executions("")
	for {
		var err error
		if events, err = a.newEvents(ctx, arn, events); err != nil {
			return a.interrupted(ctx, arn, err)
		}
		desc, err := reader.Reread(ctx, arn)
		if executions.Gone(err) && printed == 0 {
			// Just started, and DescribeExecution is eventually consistent:
			// it runs, it is only not described yet.
			desc, err = executions.Execution{Status: sfntypes.ExecutionStatusRunning}, nil
		}
		if err != nil {
			return a.interrupted(ctx, arn, err)
		}
		done := desc.Status != sfntypes.ExecutionStatusRunning
		if done { // the history may have grown since the first call
			if events, err = a.newEvents(ctx, arn, events); err != nil {
				return a.interrupted(ctx, arn, err)
			}
		}
		steps := history.Steps(history.FromSDK(events))
		for ; printed < len(steps); printed++ {
			if printed == len(steps)-1 && !done {
				break // still running
			}
			s := steps[printed]
			line := s.Summary
			if s.Type == "Fail" || s.Type == "Succeed" {
				line = s.Type
			}
			if (s.Type != "Task" && s.Type != "Fail" && s.Type != "Succeed") || line == last {
				continue // waits, choices and unchanged polls add nothing
			}
			last = line
			fmt.Fprintf(a.Out, "  +%5.1fs  %-*s %s\n", (s.Offset + s.Duration).Seconds(), stateWidth(), s.Name, line)
		}
		if until != "" && !done {
			what, ok := until.reachedIn(events)
			if !ok {
				if what, ok, err = a.reachedNow(ctx, until, events); err != nil {
					return a.interrupted(ctx, arn, err)
				}
			}
			if ok {
				fmt.Fprintf(a.Out, "Reached %s (%s). The workflow keeps watching the deployment to its end; follow it with deployer follow %s\n", until, what, lastPart(arn))
				a.reportToGitHub(followed{arn: arn, status: string(desc.Status), reached: string(until)})
				return nil
			}
		}
		if done {
			history.RenderResult(a.Out, history.Result{ExecutionARN: arn, Status: string(desc.Status), Output: desc.Output,
				Error: desc.Error, Cause: desc.Cause})
			a.reportToGitHub(followed{arn: arn, status: string(desc.Status), errName: desc.Error, cause: desc.Cause})
			if desc.Status != sfntypes.ExecutionStatusSucceeded {
				fmt.Fprintf(a.Err, "deployer: the deployment ended %s: %s: %s\n", desc.Status, desc.Error, history.CauseMessage(desc.Cause))
				return &exitError{code: 1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return a.interrupted(ctx, arn, ctx.Err())
		case <-time.After(a.Poll):
		}
	}
}

// stateWidth is the width of the state name column: the longest state
// name of the definition (every step is one of its states), so columns stay
// aligned whatever comes next. Read once: the definition is compiled in.
var stateWidth = sync.OnceValue(func() int {
	w := 16
	if doc, err := statemachine.Parse(); err == nil {
		for name := range doc.States {
			w = max(w, len(name))
		}
	}
	return w
})

// interrupted turns an interrupted --follow (Ctrl-C) into exit 130 with
// what to run to re-attach; any other error passes through.
func (a *App) interrupted(ctx context.Context, arn string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(a.Err, "\ndeployer: stopped following. The deployment carries on; re-attach with: deployer follow %s\n", lastPart(arn))
	return &exitError{code: 130}
}

// newEvents adds the events the execution's history gained since those
// already read: it reads newest first and stops at the last event it has,
// so a long execution costs one page per look, not its whole history
// (GetExecutionHistory shares its quota with Wake).
func (a *App) newEvents(ctx context.Context, arn string, have []sfntypes.HistoryEvent) ([]sfntypes.HistoryEvent, error) {
	var lastID int64
	if len(have) > 0 {
		lastID = have[len(have)-1].Id
	}
	var fresh []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(a.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 100})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return have, fmt.Errorf("get execution history: %w", err)
		}
		stop := false
		for _, ev := range page.Events {
			if ev.Id <= lastID {
				stop = true
				break
			}
			fresh = append(fresh, ev)
		}
		if stop {
			break
		}
	}
	slices.Reverse(fresh)
	return append(have, fresh...), nil
}

func (a *App) allEvents(ctx context.Context, arn string) ([]sfntypes.HistoryEvent, error) {
	var all []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(a.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get execution history: %w", err)
		}
		all = append(all, page.Events...)
	}
	return all, nil
}
