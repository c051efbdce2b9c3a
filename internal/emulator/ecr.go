package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
)

var ecrOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"DescribeImages": (*Emulator).describeImages,
}

type repository struct {
	name   string
	images []*image
}

type image struct {
	digest   string
	tags     []string
	pushedAt epoch
}

// PushImage seeds an image; a tag moves from whichever image had it, as in ECR.
func (e *Emulator) PushImage(repo, tag, digest string) {
	e.mu.Lock()
	defer e.mu.Unlock()
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
			im.tags = append(im.tags, tag)
			return
		}
	}
	r.images = append(r.images, &image{digest: digest, tags: []string{tag}, pushedAt: ts(e.now())})
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
	r := e.repos[in.RepositoryName]
	if r == nil || (in.RegistryID != "" && in.RegistryID != e.Account) {
		return nil, errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, e.Account)
	}
	out := struct {
		ImageDetails []wImageDetail `json:"imageDetails"`
	}{ImageDetails: []wImageDetail{}}
	add := func(im *image) {
		out.ImageDetails = append(out.ImageDetails, wImageDetail{
			RegistryID: e.Account, RepositoryName: r.name, ImageDigest: im.digest, ImageTags: im.tags,
			ImagePushedAt: im.pushedAt, ImageSizeInBytes: 31_457_280,
			ImageManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
		})
	}
	if len(in.ImageIDs) == 0 {
		for _, im := range r.images {
			add(im)
		}
		return out, nil
	}
	for _, id := range in.ImageIDs {
		var found *image
		for _, im := range r.images {
			if (id.ImageDigest == "" || im.digest == id.ImageDigest) && (id.ImageTag == "" || slices.Contains(im.tags, id.ImageTag)) {
				found = im
			}
		}
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
