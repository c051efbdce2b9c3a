package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

var ecrOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"DescribeImages": (*Emulator).describeImages,
	"BatchGetImage":  (*Emulator).batchGetImage,
	"PutImage":       (*Emulator).putImage,
	// deployer check reads who may pull (targets in other accounts).
	"GetRepositoryPolicy": (*Emulator).getRepositoryPolicy,
}

type repository struct {
	name   string
	images []*image
	// policy is the repository policy's text ("": none).
	policy string
}

// SetRepositoryPolicy sets a repository's policy (SetRepositoryPolicy's
// effect, for seeding): the repository must exist.
func (e *Emulator) SetRepositoryPolicy(repo, policy string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.repos[repo]
	if r == nil {
		return fmt.Errorf("no repository %s", repo)
	}
	r.policy = policy
	return nil
}

// GetRepositoryPolicy: a missing repository is RepositoryNotFoundException,
// one without a policy RepositoryPolicyNotFoundException ("The specified
// repository and registry combination does not have an associated
// repository policy", ecr types/errors.go).
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetRepositoryPolicy.html
func (e *Emulator) getRepositoryPolicy(body json.RawMessage) (any, *apiError) {
	var in struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, aerr := e.repository(in.RegistryID, in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	if r.policy == "" {
		return nil, errorf("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", r.name, e.Account)
	}
	return map[string]string{"registryId": e.Account, "repositoryName": r.name, "policyText": r.policy}, nil
}

// find is the image an imageId names: by digest, by tag, or both.
func (r *repository) find(id wImageIdentifier) *image {
	var found *image
	for _, im := range r.images {
		if (id.ImageDigest == "" || im.digest == id.ImageDigest) && (id.ImageTag == "" || slices.Contains(im.tags, id.ImageTag)) {
			found = im
		}
	}
	return found
}

type image struct {
	digest    string
	tags      []string
	pushedAt  epoch
	manifest  string
	mediaType string
}

// ManifestMediaType is the media type of the seeded manifests.
const ManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"

// SampleManifest is a Docker v2 image manifest; n makes it unique.
func SampleManifest(n int) string {
	layer := sha256.Sum256([]byte(fmt.Sprintf("layer-%d", n)))
	config := sha256.Sum256([]byte(fmt.Sprintf("config-%d", n)))
	return fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:%x"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":31457280,"digest":"sha256:%x"}]}`,
		ManifestMediaType, config, layer)
}

// DigestOf is an image manifest's digest, as a registry computes it.
func DigestOf(manifest string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(manifest)))
}

// PushManifest stores an image and tags it, as a docker push does, and returns
// its digest. It emits no event; PutImage through the API does.
func (e *Emulator) PushManifest(repo, tag, manifest string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	digest := DigestOf(manifest)
	e.tagImage(repo, tag, digest, manifest, ManifestMediaType)
	return digest
}

// PushImage tags the image with that digest (stored by PushManifest), moving
// the tag from whichever image had it, as in ECR.
func (e *Emulator) PushImage(repo, tag, digest string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tagImage(repo, tag, digest, "", "")
}

func (e *Emulator) tagImage(repo, tag, digest, manifest, mediaType string) {
	r := e.repos[repo]
	if r == nil {
		r = &repository{name: repo}
		e.repos[repo] = r
	}
	for _, im := range r.images {
		im.tags = slices.DeleteFunc(im.tags, func(t string) bool { return t == tag })
	}
	for _, im := range r.images {
		if im.digest == digest {
			if tag != "" {
				im.tags = append(im.tags, tag)
			}
			return
		}
	}
	im := &image{digest: digest, pushedAt: ts(e.now()), manifest: manifest, mediaType: mediaType}
	if tag != "" {
		im.tags = []string{tag}
	}
	r.images = append(r.images, im)
}

// DeleteImages removes every image of a repository (the repository stays).
func (e *Emulator) DeleteImages(repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.repos[repo]; r != nil {
		r.images = nil
	}
}

// DescribeImages: a missing repository is RepositoryNotFoundException, and an
// imageId that matches nothing is ImageNotFoundException.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
func (e *Emulator) describeImages(body json.RawMessage) (any, *apiError) {
	var in struct {
		RegistryID     string             `json:"registryId"`
		RepositoryName string             `json:"repositoryName"`
		ImageIDs       []wImageIdentifier `json:"imageIds"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, aerr := e.repository(in.RegistryID, in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	out := struct {
		ImageDetails []wImageDetail `json:"imageDetails"`
	}{ImageDetails: []wImageDetail{}}
	add := func(im *image) {
		out.ImageDetails = append(out.ImageDetails, wImageDetail{
			RegistryID: e.Account, RepositoryName: r.name, ImageDigest: im.digest, ImageTags: im.tags,
			ImagePushedAt: im.pushedAt, ImageSizeInBytes: 31_457_280, ImageManifestMediaType: im.mediaType,
		})
	}
	if len(in.ImageIDs) == 0 {
		for _, im := range r.images {
			add(im)
		}
		return out, nil
	}
	for _, id := range in.ImageIDs {
		found := r.find(id)
		if found == nil {
			return nil, errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				orNull(id.ImageDigest), orNull(id.ImageTag), r.name, e.Account)
		}
		add(found)
	}
	return out, nil
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// Image reference helpers for seeding.
func (e *Emulator) imageURI(repo, tag string) string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%s", e.Account, e.Region, repo, tag)
}

