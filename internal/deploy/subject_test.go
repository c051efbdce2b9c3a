package deploy

import (
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// SubjectOf reads the environment from the input (or the pushed image's
// target) and the digest the execution resolved, which a manual start by
// tag names only in its output; once it deployed, the digest its tasks run.
func TestSubjectOf(t *testing.T) {
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	push := `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"` + d1 + `"}}`
	done := `{"environment":"staging","cluster":"staging","image":{"digest":"` + d2 + `"},"deployment":{"done":true}}`
	// A version-1 execution in tag mode succeeded with a note when the tag
	// had moved: the environment runs d1, and that is the guard's evidence.
	moved := `{"environment":"staging","cluster":"staging","image":{"digest":"` + d2 + `","deployedDigest":"` + d1 + `"},"deployment":{"done":true}}`
	notDone := `{"environment":"staging","cluster":"staging","image":{"digest":"` + d2 + `","deployedDigest":"` + d1 + `"},"deployment":{"done":false}}`
	cases := []struct {
		name string
		e    executions.Execution
		want executions.Subject
		ok   bool
	}{
		{"a push, running", executions.Execution{Input: push}, executions.Subject{Environment: "staging", Digest: d1}, true},
		{"a start by tag, resolved and deployed", executions.Execution{Input: `{"environment":"staging"}`, Output: done}, executions.Subject{Environment: "staging", Digest: d2, Deployed: true}, true},
		{"deployed another digest than it resolved", executions.Execution{Input: `{"environment":"staging"}`, Output: moved}, executions.Subject{Environment: "staging", Digest: d1, Deployed: true}, true},
		{"not deployed: the resolved digest", executions.Execution{Input: `{"environment":"staging"}`, Output: notDone}, executions.Subject{Environment: "staging", Digest: d2}, true},
		{"an unknown environment", executions.Execution{Input: `{"environment":"qa"}`}, executions.Subject{}, false},
		{"not an input", executions.Execution{Input: `{"hello":1}`}, executions.Subject{}, false},
	}
	for _, tc := range cases {
		got, ok := SubjectOf(cfg)(tc.e)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
