package emulator

import "slices"

// ecrRules are the ECR API reference's prose constraints on the operations
// served here (aws-sdk-go-v2 service/ecr v1.67.6 doc comments).
var ecrRules = map[string][]rule{
	"DescribeImages": {
		{Cite: `DescribeImagesInput.MaxResults and NextToken: "This option cannot be used when you specify images with imageIds."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("imageIds") && (r.has("maxResults") || r.has("nextToken")) {
					return "maxResults and nextToken cannot be used when you specify images with imageIds"
				}
				return ""
			}},
	},
	"BatchGetImage": {
		{Cite: `BatchGetImageInput.AcceptedMediaTypes: "Valid values: application/vnd.docker.distribution.manifest.v1+json | application/vnd.docker.distribution.manifest.v2+json | application/vnd.oci.image.manifest.v1+json"`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				// Only the documented values: ECR stores manifest lists and OCI
				// indexes, but no primary source says this member takes their
				// types (the stricter reading; the deployer asks again without them).
				valid := []string{"application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"}
				l, _ := r["acceptedMediaTypes"].([]any)
				for _, v := range l {
					if s, _ := v.(string); !slices.Contains(valid, s) {
						return "Invalid parameter at 'acceptedMediaTypes' failed to satisfy constraint: '" + s + "' is not a supported media type"
					}
				}
				return ""
			}},
	},
	"PutImage": {
		{Cite: `PutImageInput.ImageManifestMediaType: "If you push an image manifest that does not contain the mediaType field, you must specify the imageManifestMediaType in the request."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("imageManifestMediaType") {
					return ""
				}
				var m struct {
					MediaType string `json:"mediaType"`
				}
				if err := jsonUnmarshalString(r.str("imageManifest"), &m); err != nil || m.MediaType == "" {
					return "Invalid parameter at 'imageManifestMediaType': the manifest has no mediaType field, so imageManifestMediaType is required"
				}
				return ""
			}},
	},
}
