// Package eventpattern matches events against EventBridge event patterns, for
// the exact-value subset ecr-deployer's rules use.
package eventpattern

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Match reports whether event matches pattern: every field of the pattern
// must be present in the event; a nested object matches recursively; an array
// matches when the event's value equals one of its values.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
// Content filters (prefix, anything-but, numeric, …) are not supported and
// never match, so a pattern using them is noticed rather than half-applied.
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
			if !slices.ContainsFunc(p, func(want any) bool { _, isFilter := want.(map[string]any); return !isFilter && want == v }) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// FromTemplate returns the EventPattern of every AWS::Events::Rule in a
// CloudFormation template.
func FromTemplate(template []byte) ([]map[string]any, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				EventPattern map[string]any `json:"EventPattern"`
			} `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var out []map[string]any
	for _, r := range doc.Resources {
		if r.Type == "AWS::Events::Rule" && r.Properties.EventPattern != nil {
			out = append(out, r.Properties.EventPattern)
		}
	}
	return out, nil
}
