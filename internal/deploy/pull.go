package deploy

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// PullActions are what an account's tasks need of a repository in another
// account to pull its images (the central-repository layout of
// docs/multi-account.md).
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html
var PullActions = []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}

// PullGrant is what a repository policy says of an account's pulls.
type PullGrant struct {
	// Granted: every pull action is allowed to the account and none is
	// denied to it without a condition.
	Granted bool
	// Conditional lists the actions allowed only under a condition, which
	// only AWS can evaluate (aws:PrincipalOrgID, …).
	Conditional []string
	// Why says what is missing when not granted.
	Why string
}

// JudgePull reads a repository policy for an account's pulls. The stricter
// reading: a statement names the account by its ID, its root, an ARN of the
// account, or "*"; NotPrincipal and NotAction statements are not counted
// as grants.
func JudgePull(policyText, account string) (PullGrant, error) {
	var doc struct {
		Statement []policyStatement
	}
	if err := json.Unmarshal([]byte(policyText), &doc); err != nil {
		return PullGrant{}, fmt.Errorf("the repository policy is not JSON: %w", err)
	}
	var g PullGrant
	var missing []string
	for _, action := range PullActions {
		allowed, conditional, denied := false, false, false
		for _, st := range doc.Statement {
			if !st.names(account) || !st.covers(action) {
				continue
			}
			switch {
			case st.Effect == "Deny" && len(st.Condition) == 0:
				denied = true
			case st.Effect == "Allow" && len(st.Condition) > 0:
				conditional = true
			case st.Effect == "Allow":
				allowed = true
			}
		}
		switch {
		case denied:
			missing = append(missing, action+" (denied)")
		case allowed:
		case conditional:
			g.Conditional = append(g.Conditional, action)
		default:
			missing = append(missing, action)
		}
	}
	g.Granted = len(missing) == 0
	if !g.Granted {
		g.Why = "it does not allow account " + account + " " + strings.Join(missing, ", ")
	}
	return g, nil
}

// policyStatement is a statement of a resource policy, its members in
// their string or list forms.
type policyStatement struct {
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	Condition map[string]json.RawMessage
}

// names says whether the statement's Principal is the account.
func (s policyStatement) names(account string) bool {
	var star string
	if json.Unmarshal(s.Principal, &star) == nil {
		return star == "*"
	}
	var p struct{ AWS json.RawMessage }
	if json.Unmarshal(s.Principal, &p) != nil {
		return false
	}
	for _, v := range stringsOf(p.AWS) {
		if v == "*" || v == account || strings.HasPrefix(v, "arn:aws:iam::"+account+":") || strings.HasPrefix(v, "arn:aws-cn:iam::"+account+":") || strings.HasPrefix(v, "arn:aws-us-gov:iam::"+account+":") {
			return true
		}
	}
	return false
}

// covers says whether the statement's Action matches the action (IAM's
// wildcards, case-insensitive).
func (s policyStatement) covers(action string) bool {
	for _, a := range stringsOf(s.Action) {
		if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// stringsOf reads a string or a list of strings.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}
