package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// deployer init writes a targets.json from the account that deployer check
// then passes, says what it assumed, and never overwrites a file unasked.
func TestInit(t *testing.T) {
	s := startStack(t)
	seedCheckWorld(t, s.Emulator)
	cliEnv(t, s)
	asAdmin(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "targets.json")
	before := len(s.Emulator.Calls(""))

	code, out, errOut := deployer(t, "init", "--repository", "app", "--tags", "staging,prod", "--out", file)
	expect(t, code == 0 && strings.Contains(out, "Wrote "+file+" with 2 targets"), "init: exit %d\n%s%s", code, out, errOut)
	for _, c := range s.Emulator.Calls("")[before:] {
		expect(t, readOnly(c.Operation), "init called %s", c.Operation)
	}
	c, err := config.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.ByEnvironment("prod")
	expect(t, prod.TaskDefinitionFamily == "app-fargate" && prod.Migration.Container == "app" && prod.LogGroup == "/ecs/app" &&
		strings.Join(prod.TaskRoles, ",") == "app-task,app-execution" && prod.Image == config.ImageDigest, "prod: %+v", prod)
	b, _ := os.ReadFile(file)
	expect(t, strings.Contains(string(b), `"comment": [`) && strings.Contains(string(b), "by the convention (cluster = environment, service = <cluster>-service)"), "no comment says what was assumed:\n%s", b)

	checked := func(t *testing.T) (int, cli.CheckJSON) {
		t.Helper()
		code, out, _ := deployer(t, "check", "--targets", file, "--output", "json")
		var doc cli.CheckJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("check: exit %d, %v\n%s", code, err, out)
		}
		return code, doc
	}
	t.Run("before it is deployed, check names what the stack's roles lack", func(t *testing.T) {
		// The local stack runs prod by tag; init chose digest mode, which pins
		// app-fargate's revisions: the deployed stack may not.
		code, doc := checked(t)
		var failed []string
		for _, r := range doc.Checks {
			if r.Status != cli.CheckPass {
				failed = append(failed, r.Target+" "+r.Check+": "+r.Detail)
			}
		}
		expect(t, code == 1 && len(failed) == 1 && strings.HasPrefix(failed[0], "prod permissions: PinImage may not ecs:TagResource") &&
			strings.Contains(failed[0], "deploy this file (make deploy)"), "exit %d, failed: %v", code, failed)
	})
	t.Run("once deployed (make deploy), check passes every check", func(t *testing.T) {
		tpl, err := rig.SynthTemplate(t.Context(), root, file, filepath.Join(dir, "cdk.out"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Upgrade(t.Context(), rig.UpgradeOptions{BinDir: binDir, ConfigFile: file, Template: tpl}); err != nil {
			t.Fatal(err)
		}
		code, doc := checked(t)
		expect(t, code == 0 && doc.Passed && len(doc.Checks) == 18, "check: exit %d, %+v", code, doc)
	})
	t.Run("it does not overwrite without --force", func(t *testing.T) {
		code, _, errOut := deployer(t, "init", "--tags", "staging", "--out", file)
		after, _ := os.ReadFile(file)
		expect(t, code == 1 && strings.Contains(errOut, "exists: nothing was written") && string(after) == string(b), "exit %d: %s", code, errOut)
		code, _, _ = deployer(t, "init", "--tags", "staging", "--out", file, "--force")
		after, _ = os.ReadFile(file)
		expect(t, code == 0 && strings.Count(string(after), `"tag":`) == 1, "--force: exit %d\n%s", code, after)
	})
	t.Run("a LINEAR service gets a timeout that covers its steps", func(t *testing.T) {
		f := filepath.Join(dir, "linear.json")
		code, out, errOut := deployer(t, "init", "--tags", "linear", "--out", f)
		expect(t, code == 0, "exit %d\n%s%s", code, out, errOut)
		c, err := config.LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lin, _ := c.ByEnvironment("linear")
		expect(t, lin.DeploymentTimeout.Seconds() == (64+30)*60, "deploymentTimeout %d s, want 1h34m", lin.DeploymentTimeout.Seconds())
		_, out, _ = deployer(t, "check", "linear", "--targets", f)
		expect(t, strings.Contains(out, "timeouts         ✓  deploymentTimeout 1h34m covers LINEAR"), "check of the LINEAR target:\n%s", out)
	})
	t.Run("a service off the convention names the flags", func(t *testing.T) {
		code, _, errOut := deployer(t, "init", "--tags", "dev", "--out", filepath.Join(dir, "dev.json"))
		expect(t, code == 1 && strings.Contains(errOut, "give --cluster and --service") && strings.Contains(errOut, "nothing was written"), "exit %d: %s", code, errOut)
		code, _, errOut = deployer(t, "init", "--tags", "dev", "--cluster", "staging", "--service", "staging-service", "--out", filepath.Join(dir, "dev.json"))
		expect(t, code == 0, "exit %d: %s", code, errOut)
	})
}