type wImage struct {
	RegistryID             string           `json:"registryId"`
	RepositoryName         string           `json:"repositoryName"`
	ImageID                wImageIdentifier `json:"imageId"`
	ImageManifest          string           `json:"imageManifest"`
	ImageManifestMediaType string           `json:"imageManifestMediaType,omitempty"`
}

func (e *Emulator) repository(registry, name string) (*repository, *apiError) {
	r := e.repos[name]
	if r == nil || (registry != "" && registry != e.Account) {
		return nil, errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, e.Account)
	}
	return r, nil
}

// BatchGetImage returns manifests; an id that matches nothing is a failures[]
// entry (ImageNotFound), not an error.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html
func (e *Emulator) batchGetImage(body json.RawMessage) (any, *apiError) {
	var in struct {
		RegistryID     string             `json:"registryId"`
		RepositoryName string             `json:"repositoryName"`
		ImageIDs       []wImageIdentifier `json:"imageIds"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, aerr := e.repository(in.RegistryID, in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	type failure struct {
		ImageID       wImageIdentifier `json:"imageId"`
		FailureCode   string           `json:"failureCode"`
		FailureReason string           `json:"failureReason"`
	}
	out := struct {
		Images   []wImage  `json:"images"`
		Failures []failure `json:"failures"`
	}{Images: []wImage{}, Failures: []failure{}}
	for _, id := range in.ImageIDs {
		found := r.find(id)
		if found == nil || found.manifest == "" {
			out.Failures = append(out.Failures, failure{ImageID: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"})
			continue
		}
		// The answer names the image by digest, and by the tag asked for.
		out.Images = append(out.Images, wImage{RegistryID: e.Account, RepositoryName: r.name, ImageID: wImageIdentifier{ImageDigest: found.digest, ImageTag: id.ImageTag},
			ImageManifest: found.manifest, ImageManifestMediaType: found.mediaType})
	}
	return out, nil
}

// PutImage stores a manifest under its digest and, with imageTag, tags it.
// Putting a tag on the digest it already names is ImageAlreadyExistsException
// and emits no event; every other successful put emits an "ECR Image Action"
// PUSH event, as ECR does through EventBridge.
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
func (e *Emulator) putImage(body json.RawMessage) (any, *apiError) {
	var in struct {
		RegistryID             string `json:"registryId"`
		RepositoryName         string `json:"repositoryName"`
		ImageManifest          string `json:"imageManifest"`
		ImageManifestMediaType string `json:"imageManifestMediaType"`
		ImageTag               string `json:"imageTag"`
		ImageDigest            string `json:"imageDigest"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, aerr := e.repository(in.RegistryID, in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	if in.ImageManifest == "" || !json.Valid([]byte(in.ImageManifest)) {
		return nil, errorf("InvalidParameterException", "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}
	digest := DigestOf(in.ImageManifest)
	if in.ImageDigest != "" && in.ImageDigest != digest {
		return nil, errorf("ImageDigestDoesNotMatchException", "Provided digest %s does not match the digest of the manifest %s", in.ImageDigest, digest)
	}
	mediaType := in.ImageManifestMediaType
	if mediaType == "" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		_ = json.Unmarshal([]byte(in.ImageManifest), &m)
		mediaType = m.MediaType
	}
	for _, im := range r.images {
		if im.digest == digest && (in.ImageTag == "" || slices.Contains(im.tags, in.ImageTag)) {
			return nil, errorf("ImageAlreadyExistsException", "Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
				digest, in.ImageTag, r.name, e.Account)
		}
	}
	e.tagImage(r.name, in.ImageTag, digest, in.ImageManifest, mediaType)
	detail := map[string]string{"result": "SUCCESS", "repository-name": r.name, "image-digest": digest, "action-type": "PUSH", "manifest-media-type": mediaType}
	if in.ImageTag != "" {
		detail["image-tag"] = in.ImageTag
	}
	e.pending = append(e.pending, map[string]any{
		"version": "0", "id": e.uuid(), "detail-type": "ECR Image Action", "source": "aws.ecr", "account": e.Account,
		"time": e.now().UTC().Format(time.RFC3339), "region": e.Region, "resources": []string{}, "detail": detail,
	})
	return map[string]any{"image": wImage{RegistryID: e.Account, RepositoryName: r.name,
		ImageID: wImageIdentifier{ImageDigest: digest, ImageTag: in.ImageTag}, ImageManifest: in.ImageManifest, ImageManifestMediaType: mediaType}}, nil
}
