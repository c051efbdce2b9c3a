// Package eventpattern matches events against EventBridge event patterns, for
// the exact-value subset ecr-deployer's rules use.
package eventpattern

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Match reports whether event matches pattern: every field of the pattern
// must be present in the event; a nested object matches recursively; an array
// matches when the event's value equals one of its values, or, for an array
// in the event (such as resources), when one of its elements does.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
// Of the content filters, prefix matching ({"prefix": "ecr-deployer/"}) is
// supported; the others (anything-but, numeric, …) never match, so a pattern
// using them is noticed rather than half-applied.
func Match(pattern, event map[string]any) bool {
	for k, p := range pattern {
		v, ok := event[k]
		if !ok {
			return false
		}
		switch p := p.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok || !Match(p, sub) {
				return false
			}
		case []any:
			values, isArray := v.([]any)
			if !isArray {
				values = []any{v}
			}
			if !slices.ContainsFunc(values, func(v any) bool {
				return slices.ContainsFunc(p, func(want any) bool { return matchesValue(want, v) })
			}) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// matchesValue says whether one value of a pattern's array matches an event
// value: equal, or a {"prefix": …} filter the value (a string) begins with.
func matchesValue(want, v any) bool {
	filter, isFilter := want.(map[string]any)
	if !isFilter {
		return want == v
	}
	prefix, ok := filter["prefix"].(string)
	s, isString := v.(string)
	return ok && len(filter) == 1 && isString && strings.HasPrefix(s, prefix)
}

// Rule is an EventBridge rule of a CloudFormation template.
type Rule struct {
	// Name is the rule's logical ID.
	Name string
	// Pattern is its event pattern, with the pseudo parameters resolved.
	Pattern map[string]any
	// Target is the logical ID of its first target (Ref or Fn::GetAtt), and
	// TargetType that resource's type.
	Target, TargetType string
}

// Pseudo are the values of the pseudo parameters a pattern may use (ARNs
// built with Fn::Join from AWS::Partition, AWS::Region and AWS::AccountId).
type Pseudo struct{ Partition, Region, AccountID string }

// FromTemplate returns the rules of a CloudFormation template, sorted by name.
func FromTemplate(template []byte, p Pseudo) ([]Rule, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				EventPattern map[string]any `json:"EventPattern"`
				Targets      []struct {
					ARN any `json:"Arn"`
				} `json:"Targets"`
			} `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var out []Rule
	for name, r := range doc.Resources {
		if r.Type != "AWS::Events::Rule" || r.Properties.EventPattern == nil {
			continue
		}
		pattern, err := resolve(r.Properties.EventPattern, p)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", name, err)
		}
		rule := Rule{Name: name, Pattern: pattern.(map[string]any)}
		if len(r.Properties.Targets) > 0 {
			rule.Target = logicalID(r.Properties.Targets[0].ARN)
			rule.TargetType = doc.Resources[rule.Target].Type
		}
		out = append(out, rule)
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// resolve evaluates Ref to a pseudo parameter and Fn::Join, the intrinsic
// functions CDK uses to build ARNs in patterns.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
func resolve(v any, p Pseudo) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok && len(v) == 1 {
			switch ref {
			case "AWS::Partition":
				return p.Partition, nil
			case "AWS::Region":
				return p.Region, nil
			case "AWS::AccountId":
				return p.AccountID, nil
			}
			return nil, fmt.Errorf("cannot resolve Ref %s", ref)
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(v) == 1 && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			var out []string
			for _, part := range parts {
				r, err := resolve(part, p)
				if err != nil {
					return nil, err
				}
				s, ok := r.(string)
				if !ok {
					return nil, fmt.Errorf("Fn::Join of a non-string %v", r)
				}
				out = append(out, s)
			}
			return strings.Join(out, sep), nil
		}
		m := map[string]any{}
		for k, e := range v {
			r, err := resolve(e, p)
			if err != nil {
				return nil, err
			}
			m[k] = r
		}
		return m, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolve(e, p)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func logicalID(arn any) string {
	m, _ := arn.(map[string]any)
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	if att, ok := m["Fn::GetAtt"].([]any); ok && len(att) > 0 {
		s, _ := att[0].(string)
		return s
	}
	return ""
}
