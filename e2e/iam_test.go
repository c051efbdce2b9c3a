package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
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
		// The turns table's statement (GetItem and PutItem): the first read is refused.
		"dynamodb:GetItem": {"CheckTurnRole", "dynamodb:GetItem"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tpl := withoutStatement(t, tc.role, tc.action)
			s := startStackWith(t, tpl)
			r, err := s.Run(t.Context(), rig.SamplePushEvent("staging", emulator.Digest), emulator.Scenario{})
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

// withoutStatement writes local/template.json without the statements that
// grant action in a role's policy or a managed policy (by logical ID prefix),
// and returns its path.
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
	for id, res := range doc["Resources"].(map[string]any) {
		r := res.(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::IAM::Policy":
			if !strings.HasPrefix(props["Roles"].([]any)[0].(map[string]any)["Ref"].(string), rolePrefix) {
				continue
			}
		case "AWS::IAM::ManagedPolicy":
			if !strings.HasPrefix(id, rolePrefix) {
				continue
			}
		default:
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

// The CLI runs under the stack's OperatorPolicy: without its
// lambda:InvokeFunctionUrl, deployer start (through the promoter's URL) is
// refused before the function runs, and the CLI says which policy grants
// it.
func TestOperatorPolicyGovernsTheCLI(t *testing.T) {
	s := startStackWith(t, withoutStatement(t, "OperatorPolicy", "lambda:InvokeFunctionUrl"))
	cliEnv(t, s)
	code, _, errOut := deployer(t, "start", "staging")
	if code == 0 || !strings.Contains(errOut, "AccessDenied") || !strings.Contains(errOut, "PromoterPolicy") {
		t.Fatalf("deployer start exited %d: %s; want AccessDenied naming the PromoterPolicy", code, errOut)
	}
	if d := s.Denied(); len(d) != 1 || !strings.Contains(d[0], "lambda:InvokeFunctionUrl") {
		t.Fatalf("denials = %v, want the one InvokeFunctionUrl", d)
	}
}
