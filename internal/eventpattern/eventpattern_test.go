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
	filters := map[string]struct {
		pattern, event string
		want           bool
	}{
		"prefix matches":                  {`{"startedBy":["x",{"prefix":"ecr-deployer/"}]}`, `{"startedBy":"ecr-deployer/staging-1"}`, true},
		"prefix does not match":           {`{"startedBy":[{"prefix":"ecr-deployer/"}]}`, `{"startedBy":"ecs-svc/1"}`, false},
		"exact value beside a prefix":     {`{"startedBy":["ecr-deployer",{"prefix":"ecr-deployer/"}]}`, `{"startedBy":"ecr-deployer"}`, true},
		"prefix of a number":              {`{"n":[{"prefix":"1"}]}`, `{"n":12}`, false},
		"anything-but is not supported":   {`{"image-tag":[{"anything-but":"prod"}]}`, `{"image-tag":"staging"}`, false},
		"a filter of two keys is refused": {`{"image-tag":[{"prefix":"st","suffix":"g"}]}`, `{"image-tag":"staging"}`, false},
	}
	for name, tc := range filters {
		var p, ev map[string]any
		_ = json.Unmarshal([]byte(tc.pattern), &p)
		_ = json.Unmarshal([]byte(tc.event), &ev)
		if got := Match(p, ev); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", name, got, tc.want)
		}
	}
}

func TestFromTemplate(t *testing.T) {
	tpl := `{"Resources":{
		"R":{"Type":"AWS::Events::Rule","Properties":{"EventPattern":{"source":["aws.ecr"]},"Targets":[{"Arn":{"Ref":"SM"}}]}},
		"S":{"Type":"AWS::Events::Rule","Properties":{"EventPattern":{"resources":[{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ecs:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":service/c/s"]]}]},
			"Targets":[{"Arn":{"Fn::GetAtt":["Fn","Arn"]}}]}},
		"SM":{"Type":"AWS::StepFunctions::StateMachine"},"Fn":{"Type":"AWS::Lambda::Function"},
		"Q":{"Type":"AWS::SQS::Queue"}}}`
	got, err := FromTemplate([]byte(tpl), Pseudo{Partition: "aws", Region: "us-west-2", AccountID: "123456789012"})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	if got[0].Name != "R" || got[0].Target != "SM" || got[0].TargetType != "AWS::StepFunctions::StateMachine" || got[1].Target != "Fn" || got[1].TargetType != "AWS::Lambda::Function" {
		t.Errorf("rules = %+v", got)
	}
	want := "arn:aws:ecs:us-west-2:123456789012:service/c/s"
	if r := got[1].Pattern["resources"].([]any)[0]; r != want {
		t.Errorf("resolved ARN = %v, want %s", r, want)
	}
	if !Match(got[1].Pattern, map[string]any{"resources": []any{want}}) || Match(got[1].Pattern, map[string]any{"resources": []any{"other"}}) {
		t.Error("a resources pattern must match an event whose resources array holds one of its values, and only then")
	}
	if _, err := FromTemplate([]byte(`{"Resources":{"R":{"Type":"AWS::Events::Rule","Properties":{"EventPattern":{"a":[{"Ref":"Param"}]}}}}}`), Pseudo{}); err == nil {
		t.Error("a Ref to a parameter must not be left unresolved")
	}
}
