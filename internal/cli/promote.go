package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecr-deployer/ecr-deployer/internal/history"
)

// Manifest media types promote copies as they are.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// promote retags an image: BatchGetImage, then PutImage of the exact manifest
// bytes and media type under the new tag. ECR emits a PUSH event for the new
// tag, which starts the deployment.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html
func (a *App) promote(ctx context.Context, args []string) error {
	fs := a.flags("promote", "Retag an image in ECR; the push of a configured tag starts a deployment.",
		"deployer promote --repository app --from sha-4f2c1e9 --to staging")
	repo := fs.String("repository", "", "ECR repository (required)")
	from := fs.String("from", "", "the image to promote: a tag or a sha256: digest (required)")
	to := fs.String("to", "", "the tag to give it, e.g. staging (required)")
	pos, err := parse(fs, args)
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
	got, err := a.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{id}, AcceptedMediaTypes: manifestTypes})
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
	if _, ok := a.config().ByImage(*repo, *to); ok {
		fmt.Fprintf(a.Out, "ECR sends the push event; the %s deployment starts within seconds. Follow it with: deployer status %s\n", env, env)
	} else {
		fmt.Fprintf(a.Out, "Note: %s:%s is not a configured target, so no deployment starts.\n", *repo, *to)
	}
	return nil
}
