package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// actionFile is action.yml, as far as a composite action's runner reads it.
type actionFile struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name             string            `yaml:"name"`
			ID               string            `yaml:"id"`
			Uses             string            `yaml:"uses"`
			Shell            string            `yaml:"shell"`
			Run              string            `yaml:"run"`
			WorkingDirectory string            `yaml:"working-directory"`
			Env              map[string]string `yaml:"env"`
			With             map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// actionRun is what a run of the action left: the last step's exit code,
// the action's outputs and the job summary.
type actionRun struct {
	code    int
	outputs map[string]string
	summary string
	log     string
}

var expression = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// runAction runs action.yml's steps as GitHub's runner runs a composite
// action: inputs with their defaults, ${{ }} expressions of inputs,
// github.action_path, runner.temp and steps.<id>.outputs, each run step in
// bash -eo pipefail with its env and working directory, $GITHUB_OUTPUT and
// $GITHUB_STEP_SUMMARY files, stopping at the first step that fails. The
// setup-go step is checked (its go.mod exists) and not run: Go is here.
func runAction(t *testing.T, inputs map[string]string) actionRun {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using = %q, want composite", a.Runs.Using)
	}
	for name := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("action.yml has no input %q", name)
		}
	}
	tmp := t.TempDir()
	files := map[string]string{"GITHUB_OUTPUT": filepath.Join(tmp, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary")}
	steps := map[string]map[string]string{}
	eval := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(m string) string {
			e := expression.FindStringSubmatch(m)[1]
			switch parts := strings.Split(e, "."); {
			case len(parts) == 2 && parts[0] == "inputs":
				in, ok := a.Inputs[parts[1]]
				if !ok {
					t.Fatalf("action.yml uses an input it does not declare: %s", e)
				}
				if v, given := inputs[parts[1]]; given {
					return v
				}
				return in.Default
			case e == "github.action_path":
				return root
			case e == "runner.temp":
				return tmp
			case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
				return steps[parts[1]][parts[3]]
			}
			t.Fatalf("action.yml uses an expression this runner does not know: %s", e)
			return ""
		})
	}
	run := actionRun{outputs: map[string]string{}}
	for _, st := range a.Runs.Steps {
		if st.Uses != "" {
			if !strings.HasPrefix(st.Uses, "actions/setup-go@") {
				t.Fatalf("step %q uses %s, which this test cannot stand for", st.Name, st.Uses)
			}
			if _, err := os.Stat(eval(st.With["go-version-file"])); err != nil {
				t.Fatalf("setup-go's go-version-file: %v", err)
			}
			continue
		}
		if st.Shell != "bash" {
			t.Fatalf("step %q: shell %q; a composite step needs shell: bash", st.Name, st.Shell)
		}
		_ = os.Remove(files["GITHUB_OUTPUT"])
		cmd := exec.CommandContext(t.Context(), "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", eval(st.Run))
		cmd.Dir = eval(st.WorkingDirectory)
		cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=true", "GITHUB_ACTION_PATH="+root, "RUNNER_TEMP="+tmp,
			"GITHUB_OUTPUT="+files["GITHUB_OUTPUT"], "GITHUB_STEP_SUMMARY="+files["GITHUB_STEP_SUMMARY"])
		for k, v := range st.Env {
			cmd.Env = append(cmd.Env, k+"="+eval(v))
		}
		out, err := cmd.CombinedOutput()
		run.log += "## " + eval(st.Name) + "\n" + string(out)
		if st.ID != "" {
			steps[st.ID] = readOutputs(t, files["GITHUB_OUTPUT"])
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			run.code = exit.ExitCode()
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for name, o := range a.Outputs {
		run.outputs[name] = eval(o.Value)
	}
	summary, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	run.summary = string(summary)
	return run
}

// readOutputs reads a $GITHUB_OUTPUT file's name=value lines.
func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

// The action, run from action.yml against the local stack with a fake
// GitHub environment: a promotion followed to deployed, a start stopped at
// --until, a deployment that fails (the step fails with the error in the
// summary), and a bad input.
func TestGitHubAction(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	as(t, rig.OperatorAccessKey)
	t.Run("promote to staging, followed until deployed", func(t *testing.T) {
		r := runAction(t, map[string]string{"command": "promote", "from": "sha-2", "to": "staging"})
		expect(t, r.code == 0 && r.outputs["result"] == "SUCCEEDED" && strings.HasPrefix(r.outputs["execution"], "staging-") &&
			strings.Contains(r.outputs["console-url"], ".console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/"+r.outputs["execution-arn"]),
			"exit %d, outputs %v\n%s", r.code, r.outputs, r.log)
		expect(t, strings.Contains(r.summary, "### ✅ ecr-deployer: SUCCEEDED") && strings.Contains(r.summary, "["+r.outputs["execution"]+"]("+r.outputs["console-url"]+")"),
			"summary:\n%s", r.summary)
	})
	t.Run("start until migrated returns once the migration succeeded", func(t *testing.T) {
		r := runAction(t, map[string]string{"command": "start", "environment": "qa", "until": "migrated", "reason": "action test"})
		expect(t, r.code == 0 && r.outputs["result"] == "REACHED" && strings.Contains(r.summary, "reached migrated"), "exit %d, outputs %v\n%s\n%s", r.code, r.outputs, r.log, r.summary)
	})
	t.Run("a deployment that fails fails the step, with its error", func(t *testing.T) {
		r := runAction(t, map[string]string{"command": "start", "environment": "misconfigured"})
		expect(t, r.code == 1 && r.outputs["result"] == "FAILED" && r.outputs["error"] == "TargetMisconfigured" &&
			strings.Contains(r.summary, "### ❌ ecr-deployer: FAILED") && strings.Contains(r.summary, "| Error | `TargetMisconfigured` |"),
			"exit %d, outputs %v\n%s\n%s", r.code, r.outputs, r.log, r.summary)
	})
	t.Run("a bad input fails the step before anything runs", func(t *testing.T) {
		r := runAction(t, map[string]string{"command": "deploy", "environment": "staging"})
		expect(t, r.code == 2 && strings.Contains(r.log, "::error title=ecr-deployer::input 'command' must be promote, start, follow or rollback"), "exit %d\n%s", r.code, r.log)
		r = runAction(t, map[string]string{"command": "rollback", "environment": "staging"})
		expect(t, r.code == 2 && strings.Contains(r.log, "input 'reason' is required for command 'rollback'"), "exit %d\n%s", r.code, r.log)
	})
}
