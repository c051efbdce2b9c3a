package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/api"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// promote has the promoter's deployer API retag an image (BatchGetImage,
// then PutImage of the exact manifest bytes and media type under the
// target's tag) and record who asked. ECR emits a PUSH event for the new
// tag, which starts the deployment.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html
func (a *App) promote(ctx context.Context, args []string) error {
	fs := a.flags("promote", "Retag an image in ECR; the push of a configured tag starts a deployment.",
		"deployer promote --repository app --from sha-4f2c1e9 --to staging\n  deployer promote --repository app --from sha-4f2c1e9 --to prod --follow --until traffic-shifted")
	repo := fs.String("repository", "", "ECR repository (required)")
	from := fs.String("from", "", "the image to promote: a tag or a sha256: digest (required)")
	to := fs.String("to", "", "the tag to give it, e.g. staging (required; a target's tag)")
	reason := fs.String("reason", "", "why, recorded with who you are")
	follow := fs.Bool("follow", false, "wait for the deployment the push starts and follow it; exit 0 only if it SUCCEEDED")
	wait := fs.Duration("wait", time.Minute, "with --follow: how long to wait for the push event to start the execution")
	untilFlag := fs.String("until", "", "with --follow: return (exit 0) once the deployment reaches this point: migrated, deploying, traffic-shifted, baking or an ECS lifecycle stage; the workflow keeps watching to the end")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	until, err := a.untilFlag(*untilFlag, *follow)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *repo == "" || *from == "" || *to == "" {
		return &usageError{"--repository, --from and --to are required"}
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	ts, err := a.targets(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was retagged", err)
	}
	t, configured := ts.ByImage(*repo, *to)
	if !configured {
		return fmt.Errorf("%s:%s is not a target of stack %s, so its push would deploy nothing (targets: %s); nothing was retagged. The deployer promotes to a target's tag only; retag anything else with your registry tools", *repo, *to, a.global.stack, describeTargets(ts))
	}
	// Executions that started before this push are not its own, though an
	// earlier push of the same image to the same tag looks the same: the
	// margin allows for this machine's clock running ahead of AWS's.
	pushedAfter := a.Now().Add(-pushClockMargin)
	// The promoter's deployer API retags as you and records that you did:
	// the deployment the push starts names you as its starter.
	ans, err := a.callAPI(ctx, api.Promoter, api.Request{Action: api.ActionPromote, Repository: *repo, From: *from, To: *to, Reason: *reason})
	if err != nil {
		return fmt.Errorf("%w; nothing was retagged", err)
	}
	digest := ans.Digest
	if ans.AlreadyTagged {
		if !*follow {
			fmt.Fprintf(a.Out, "%s:%s already names this image. ECR sends no event when a tag does not move, so no deployment starts.\nTo deploy it again: deployer start %s\n", *repo, *to, t.Environment)
			return nil
		}
		return a.alreadyTagged(ctx, t, digest, until)
	}
	fmt.Fprintf(a.Out, "Promoted %s@%s to %s:%s as %s.\n", *repo, history.ShortDigest(digest), *repo, *to, ans.By)
	env := t.Environment
	if !*follow {
		fmt.Fprintf(a.Out, "ECR sends the push event; the %s deployment starts within seconds. Follow it with: deployer status %s\n", env, env)
		return nil
	}
	arn, err := a.awaitPushExecution(ctx, *repo, *to, digest, pushedAfter, *wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Deployment %s\n  %s\n", arn[strings.LastIndex(arn, ":")+1:], deploy.ExecutionConsoleURL(a.region, arn))
	return a.follow(ctx, arn, until)
}

// describeTargets lists the targets as repository:tag → environment.
func describeTargets(ts config.Targets) string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s:%s → %s", t.Repository, t.Tag, t.Environment))
	}
	return strings.Join(out, ", ")
}

