package eventpattern

import (
	"encoding/json"
	"testing"
)

func TestMatch(t *testing.T) {
	var pattern map[string]any
	_ = json.Unmarshal([]byte(`{"source":["aws.ecr"],"detail":{"action-type":["PUSH"],"image-tag":["staging","prod"]}}`), &pattern)
	cases := map[string]struct {
		event string
		want  bool
	}{
		"match":          {`{"source":"aws.ecr","detail":{"action-type":"PUSH","image-tag":"prod","extra":1}}`, true},
		"other tag":      {`{"source":"aws.ecr","detail":{"action-type":"PUSH","image-tag":"latest"}}`, false},
		"missing field":  {`{"source":"aws.ecr","detail":{"action-type":"PUSH"}}`, false},
		"detail not obj": {`{"source":"aws.ecr","detail":"x"}`, false},
		"other source":   {`{"source":"aws.ecs","detail":{"action-type":"PUSH","image-tag":"prod"}}`, false},
	}
	for name, tc := range cases {
		var ev map[string]any
		if err := json.Unmarshal([]byte(tc.event), &ev); err != nil {
			t.Fatal(err)
		}
		if got := Match(pattern, ev); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", name, got, tc.want)
		}
	}
	var filter map[string]any
	_ = json.Unmarshal([]byte(`{"detail":{"image-tag":[{"prefix":"st"}]}}`), &filter)
	if Match(filter, map[string]any{"detail": map[string]any{"image-tag": "staging"}}) {
		t.Error("a content filter must not match: it is not supported")
	}
}

func TestFromTemplate(t *testing.T) {
	got, err := FromTemplate([]byte(`{"Resources":{"R":{"Type":"AWS::Events::Rule","Properties":{"EventPattern":{"source":["aws.ecr"]}}},"Q":{"Type":"AWS::SQS::Queue"}}}`))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
}
