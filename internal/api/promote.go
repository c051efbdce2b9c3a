package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// ECRAPI is what a promotion calls in ECR: a retag.
type ECRAPI interface {
	deploy.ECRGetter
	PutImage(context.Context, *ecr.PutImageInput, ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
}

// promote retags an image to a target's tag as the caller (deployer
// promote): it records who promoted it (deploy.RecordPromotion), then moves
// the tag (BatchGetImage, PutImage of the exact manifest bytes and media
// type). ECR's push event starts the deployment, whose starter the record
// names, so the promoter cannot approve it. Only a tag a target deploys is
// promoted: any other retag is not the deployer's to record.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html
func (s *Server) promote(ctx context.Context, who string, in Request) (Answer, error) {
	if in.Repository == "" || in.From == "" || in.To == "" {
		return Answer{}, refuse(http.StatusBadRequest, "BadRequest", "promote needs repository, from (a tag or a sha256: digest) and to (the target's tag)")
	}
	t, ok := s.Config.ByImage(in.Repository, in.To)
	if !ok {
		return Answer{}, refuse(http.StatusNotFound, "NotFound", "%s:%s is not a target of this stack, so its push would deploy nothing: the deployer promotes only to a tag a target deploys", in.Repository, in.To)
	}
	id := ecrtypes.ImageIdentifier{ImageTag: aws.String(in.From)}
	if strings.HasPrefix(in.From, "sha256:") {
		id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(in.From)}
	}
	got, err := deploy.GetManifest(ctx, s.ECR, &ecr.BatchGetImageInput{RepositoryName: aws.String(in.Repository), ImageIds: []ecrtypes.ImageIdentifier{id}})
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noRepo):
		return Answer{}, refuse(http.StatusNotFound, "RepositoryNotFound", "there is no ECR repository %q in the stack's account and Region", in.Repository)
	case err != nil:
		return Answer{}, fmt.Errorf("get image %s:%s: %w", in.Repository, in.From, err)
	case len(got.Images) == 0:
		reason := "not found"
		if len(got.Failures) > 0 {
			reason = string(got.Failures[0].FailureCode) + ": " + aws.ToString(got.Failures[0].FailureReason)
		}
		return Answer{}, refuse(http.StatusNotFound, "ImageNotFound", "image %s:%s: %s", in.Repository, in.From, reason)
	}
	img := got.Images[0]
	digest := aws.ToString(img.ImageId.ImageDigest)
	ans := Answer{Environment: t.Environment, Digest: digest, By: who}
	if s.PromotionsTable != "" {
		// Before the push: its event may reach ResolveTarget within seconds.
		if err := deploy.RecordPromotion(ctx, s.Promotions, s.PromotionsTable, deploy.Promotion{Repository: in.Repository, Tag: in.To, Digest: digest,
			By: who, Verified: VerifiedBy, Reason: in.Reason, At: s.now()}); err != nil {
			return Answer{}, err
		}
	}
	_, err = s.ECR.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(in.Repository), ImageManifest: img.ImageManifest,
		ImageManifestMediaType: img.ImageManifestMediaType, ImageTag: aws.String(in.To)})
	var exists *ecrtypes.ImageAlreadyExistsException
	var immutable *ecrtypes.ImageTagAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		// The tag names the image already: ECR sends no event, nothing starts.
		ans.AlreadyTagged = true
		return ans, nil
	case errors.As(err, &immutable):
		return Answer{}, refuse(http.StatusConflict, "TagImmutable", "%s:%s names another image and the repository's tags are immutable: ECR refuses to move it", in.Repository, in.To)
	case err != nil:
		return Answer{}, fmt.Errorf("put image %s:%s: %w", in.Repository, in.To, err)
	}
	ans.Recorded = true
	s.log().InfoContext(ctx, "promoted", "by", who, "repository", in.Repository, "to", in.To, "digest", digest)
	return ans, nil
}
