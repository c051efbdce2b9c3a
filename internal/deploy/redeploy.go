package deploy

import (
	"context"
	"fmt"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// RedeployScan bounds how many executions a rollback reads to find the
// image to return to (one DescribeExecution each).
const RedeployScan = 200

// Deployed is one succeeded execution that deployed an image.
type Deployed struct {
	Digest    string    `json:"digest"`
	Execution string    `json:"execution,omitempty"`
	Stop      time.Time `json:"stop,omitzero"`
	// RolledBackFrom is set when it was a rollback: the image it replaced.
	RolledBackFrom string `json:"rolledBackFrom,omitempty"`
}

// RollbackTarget picks the image to return to from an environment's
// deployments, newest first: the latest one that is not the current image
// and that no rollback has since moved away from (rolling back twice goes
// further back, not to the image the first rollback left).
func RollbackTarget(newestFirst []Deployed) (current, target Deployed, ok bool) {
	if len(newestFirst) == 0 {
		return Deployed{}, Deployed{}, false
	}
	current = newestFirst[0]
	left := map[string]bool{}
	for _, d := range newestFirst {
		if d.RolledBackFrom != "" {
			left[d.RolledBackFrom] = true
		}
		if d.Digest != current.Digest && !left[d.Digest] {
			return current, d, true
		}
	}
	return current, Deployed{}, false
}

// DeployedImages lists the environment's successful deployments, newest
// first, from the workflow's own execution history (90 days, RedeployScan
// executions). Executions of every status are read, and DescribeExecution's
// status decides: one that just succeeded may still be listed RUNNING
// (ListExecutions is eventually consistent).
func DeployedImages(ctx context.Context, r *executions.Reader, env string) ([]Deployed, error) {
	var out []Deployed
	err := r.Scan(ctx, executions.Query{Limit: RedeployScan}, executions.MayBe(env), func(e executions.Execution) (bool, error) {
		st, ok := executions.Decode[State](e.Output)
		if e.Status != sfntypes.ExecutionStatusSucceeded || !ok || st.Environment != env || !st.Deployment.Done {
			return false, nil
		}
		dd := Deployed{Digest: st.Image.Digest, Execution: e.Name, Stop: e.Stop}
		if st.Image.DeployedDigest != "" {
			dd.Digest = st.Image.DeployedDigest
		}
		if st.Rollback != nil {
			dd.RolledBackFrom = st.Rollback.Of
		}
		out = append(out, dd)
		return false, nil
	})
	return out, err
}

// RedeployPlan is what a rollback by redeployment does: deploy To again
// in place of From.
type RedeployPlan struct {
	From Deployed `json:"from"`
	To   Deployed `json:"to"`
}

// PlanRedeploy decides a rollback by redeployment from the environment's
// deployments, newest first: to the image before the current one, or to
// to, which must be one the environment deployed before (a rollback skips
// the migration: an image that never ran here would run unmigrated).
func PlanRedeploy(env, to string, newestFirst []Deployed) (RedeployPlan, error) {
	current, target, ok := RollbackTarget(newestFirst)
	switch {
	case len(newestFirst) == 0:
		return RedeployPlan{}, fmt.Errorf("no deployment of %s succeeded in the execution history (the last %d executions, 90 days at most): there is nothing to roll back from; deploy an image with deployer start or promote", env, RedeployScan)
	case to == current.Digest:
		return RedeployPlan{}, fmt.Errorf("%s already runs %s (execution %s): nothing to roll back", env, to, current.Execution)
	case to != "":
		for _, d := range newestFirst {
			if d.Digest == to {
				return RedeployPlan{From: current, To: d}, nil
			}
		}
		return RedeployPlan{}, fmt.Errorf("%s did not deploy %s in its recorded deployments (the last %d executions, 90 days at most): a rollback redeploys an image that ran here, without the migration; deploy another image with deployer start --digest (which migrates)", env, to, RedeployScan)
	case !ok:
		return RedeployPlan{}, fmt.Errorf("%s has run only %s in its recorded deployments: no earlier image to return to; give one with --to sha256:…", env, current.Digest)
	}
	return RedeployPlan{From: current, To: target}, nil
}
