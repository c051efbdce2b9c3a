package rig

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// IAM's SimulatePrincipalPolicy for the stack's roles, evaluated by the
// same engine (local/iam) that enforces their policies on every call the
// functions make: deployer check asks it whether each role may make each
// call a target needs. AWS Query protocol.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html

type simulateResponse struct {
	XMLName   xml.Name     `xml:"SimulatePrincipalPolicyResponse"`
	NS        string       `xml:"xmlns,attr"`
	Results   []evaluation `xml:"SimulatePrincipalPolicyResult>EvaluationResults>member"`
	Truncated bool         `xml:"SimulatePrincipalPolicyResult>IsTruncated"`
	Marker    string       `xml:"SimulatePrincipalPolicyResult>Marker,omitempty"`
	RequestID string       `xml:"ResponseMetadata>RequestId"`
}

type evaluation struct {
	Action   string `xml:"EvalActionName"`
	Resource string `xml:"EvalResourceName"`
	Decision string `xml:"EvalDecision"`
	// Matched names the statement that decided it (SourcePolicyId).
	Matched []string `xml:"MatchedStatements>member>SourcePolicyId"`
}

// simulateRequest is a SimulatePrincipalPolicy form, decoded.
type simulateRequest struct {
	source    string
	actions   []string
	resources []string
	context   map[string]string
	maxItems  int
	marker    int
}

// members reads a Query list: Name.member.1, Name.member.2, …
func members(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(fmt.Sprintf("%s.member.%d", name, i)); i++ {
		out = append(out, form.Get(fmt.Sprintf("%s.member.%d", name, i)))
	}
	return out
}

// parseSimulate reads the form, or says which documented constraint it
// breaks ("This member is required": ActionNames, PolicySourceArn; MaxItems
// 1–1000; a Marker this stack handed out).
func parseSimulate(form url.Values) (simulateRequest, string) {
	r := simulateRequest{source: form.Get("PolicySourceArn"), actions: members(form, "ActionNames"), resources: members(form, "ResourceArns"),
		context: map[string]string{}, maxItems: 100}
	switch {
	case r.source == "":
		return r, "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null"
	case len(r.actions) == 0:
		return r, "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null"
	}
	if v := form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return r, "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
		}
		r.maxItems = n
	}
	if v := form.Get("Marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, "Invalid Marker."
		}
		r.marker = n
	}
	if len(r.resources) == 0 {
		// "If this parameter is not provided, then the value defaults to * (all resources)."
		r.resources = []string{"*"}
	}
	for i := 1; form.Has(fmt.Sprintf("ContextEntries.member.%d.ContextKeyName", i)); i++ {
		p := fmt.Sprintf("ContextEntries.member.%d.", i)
		// One value per key is all the workflow's conditions compare.
		r.context[form.Get(p+"ContextKeyName")] = form.Get(p + "ContextKeyValues.member.1")
	}
	return r, ""
}

// simulatePrincipalPolicy evaluates each action on each resource under the
// role's policies. The caller needs iam:SimulatePrincipalPolicy on the role
// (the people's duty policies do not grant it: deployer check runs with the
// credentials that deploy the stack). A role the stack does not have is
// NoSuchEntity. "IAM might return fewer than the MaxItems number of results
// even when there are more results available": the adversarial mode's
// short pages do.
func (s *Stack) simulatePrincipalPolicy(w http.ResponseWriter, r *http.Request, form url.Values) {
	req, invalid := parseSimulate(form)
	if invalid != "" {
		queryError(w, http.StatusBadRequest, "ValidationError", invalid)
		return
	}
	if denied := s.guard.authorize(emulator.AccessKey(r), []iam.Request{{Action: "iam:SimulatePrincipalPolicy", Resource: req.source}}); denied != nil {
		queryError(w, http.StatusForbidden, "AccessDenied", denied.Error())
		return
	}
	policy := s.guard.roleNamed(strings.TrimPrefix(req.source, "arn:aws:iam::"+emulator.Account+":role/"))
	if policy == nil {
		queryError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", req.source[strings.LastIndex(req.source, "/")+1:]))
		return
	}
	var all []evaluation
	for _, action := range req.actions {
		for _, res := range req.resources {
			d := policy.Evaluate(iam.Request{Action: action, Resource: res, Context: req.context})
			ev := evaluation{Action: action, Resource: res, Decision: decision(d)}
			if d.Allowed {
				ev.Matched = []string{policy.Role}
			}
			all = append(all, ev)
		}
	}
	from, to, next, ok := emulator.Page(strconv.Itoa(req.marker), req.maxItems, 100, len(all))
	if !ok {
		queryError(w, http.StatusBadRequest, "ValidationError", "Invalid Marker.")
		return
	}
	to, next = s.Emulator.Adversary().ShortPage(emulator.AdvIAMShortPage, from, to, next)
	resp := simulateResponse{NS: "https://iam.amazonaws.com/doc/2010-05-08/", Results: all[from:to], Truncated: next != "", Marker: next,
		RequestID: "00000000-0000-0000-0000-000000000000"}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}

// decision is EvalDecision: allowed, explicitDeny or implicitDeny.
func decision(d iam.Decision) string {
	switch {
	case d.Allowed:
		return "allowed"
	case strings.HasPrefix(d.Reason, "explicitly denied"):
		return "explicitDeny"
	}
	return "implicitDeny"
}

// roleNamed is the policy of one of the stack's roles by its name (the
// local stack names a role after its logical ID), or nil.
func (g *guard) roleNamed(name string) *iam.Policy {
	if g == nil {
		return nil
	}
	pol := g.pol()
	for key, p := range pol.roles {
		if _, person := people[key]; !person && roleName(p.Role) == name {
			return p
		}
	}
	return nil
}
