package deploy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// stateV1 is a document as the release before versions wrote it: no
// version, build, turn.spanSeconds, turn.inFlight or turn.note.
const stateV1 = `{"execution":{"id":"me","name":"me","startTime":"2026-11-25T11:59:00Z","stateMachine":"sm"},
 "trigger":{"type":"manual"},"turn":{"decision":"WAIT","waitSeconds":15,"checks":3,"settleSeconds":0,"pollSeconds":15,"duplicateWindowSeconds":900},
 "environment":"staging","cluster":"staging","service":"staging-service",
 "image":{"repository":"app","tag":"staging","digest":"sha256:` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `","mode":"tag"},
 "launch":{"taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/app:7"},
 "migration":{"skipped":false,"done":false},"deployment":{"timeoutSeconds":1800,"done":false},
 "poll":{"migrationSeconds":60,"deploymentSeconds":60,"migrationIntervalSeconds":60,"deploymentIntervalSeconds":60},"phases":{}}`

// Every reader takes the previous version's documents: decoded as version
// 1, and a step of this release goes on from one and writes its own
// version (the rule in docs/architecture.md, "Upgrades").
func TestReadsVersion1Documents(t *testing.T) {
	s, ok := executions.Decode[State](stateV1)
	if !ok || s.DocumentVersion() != 1 || s.Turn.SpanSeconds != 0 {
		t.Fatalf("decoded %v: version %d, span %d; want a version 1 document", ok, s.DocumentVersion(), s.Turn.SpanSeconds)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": s.Execution.StartTime}},
		status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
	d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
	out, err := Handler(d.CheckTurn)(context.Background(), s)
	if err != nil || out.Turn.Decision != TurnGo {
		t.Fatalf("CheckTurn on a version 1 document: %s (%s), %v", out.Turn.Decision, out.Turn.Reason, err)
	}
	b, _ := json.Marshal(out)
	back, _ := executions.Decode[State](string(b))
	if back.Version != StateVersion || back.Build != Build {
		t.Fatalf("the step wrote version %d build %q, want %d %q", back.Version, back.Build, StateVersion, Build)
	}
	// Its budget falls back to the target's span, not to nothing: far past
	// the work span it times out.
	s.Execution.StartTime = now.Add(-WorkSpan)
	if err := d.queueTimedOut(s, Candidate{Services: []string{"staging/staging-service"}}, "execution x", now); err == nil {
		t.Fatal("a version 1 document waited past its work span without QueueTimedOut")
	}
}
