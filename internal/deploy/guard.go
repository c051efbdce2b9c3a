package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The promotion guard: a target with "requires": "staging" deploys an image
// only if that image's latest deployment to staging succeeded. The
// workflow's own execution history is the record; nothing else is stored.

// Guard is what the promotion guard decided, in the state's turn.
type Guard struct {
	Requires string `json:"requires"`
	Digest   string `json:"digest"`
	// Verdict is passed, waiting or overridden.
	Verdict string `json:"verdict"`
	// Evidence is the execution of the required environment it judged by.
	Evidence string `json:"evidence,omitempty"`
	Reason   string `json:"reason"`
}

// Guard verdicts.
const (
	GuardPassed     = "passed"
	GuardWaiting    = "waiting"
	GuardOverridden = "overridden"
)

// guardScan bounds how many executions the guard reads, newest first, to
// find the required environment's latest deployment of the image.
const guardScan = 500

// guardListGrace is how long the guard waits for evidence it cannot find
// before it blocks: ListExecutions is eventually consistent, so a
// deployment to the required environment that started a moment before this
// one may not be listed yet (a pipeline that promotes to staging and then to
// prod). A block is the safe way to be wrong; this keeps it from being the
// usual one.
const guardListGrace = 10 * time.Second

// Attempt of an image in an environment, as the guard finds it.
type guardEvidence struct {
	Execution string
	Status    string // RUNNING, SUCCEEDED (deployed), FAILED, TIMED_OUT, ABORTED
	Error     string
}

// JudgeGuard decides the guard from the required environment's latest
// attempt at the image (nil: never tried), and whether the wait is over.
func JudgeGuard(ev *guardEvidence, requires, digest string, waitOver bool, waited time.Duration) (verdict string, blocked *PromotionBlocked, reason string) {
	switch {
	case ev == nil && waited < guardListGrace:
		return GuardWaiting, nil, fmt.Sprintf("no execution of %s with %s is listed yet (Step Functions lists a new one after a moment); checks again until this one is %s old", requires, digest, guardListGrace)
	case ev == nil:
		return "", &PromotionBlocked{newf("%s was never deployed to %s (in the %d newest executions), which this target requires first. Promote it to %s and let that deployment succeed; or start this one by hand with \"overrideGuard\": true and a reason.",
			digest, requires, guardScan, requires)}, ""
	case ev.Status == "SUCCEEDED":
		return GuardPassed, nil, fmt.Sprintf("%s deployed %s successfully", ev.Execution, digest)
	case ev.Status == "RUNNING" && !waitOver:
		return GuardWaiting, nil, fmt.Sprintf("%s is deploying %s to %s; waiting for it to end", ev.Execution, digest, requires)
	case ev.Status == "RUNNING":
		return "", &PromotionBlocked{newf("%s was still deploying %s to %s after %s (requiresWait), so this deployment did not wait any longer and deployed nothing. Start it again once %s has it.",
			ev.Execution, digest, requires, waited.Round(time.Second), requires)}, ""
	}
	return "", &PromotionBlocked{newf("The latest deployment of %s to %s, execution %s, ended %s%s: the image has not passed %s, so it is not deployed here. Fix it in %s first; or start this one by hand with \"overrideGuard\": true and a reason.",
		digest, requires, ev.Execution, ev.Status, withError(ev.Error), requires, requires)}, ""
}

func withError(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// checkGuard applies the promotion guard at the turn. It returns a
// PromotionBlocked error, or the guard decided (waiting: the turn waits).
func (d *Deployer) checkGuard(ctx context.Context, s State, now time.Time) (Guard, error) {
	g := Guard{Requires: s.Turn.Requires, Digest: s.Image.Digest}
	if s.Turn.OverrideGuard {
		g.Verdict, g.Reason = GuardOverridden, "overridden by a manual start: "+s.Trigger.Reason
		return g, nil
	}
	ev, err := d.latestAttempt(ctx, s.Execution.StateMachine, s.Turn.Requires, s.Image.Digest)
	if err != nil {
		return g, err
	}
	waited := now.Sub(s.Execution.StartTime)
	verdict, blocked, reason := JudgeGuard(ev, s.Turn.Requires, s.Image.Digest, waited > time.Duration(s.Turn.RequiresWaitSeconds)*time.Second, waited)
	if blocked != nil {
		return g, blocked
	}
	g.Verdict, g.Reason = verdict, reason
	if ev != nil {
		g.Evidence = ev.Execution
	}
	return g, nil
}

// latestAttempt finds the newest execution that deployed or tried to deploy
// the digest to the environment, skipping those that deployed nothing
// (superseded, duplicate, refused before anything ran).
func (d *Deployer) latestAttempt(ctx context.Context, stateMachine, env, digest string) (*guardEvidence, error) {
	read := 0
	pages := sfn.NewListExecutionsPaginator(d.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachine), MaxResults: 100})
	for pages.HasMorePages() && read < guardScan {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			read++
			desc, err := d.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				return nil, fmt.Errorf("describe execution %s: %w", aws.ToString(ex.Name), err)
			}
			req, err := ParseInput(json.RawMessage(aws.ToString(desc.Input)))
			if err != nil {
				continue
			}
			target, err := d.lookup(req)
			if err != nil || target.Environment != env {
				continue
			}
			var out State
			_ = json.Unmarshal([]byte(aws.ToString(desc.Output)), &out)
			tried := req.Digest
			if out.Image.Digest != "" {
				tried = out.Image.Digest
			}
			if tried != digest {
				continue
			}
			ev := &guardEvidence{Execution: aws.ToString(ex.Name), Status: string(desc.Status), Error: aws.ToString(desc.Error)}
			switch {
			case desc.Status == sfntypes.ExecutionStatusSucceeded && !out.Deployment.Done:
				continue // superseded or duplicate: another execution decides
			case desc.Status == sfntypes.ExecutionStatusFailed && !changeFailure[ev.Error]:
				continue // refused before anything ran
			}
			return ev, nil
		}
	}
	return nil, nil
}

// changeFailure are the errors of a deployment that ran and failed.
var changeFailure = map[string]bool{
	"MigrationFailedToStart": true, "MigrationFailed": true, "MigrationLost": true, "MigrationTimedOut": true, "MigrationCapacityUnavailable": true,
	"DeploymentRolledBack": true, "DeploymentFailed": true, "DeploymentStopped": true, "DeploymentSuperseded": true, "DeploymentTimedOut": true,
	"PromotionBlocked": true, "DeployerFailed": true, "InternalError": true,
}
