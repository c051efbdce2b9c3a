package deploy

import (
	"encoding/json"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// IsState says a decoded document is a State (executions.Decode): every
// State from ResolveTarget on names its environment and cluster; an
// execution's raw input does not name a cluster.
func (s *State) IsState() bool { return s.Environment != "" && s.Cluster != "" }

// Environments names the environment an execution's input deploys to:
// config.Config for the Lambdas, config.Targets (the stack's outputs) for
// the CLI.
type Environments interface {
	EnvironmentOf(repository, tag, environment string) (string, bool)
}

// SubjectOf is the one reading of what an execution deploys, for
// executions.Reader.LatestAttempt: the environment its input names (or its
// pushed repository and tag deploy), the digest it resolved (its output)
// or its input names, and whether it deployed.
func SubjectOf(envs Environments) executions.SubjectOf {
	return func(e executions.Execution) (executions.Subject, bool) {
		req, err := ParseInput(json.RawMessage(e.Input))
		if err != nil {
			return executions.Subject{}, false
		}
		repo, tag := req.Repository, req.Tag
		env, ok := envs.EnvironmentOf(repo, tag, req.Environment)
		if !ok {
			return executions.Subject{}, false
		}
		s := executions.Subject{Environment: env, Digest: req.Digest}
		if out, ok := executions.Decode[State](e.Output); ok {
			if out.Image.Digest != "" {
				s.Digest = out.Image.Digest
			}
			s.Deployed = out.Deployment.Done
			if s.Deployed && out.Image.DeployedDigest != "" {
				// What the environment runs, read off its tasks: the guard's
				// evidence is the image it deployed, not the one it meant to
				// (a version-1 execution in tag mode succeeded with a moved tag).
				s.Digest = out.Image.DeployedDigest
			}
		}
		return s, true
	}
}
