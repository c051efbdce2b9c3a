package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// followCmd re-attaches to an execution: by name or ARN, or an
// environment's running execution (the one deploying, else the newest
// queued), else its latest.
func (a *App) followCmd(ctx context.Context, args []string) error {
	fs := a.flags("follow", "Follow an execution until it ends: an environment's running (or latest) deployment, or an execution by name or ARN.",
		"deployer follow staging\n  deployer follow staging-7f5b2640fe6f-20261125T101500Z-3f9a --until traffic-shifted")
	untilFlag := fs.String("until", "", "return (exit 0) once the deployment reaches this point: migrated, deploying, traffic-shifted, baking or an ECS lifecycle stage")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give one environment, execution name or ARN, e.g. deployer follow staging"}
	}
	until, err := a.untilFlag(*untilFlag, true)
	if err != nil {
		return err
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return err
	}
	arn := executions.ARN(sm, pos[0])
	if !strings.HasPrefix(pos[0], "arn:") {
		ts, err := a.targets(ctx)
		if err != nil {
			return err
		}
		if _, isEnv := ts.ByEnvironment(pos[0]); isEnv {
			if arn, err = a.executionOf(ctx, sm, ts, pos[0]); err != nil {
				if ctx.Err() != nil {
					return &exitError{code: 130}
				}
				return err
			}
		}
	}
	fmt.Fprintf(a.Out, "Following %s\n  %s\n", lastPart(arn), deploy.ExecutionConsoleURL(a.region, arn))
	return a.follow(ctx, arn, until)
}

// executionOf is the environment's execution to follow: the running one
// that holds the turn, else the newest running one, else the newest.
func (a *App) executionOf(ctx context.Context, sm string, ts config.Targets, env string) (string, error) {
	var running, latest string
	err := a.executions(sm).Scan(ctx, executions.Query{Limit: deploy.RedeployScan}, executions.MayBe(env), func(e executions.Execution) (bool, error) {
		if row(e, ts).Environment != env {
			return false, nil
		}
		arn := e.ARN
		if e.Status != sfntypes.ExecutionStatusRunning {
			if running == "" {
				latest = arn
				return true, nil
			}
			return false, nil // an older running one may hold the turn
		}
		if st, _, ok, err := a.latestState(ctx, arn); err != nil {
			return true, err
		} else if ok && st.Turn.Decision == deploy.TurnGo {
			running = arn
			return true, nil
		}
		if running == "" {
			running = arn
		}
		return false, nil
	})
	switch {
	case err != nil:
		return "", err
	case running != "":
		return running, nil
	case latest != "":
		return latest, nil
	}
	return "", fmt.Errorf("no execution of %s in the history (the newest %d executions): start one with deployer start %s", env, deploy.RedeployScan, env)
}

// Version is the CLI's version: set with -ldflags "-X …/internal/cli.Version=v1.2.3",
// else read from the build (the module version, or the commit of a checkout).
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (commit " + rev
		if modified == "true" {
			v += ", modified"
		}
		v += ")"
	}
	return v + " " + info.GoVersion
}
