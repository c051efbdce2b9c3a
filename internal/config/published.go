package config

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The stack publishes what each target deploys as a CloudFormation output,
// so that the deployer CLI learns the deployed configuration from the stack
// (DescribeStacks, which OperatorPolicy grants) and never from a file
// compiled into it or lying next to it.

// PublishedOutputPrefix begins the logical ID of each target's output:
// Target1, Target2, … in file order.
const PublishedOutputPrefix = "Target"

// MaxTargets is how many targets one stack can publish: CloudFormation
// allows MaxOutputs outputs per template, and the stack has StackOutputs of
// its own (StateMachineArn, StateMachineAliasArn, StateMachineConsoleUrl,
// OperatorPolicyArn, OperatorPolicyArns, DeadLetterQueueUrl,
// NotificationTopicArn, ApproverApiUrl, PromoterApiUrl, OverriderApiUrl,
// ViewerPolicyArn, PromoterPolicyArn, ApproverPolicyArn, OverriderPolicyArn;
// a CDK test counts them).
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
const (
	MaxOutputs   = 200
	StackOutputs = 14
	MaxTargets   = MaxOutputs - StackOutputs
)

// Published is a target as the stack publishes it: what a push of
// repository:tag deploys, and where.
type Published struct {
	Environment string `json:"environment"`
	Repository  string `json:"repository"`
	Tag         string `json:"tag"`
	Cluster     string `json:"cluster"`
	Service     string `json:"service"`
	// Services is set for a target of several services (Service is the first).
	Services []string `json:"services,omitempty"`
	// Account and Region are the target's when not the stack's own.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// The gates, which an execution that waited reads again at its turn
	// (deploy.Regate): the approval's timeout (0: none), the environment
	// required first and how long to wait for it, the deployment windows.
	ApprovalSeconds     int     `json:"approvalSeconds,omitempty"`
	Requires            string  `json:"requires,omitempty"`
	RequiresWaitSeconds int     `json:"requiresWaitSeconds,omitempty"`
	Windows             Windows `json:"windows,omitempty"`
}

// ServiceNames lists the services a published target deploys.
func (p Published) ServiceNames() []string {
	if len(p.Services) > 0 {
		return p.Services
	}
	return []string{p.Service}
}

// Published is the target's output value.
func (r Resolved) Published() Published {
	p := Published{Environment: r.Environment, Repository: r.Repository, Tag: r.Tag, Cluster: r.Cluster, Service: r.Service,
		Account: r.Account, Region: r.Region, Requires: r.Requires, Windows: r.Windows}
	for _, s := range r.Services {
		p.Services = append(p.Services, s.Service)
	}
	if r.Requires != "" {
		p.RequiresWaitSeconds = int(time.Duration(r.RequiresWait) / time.Second)
	}
	if r.Approval != nil {
		p.ApprovalSeconds = int(time.Duration(r.Approval.Timeout) / time.Second)
	}
	return p
}

// OutputValue is the JSON the output holds (well under CloudFormation's
// 4,096-byte limit on an output value: each field is bounded by validation).
func (p Published) OutputValue() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// Targets is what a deployed stack says its targets are.
type Targets []Published

// ReadPublished reads the targets from a stack's outputs (key → value). A
// stack without any, or an output that does not parse, is an error: the CLI
// must not guess what a push will do.
func ReadPublished(outputs map[string]string) (Targets, error) {
	var keys []string
	for k := range outputs {
		if strings.HasPrefix(k, PublishedOutputPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out Targets
	for _, k := range keys {
		var p Published
		if err := json.Unmarshal([]byte(outputs[k]), &p); err != nil || p.Environment == "" || p.Repository == "" || p.Tag == "" {
			return nil, fmt.Errorf("the stack's output %s is not a target (%q): deploy the stack again with this version (make deploy)", k, outputs[k])
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the stack publishes no targets (outputs %s1, …): it was deployed by an older version; deploy it again (make deploy)", PublishedOutputPrefix)
	}
	return out, nil
}

// ByImage finds the target a push of repository:tag deploys.
func (ts Targets) ByImage(repository, tag string) (Published, bool) {
	for _, t := range ts {
		if t.Repository == repository && t.Tag == tag {
			return t, true
		}
	}
	return Published{}, false
}

// ByEnvironment finds an environment's target.
func (ts Targets) ByEnvironment(env string) (Published, bool) {
	for _, t := range ts {
		if t.Environment == env {
			return t, true
		}
	}
	return Published{}, false
}

// EnvironmentOf is the environment an execution deploys to, as
// Config.EnvironmentOf reads it.
func (ts Targets) EnvironmentOf(repository, tag, env string) (string, bool) {
	if env != "" {
		_, ok := ts.ByEnvironment(env)
		return env, ok
	}
	t, ok := ts.ByImage(repository, tag)
	return t.Environment, ok
}

// Environments lists the environment names, sorted.
func (ts Targets) Environments() []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Environment)
	}
	sort.Strings(out)
	return out
}

// Closest is the environment name nearest to a mistyped one, if one is
// near enough to suggest: at most a third of its letters (and at least one)
// wrong, a swap of two neighbours counting once.
func (ts Targets) Closest(name string) (string, bool) {
	best, bestD := "", max(1, len(name)/3)+1
	for _, t := range ts {
		if d := editDistance(strings.ToLower(name), strings.ToLower(t.Environment)); d < bestD {
			best, bestD = t.Environment, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters each cost one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
