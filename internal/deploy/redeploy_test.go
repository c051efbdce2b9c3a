package deploy

import (
	"strings"
	"testing"
)

func TestRollbackTarget(t *testing.T) {
	d := func(digest, rolledBackFrom string) Deployed {
		return Deployed{Digest: digest, Execution: digest, RolledBackFrom: rolledBackFrom}
	}
	cases := map[string]struct {
		newestFirst     []Deployed
		current, target string
		ok              bool
	}{
		"nothing deployed":           {nil, "", "", false},
		"one image only":             {[]Deployed{d("B", ""), d("B", "")}, "B", "", false},
		"the image before":           {[]Deployed{d("C", ""), d("C", ""), d("B", ""), d("A", "")}, "C", "B", true},
		"a rollback is not undone":   {[]Deployed{d("B", "C"), d("C", ""), d("B", ""), d("A", "")}, "B", "A", true},
		"twice goes further back":    {[]Deployed{d("A", "B"), d("B", "C"), d("C", ""), d("B", ""), d("A", "")}, "A", "", false},
		"an image pushed again wins": {[]Deployed{d("D", ""), d("B", "C"), d("C", "")}, "D", "B", true},
	}
	for name, tc := range cases {
		cur, target, ok := RollbackTarget(tc.newestFirst)
		if cur.Digest != tc.current || target.Digest != tc.target || ok != tc.ok {
			t.Errorf("%s: current %q, target %q, %v; want %q, %q, %v", name, cur.Digest, target.Digest, ok, tc.current, tc.target, tc.ok)
		}
	}
}

func TestPlanRedeploy(t *testing.T) {
	d := func(digest, rolledBackFrom string) Deployed {
		return Deployed{Digest: digest, Execution: "x-" + digest, RolledBackFrom: rolledBackFrom}
	}
	history := []Deployed{d("sha256:c", ""), d("sha256:b", ""), d("sha256:a", "")}
	cases := map[string]struct {
		to       string
		deployed []Deployed
		from     string
		want     string // To's digest, or the error's words
	}{
		"the image before":          {"", history, "sha256:c", "sha256:b"},
		"an earlier one by --to":    {"sha256:a", history, "sha256:c", "sha256:a"},
		"never deployed here":       {"sha256:f", history, "", "did not deploy sha256:f"},
		"the current one":           {"sha256:c", history, "", "already runs sha256:c"},
		"nothing deployed":          {"", nil, "", "nothing to roll back from"},
		"nothing deployed, with to": {"sha256:a", nil, "", "nothing to roll back from"},
		"only one image":            {"", []Deployed{d("sha256:c", "")}, "", "no earlier image"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			plan, err := PlanRedeploy("prod", tc.to, tc.deployed)
			if tc.from == "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("PlanRedeploy = %+v, %v; want an error saying %q", plan, err, tc.want)
				}
				return
			}
			if err != nil || plan.From.Digest != tc.from || plan.To.Digest != tc.want || plan.To.Execution != "x-"+tc.want {
				t.Fatalf("PlanRedeploy = %+v, %v; want from %s to %s", plan, err, tc.from, tc.want)
			}
		})
	}
}
