package emulator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

const stagingService = "arn:aws:ecs:us-west-2:123456789012:service/staging/staging-service"

func TestServiceTags(t *testing.T) {
	_, c, _ := clients(t)
	tag := func(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("ecr-deployer:execution", "staging-1"), tag("team", "web")}}); err != nil {
		t.Fatal(err)
	}
	// A tag again replaces its value.
	if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("ecr-deployer:execution", "staging-2")}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(stagingService)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if len(got) != 2 || got["ecr-deployer:execution"] != "staging-2" || got["team"] != "web" {
		t.Fatalf("tags = %v", got)
	}
}

// Each documented tagging constraint, broken once through the real SDK.
func TestTagConstraintsOverTheWire(t *testing.T) {
	_, c, _ := clients(t)
	tag := func(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	many := func(n int) []ecstypes.Tag {
		var out []ecstypes.Tag
		for i := range n {
			out = append(out, tag(fmt.Sprint("k", i), "v"))
		}
		return out
	}
	cases := map[string]struct {
		call     func(ctx context.Context) error
		code     string
		contains string
	}{
		"a short service ARN": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-west-2:123456789012:service/staging-service"), Tags: []ecstypes.Tag{tag("k", "v")}})
			return err
		}, "InvalidParameterException", "Long arn format"},
		"a key twice": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("k", "1"), tag("k", "2")}})
			return err
		}, "InvalidParameterException", "Duplicate tag key"},
		"the aws: prefix": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("AWS:owner", "x")}})
			return err
		}, "InvalidParameterException", "reserved"},
		"51 tags in a request (model)": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: many(51)})
			return err
		}, "InvalidParameterException", "less than or equal to 50"},
		"a key of 129 characters (model)": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag(strings.Repeat("k", 129), "v")}})
			return err
		}, "InvalidParameterException", "less than or equal to 128"},
		"a key with a character outside the pattern (model)": {func(ctx context.Context) error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("a*b", "v")}})
			return err
		}, "InvalidParameterException", "regular expression pattern"},
		"an unknown service": {func(ctx context.Context) error {
			_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-west-2:123456789012:service/staging/nope")})
			return err
		}, "ResourceNotFoundException", "could not be found"},
		"a task definition: not modelled, refused": {func(ctx context.Context) error {
			_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/app:1")})
			return err
		}, "InvalidParameterException", "tags services only"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.call(t.Context())
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code || !strings.Contains(api.ErrorMessage(), tc.contains) {
				t.Fatalf("err = %v; want %s containing %q", err, tc.code, tc.contains)
			}
		})
	}
	// 50 tags on the resource at most, counting those it has.
	if _, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: many(50)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.TagResource(t.Context(), &ecs.TagResourceInput{ResourceArn: aws.String(stagingService), Tags: []ecstypes.Tag{tag("one-more", "v")}})
	var api smithy.APIError
	if !errors.As(err, &api) || !strings.Contains(api.ErrorMessage(), "at most 50") {
		t.Fatalf("a 51st tag: err = %v", err)
	}
}