// alreadyTagged answers promote --follow when the tag already names the
// image, so no push event comes: the result is what that image's latest
// deployment to the environment did. Exit 0 only if it deployed; a running
// one is followed; anything else exits 1, never 0 for nothing deployed.
func (a *App) alreadyTagged(ctx context.Context, t config.Published, digest string, until Until) error {
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return err
	}
	tagged := fmt.Sprintf("%s:%s already names this image, so ECR sends no event and no deployment starts", t.Repository, t.Tag)
	latest, err := a.latestDeploymentOf(ctx, sm, t, digest)
	if err != nil {
		return err
	}
	switch {
	case latest == nil:
		fmt.Fprintf(a.Err, "deployer: %s, and no execution in the history deployed it to %s. To deploy it: deployer start %s --follow\n", tagged, t.Environment, t.Environment)
		return &exitError{code: 1}
	case latest.Status == sfntypes.ExecutionStatusRunning:
		fmt.Fprintf(a.Out, "%s; execution %s is deploying it:\n  %s\n", tagged, lastPart(latest.ARN), deploy.ExecutionConsoleURL(a.region, latest.ARN))
		return a.follow(ctx, latest.ARN, until)
	case latest.Status == sfntypes.ExecutionStatusSucceeded:
		fmt.Fprintf(a.Out, "%s; it is deployed to %s: execution %s succeeded at %s.\n", tagged, t.Environment, lastPart(latest.ARN), latest.Stop.UTC().Format(time.RFC3339))
		return nil
	}
	fmt.Fprintf(a.Err, "deployer: %s, and its latest deployment to %s, execution %s, ended %s: %s: %s\nNothing new deploys; fix the cause and run: deployer start %s --follow\n",
		tagged, t.Environment, lastPart(latest.ARN), latest.Status, latest.Error, history.CauseMessage(latest.Cause), t.Environment)
	return &exitError{code: 1}
}

// latestDeploymentOf finds the newest execution that deployed or tries to
// deploy the digest to the target (by push, by hand or as a rollback), as
// the promotion guard reads it (executions.Reader.LatestAttempt).
func (a *App) latestDeploymentOf(ctx context.Context, sm string, t config.Published, digest string) (*executions.Execution, error) {
	ts, err := a.targets(ctx)
	if err != nil {
		return nil, err
	}
	return a.executions(sm).LatestAttempt(ctx, t.Environment, digest, deploy.SubjectOf(ts))
}

// pushClockMargin is how far this machine's clock may run ahead of AWS's
// when promote tells its push's execution from an earlier one.
const pushClockMargin = 5 * time.Second

// awaitPushExecution finds the execution the push of repo:tag@digest started:
// EventBridge names it at random, so it is recognised by its input, and by
// starting after the push (an earlier push of the same image has the same
// input; EventBridge may start the new one a moment after promote looks).
func (a *App) awaitPushExecution(ctx context.Context, repo, tag, digest string, after time.Time, limit time.Duration) (string, error) {
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(limit)
	r := a.executions(sm)
	seen := map[string]bool{}
	for {
		var found string
		err := r.List(ctx, executions.Query{PageSize: 20, Limit: 20}, func(ex sfntypes.ExecutionListItem) (bool, error) {
			arn := aws.ToString(ex.ExecutionArn)
			if seen[arn] || aws.ToTime(ex.StartDate).Before(after) {
				return false, nil
			}
			seen[arn] = true
			e, err := r.Input(ctx, arn)
			if err != nil {
				return true, err
			}
			req, err := deploy.ParseInput(json.RawMessage(e.Input))
			if err == nil && req.Trigger.Type == "push" && req.Repository == repo && req.Tag == tag && req.Digest == digest {
				found = arn
				return true, nil
			}
			return false, nil
		})
		if err != nil || found != "" {
			return found, err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no execution started for the push of %s:%s within %s: check the EventBridge rule and the dead-letter queue (stack output DeadLetterQueueUrl)", repo, tag, limit)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(a.Poll):
		}
	}
}
