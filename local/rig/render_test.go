package rig

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

func TestRenderHistoryGolden(t *testing.T) {
	state := func(s string) json.RawMessage { return json.RawMessage(s) }
	resolved := `{"environment":"staging","cluster":"staging","service":"staging-service","image":{"repository":"app","tag":"staging","digest":"sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"},"launch":{"taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/app:1"},"migration":{"container":"app","command":["goose","-dir","migrations","up"],"done":false},"deployment":{"done":false}}`
	started := `{"environment":"staging","migration":{"taskArn":"arn:aws:ecs:us-west-2:123456789012:task/staging/abc","attempt":1,"done":false},"deployment":{"done":false}}`
	cases := map[string]*Result{
		"failed": {
			ExecutionARN: "arn:aws:states:us-west-2:123456789012:execution:ecr-deployer:golden",
			Status:       "FAILED", Error: "MigrationFailed", Cause: "The migration container app exited with code 1.",
			Events: []Event{
				{Type: "ExecutionStarted", Timestamp: 1000},
				{Type: "StateEntered", Timestamp: 1000, State: &EventState{Name: "ResolveTarget", Type: "Task"}},
				{Type: "StateExited", Timestamp: 1120, State: &EventState{Name: "ResolveTarget", Type: "Task", Output: state(resolved)}},
				{Type: "StateEntered", Timestamp: 1121, State: &EventState{Name: "RunMigration", Type: "Task"}},
				{Type: "FaultInjected", Timestamp: 1200, State: &EventState{Name: "RunMigration", Type: "Task"}},
				{Type: "StateFailed", Timestamp: 1200, State: &EventState{Name: "RunMigration", Type: "Task"}, Error: "Lambda.ServiceException",
					Cause: json.RawMessage(`"ecr-deployer local stack: injected Lambda service fault after the function ran"`)},
				{Type: "StateRetried", Timestamp: 1200, State: &EventState{Name: "RunMigration", Type: "Task"}, Retry: &struct {
					Attempt int `json:"attempt"`
				}{Attempt: 1}},
				{Type: "StateExited", Timestamp: 1300, State: &EventState{Name: "RunMigration", Type: "Task", Output: state(started)}},
				{Type: "StateEntered", Timestamp: 1301, State: &EventState{Name: "CheckMigration", Type: "Task"}},
				{Type: "StateFailed", Timestamp: 1350, State: &EventState{Name: "CheckMigration", Type: "Task"}, Error: "MigrationFailed",
					Cause: json.RawMessage(`"{\"errorMessage\":\"The migration container app exited with code 1.\",\"errorType\":\"MigrationFailed\"}"`)},
				{Type: "StateEntered", Timestamp: 1351, State: &EventState{Name: "MigrationFailed", Type: "Fail"}},
				{Type: "ExecutionFailed", Timestamp: 1352},
			},
		},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			RenderHistory(&b, r)
			golden.Check(t, name, b.String())
		})
	}
}
