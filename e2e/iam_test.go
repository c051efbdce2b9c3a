package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/localstack"
)

// The local stack enforces the template's IAM policies the other way too: a
// statement removed from RunMigration's role fails the deployment with
// AccessDenied at RunTask, as it would fail a customer's first deploy.
func TestRemovedStatementIsAccessDenied(t *testing.T) {
	cases := map[string]struct {
		role, action string
	}{
		"ecs:RunTask":   {"RunMigrationRole", "ecs:RunTask"},
		"iam:PassRole":  {"RunMigrationRole", "iam:PassRole"},
		"ecs:ListTasks": {"CheckDeploymentRole", "ecs:ListTasks"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tpl := withoutStatement(t, tc.role, tc.action)
			s := startStackWith(t, tpl)
			r, err := s.Run(t.Context(), localstack.SamplePushEvent("staging", emulator.Digest), emulator.Scenario{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != "FAILED" || r.Error != "InternalError" || !strings.Contains(r.Cause, "AccessDeniedException") || !strings.Contains(r.Cause, tc.action) {
				t.Fatalf("status %s %s: %s; want FAILED InternalError with AccessDeniedException on %s", r.Status, r.Error, r.Cause, tc.action)
			}
			denied := s.Denied()
			if len(denied) == 0 || !strings.Contains(denied[0], "is not authorized to perform: "+tc.action) {
				t.Fatalf("denials = %v", denied)
			}
		})
	}
}

// withoutStatement writes local/template.json without the statements of a
// role's policy that grant action, and returns its path.
func withoutStatement(t *testing.T, rolePrefix, action string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "local", "template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, res := range doc["Resources"].(map[string]any) {
		r := res.(map[string]any)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := r["Properties"].(map[string]any)
		roles := props["Roles"].([]any)
		if !strings.HasPrefix(roles[0].(map[string]any)["Ref"].(string), rolePrefix) {
			continue
		}
		pd := props["PolicyDocument"].(map[string]any)
		var kept []any
		for _, st := range pd["Statement"].([]any) {
			acts := st.(map[string]any)["Action"]
			grants := acts == action
			if l, ok := acts.([]any); ok {
				for _, a := range l {
					grants = grants || a == action
				}
			}
			if grants {
				removed++
				continue
			}
			kept = append(kept, st)
		}
		pd["Statement"] = kept
	}
	if removed == 0 {
		t.Fatalf("no statement of %s grants %s", rolePrefix, action)
	}
	out, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
