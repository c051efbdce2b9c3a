// Package rules holds the EventBridge patterns of the rules that wake a
// waiting execution on ECS events. The CDK app puts them in template.json;
// the local stack routes the emulator's ECS events with them, for whichever
// targets file it runs, so both use the same patterns.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html
package rules

import (
	"fmt"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// Pattern is an event pattern: each field lists the values that match.
// ARNs are *string so that the CDK app can pass CloudFormation tokens.
type Pattern struct {
	Source     []string
	DetailType []string
	Resources  []*string
	Detail     map[string]any
}

// ARN makes the ARN of an ECS resource ("cluster" or "service") and name,
// in an account and Region (empty: the stack's own; a target elsewhere
// forwards its events to the deployer's bus unchanged, docs/multi-account.md).
type ARN func(account, region, resource, name string) *string

// Rule is a wake rule's name and pattern.
type Rule struct {
	Name    string
	Pattern Pattern
}

// Rule names: the first rule of a kind has the name, the next ones a number
// after it ("DeploymentStateRule2").
const (
	MigrationStoppedRule = "MigrationStoppedRule"
	DeploymentStateRule  = "DeploymentStateRule"
	HookStateRule        = "HookStateRule"
)

// patternBudget is how many characters of ARNs one rule's pattern lists:
// EventBridge allows a pattern 4,096 characters (PutRule), and the rest of
// the pattern takes a few hundred.
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
const patternBudget = 3400

// arnChars is what an ECS ARN of the resource and name takes in a pattern,
// with the longest commercial Region name, a 12-digit account, its quotes
// and comma.
func arnChars(resource, name string) int {
	return len("arn:aws:ecs:ap-southeast-2:123456789012:") + len(resource) + 1 + len(name) + 3
}

// Wake returns the wake rules for the targets: the migrations of their
// clusters stopping, their services' deployments (each cluster and service
// named once), and pause hooks awaiting action. A list of ARNs too long
// for one pattern is spread over several rules of the kind.
func Wake(targets []config.Resolved, arn ARN) []Rule {
	type named struct{ account, region, resource, name string }
	var clusters, services []named
	seen := map[named]bool{}
	for _, t := range targets {
		if c := (named{t.Account, t.Region, "cluster", t.Cluster}); !seen[c] {
			seen[c] = true
			clusters = append(clusters, c)
		}
		for _, ref := range t.AllServices() {
			if svc := (named{t.Account, t.Region, "service", t.Cluster + "/" + ref.Service}); !seen[svc] {
				seen[svc] = true
				services = append(services, svc)
			}
		}
	}
	chunks := func(list []named) [][]*string {
		var out [][]*string
		var cur []*string
		size := 0
		for _, n := range list {
			c := arnChars(n.resource, n.name)
			if len(cur) > 0 && size+c > patternBudget {
				out, cur, size = append(out, cur), nil, 0
			}
			cur, size = append(cur, arn(n.account, n.region, n.resource, n.name)), size+c
		}
		return append(out, cur)
	}
	var out []Rule
	name := func(base string, i int) string {
		if i == 0 {
			return base
		}
		return fmt.Sprintf("%s%d", base, i+1)
	}
	for i, c := range chunks(clusters) {
		out = append(out, Rule{name(MigrationStoppedRule, i), TaskStopped(c)})
	}
	for i, s := range chunks(services) {
		out = append(out, Rule{name(DeploymentStateRule, i), DeploymentState(s)})
	}
	return append(out, Rule{HookStateRule, HookState()})
}

// HookState matches a pause hook awaiting action (ECS Hook State Change,
// HOOK_AWAITING_ACTION). The developer guide documents no example event, so
// no field but the event name is relied on: Wake finds the service in it
// and ignores hooks of services no execution waits for.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
func HookState() Pattern {
	return Pattern{
		Source:     []string{"aws.ecs"},
		DetailType: []string{"ECS Hook State Change"},
		Detail:     map[string]any{"eventName": []string{"HOOK_AWAITING_ACTION"}},
	}
}

// TaskStopped matches the STOPPED task state change of a task ecr-deployer
// started (RunTask startedBy) in one of the clusters.
func TaskStopped(clusterARNs []*string) Pattern {
	return Pattern{
		Source:     []string{"aws.ecs"},
		DetailType: []string{"ECS Task State Change"},
		Detail: map[string]any{
			"lastStatus": []string{"STOPPED"},
			// Ours name their execution (ecr-deployer/<name>); tasks started by
			// earlier versions, just ecr-deployer.
			"startedBy":  []any{deploy.StartedBy, map[string]any{"prefix": deploy.StartedByPrefix}},
			"clusterArn": clusterARNs,
		},
	}
}

// DeploymentState matches every deployment state change of the services:
// ours completing or failing, ECS's rollback, or somebody else's deployment.
func DeploymentState(serviceARNs []*string) Pattern {
	return Pattern{
		Source:     []string{"aws.ecs"},
		DetailType: []string{"ECS Deployment State Change"},
		Resources:  serviceARNs,
	}
}

// Map is the pattern as EventBridge reads it (JSON field names).
func (p Pattern) Map() map[string]any {
	m := map[string]any{}
	list := func(vs []string) []any {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	}
	if len(p.Source) > 0 {
		m["source"] = list(p.Source)
	}
	if len(p.DetailType) > 0 {
		m["detail-type"] = list(p.DetailType)
	}
	if len(p.Resources) > 0 {
		var rs []any
		for _, r := range p.Resources {
			rs = append(rs, *r)
		}
		m["resources"] = rs
	}
	if len(p.Detail) > 0 {
		d := map[string]any{}
		for k, v := range p.Detail {
			switch v := v.(type) {
			case []string:
				d[k] = list(v)
			case []*string:
				var vs []any
				for _, s := range v {
					vs = append(vs, *s)
				}
				d[k] = vs
			case []any:
				d[k] = v
			}
		}
		m["detail"] = d
	}
	return m
}
