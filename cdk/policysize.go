package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// IAM's size quotas, in characters without whitespace: a role's inline
// policies together, one managed policy, and the managed policies one role
// may have attached (the default quota); and EventBridge's limits on a
// rule's event pattern and description (PutRule: EventPattern at most 4,096
// characters, Description 512). CloudFormation fails the whole deployment
// when one is passed, so synth checks them first.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
const (
	MaxInlinePolicyChars  = 10240
	MaxManagedPolicyChars = 6144
	MaxManagedPerRole     = 10
	MaxEventPatternChars  = 4096
	MaxRuleDescription    = 512
	// CloudFormation's: resources and outputs per template, and a
	// template's size in S3.
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
	MaxResources     = 500
	MaxOutputs       = 200
	MaxTemplateBytes = 1_000_000
)

// policyPseudo resolves a template's intrinsics as a long, real account
// would: the longest commercial Region name, a 12-digit account.
var policyPseudo = map[string]string{"AWS::Partition": "aws", "AWS::Region": "ap-southeast-2", "AWS::AccountId": "123456789012",
	"AWS::StackName": StackName, "AWS::URLSuffix": "amazonaws.com"}

// CheckQuotas measures each role's inline policies and each managed policy
// of a synthesized template as IAM counts them, each rule's pattern and
// description, and the template's resources, outputs and size, and lists
// what passes a quota.
func CheckQuotas(template []byte) ([]string, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
		Outputs map[string]any `json:"Outputs"`
	}
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, err
	}
	inline, managed := map[string]int{}, map[string]int{}
	var problems []string
	if n := len(doc.Resources); n > MaxResources {
		problems = append(problems, fmt.Sprintf("the template has %d resources (CloudFormation allows %d)", n, MaxResources))
	}
	if n := len(doc.Outputs); n > MaxOutputs {
		problems = append(problems, fmt.Sprintf("the template has %d outputs (CloudFormation allows %d)", n, MaxOutputs))
	}
	if n := len(template); n > MaxTemplateBytes {
		problems = append(problems, fmt.Sprintf("the template is %d bytes (CloudFormation allows %d from S3)", n, MaxTemplateBytes))
	}
	for id, r := range doc.Resources {
		if r.Type == "AWS::Events::Rule" {
			b, err := json.Marshal(resolveIntrinsics(r.Properties["EventPattern"]))
			if err != nil {
				return nil, err
			}
			if len(b) > MaxEventPatternChars {
				problems = append(problems, fmt.Sprintf("rule %s's event pattern is %d characters (EventBridge allows %d)", id, len(b), MaxEventPatternChars))
			}
			if d, _ := r.Properties["Description"].(string); len(d) > MaxRuleDescription {
				problems = append(problems, fmt.Sprintf("rule %s's description is %d characters (EventBridge allows %d)", id, len(d), MaxRuleDescription))
			}
			continue
		}
		if r.Type != "AWS::IAM::Policy" && r.Type != "AWS::IAM::ManagedPolicy" {
			continue
		}
		b, err := json.Marshal(resolveIntrinsics(r.Properties["PolicyDocument"]))
		if err != nil {
			return nil, err
		}
		size := len(b)
		roles, _ := r.Properties["Roles"].([]any)
		if r.Type == "AWS::IAM::ManagedPolicy" && size > MaxManagedPolicyChars {
			problems = append(problems, fmt.Sprintf("managed policy %s is %d characters (IAM allows %d)", id, size, MaxManagedPolicyChars))
		}
		for _, ref := range roles {
			role := fmt.Sprint(ref.(map[string]any)["Ref"])
			if r.Type == "AWS::IAM::Policy" {
				inline[role] += size
			} else {
				managed[role]++
			}
		}
	}
	for role, n := range inline {
		if n > MaxInlinePolicyChars {
			problems = append(problems, fmt.Sprintf("role %s's inline policies are %d characters (IAM allows %d)", role, n, MaxInlinePolicyChars))
		}
	}
	for role, n := range managed {
		if n > MaxManagedPerRole {
			problems = append(problems, fmt.Sprintf("role %s has %d managed policies attached (IAM allows %d)", role, n, MaxManagedPerRole))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// resolveIntrinsics renders Ref, Fn::Join and Fn::GetAtt the way
// CloudFormation will, with placeholders as long as the real values.
func resolveIntrinsics(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveIntrinsics(e)
		}
		return out
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			if p, ok := policyPseudo[r]; ok {
				return p
			}
			return "arn:aws:service:ap-southeast-2:123456789012:resource/" + r + "-ABCDEFGHIJKL"
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var s []string
			for _, p := range parts {
				s = append(s, fmt.Sprint(resolveIntrinsics(p)))
			}
			return strings.Join(s, fmt.Sprint(j[0]))
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return fmt.Sprintf("arn:aws:service:ap-southeast-2:123456789012:resource/%s-%s-ABCDEFGHIJKL", StackName, g[0])
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveIntrinsics(e)
		}
		return out
	}
	return v
}
