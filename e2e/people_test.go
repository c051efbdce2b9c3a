package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecr-deployer/ecr-deployer/internal/cli"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// postAPI sends a body to a deployer API URL signed with a key and a secret,
// as any client could, and returns the status and the answer.
func postAPI(t *testing.T, url, key, secret string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "lambda", emulator.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// Gates hold against the people they gate: a decision carries the identity
// IAM authenticated through the deployer API's URL, never one the client
// writes; the promoter's policy cannot approve or override, nobody's can
// answer a wait or start an execution directly, the person who started a
// deployment cannot approve it, and a target's approvers list is enforced.
func TestWhoDecides(t *testing.T) {
	s := startStackWith(t, "") // refusals are the point: not startStack's failure on any
	cliEnv(t, s)
	s.SetTokenTimeout(20 * time.Second)
	outputs, err := deploy.StackOutputs(t.Context(), cloudformation.NewFromConfig(s.AdminConfig()), rig.StackName)
	if err != nil {
		t.Fatal(err)
	}
	approverURL := outputs["ApproverApiUrl"]
	approver := rig.PersonARN(rig.ApproverAccessKey)
	arn := startExecution(t, "gated") // as the operator
	waitHistoryHas(t, s, arn, `"answer":"deployer approve gated`)
	untilOutputHas(t, "awaiting approval: deployer approve gated", "status", "gated") // listed

	t.Run("the promoter's policy cannot approve", func(t *testing.T) {
		as(t, rig.PromoterAccessKey)
		code, _, errOut := deployer(t, "approve", "gated", "--reason", "my own change")
		expect(t, code == 1 && strings.Contains(errOut, "AccessDenied") && strings.Contains(errOut, "ApproverPolicy"), "promoter approves: exit %d %s", code, errOut)
	})
	t.Run("a signature made without the key's secret is refused before the function runs", func(t *testing.T) {
		status, body := postAPI(t, approverURL, rig.ApproverAccessKey, "guessed", `{"action":"approve","environment":"gated"}`)
		expect(t, status == http.StatusForbidden && strings.Contains(body, "Forbidden"), "forged signature: %d %s", status, body)
	})
	t.Run("nobody's policy answers a wait or starts an execution directly", func(t *testing.T) {
		for _, key := range []string{rig.OperatorAccessKey, rig.ApproverAccessKey, rig.PromoterAccessKey, rig.ViewerAccessKey, rig.OverriderAccessKey} {
			c := sfn.NewFromConfig(aws.Config{Region: emulator.Region, BaseEndpoint: aws.String(s.Endpoint),
				Credentials: credentials.NewStaticCredentialsProvider(key, rig.SecretOf(key), "")})
			_, err := c.SendTaskSuccess(t.Context(), &sfn.SendTaskSuccessInput{TaskToken: aws.String("any"), Output: aws.String(`{"approved":true,"by":"the boss"}`)})
			expect(t, err != nil && strings.Contains(err.Error(), "not authorized to perform: states:SendTaskSuccess"), "%s: SendTaskSuccess %v", key, err)
			_, err = c.StartExecution(t.Context(), &sfn.StartExecutionInput{StateMachineArn: aws.String(outputs["StateMachineAliasArn"]), Name: aws.String("forged-" + strings.ToLower(key)),
				Input: aws.String(`{"environment":"gated","by":"arn:aws:iam::123456789012:user/the-boss","verified":"trust me"}`)})
			expect(t, err != nil && strings.Contains(err.Error(), "not authorized to perform: states:StartExecution"), "%s: StartExecution %v", key, err)
		}
	})
	t.Run("a promoter cannot override a gate", func(t *testing.T) {
		as(t, rig.PromoterAccessKey)
		for _, flags := range [][]string{{"--override-window"}, {"--override-guard"}, {"--skip-migration"}} {
			code, _, errOut := deployer(t, append([]string{"start", "staging", "--reason", "in a hurry"}, flags...)...)
			expect(t, code == 1 && strings.Contains(errOut, "AccessDenied") && strings.Contains(errOut, "OverriderPolicy"), "promoter %v: exit %d %s", flags, code, errOut)
		}
		// Nor by calling its own URL with an override in the body.
		status, body := postAPI(t, outputs["PromoterApiUrl"], rig.PromoterAccessKey, rig.SecretOf(rig.PromoterAccessKey),
			`{"action":"start","environment":"staging","skipMigration":true,"reason":"x","token":"abcd","requestedAt":"`+time.Now().UTC().Format(time.RFC3339)+`"}`)
		expect(t, status == http.StatusForbidden && strings.Contains(body, "WrongCapability"), "promoter URL with an override: %d %s", status, body)
	})
	t.Run("a start's by is the identity IAM authenticated, not the body's", func(t *testing.T) {
		status, body := postAPI(t, outputs["OverriderApiUrl"], rig.OverriderAccessKey, rig.SecretOf(rig.OverriderAccessKey),
			`{"action":"start","environment":"staging","skipMigration":true,"reason":"hotfix","by":"arn:aws:iam::123456789012:user/the-boss","token":"e2e1","requestedAt":"`+time.Now().UTC().Format(time.RFC3339)+`"}`)
		var ans struct {
			Execution, By string
		}
		if status != http.StatusOK || json.Unmarshal([]byte(body), &ans) != nil {
			t.Fatalf("overrider start: %d %s", status, body)
		}
		r, st := result(t, s, pushed{arn: ans.Execution, name: lastPart(ans.Execution)})
		overrider := rig.PersonARN(rig.OverriderAccessKey)
		expect(t, ans.By == overrider && st.Trigger.By == overrider && st.Trigger.Verified != "" && st.Migration.Skipped && r.Status == "SUCCEEDED",
			"ended %s %s; answer %s, trigger %+v", r.Status, r.Error, body, st.Trigger)
	})
	t.Run("who started it cannot approve it", func(t *testing.T) {
		code, _, errOut := deployer(t, "approve", "gated", "--reason", "looks good to me")
		expect(t, code == 1 && strings.Contains(errOut, "started this deployment and cannot approve"), "self-approval: exit %d %s", code, errOut)
	})
	t.Run("an approver outside the target's approvers is refused", func(t *testing.T) {
		as(t, rig.OutsiderAccessKey)
		code, _, errOut := deployer(t, "approve", "gated", "--reason", "I can too")
		expect(t, code == 1 && strings.Contains(errOut, "is not among the approvers"), "outsider: exit %d %s", code, errOut)
	})
	t.Run("a forged by is ignored for the identity IAM authenticated", func(t *testing.T) {
		status, body := postAPI(t, approverURL, rig.ApproverAccessKey, rig.SecretOf(rig.ApproverAccessKey),
			`{"action":"approve","environment":"gated","reason":"reviewed","by":"arn:aws:iam::123456789012:user/the-boss"}`)
		if status != http.StatusOK {
			t.Fatalf("approve: %d %s", status, body)
		}
		r, st := result(t, s, pushed{arn: arn, name: lastPart(arn)})
		d := st.Approval.Decision
		if r.Status != "SUCCEEDED" || d == nil || d.By != approver || !d.Approved || d.Digest != st.Image.Digest {
			t.Fatalf("ended %s %s; decision %+v, want approved by %s", r.Status, r.Error, d, approver)
		}
		var ans struct {
			Approval deploy.ApprovalDecision `json:"approval"`
		}
		_ = json.Unmarshal([]byte(body), &ans)
		expect(t, ans.Approval.By == approver, "the API answered %s", body)
	})
	t.Run("deployer audit lists who decided, verified, for which digest", func(t *testing.T) {
		as(t, rig.ViewerAccessKey)
		code, out, errOut := deployer(t, "audit", "gated", "--output", "json")
		var audit struct {
			Decisions []cli.AuditRow `json:"decisions"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &audit) != nil {
			t.Fatalf("audit: exit %d %s%s", code, out, errOut)
		}
		var started, approved *cli.AuditRow
		for i, r := range audit.Decisions {
			switch {
			case r.Execution == lastPart(arn) && r.Kind == deploy.AuditStart:
				started = &audit.Decisions[i]
			case r.Execution == lastPart(arn) && r.Kind == deploy.AuditApproved:
				approved = &audit.Decisions[i]
			}
		}
		expect(t, started != nil && started.By == rig.PersonARN(rig.OperatorAccessKey) && started.Verified != "", "the start: %+v", started)
		expect(t, approved != nil && approved.By == approver && approved.Verified != "" && approved.Reason == "reviewed" && strings.HasPrefix(approved.Digest, "sha256:"),
			"the approval: %+v in %s", approved, out)
		code, out, _ = deployer(t, "audit", "gated")
		expect(t, code == 0 && strings.Contains(out, "approved") && strings.Contains(out, approver) && strings.Contains(out, "IAM"), "audit says:\n%s", out)
	})
	t.Run("who promoted an image cannot approve its deployment", func(t *testing.T) {
		as(t, rig.OperatorAccessKey) // one of gated's approvers
		code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "gated", "--reason", "ship it")
		if code != 0 || !strings.Contains(out, "as "+rig.PersonARN(rig.OperatorAccessKey)) {
			t.Fatalf("promote: exit %d %s%s", code, out, errOut)
		}
		var promoted string
		for deadline := time.Now().Add(30 * time.Second); promoted == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			code, out, errOut = deployer(t, "approve", "gated", "--reason", "my own promotion")
			if strings.Contains(errOut, "NothingWaits") || strings.Contains(errOut, "no deployment of gated waits") {
				continue // the push's execution has not reached its approval yet
			}
			promoted = errOut
		}
		expect(t, code == 1 && strings.Contains(promoted, "started this deployment and cannot approve"), "the promoter approves: exit %d %s%s", code, out, promoted)
		as(t, rig.ApproverAccessKey)
		untilExit0(t, "approve", "gated", "--reason", "reviewed the promotion")
		as(t, rig.ViewerAccessKey)
		code, out, _ = deployer(t, "audit", "gated", "--output", "json")
		expect(t, code == 0 && strings.Contains(out, `"kind":"promote"`) && strings.Contains(out, "ship it"), "audit lists no promotion:\n%s", out)
	})
}
