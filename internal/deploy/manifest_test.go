package deploy

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// refusingECR refuses acceptedMediaTypes outside the documented values
// when strict, and records what it was asked with.
type refusingECR struct {
	strict bool
	asked  [][]string
}

func (f *refusingECR) BatchGetImage(_ context.Context, in *ecr.BatchGetImageInput, _ ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	f.asked = append(f.asked, in.AcceptedMediaTypes)
	for _, m := range in.AcceptedMediaTypes {
		if f.strict && !slices.Contains(documentedMediaTypes, m) {
			return nil, &ecrtypes.InvalidParameterException{Message: aws.String("'" + m + "' is not a supported media type")}
		}
	}
	return &ecr.BatchGetImageOutput{Images: []ecrtypes.Image{{ImageManifest: aws.String("{}")}}}, nil
}

func TestGetManifestAsksAgainWithTheDocumentedTypes(t *testing.T) {
	for _, strict := range []bool{false, true} {
		f := &refusingECR{strict: strict}
		out, err := GetManifest(context.Background(), f, &ecr.BatchGetImageInput{RepositoryName: aws.String("app")})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("strict %v: %v, %v", strict, out, err)
		}
		want := 1
		if strict {
			want = 2
		}
		if len(f.asked) != want || !slices.Equal(f.asked[0], ManifestMediaTypes) || (strict && !slices.Equal(f.asked[1], documentedMediaTypes)) {
			t.Fatalf("strict %v: asked with %v, want the index types first, then (refused) the documented ones", strict, f.asked)
		}
	}
}
