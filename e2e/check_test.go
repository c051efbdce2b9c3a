package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// asAdmin makes the CLI run with the credentials that deploy the stack:
// deployer init, check and plan read the account beyond the people's duty
// policies (docs/cli.md).
func asAdmin(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "admin")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
}

// seedCheckWorld adds services that are wrong in the ways a new team's
// first targets.json meets: a container logging to a group nobody made,
// and a LINEAR service whose steps outlast the default timeout.
func seedCheckWorld(t *testing.T, e *emulator.Emulator) {
	t.Helper()
	essential := true
	roles := func(s emulator.TaskDefinitionSpec) emulator.TaskDefinitionSpec {
		s.TaskRoleARN, s.ExecutionRoleARN = "arn:aws:iam::123456789012:role/app-task", "arn:aws:iam::123456789012:role/app-execution"
		return s
	}
	for _, tag := range []string{"nolog", "linear"} {
		e.PushImage(emulator.Repository, tag, emulator.Digest)
	}
	nolog := e.RegisterTaskDefinition(roles(emulator.TaskDefinitionSpec{Family: "nolog", Compatibilities: []string{"EC2"},
		Containers: []emulator.ContainerSpec{{Name: "app", Image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/app:nolog", Essential: &essential, LogGroup: "/ecs/nolog", LogStreamPrefix: "app"}}}))
	linear := e.RegisterTaskDefinition(roles(emulator.TaskDefinitionSpec{Family: "app", Compatibilities: []string{"EC2"},
		Containers: []emulator.ContainerSpec{{Name: "app", Image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/app:linear", Essential: &essential, LogGroup: emulator.LogGroup, LogStreamPrefix: "app"}}}))
	for _, s := range []emulator.ServiceSpec{
		{Cluster: "nolog", Name: "nolog-service", TaskDefinition: nolog, DesiredCount: 1, LaunchType: "EC2"},
		// LINEAR on ECS's defaults: 10 steps of 10 % with 6-minute step bakes, then a bake of 10 minutes.
		{Cluster: "linear", Name: "linear-service", TaskDefinition: linear, DesiredCount: 1, LaunchType: "EC2", Strategy: "LINEAR", BakeTimeMinutes: 10},
	} {
		if err := e.CreateService(s); err != nil {
			t.Fatal(err)
		}
	}
}

// targetsFile writes a targets file of one target into the test's directory.
func targetsFile(t *testing.T, target string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "targets.json")
	if err := os.WriteFile(p, []byte(`{"targets": [`+target+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	s := startStack(t)
	seedCheckWorld(t, s.Emulator)
	cliEnv(t, s)
	asAdmin(t)
	local := filepath.Join(root, "local", "targets.json")
	const roles = `"taskRoles": ["app-task", "app-execution"]`
	cases := map[string]struct {
		file, env string
		// check is the row that must fail, with what its detail must say;
		// alsoFail the other checks that fail with it (none other may).
		check, fix string
		alsoFail   []string
	}{
		"a working target passes every check":                      {file: local, env: "staging"},
		"a Fargate target of its own family and log group passes":  {file: local, env: "prod"},
		"a target of several services with rollback-others passes": {file: local, env: "suite-pinned"},
		"a wrong family": {file: targetsFile(t, `{"repository": "app", "tag": "staging", "image": "tag", "taskDefinitionFamily": "web", "logGroup": "/ecs/app", `+roles+`}`), env: "staging",
			check: "task definition", fix: `set "taskDefinitionFamily": "app"`},
		"a missing role": {file: targetsFile(t, `{"repository": "app", "tag": "staging", "image": "tag", "taskRoles": ["app-task"]}`), env: "staging",
			check: "task definition", fix: `add "app-execution" to "taskRoles"`},
		"a missing log group": {file: targetsFile(t, `{"repository": "app", "tag": "nolog", "image": "tag", "taskDefinitionFamily": "nolog", "logGroup": "/ecs/nolog", `+roles+`}`), env: "nolog",
			check: "log group", fix: "log group /ecs/nolog does not exist: create it", alsoFail: []string{"stack", "permissions"}},
		"a service the stack's roles may not deploy": {file: targetsFile(t, `{"repository": "app", "tag": "nolog", "image": "tag", "taskDefinitionFamily": "nolog", "logGroup": "/ecs/nolog", `+roles+`}`), env: "nolog",
			check: "permissions", fix: "StartDeployment may not ecs:UpdateService on arn:aws:ecs:us-west-2:123456789012:service/nolog/nolog-service (implicitDeny)", alsoFail: []string{"stack", "log group"}},
		"a log group the target does not name": {file: targetsFile(t, `{"repository": "app", "tag": "staging", "image": "tag", "logGroup": "/ecs/web", `+roles+`}`), env: "staging",
			check: "log group", fix: `set "logGroup": "/ecs/app"`},
		"a LINEAR service whose steps outlast the timeout": {file: targetsFile(t, `{"repository": "app", "tag": "linear", "image": "tag", `+roles+`}`), env: "linear",
			check: "timeouts", fix: `LINEAR: 10 steps of 10% with 9 step bakes of 6 min, then a bake of 10 min`, alsoFail: []string{"stack", "permissions"}},
		"a CODE_DEPLOY service": {file: local, env: "legacy", check: "controller", fix: "CODE_DEPLOY"},
		"a target the stack was not deployed with": {file: targetsFile(t, `{"repository": "app", "tag": "staging", "environment": "stage2", "cluster": "staging", "service": "staging-service", "image": "tag", `+roles+`}`), env: "stage2",
			check: "stack", fix: "the deployed stack has no target stage2: deploy this file (make deploy)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := deployer(t, "check", tc.env, "--targets", tc.file, "--output", "json")
			var doc cli.CheckJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.SchemaVersion != cli.SchemaVersion {
				t.Fatalf("exit %d, %v\n%s%s", code, err, out, errOut)
			}
			failed := map[string]cli.CheckRow{}
			for _, r := range doc.Checks {
				if r.Status != cli.CheckPass {
					failed[r.Check] = r
				}
			}
			if tc.check == "" {
				expect(t, code == 0 && doc.Passed && len(failed) == 0 && len(doc.Checks) >= 9, "exit %d, passed %v, failed %v", code, doc.Passed, failed)
				return
			}
			r, ok := failed[tc.check]
			expect(t, code == 1 && !doc.Passed && ok && r.Status == cli.CheckFail && strings.Contains(r.Detail, tc.fix),
				"exit %d: want check %q to fail saying %q; failed: %+v", code, tc.check, tc.fix, failed)
			var got []string
			for name := range failed {
				got = append(got, name)
			}
			want := append([]string{tc.check}, tc.alsoFail...)
			slices.Sort(got)
			slices.Sort(want)
			expect(t, slices.Equal(got, want), "failed checks %v, want exactly %v", got, want)
		})
	}
	t.Run("the text table names each check and the fix", func(t *testing.T) {
		code, out, _ := deployer(t, "check", "legacy", "--targets", local)
		if os.Getenv("SHOW") != "" {
			_, all, _ := deployer(t, "check", "--targets", local)
			t.Log(all)
		}
		for _, want := range []string{"TARGET", "legacy  controller", "✗", "CodeDeploy", "checks:", "failed"} {
			expect(t, strings.Contains(out, want), "exit %d: the table lacks %q:\n%s", code, want, out)
		}
		expect(t, code == 1, "exit %d, want 1", code)
	})
	t.Run("throttled reads, short pages and empty simulator pages still pass a working target", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Adversary: &emulator.AdversaryScript{Seed: 11, Rate: 0.3,
			Only: []string{emulator.AdvThrottle, emulator.AdvLogsShortPage, emulator.AdvIAMShortPage}}})
		defer s.SetScenario(emulator.Scenario{})
		code, out, errOut := deployer(t, "check", "staging", "--targets", local)
		counts := s.Emulator.Adversary().Counts()
		expect(t, code == 0 && counts[emulator.AdvThrottle] > 0 && counts[emulator.AdvIAMShortPage] > 0, "exit %d, adversary %v\n%s%s", code, counts, out, errOut)
	})
	t.Run("it makes no write call", func(t *testing.T) {
		for _, op := range []string{"RunTask", "UpdateService", "RegisterTaskDefinition", "PutImage", "StopTask", "TagResource"} {
			expect(t, len(s.Emulator.Calls(op)) == 0, "check called %s", op)
		}
	})
}
