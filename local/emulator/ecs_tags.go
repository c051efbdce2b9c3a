package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// ECS resource tags, for services (StartDeployment tags the service with the
// execution deploying it, which Wake reads on the service's events):
// TagResource and ListTagsForResource. Another resource type is refused: the
// emulator does not model its tags.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTagsForResource.html

// maxTags is the per-resource limit: "Maximum number of tags per resource - 50".
const maxTags = 50

type wTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// registerTags adds the tag operations to the ECS tables; as a package-level
// variable it runs before any init function, which copies those tables.
var _ = registerTags()

func registerTags() bool {
	ecsOps["TagResource"] = (*Emulator).tagResource
	ecsOps["ListTagsForResource"] = (*Emulator).listTagsForResource
	ecsRules["TagResource"] = tagRules
	ecsRules["ListTagsForResource"] = []rule{longARN}
	ecsAuthz["TagResource"] = func(e *Emulator, r request) []iam.Request {
		return []iam.Request{{Action: "ecs:TagResource", Resource: r.str("resourceArn")}}
	}
	ecsAuthz["ListTagsForResource"] = func(e *Emulator, r request) []iam.Request {
		return []iam.Request{{Action: "ecs:ListTagsForResource", Resource: r.str("resourceArn")}}
	}
	return true
}

// longARN: "If you try to tag a service with a short ARN, you receive an
// InvalidParameterException error."
var longARN = rule{
	Cite: `TagResourceInput.ResourceArn: "If you try to tag a service with a short ARN, you receive an InvalidParameterException error."`,
	Code: "InvalidParameterException",
	Check: func(r request) string {
		arn := r.str("resourceArn")
		if _, rest, ok := strings.Cut(arn, ":service/"); ok && !strings.Contains(rest, "/") {
			return "Long arn format must be used for tagging operations"
		}
		return ""
	},
}

var tagRules = []rule{
	longARN,
	{Cite: `Tag: "For each resource, each tag key must be unique, and each tag key can have only one value."`,
		Code: "InvalidParameterException",
		Check: func(r request) string {
			seen := map[string]bool{}
			for _, t := range tagsOf(r) {
				if seen[t.Key] {
					return fmt.Sprintf("Duplicate tag key %q: each tag key must be unique", t.Key)
				}
				seen[t.Key] = true
			}
			return ""
		}},
	{Cite: `Tag: "Do not use aws:, AWS:, or any upper or lowercase combination of such as a prefix for either keys or values as it is reserved for Amazon Web Services use."`,
		Code: "InvalidParameterException",
		Check: func(r request) string {
			for _, t := range tagsOf(r) {
				if strings.HasPrefix(strings.ToLower(t.Key), "aws:") || strings.HasPrefix(strings.ToLower(t.Value), "aws:") {
					return fmt.Sprintf("Tag %q: the aws: prefix is reserved for AWS use", t.Key)
				}
			}
			return ""
		}},
}

func tagsOf(r request) []wTag {
	b, _ := json.Marshal(r["tags"])
	var tags []wTag
	_ = json.Unmarshal(b, &tags)
	return tags
}

// serviceByARN finds a service by its long ARN.
func (e *Emulator) serviceByARN(arn string) (*service, *apiError) {
	_, rest, ok := strings.Cut(arn, ":service/")
	cluster, name, long := strings.Cut(rest, "/")
	if !ok || !long {
		return nil, errorf("InvalidParameterException", "The ecr-deployer emulator tags services only (arn:aws:ecs:region:account:service/cluster/service), not %s", arn)
	}
	c := e.clusters[cluster]
	if c == nil || c.services[name] == nil {
		return nil, errorf("ResourceNotFoundException", "The specified resource could not be found.")
	}
	return c.services[name], nil
}

func (e *Emulator) tagResource(body json.RawMessage) (any, *apiError) {
	var in struct {
		ResourceARN string `json:"resourceArn"`
		Tags        []wTag `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, aerr := e.serviceByARN(in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	if svc.tags == nil {
		svc.tags = map[string]string{}
	}
	next := map[string]string{}
	for k, v := range svc.tags {
		next[k] = v
	}
	for _, t := range in.Tags {
		next[t.Key] = t.Value
	}
	if len(next) > maxTags {
		return nil, errorf("InvalidParameterException", "Tag limit exceeded: a resource can have at most %d tags, and this one would have %d", maxTags, len(next))
	}
	svc.tags = next
	return struct{}{}, nil
}

func (e *Emulator) listTagsForResource(body json.RawMessage) (any, *apiError) {
	var in struct {
		ResourceARN string `json:"resourceArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, aerr := e.serviceByARN(in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	keys := make([]string, 0, len(svc.tags))
	for k := range svc.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := []wTag{}
	for _, k := range keys {
		tags = append(tags, wTag{Key: k, Value: svc.tags[k]})
	}
	return map[string]any{"tags": tags}, nil
}
