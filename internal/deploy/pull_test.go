package deploy

import (
	"strings"
	"testing"
)

func TestJudgePull(t *testing.T) {
	const account = "222222222222"
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	cases := []struct {
		name, policy string
		granted      bool
		conditional  int
		why          string
	}{
		{"the account's root, both actions", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`), true, 0, ""},
		{"the account ID and a wildcard action", stmt(`{"Effect":"Allow","Principal":{"AWS":["111111111111","222222222222"]},"Action":"ecr:*"}`), true, 0, ""},
		{"a role of the account, actions in two statements", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/ecsTaskExecutionRole"},"Action":"ecr:BatchGetImage"},{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"ECR:GetDownloadUrlForLayer"}`), true, 0, ""},
		{"anyone, under the organization's condition", stmt(`{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}`), true, 2, ""},
		{"another account only", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`), false, 0, "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer"},
		{"one action missing", stmt(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"ecr:BatchGetImage"}`), false, 0, "ecr:GetDownloadUrlForLayer"},
		{"denied", stmt(`{"Effect":"Allow","Principal":"*","Action":"ecr:*"},{"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"ecr:BatchGetImage"}`), false, 0, "ecr:BatchGetImage (denied)"},
		{"a conditional deny does not take away", stmt(`{"Effect":"Allow","Principal":"*","Action":"ecr:*"},{"Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), true, 0, ""},
		{"a look-alike account", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::2222222222220:root"},"Action":"ecr:*"}`), false, 0, "ecr:BatchGetImage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := JudgePull(tc.policy, account)
			if err != nil {
				t.Fatal(err)
			}
			if g.Granted != tc.granted || len(g.Conditional) != tc.conditional || !strings.Contains(g.Why, tc.why) || (tc.why == "") != (g.Why == "") {
				t.Errorf("%+v", g)
			}
		})
	}
	if _, err := JudgePull("{", account); err == nil {
		t.Error("a policy that is not JSON was judged")
	}
}
