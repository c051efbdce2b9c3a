package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// The multi-account layout of local/multi-account/targets.json: the tools
// account (the local stack's own, with ECR and the deployer stack), staging
// in account 222222222222 of the same Region, prod in 333333333333 in
// another Region (docs/multi-account.md).
var (
	stagingAt = config.Place{Account: "222222222222", Region: "us-west-2"}
	prodAt    = config.Place{Account: "333333333333", Region: "eu-west-1"}
)

// targetStack is how a test deploys a target account stack: its template
// (changed by edit, if set) and its ExternalId.
type targetStack struct {
	edit       func(map[string]any)
	externalID string
}

// startMultiAccount starts the local stack with the multi-account
// deployer template, seeds each workload account's environment (its image
// replicated into its registry) and deploys their target account stacks.
func startMultiAccount(t *testing.T, stacks map[config.Place]targetStack) *rig.Stack {
	t.Helper()
	dir := filepath.Join(root, "local", "multi-account")
	s := startRig(t, filepath.Join(dir, "targets.json"), filepath.Join(dir, "template.json"))
	err := s.SetUpTargetAccounts(dir, func(at config.Place, tpl string, params map[string]string) (string, bool) {
		ts, ok := stacks[at]
		if ts.edit != nil {
			tpl = editTemplate(t, tpl, ts.edit)
		}
		if ts.externalID != "" {
			params["ExternalId"] = ts.externalID
		}
		return tpl, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// editTemplate writes a changed copy of a template.
func editTemplate(t *testing.T, file string, edit func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withoutForwarding removes a target account stack's forwarding rules.
func withoutForwarding(doc map[string]any) {
	res := doc["Resources"].(map[string]any)
	for id, r := range res {
		if r.(map[string]any)["Type"] == "AWS::Events::Rule" {
			delete(res, id)
		}
	}
}

func callsIn(s *rig.Stack, at config.Place, op string) int {
	return len(s.AddAccount(at.Account, at.Region).Calls(op))
}

// One push in the tools account migrates and deploys in the staging
// account, and prod (another account, another Region) after it, each
// through its own target account stack's roles, woken by the ECS events
// that stack forwards; nothing runs in the tools account's clusters.
func TestMultiAccount(t *testing.T) {
	s := startMultiAccount(t, map[config.Place]targetStack{stagingAt: {}, prodAt: {}})
	t.Cleanup(func() {
		for _, d := range s.Denied() {
			t.Errorf("IAM refused a Lambda's request: %s", d)
		}
	})
	staging := push(t, s, "staging")
	r, out := result(t, s, staging)
	if r.Status != "SUCCEEDED" {
		t.Fatalf("staging ended %s %s (%s)", r.Status, r.Error, r.Cause)
	}
	expect(t, out.Account == stagingAt.Account && out.Region == stagingAt.Region, "state at %s/%s", out.Account, out.Region)
	expect(t, callsIn(s, stagingAt, "RunTask") == 1 && callsIn(s, stagingAt, "UpdateService") == 1, "staging account: %d RunTask, %d UpdateService",
		callsIn(s, stagingAt, "RunTask"), callsIn(s, stagingAt, "UpdateService"))
	expect(t, len(s.Emulator.Calls("RunTask")) == 0 && len(s.Emulator.Calls("UpdateService")) == 0, "something ran in the tools account")
	expect(t, wakeOf(t, r, "WaitForDeployment").By == "event", "the deployment wait ended by %+v, want the forwarded ECS event", wakeOf(t, r, "WaitForDeployment"))

	// prod requires staging: the guard reads the tools account's history.
	s.Emulator.PushImage(emulator.Repository, "prod", staging.digest)
	s.AddAccount(prodAt.Account, prodAt.Region).PushImage(emulator.Repository, "prod", staging.digest) // replicated
	r, out = result(t, s, startPush(t, s, "prod", staging.digest, "prod-multi"))
	if r.Status != "SUCCEEDED" {
		t.Fatalf("prod ended %s %s (%s)", r.Status, r.Error, r.Cause)
	}
	expect(t, out.Turn.Guard != nil && out.Turn.Guard.Evidence == staging.name, "guard = %+v", out.Turn.Guard)
	expect(t, callsIn(s, prodAt, "RunTask") == 1 && callsIn(s, prodAt, "UpdateService") == 1, "prod account: %d RunTask, %d UpdateService",
		callsIn(s, prodAt, "RunTask"), callsIn(s, prodAt, "UpdateService"))
	expect(t, callsIn(s, config.Place{Account: prodAt.Account, Region: stagingAt.Region}, "UpdateService") == 0, "prod deployed in the wrong Region")
}

// A target account whose stack forwards no ECS events still deploys: each
// wait ends on its safety poll (or Watch), never on an event; a target
// account whose roles do not trust this deployer (another external ID)
// ends TargetMisconfigured before anything runs, saying what to deploy.
func TestMultiAccountMisconfigured(t *testing.T) {
	s := startMultiAccount(t, map[config.Place]targetStack{
		stagingAt: {edit: withoutForwarding},
		prodAt:    {externalID: "arn:aws:cloudformation:us-west-2:123456789012:stack/AnotherDeployer/1"},
	})
	t.Run("no forwarding: the safety poll", func(t *testing.T) {
		r, _ := result(t, s, push(t, s, "staging"))
		if r.Status != "SUCCEEDED" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		for _, w := range wakesOf(r, "WaitForDeployment") {
			expect(t, w.By != "event", "a wait ended by an event nobody forwarded: %+v", w)
		}
		expect(t, s.Invocations("wake") == 0, "Wake invoked %d times", s.Invocations("wake"))
	})
	t.Run("no trust: TargetMisconfigured before anything runs", func(t *testing.T) {
		s.Emulator.PushImage(emulator.Repository, "prod", emulator.Digest)
		r, _ := result(t, s, startPush(t, s, "prod", emulator.Digest, "prod-untrusted"))
		// ResolveTarget's first read of the service is refused: nothing
		// else ran (the guard comes after it, at the turn).
		if r.Status != "FAILED" || r.Error != "TargetMisconfigured" {
			t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
		}
		expect(t, strings.Contains(r.Cause, "account 333333333333, Region eu-west-1") && strings.Contains(r.Cause, "make deploy-target ACCOUNT=333333333333 REGION=eu-west-1"), "cause %q", r.Cause)
		expect(t, callsIn(s, prodAt, "RunTask") == 0 && callsIn(s, prodAt, "UpdateService") == 0 && callsIn(s, prodAt, "DescribeServices") == 0, "something reached the prod account")
	})
}

// deployer check and plan do not read other accounts yet: for a target
// elsewhere they say so and fail, never pass on a read of the tools
// account's ECS.
func TestMultiAccountCheckAndPlanSayWhatTheyDoNotRead(t *testing.T) {
	s := startMultiAccount(t, map[config.Place]targetStack{stagingAt: {}, prodAt: {}})
	cliEnv(t, s)
	asAdmin(t)
	file := filepath.Join(root, "local", "multi-account", "targets.json")
	code, out, errOut := deployer(t, "check", "staging", "--targets", file)
	if code != 1 || !strings.Contains(out, "repository app has no policy, so account 222222222222 cannot pull from it") ||
		!strings.Contains(out, "4 checks: 2 passed, 1 failed, 1 skipped") {
		t.Errorf("check without a repository policy exited %d:\n%s%s", code, out, errOut)
	}
	// The central repository lets the staging account pull, not prod's.
	if err := s.Emulator.SetRepositoryPolicy(emulator.Repository, `{"Version":"2012-10-17","Statement":[{"Sid":"staging pulls","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = deployer(t, "check", "staging", "--targets", file)
	if code != 1 || !strings.Contains(out, "account 222222222222 may pull from app") ||
		!strings.Contains(out, "account 222222222222, Region us-west-2, which this command does not read yet") ||
		!strings.Contains(out, "4 checks: 3 passed, 0 failed, 1 skipped") {
		t.Errorf("check exited %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = deployer(t, "check", "prod", "--targets", file)
	if code != 1 || !strings.Contains(out, "it does not allow account 333333333333 ecr:BatchGetImage, ecr:GetDownloadUrlForLayer") {
		t.Errorf("check of prod exited %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = deployer(t, "check", "qa", "--targets", file)
	if code != 0 {
		t.Errorf("check of the tools account's own target exited %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = deployer(t, "plan", "prod", "--targets", file)
	if code == 0 || !strings.Contains(out+errOut, "account 333333333333, Region eu-west-1") {
		t.Errorf("plan exited %d:\n%s%s", code, out, errOut)
	}
}

// What AWS may do on the way to another account happens too: STS and the
// services throttle, forwarded events are duplicated, late or lost. One
// push still migrates once and deploys once, in the staging account.
func TestMultiAccountUnkind(t *testing.T) {
	s := startMultiAccount(t, map[config.Place]targetStack{stagingAt: {}, prodAt: {}})
	s.SetScenario(emulator.Scenario{Adversary: &emulator.AdversaryScript{Seed: 7, Rate: 0.3,
		Only: []string{emulator.AdvThrottle, emulator.AdvEventDuplicated, emulator.AdvEventDelayed, emulator.AdvEventLost}}})
	r, _ := result(t, s, push(t, s, "staging"))
	if r.Status != "SUCCEEDED" {
		t.Fatalf("ended %s %s (%s)", r.Status, r.Error, r.Cause)
	}
	counts := s.Emulator.Adversary().Counts()
	expect(t, counts[emulator.AdvThrottle] > 0, "nothing was throttled: %v", counts)
	expect(t, callsIn(s, stagingAt, "RunTask") == 1 && callsIn(s, stagingAt, "UpdateService") == 1, "staging account: %d RunTask, %d UpdateService",
		callsIn(s, stagingAt, "RunTask"), callsIn(s, stagingAt, "UpdateService"))
}
