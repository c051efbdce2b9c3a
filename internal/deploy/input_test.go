package deploy

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseInput(t *testing.T) {
	sample, err := os.ReadFile("testdata/ecr-image-push-event.json") // AWS ECR user guide sample, as in ../shared/samples
	if err != nil {
		t.Fatalf("AWS's documented sample event: %v", err)
	}
	with := func(change func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(sample, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	detail := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) {
			d := m["detail"].(map[string]any)
			if v == nil {
				delete(d, k)
			} else {
				d[k] = v
			}
		}
	}
	cases := map[string]struct {
		input      string
		want       Request
		invalidHas string
	}{
		"documented sample event": {input: string(sample), want: Request{Repository: "my-repository-name", Tag: "latest", Registry: "123456789012", PushedAt: time.Date(2019, 11, 16, 1, 54, 34, 0, time.UTC),
			Digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", Trigger: Trigger{Type: "push", EventID: "13cde686-328b-6117-af20-0e5566167482"}}},
		"staging push with media types": {input: with(func(m map[string]any) {
			detail("image-tag", "staging")(m)
			detail("manifest-media-type", "application/vnd.oci.image.manifest.v1+json")(m)
		}), want: Request{Repository: "my-repository-name", Tag: "staging", Registry: "123456789012", PushedAt: time.Date(2019, 11, 16, 1, 54, 34, 0, time.UTC),
			Digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234", Trigger: Trigger{Type: "push", EventID: "13cde686-328b-6117-af20-0e5566167482"}}},
		"manual":                   {input: `{"environment":"staging"}`, want: Request{Environment: "staging", Trigger: Trigger{Type: "manual"}}},
		"manual with every option": {input: `{"environment":"prod","digest":"sha256:` + strings.Repeat("ab", 32) + `","skipMigration":true,"reason":"rollback"}`, want: Request{Environment: "prod", Digest: "sha256:" + strings.Repeat("ab", 32), SkipMigration: true, Trigger: Trigger{Type: "manual", Reason: "rollback"}}},
		"rollback": {input: `{"environment":"prod","digest":"sha256:` + strings.Repeat("ab", 32) + `","reason":"bad release","rollback":{"of":"sha256:` + strings.Repeat("cd", 32) + `","by":"arn:aws:iam::1:user/ana"}}`,
			want: Request{Environment: "prod", Digest: "sha256:" + strings.Repeat("ab", 32), SkipMigration: true, Trigger: Trigger{Type: "rollback", Reason: "bad release"},
				Rollback: &RollbackRequest{Of: "sha256:" + strings.Repeat("cd", 32), By: "arn:aws:iam::1:user/ana"}}},
		"rollback without digest":    {input: `{"environment":"prod","rollback":{"of":"sha256:` + strings.Repeat("cd", 32) + `"}}`, invalidHas: `"rollback" needs "digest"`},
		"rollback of a bad digest":   {input: `{"environment":"prod","digest":"sha256:` + strings.Repeat("ab", 32) + `","rollback":{"of":"x"}}`, invalidHas: `"rollback.of" "x"`},
		"rollback to the same image": {input: `{"environment":"prod","digest":"sha256:` + strings.Repeat("ab", 32) + `","rollback":{"of":"sha256:` + strings.Repeat("ab", 32) + `"}}`, invalidHas: "same image"},
		"delete event":               {input: with(detail("action-type", "DELETE")), invalidHas: `action-type is "DELETE"`},
		"a reason at the bound":      {input: `{"environment":"prod","reason":"` + strings.Repeat("é", MaxReasonRunes) + `"}`, want: Request{Environment: "prod", Trigger: Trigger{Type: "manual", Reason: strings.Repeat("é", MaxReasonRunes)}}},
		"a reason past the bound":    {input: `{"environment":"prod","reason":"` + strings.Repeat("é", MaxReasonRunes+1) + `"}`, invalidHas: `"reason" is 1001 characters long`},
		"failed push":                {input: with(detail("result", "FAILURE")), invalidHas: `result is "FAILURE"`},
		"push by digest without tag": {input: with(detail("image-tag", nil)), invalidHas: "no image-tag"},
		"other event":                {input: with(func(m map[string]any) { m["detail-type"] = "ECS Task State Change"; m["source"] = "aws.ecs" }), invalidHas: `"ECS Task State Change" from "aws.ecs"`},
		"bad digest":                 {input: with(detail("image-digest", "latest")), invalidHas: "not a sha256 digest"},
		"unknown manual field":       {input: `{"env":"staging"}`, invalidHas: `unknown field "env"`},
		"no environment":             {input: `{"reason":"x"}`, invalidHas: `"environment" is missing`},
		"bad manual digest":          {input: `{"environment":"staging","digest":"abc"}`, invalidHas: `"digest" "abc"`},
		"array":                      {input: `[1]`, invalidHas: "not a JSON object"},
		"empty":                      {input: ``, invalidHas: "not a JSON object"},
		"wrong type":                 {input: `{"environment":1}`, invalidHas: "environment"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseInput(json.RawMessage(tc.input))
			if tc.invalidHas != "" {
				var inv *InvalidInput
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.invalidHas) || !strings.Contains(err.Error(), `{"environment":"staging"}`) {
					t.Fatalf("err = %v, want InvalidInput mentioning %q and an accepted example", err, tc.invalidHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
