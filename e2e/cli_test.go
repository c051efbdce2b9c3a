package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// cliEnv points the AWS SDK (and the AWS CLI) at the local stack.
func cliEnv(t *testing.T, s *rig.Stack) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": s.Endpoint, "AWS_REGION": emulator.Region, "AWS_DEFAULT_REGION": emulator.Region,
		"AWS_ACCESS_KEY_ID": rig.OperatorAccessKey, "AWS_SECRET_ACCESS_KEY": rig.SecretOf(rig.OperatorAccessKey), "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		// The CLI learns the state machine and the targets from the stack.
		"DEPLOYER_STATE_MACHINE_ARN": "",
	} {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "")
	os.Unsetenv("AWS_PROFILE") // t.Setenv restores it after the test
}

// as makes the CLI's next commands in this (sequential) test run with a
// person's access key and its secret (rig.ViewerAccessKey, …): the local
// stack's IAM and the deployer API tell them apart.
func as(t *testing.T, key string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", rig.SecretOf(key))
}

// deployer runs one command line of the CLI and returns its exit code and output.
func deployer(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{Out: &out, Err: &errOut, Getenv: os.Getenv, Poll: 100 * time.Millisecond, Now: time.Now}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, args)
	return code, out.String(), errOut.String()
}

func waitAll(t *testing.T, s *rig.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// The push event reaches the rule asynchronously, as through EventBridge:
	// wait until no event is on its way, then for the executions it started.
	for s.EventsInFlight() {
		select {
		case <-ctx.Done():
			t.Fatal("events still in flight after 2 minutes")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := s.SFN.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCLI(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)

	t.Run("promote triggers a deployment of the new digest", func(t *testing.T) {
		code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging")
		if code != 0 || !strings.Contains(out, "Promoted app@"+emulator.NewDigest[:19]) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		waitAll(t, s)
		code, out, _ = deployer(t, "status", "staging", "--output", "json")
		var doc cli.StatusJSON
		err := json.Unmarshal([]byte(out), &doc)
		rows := doc.Executions
		if err != nil || code != 0 || len(rows) != 1 || doc.SchemaVersion != cli.SchemaVersion {
			t.Fatalf("status: exit %d, %v, %d rows\n%s", code, err, len(rows), out)
		}
		r := rows[0]
		if r.Status != "SUCCEEDED" || r.Digest != emulator.NewDigest || r.Trigger != "push app:staging" || r.Environment != "staging" {
			t.Errorf("status row = %+v", r)
		}
		// The push names its promoter, as the deployer API recorded them.
		_, st := result(t, s, pushed{arn: s.ExecutionARN(r.Execution), name: r.Execution})
		expect(t, st.Trigger.By == rig.PersonARN(rig.OperatorAccessKey) && st.Trigger.Verified != "" && !st.Trigger.PromotedAt.IsZero(), "the push's trigger: %+v", st.Trigger)
		code, out, _ = deployer(t, "history", r.Execution)
		for _, want := range []string{"ResolveTarget", "RunMigration", "task STOPPED, exit code 0", "CheckDeployment", "COMPLETED", "Result: SUCCEEDED"} {
			if !strings.Contains(out, want) {
				t.Errorf("history lacks %q (exit %d):\n%s", want, code, out)
			}
		}
		code, out, _ = deployer(t, "history", r.Execution, "--output", "json")
		var h struct {
			SchemaVersion int    `json:"schemaVersion"`
			Status        string `json:"status"`
			Steps         []struct {
				Name string `json:"name"`
			} `json:"steps"`
		}
		if err := json.Unmarshal([]byte(out), &h); err != nil || code != 0 || h.Status != "SUCCEEDED" || h.Steps[0].Name != "ResolveTarget" || h.SchemaVersion != cli.SchemaVersion {
			t.Errorf("history json: exit %d, %v: %.300s", code, err, out)
		}
	})

	t.Run("promote of an already-promoted image says so and starts nothing", func(t *testing.T) {
		before := len(s.Emulator.Calls("UpdateService"))
		code, out, _ := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging")
		if code != 0 || !strings.Contains(out, "already names this image") || !strings.Contains(out, "deployer start staging") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		waitAll(t, s)
		if after := len(s.Emulator.Calls("UpdateService")); after != before {
			t.Errorf("a deployment started: UpdateService calls %d → %d", before, after)
		}
	})

	t.Run("promote --follow waits for the push's deployment", func(t *testing.T) {
		code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", emulator.Digest, "--to", "staging", "--follow")
		if code != 0 || !strings.Contains(out, "Deployment ") || !strings.Contains(out, "Result: SUCCEEDED") || !strings.Contains(out, emulator.Digest) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("start --follow succeeds", func(t *testing.T) {
		code, out, errOut := deployer(t, "start", "staging", "--reason", "config change", "--follow")
		if code != 0 || !strings.Contains(out, "Started staging-tag-") || !strings.Contains(out, "RunMigration") || !strings.Contains(out, "Result: SUCCEEDED") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		_, status, _ := deployer(t, "status", "staging")
		if !strings.Contains(status, "manual: config change") {
			t.Errorf("status does not show the manual trigger and reason:\n%s", status)
		}
	})

	t.Run("start refuses what is certain to fail, before starting anything", func(t *testing.T) {
		before := len(s.SFN.Results())
		for _, tc := range []struct {
			args []string
			says string
		}{
			{[]string{"start", "stagin"}, `no environment "stagin" in stack EcrDeployer: did you mean staging?`},
			{[]string{"start", "production", "--follow"}, "environments: dev, fleet1"},
			{[]string{"start", "staging", "--digest", "nonsense"}, `--digest "nonsense" is not an image digest`},
			{[]string{"rollback", "prdo", "--reason", "x"}, "did you mean prod?"},
		} {
			code, _, errOut := deployer(t, tc.args...)
			expect(t, code == 2 && strings.Contains(errOut, tc.says), "%v: exit %d\n%s\nwant exit 2 saying %q", tc.args, code, errOut, tc.says)
		}
		waitAll(t, s)
		expect(t, len(s.SFN.Results()) == before, "an execution started")
	})

	t.Run("promote --follow re-run reflects the image's last deployment, never 0 for nothing deployed", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 1}})
		code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow")
		if code != 1 || !strings.Contains(errOut, "MigrationFailed") {
			t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
		}
		// The CI job is re-run: the tag already names the image.
		code, out, errOut = deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow")
		if code != 1 || !strings.Contains(errOut, "already names this image") || !strings.Contains(errOut, "ended FAILED: MigrationFailed") || !strings.Contains(errOut, "deployer start staging --follow") {
			t.Fatalf("re-run after a failure: exit %d\n%s%s", code, out, errOut)
		}
		s.SetScenario(emulator.Scenario{})
		if code, out, errOut := deployer(t, "start", "staging", "--follow"); code != 0 {
			t.Fatalf("start: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow")
		if code != 0 || !strings.Contains(out, "it is deployed to staging") {
			t.Fatalf("re-run after a success: exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("promote refuses a tag no target deploys, and says what the targets are", func(t *testing.T) {
		for _, args := range [][]string{{"--repository", "app", "--to", "nightly", "--follow"}, {"--repository", "app", "--to", "nightly"}, {"--repository", "nope", "--to", "staging"}} {
			code, _, errOut := deployer(t, append([]string{"promote", "--from", "sha-2"}, args...)...)
			expect(t, code == 1 && strings.Contains(errOut, "is not a target of stack EcrDeployer") && strings.Contains(errOut, "app:staging → staging") && strings.Contains(errOut, "nothing was retagged"),
				"%v: exit %d\n%s", args, code, errOut)
		}
		// Without the stack's targets, promote does not act.
		t.Setenv("AWS_ACCESS_KEY_ID", "admin")
		code, _, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--stack", "Nope")
		expect(t, code == 1 && strings.Contains(errOut, `read the stack "Nope"`) && strings.Contains(errOut, "does not exist") && strings.Contains(errOut, "nothing was retagged"),
			"exit %d\n%s", code, errOut)
	})

	t.Run("follow re-attaches to an environment's deployment; Ctrl-C leaves it running and exits 130", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 5}})
		defer s.SetScenario(emulator.Scenario{})
		arn := startExecution(t, "staging")
		// follow <environment> finds it with ListExecutions, which lags as
		// AWS's may (a script that starts and follows uses start --follow):
		// wait until it is listed.
		waitListed(t, s, arn)
		// Ctrl-C while following: the CLI's context is cancelled.
		var out, errOut bytes.Buffer
		app := &cli.App{Out: &out, Err: &errOut, Getenv: os.Getenv, Poll: 100 * time.Millisecond, Now: time.Now}
		// The deployment takes over 6 s (a 1 s migration, a 5 s rollout).
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		code := app.Run(ctx, []string{"follow", "staging"})
		if code != 130 || !strings.Contains(errOut.String(), "The deployment carries on; re-attach with: deployer follow "+lastPart(arn)) {
			t.Fatalf("interrupted follow: exit %d\n%s%s", code, out.String(), errOut.String())
		}
		code, stdout, stderr := deployer(t, "follow", "staging")
		if code != 0 || !strings.Contains(stdout, "Following ") || !strings.Contains(stdout, "Result: SUCCEEDED") || !strings.Contains(stdout, "environment: staging") {
			t.Fatalf("re-attach to staging: exit %d\n%s%s", code, stdout, stderr)
		}
		code, stdout, stderr = deployer(t, "follow", lastPart(arn))
		if code != 0 || !strings.Contains(stdout, "Following "+lastPart(arn)) || !strings.Contains(stdout, "Result: SUCCEEDED") {
			t.Fatalf("re-attach by name: exit %d\n%s%s", code, stdout, stderr)
		}
		// Every step line aligns its summary on the longest state name.
		col := -1
		for _, line := range strings.Split(stdout, "\n") {
			if !strings.HasPrefix(line, "  +") {
				continue
			}
			rest := line[len("  +  0.0s  "):]
			name := strings.Fields(rest)[0]
			at := len(line) - len(strings.TrimLeft(rest[len(name):], " "))
			if col == -1 {
				col = at
			}
			expect(t, at == col, "misaligned step line %q", line)
		}
		code, stdout, _ = deployer(t, "--version")
		expect(t, code == 0 && strings.HasPrefix(stdout, "deployer "), "--version: exit %d %q", code, stdout)
	})

	t.Run("follow of a failing run exits non-zero with the cause", func(t *testing.T) {
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 3}})
		defer s.SetScenario(emulator.Scenario{})
		code, out, errOut := deployer(t, "start", "staging", "--follow")
		if code != 1 || !strings.Contains(errOut, "FAILED: MigrationFailed") || !strings.Contains(errOut, "exited with code 3") || !strings.Contains(out, "error: MigrationFailed") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("stats computes the DORA figures from the execution history", func(t *testing.T) {
		chart := filepath.Join(t.TempDir(), "staging.svg")
		code, out, errOut := deployer(t, "stats", "staging", "--since", "1d", "--output", "json", "--chart", chart)
		var doc cli.StatsJSON
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Environments) != 1 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		st := doc.Environments[0]
		// Earlier subtests deployed staging by push and by hand, and failed its migration.
		expect(t, doc.SchemaVersion == cli.SchemaVersion && st.Environment == "staging" && st.Deployed >= 2 && st.Failed >= 1, "stats = %+v", st)
		expect(t, st.ChangeFailureRate != nil && *st.ChangeFailureRate > 0 && *st.ChangeFailureRate < 1, "change failure rate %v", st.ChangeFailureRate)
		expect(t, st.LeadTimeSamples >= 1 && st.LeadTimeP50Seconds != nil && *st.LeadTimeP50Seconds > 0, "lead time from the pushes: %+v", st)
		expect(t, st.Restores >= 1 && st.TimeToRestoreP50Seconds != nil, "time to restore: %+v", st)
		svg, err := os.ReadFile(chart)
		expect(t, err == nil && strings.Contains(string(svg), "<svg") && strings.Contains(string(svg), "deployed</title>"), "chart: %v %.200s", err, svg)
		code, out, _ = deployer(t, "stats")
		expect(t, code == 0 && strings.Contains(out, "CHANGE FAILURE RATE") && strings.Contains(out, "90 days"), "text: exit %d\n%s", code, out)
	})

	t.Run("bad command lines", func(t *testing.T) {
		cases := map[string]struct {
			args []string
			code int
			has  string
		}{
			"no command":           {nil, 2, "Commands:"},
			"unknown command":      {[]string{"deploy"}, 2, `unknown command "deploy"`},
			"unknown flag":         {[]string{"start", "staging", "--folow"}, 2, "flag provided but not defined"},
			"missing environment":  {[]string{"start"}, 2, "give exactly one environment"},
			"promote without --to": {[]string{"promote", "--repository", "app", "--from", "sha-2"}, 2, "--to are required"},
			"bad output":           {[]string{"status", "--output", "yaml"}, 2, "--output must be text or json"},
			"help has an example":  {[]string{"start", "--help"}, 0, "Example:\n  deployer start staging"},
			"help writes --flags":  {[]string{"start", "--help"}, 0, "  --skip-migration "},
			"negative limit":       {[]string{"status", "--limit", "-3"}, 2, "--limit must be 1–1000"},
			"unknown image":        {[]string{"promote", "--repository", "app", "--from", "sha-9", "--to", "staging"}, 1, "ImageNotFound"},
			"unknown execution":    {[]string{"history", "nope"}, 1, "ExecutionDoesNotExist"},
		}
		for name, tc := range cases {
			code, out, errOut := deployer(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.has) {
				t.Errorf("%s: exit %d, want %d with %q\n%s%s", name, code, tc.code, tc.has, out, errOut)
			}
			// A bad flag is said once, without the flag list around it.
			if tc.code == 2 && tc.args != nil && (strings.Count(errOut, tc.has) != 1 || strings.Contains(errOut, "Flags:")) {
				t.Errorf("%s: the error is not said exactly once on its own:\n%s", name, errOut)
			}
		}
	})

	// Debian's AWS CLI is a client nobody here wrote: it must be able to
	// start and describe executions on the local stack. It runs as an
	// administrator: no people's policy grants states:StartExecution (a
	// start goes through the deployer API).
	t.Run("AWS CLI drives the local stack", func(t *testing.T) {
		aws, err := exec.LookPath("aws")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("the AWS CLI is not installed; .ci/run installs Debian's awscli")
			}
			t.Skip("aws not installed (apt-get install awscli)")
		}
		run := func(args ...string) map[string]any {
			t.Helper()
			cmd := exec.Command(aws, append([]string{"--endpoint-url", s.Endpoint, "--output", "json"}, args...)...)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=admin", "AWS_SECRET_ACCESS_KEY=local")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %v printed %s", args, out)
			}
			return m
		}
		started := run("stepfunctions", "start-execution", "--state-machine-arn", s.SFN.StateMachineARN,
			"--name", "from-aws-cli", "--input", `{"environment":"prod","reason":"aws cli"}`)
		arn, _ := started["executionArn"].(string)
		if !strings.HasSuffix(arn, ":from-aws-cli") {
			t.Fatalf("start-execution = %v", started)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			d := run("stepfunctions", "describe-execution", "--execution-arn", arn)
			if d["status"] != "RUNNING" {
				if d["status"] != "SUCCEEDED" || !strings.Contains(d["output"].(string), `"environment":"prod"`) {
					t.Fatalf("describe-execution = %v", d)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("still RUNNING after a minute")
			}
			time.Sleep(200 * time.Millisecond)
		}
		h := run("stepfunctions", "get-execution-history", "--execution-arn", arn)
		if evs, _ := h["events"].([]any); len(evs) < 10 {
			t.Errorf("get-execution-history has %d events", len(evs))
		}
	})
}

// waitListed waits until ListExecutions lists the execution.
func waitListed(t *testing.T, s *rig.Stack, arn string) {
	t.Helper()
	c := sfn.NewFromConfig(s.AdminConfig())
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.SFN.StateMachineARN)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range out.Executions {
			if aws.ToString(ex.ExecutionArn) == arn {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listed after a minute", arn)
		}
	}
}
