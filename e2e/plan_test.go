package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/internal/golden"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// readOnly says whether an operation only reads.
func readOnly(op string) bool {
	for _, p := range []string{"Describe", "List", "Get", "BatchGet"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// executionCount is how many executions the state machine has.
func executionCount(t *testing.T, s *rig.Stack) int {
	t.Helper()
	out, err := sfn.NewFromConfig(s.AdminConfig()).ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:" + emulator.Region + ":" + emulator.Account + ":stateMachine:" + rig.StateMachineName), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Executions)
}

// deployer plan on a fresh local stack: the plan of a tag-mode, a
// digest-mode, a Fargate, a gated and a guarded target, as a person reads
// them (golden), with no write call to any service and no execution.
func TestPlan(t *testing.T) {
	s := startStack(t)
	cliEnv(t, s)
	asAdmin(t)
	local := filepath.Join(root, "local", "targets.json")
	before := len(s.Emulator.Calls(""))
	var all strings.Builder
	for _, args := range [][]string{{"staging"}, {"pinned"}, {"prod"}, {"gated"}, {"suite-pinned"},
		{"release", "--digest", emulator.Digest}, // never deployed to staging: PromotionBlocked
		{"release"},                              // its tag was never pushed: ImageNotFound
	} {
		code, out, errOut := deployer(t, append([]string{"plan", "--targets", local}, args...)...)
		want := 0
		if args[0] == "release" {
			want = 1
		}
		expect(t, code == want, "plan %s: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		all.WriteString("$ deployer plan " + strings.Join(args, " ") + "\n" + out + "\n")
	}
	golden.Check(t, "plan", all.String())
	for _, c := range s.Emulator.Calls("")[before:] {
		expect(t, readOnly(c.Operation), "plan called %s", c.Operation)
	}
	expect(t, executionCount(t, s) == 0, "plan started an execution")

	t.Run("the guard passes once staging deployed the image, and the estimate goes by it", func(t *testing.T) {
		as(t, rig.OperatorAccessKey)
		code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging", "--follow")
		expect(t, code == 0, "promote: exit %d\n%s%s", code, out, errOut)
		asAdmin(t)
		code, out, _ = deployer(t, "plan", "release", "--targets", local, "--digest", emulator.NewDigest, "--output", "json")
		var p cli.PlanJSON
		if err := json.Unmarshal([]byte(out), &p); err != nil || code != 0 {
			t.Fatalf("exit %d, %v\n%s", code, err, out)
		}
		expect(t, p.WouldFail == nil && len(p.Gates) == 1 && strings.HasPrefix(p.Gates[0].Now, "passed: staging-") && p.DigestFrom == "--digest", "plan: %+v", p)
		_, out, _ = deployer(t, "plan", "staging", "--targets", local)
		expect(t, strings.Contains(out, "the median of the 1 deployments with a migration in 30 days"), "the estimate does not go by the deployment:\n%s", out)
	})
	t.Run("a push behind a running deployment says so", func(t *testing.T) {
		as(t, rig.OperatorAccessKey)
		arn := startExecution(t, "gated")
		waitHistoryHas(t, s, arn, `"answer":"deployer approve gated`)
		asAdmin(t)
		// ListExecutions is eventually consistent: the plan names it once listed.
		untilOutputHas(t, "behind 1 running: "+arn[strings.LastIndex(arn, ":")+1:], "plan", "gated", "--targets", local)
	})
	t.Run("a closed window adds its wait", func(t *testing.T) {
		_, out, _ := deployer(t, "plan", "windowed", "--targets", local)
		expect(t, strings.Contains(out, "closed (Mon-Sun 03:00-03:01 UTC): it would wait in WaitingForWindow until") && strings.Contains(out, "after the window opens in"), "plan windowed:\n%s", out)
	})
	t.Run("an environment the file does not have", func(t *testing.T) {
		code, _, errOut := deployer(t, "plan", "nope", "--targets", local)
		expect(t, code == 2 && strings.Contains(errOut, `has no environment "nope"`), "exit %d: %s", code, errOut)
	})
}
