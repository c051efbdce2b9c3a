package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// ManifestMediaTypes are the manifest media types a retag copies as they
// are (BatchGetImage's acceptedMediaTypes): single images, and the manifest
// lists and OCI indexes of multi-architecture images, which ECR stores
// ("Container image manifest format support", ECR user guide) and retag
// tools ask for so that the copy stays the index and keeps its digest.
var ManifestMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// documentedMediaTypes are the only acceptedMediaTypes the API reference
// lists ("Valid values: application/vnd.docker.distribution.manifest.v1+json
// | application/vnd.docker.distribution.manifest.v2+json |
// application/vnd.oci.image.manifest.v1+json", BatchGetImageInput).
var documentedMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
}

// ECRGetter is BatchGetImage alone.
type ECRGetter interface {
	BatchGetImage(context.Context, *ecr.BatchGetImageInput, ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
}

// GetManifest reads an image's manifest for a retag: with every manifest
// type, indexes included; no primary source says BatchGetImage takes the
// index types, so if ECR refuses them (InvalidParameterException) it asks
// again with the documented ones, which serve every single-architecture
// image. in.AcceptedMediaTypes is set here.
func GetManifest(ctx context.Context, api ECRGetter, in *ecr.BatchGetImageInput) (*ecr.BatchGetImageOutput, error) {
	first := *in
	first.AcceptedMediaTypes = ManifestMediaTypes
	out, err := api.BatchGetImage(ctx, &first)
	var invalid *ecrtypes.InvalidParameterException
	if !errors.As(err, &invalid) {
		return out, err
	}
	again := *in
	again.AcceptedMediaTypes = documentedMediaTypes
	return api.BatchGetImage(ctx, &again)
}

// retag moves the environment's tag back to the rollback's digest before
// the deployment starts: with "image": "tag" ECS deploys what the tag names,
// and either way the tag then names what runs, so the next forced
// deployment does not bring the bad image back. It copies the manifest's
// exact bytes (BatchGetImage, then PutImage), as a retag in ECR is done. A
// tag that already names the digest (a retried invocation) is fine.
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html
func (d *Deployer) retag(ctx context.Context, s *State) error {
	rb, img := s.Rollback, s.Image
	var registry *string
	if img.Registry != "" {
		registry = aws.String(img.Registry)
	}
	got, err := GetManifest(ctx, d.ECR, &ecr.BatchGetImageInput{RepositoryName: aws.String(img.Repository), RegistryId: registry,
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(rb.To)}}})
	if err != nil {
		return fmt.Errorf("get image %s@%s to move tag %s back: %w", img.Repository, rb.To, img.Tag, err)
	}
	if len(got.Images) == 0 {
		return rollbackImageGone(img.Repository, rb.To)
	}
	_, err = d.ECR.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(img.Repository), RegistryId: registry, ImageTag: aws.String(img.Tag),
		ImageManifest: got.Images[0].ImageManifest, ImageManifestMediaType: got.Images[0].ImageManifestMediaType})
	var exists *ecrtypes.ImageAlreadyExistsException
	var immutable *ecrtypes.ImageTagAlreadyExistsException
	switch {
	case err == nil || errors.As(err, &exists):
		rb.Retagged = true
		return nil
	case errors.As(err, &immutable) && img.Mode == config.ImageDigest:
		rb.Note = fmt.Sprintf("Tag %s is immutable in repository %s and still names %s; the service runs %s, pinned by digest.", img.Tag, img.Repository, rb.Of, rb.To)
		return nil
	case errors.As(err, &immutable):
		return immutableTag(img.Tag, img.Repository, rb.To)
	}
	return fmt.Errorf("move tag %s of %s back to %s: %w", img.Tag, img.Repository, rb.To, err)
}
