package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// Before make deploy and make destroy: a targets.json that removes a target
// whose deployment runs is refused (FORCE=1 only warns), a deletion is
// refused while deployments run, and STOP=1 stops the executions and their
// migration tasks, saying that rollouts ECS is doing go on.
func TestPreflight(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	var doc map[string]any
	b, err := os.ReadFile(filepath.Join(root, "local", "targets.json"))
	if err != nil || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("read local/targets.json: %v", err)
	}
	var kept []any
	for _, tg := range doc["targets"].([]any) {
		if m := tg.(map[string]any); m["tag"] != "qa" {
			kept = append(kept, m)
		}
	}
	doc["targets"] = kept
	withoutQA := filepath.Join(t.TempDir(), "targets.json")
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(withoutQA, b, 0o644); err != nil {
		t.Fatal(err)
	}
	same := filepath.Join(root, "local", "targets.json")

	if code, out, errOut := deployer(t, "preflight", "--destroy"); code != 0 || !strings.Contains(out, "No running deployment") {
		t.Fatalf("nothing running: exit %d\n%s%s", code, out, errOut)
	}
	// A migration that runs long in qa.
	s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 60}})
	p := push(t, s, "qa")
	waitUntil(t, "qa's migration runs", func() bool { return len(s.Emulator.Calls("RunTask")) == 1 })
	waitHistoryHas(t, s, p.arn, `"taskArn":"arn:aws:ecs:`)
	waitListed(t, s, p.arn)

	code, out, errOut := deployer(t, "preflight", "--targets", withoutQA)
	if code != 1 || !strings.Contains(out, p.name) || !strings.Contains(out, "migration ") || !strings.Contains(errOut, "make deploy FORCE=1") {
		t.Fatalf("removing qa while it migrates: exit %d\n%s%s; want refused, naming the execution and its migration", code, out, errOut)
	}
	if code, out, errOut = deployer(t, "preflight", "--targets", withoutQA, "--force"); code != 0 || !strings.Contains(out, "anyway") {
		t.Fatalf("--force: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = deployer(t, "preflight", "--targets", same); code != 0 || !strings.Contains(out, "No running deployment") {
		t.Fatalf("the same targets: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = deployer(t, "preflight", "--destroy"); code != 1 || !strings.Contains(errOut, "make destroy STOP=1") {
		t.Fatalf("deleting while qa migrates: exit %d\n%s%s", code, out, errOut)
	}
	// Stopping is the stack owner's, not an operator's: admin credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "admin")
	if code, out, errOut = deployer(t, "preflight", "--destroy", "--stop"); code != 0 || !strings.Contains(out, "Stopped "+p.name) || !strings.Contains(out, "Stopped its migration task") {
		t.Fatalf("--stop: exit %d\n%s%s", code, out, errOut)
	}
	d, err := sfn.NewFromConfig(s.AdminConfig()).DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(p.arn)})
	if err != nil || d.Status != "ABORTED" || aws.ToString(d.Error) != "StackDeleted" {
		t.Errorf("the execution: %v %v; want ABORTED StackDeleted", d, err)
	}
	stopped := false
	for deadline := time.Now().Add(10 * time.Second); !stopped && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, sp := range s.Emulator.Spans() {
			stopped = stopped || (sp.Kind == "migration" && !sp.End.IsZero() && sp.End.Before(sp.Start.Add(30*time.Second)))
		}
	}
	if !stopped {
		t.Error("the migration task was not stopped")
	}
}
