package rig

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// Releases: the local stack serves Lambda versions, state machine versions
// and the alias as the stack publishes them (cdk: CurrentVersion, kept;
// StateMachineVersion, kept; the alias "live"). A release's definition
// names its functions' versions, so an execution runs the code of the
// release it started on to its end, whatever is published after; the
// functions EventBridge invokes (Trigger, Wake, Notify) are unqualified and
// run the newest code.
//
// Which ARN $$.StateMachine.Id holds in an execution started through an
// alias or a version is not documented: the local stack gives the ARN the
// execution was started with (the stricter reading: a reader that lists
// executions with it would list only those of that alias).
// https://docs.aws.amazon.com/step-functions/latest/dg/execution-alias-version-associate.html

// release is a published state machine version: its definition's
// functions (placeholder → qualified Lambda ARN).
type release struct {
	number int
	arns   map[string]string
}

// publishRelease publishes the current functions as a state machine
// version and points the alias at it. Call it with fnMu held.
func (s *Stack) publishRelease() {
	arns := make(map[string]string, len(s.arns))
	for k, v := range s.arns {
		arns[k] = v
	}
	s.releases = append(s.releases, release{number: len(s.releases) + 1, arns: arns})
}

// UpgradeOptions say what a new release runs.
type UpgradeOptions struct {
	// BinDir holds the new release's bootstraps (BuildRelease).
	BinDir string
	// ConfigFile is the targets file the new release's functions read
	// (default: the one the stack started with).
	ConfigFile string
	// Template is the new release's synthesized stack (SynthTemplate): its
	// IAM policies and outputs from now on (default: unchanged). Its rules
	// stay those the stack started with.
	Template string
}

// templateFile is the template the stack's IAM and outputs are read from now.
func (s *Stack) templateFile() string {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	return s.opts.Template
}

// Upgrade deploys a new release in place, as make deploy does with a
// versioned template: every function publishes a new version from
// opts.BinDir, the state machine a new version naming them, and the alias
// moves to it. Executions already running go on with the release they
// started on; new ones start on this one.
func (s *Stack) Upgrade(ctx context.Context, opts UpgradeOptions) error {
	if opts.ConfigFile == "" {
		opts.ConfigFile = s.opts.ConfigFile
	}
	s.upgradeMu.Lock()
	defer s.upgradeMu.Unlock()
	s.fnMu.RLock()
	next := len(s.releases) + 1
	s.fnMu.RUnlock()
	for _, f := range statemachine.Functions {
		if err := s.publishFunction(ctx, f, opts.BinDir, opts.ConfigFile, next); err != nil {
			return fmt.Errorf("release %d: %w", next, err)
		}
	}
	if opts.Template != "" {
		if err := s.guard.reload(opts.Template); err != nil {
			return fmt.Errorf("release %d: %w", next, err)
		}
	}
	s.fnMu.Lock()
	defer s.fnMu.Unlock()
	if opts.Template != "" {
		s.opts.Template = opts.Template
	}
	s.publishRelease()
	return nil
}

// Release is the number of the release the alias points to.
func (s *Stack) Release() int {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	return len(s.releases)
}

// resolveStart reads the ARN a StartExecution names: the state machine
// (its latest revision), its alias, or one of its versions. It returns the
// release to run (nil: the latest revision) and the alias and version ARNs
// Step Functions associates the execution with.
func (s *Stack) resolveStart(arn string) (rel *release, aliasARN, versionARN string, ok bool) {
	machine := s.SFN.StateMachineARN
	if executions.Unqualified(arn) != machine {
		return nil, "", "", false
	}
	qualifier, qualified := strings.CutPrefix(arn, machine+":")
	if !qualified {
		return nil, "", "", arn == machine
	}
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	if qualifier == statemachine.AliasName {
		r := s.releases[len(s.releases)-1]
		return &r, arn, fmt.Sprintf("%s:%d", machine, r.number), true
	}
	n, err := strconv.Atoi(qualifier)
	if err != nil || n < 1 || n > len(s.releases) {
		return nil, "", "", false
	}
	r := s.releases[n-1]
	return &r, "", arn, true
}

// definition is the ASL a release runs (nil: the latest revision).
func (s *Stack) definition(rel *release) ([]byte, map[string]string, error) {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	arns := s.arns
	if rel != nil {
		arns = rel.arns
	}
	def, err := statemachine.Substitute(arns)
	functions := make(map[string]string, len(s.functions))
	for k, v := range s.functions {
		functions[k] = v
	}
	return def, functions, err
}
