package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// promote retags an image: BatchGetImage, then PutImage of the exact manifest
// bytes and media type under the new tag. ECR emits a PUSH event for the new
// tag, which starts the deployment.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html
func (a *App) promote(ctx context.Context, args []string) error {
	fs := a.flags("promote", "Retag an image in ECR; the push of a configured tag starts a deployment.",
		"deployer promote --repository app --from sha-4f2c1e9 --to staging\n  deployer promote --repository app --from sha-4f2c1e9 --to prod --follow --until traffic-shifted")
	repo := fs.String("repository", "", "ECR repository (required)")
	from := fs.String("from", "", "the image to promote: a tag or a sha256: digest (required)")
	to := fs.String("to", "", "the tag to give it, e.g. staging (required)")
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
	id := ecrtypes.ImageIdentifier{ImageTag: from}
	if strings.HasPrefix(*from, "sha256:") {
		id = ecrtypes.ImageIdentifier{ImageDigest: from}
	}
	got, err := a.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{id}, AcceptedMediaTypes: deploy.ManifestMediaTypes})
	if err != nil {
		return fmt.Errorf("get image %s:%s: %w", *repo, *from, err)
	}
	if len(got.Images) == 0 {
		reason := "not found"
		if len(got.Failures) > 0 {
			reason = string(got.Failures[0].FailureCode) + ": " + aws.ToString(got.Failures[0].FailureReason)
		}
		return fmt.Errorf("image %s:%s: %s", *repo, *from, reason)
	}
	img := got.Images[0]
	env := *to
	if t, ok := a.config().ByImage(*repo, *to); ok {
		env = t.Environment
	}
	put, err := a.ecr.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: repo, ImageManifest: img.ImageManifest, ImageManifestMediaType: img.ImageManifestMediaType, ImageTag: to,
	})
	var exists *ecrtypes.ImageAlreadyExistsException
	if errors.As(err, &exists) {
		fmt.Fprintf(a.Out, "%s:%s already names this image. ECR sends no event when a tag does not move, so no deployment starts.\nTo deploy it again: deployer start %s\n", *repo, *to, env)
		return nil
	}
	if err != nil {
		return fmt.Errorf("put image %s:%s: %w", *repo, *to, err)
	}
	digest := aws.ToString(put.Image.ImageId.ImageDigest)
	fmt.Fprintf(a.Out, "Promoted %s@%s to %s:%s.\n", *repo, history.ShortDigest(digest), *repo, *to)
	if _, ok := a.config().ByImage(*repo, *to); !ok {
		fmt.Fprintf(a.Out, "Note: %s:%s is not a configured target, so no deployment starts.\n", *repo, *to)
		if *follow {
			return &exitError{code: 1}
		}
		return nil
	}
	if !*follow {
		fmt.Fprintf(a.Out, "ECR sends the push event; the %s deployment starts within seconds. Follow it with: deployer status %s\n", env, env)
		return nil
	}
	arn, err := a.awaitPushExecution(ctx, *repo, *to, digest, *wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Deployment %s\n  %s\n", arn[strings.LastIndex(arn, ":")+1:], ExecutionConsoleURL(a.region, arn))
	return a.follow(ctx, arn, until)
}

// awaitPushExecution finds the execution the push of repo:tag@digest started:
// EventBridge names it at random, so it is recognised by its input.
func (a *App) awaitPushExecution(ctx context.Context, repo, tag, digest string, limit time.Duration) (string, error) {
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(limit)
	seen := map[string]bool{}
	for {
		list, err := a.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 20})
		if err != nil {
			return "", fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range list.Executions {
			arn := aws.ToString(ex.ExecutionArn)
			if seen[arn] {
				continue
			}
			seen[arn] = true
			d, err := a.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				return "", fmt.Errorf("describe execution: %w", err)
			}
			req, err := deploy.ParseInput(json.RawMessage(aws.ToString(d.Input)))
			if err == nil && req.Trigger.Type == "push" && req.Repository == repo && req.Tag == tag && req.Digest == digest {
				return arn, nil
			}
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
