package rig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CloudWatch's alarms publish to the notification topic only because its
// policy allows cloudwatch.amazonaws.com: the topic policy replaces SNS's
// default one. Evaluated on the committed local template, and on the same
// template with that Allow removed (aws-solutions/automated-security-response-on-aws #43).
func TestAlarmsMayPublishOnlyWhereTheTopicPolicyAllowsThem(t *testing.T) {
	b, err := os.ReadFile("../template.json")
	if err != nil {
		t.Fatal(err)
	}
	without := withoutStatement(t, b, "AllowThisAccountsAlarmsToPublish")
	for _, tc := range []struct {
		name    string
		tpl     []byte
		allowed bool
	}{{"the committed template", b, true}, {"without the Allow for CloudWatch", without, false}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "template.json")
			if err := os.WriteFile(file, tc.tpl, 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := newGuard(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.pol().topics) != 1 {
				t.Fatalf("%d topic policies read, want the notification topic's", len(g.pol().topics))
			}
			for topic := range g.pol().topics {
				own := g.servicePublish("cloudwatch.amazonaws.com", topic, "arn:aws:cloudwatch:us-west-2:123456789012:alarm:EcrDeployer-DeadLetters")
				if own.Allowed != tc.allowed {
					t.Fatalf("this account's alarm: %+v, want allowed %v", own, tc.allowed)
				}
				foreign := g.servicePublish("cloudwatch.amazonaws.com", topic, "arn:aws:cloudwatch:us-west-2:999999999999:alarm:theirs")
				if foreign.Allowed {
					t.Fatalf("another account's alarm may publish: %+v", foreign)
				}
			}
		})
	}
}

func withoutStatement(t *testing.T, tpl []byte, sid string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(tpl, &doc); err != nil {
		t.Fatal(err)
	}
	removed := false
	for _, r := range doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::SNS::TopicPolicy" {
			continue
		}
		pd := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		var kept []any
		for _, st := range pd["Statement"].([]any) {
			if st.(map[string]any)["Sid"] == sid {
				removed = true
				continue
			}
			kept = append(kept, st)
		}
		pd["Statement"] = kept
	}
	if !removed {
		t.Fatalf("no statement %s in the template's topic policy", sid)
	}
	out, _ := json.Marshal(doc)
	if strings.Contains(string(out), sid) {
		t.Fatal("the statement is still there")
	}
	return out
}
