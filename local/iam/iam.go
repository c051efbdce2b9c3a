// Package iam evaluates the identity policies of a CloudFormation template
// the way IAM does for one principal's request: an explicit Deny wins, else
// an Allow whose Action, Resource and Condition all match, else the request
// is implicitly denied. The local stack uses it to refuse, with
// AccessDeniedException, every call a Lambda's role in template.json does
// not allow, as AWS would on a customer's first deploy.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
package iam

import (
	"encoding/json"
	"fmt"
	"slices"

	"sort"
	"strings"
)

// Request is what one API call asks IAM: an action on a resource, with the
// request's condition keys.
type Request struct {
	Action   string
	Resource string
	Context  map[string]string
}

// Statement is one statement of an identity policy, intrinsics resolved.
type Statement struct {
	Effect    string
	Actions   []string
	Resources []string
	// Condition is operator → key → values.
	Condition map[string]map[string][]string
	// Principals are a resource-based policy statement's principals:
	// "*", "service:<name>" or "aws:<arn or account>"; none in an identity policy.
	Principals []string
}

// Policy is every statement attached to one role.
type Policy struct {
	Role       string
	Statements []Statement
}

// Pseudo are the values of CloudFormation's pseudo parameters.
type Pseudo struct {
	Partition, Region, AccountID, StackName string
	// Ref and GetAtt, when set, give the physical value of another
	// resource of the template (a topic's ARN, a key's Arn attribute).
	Ref    func(logicalID string) (string, bool)
	GetAtt func(logicalID, attribute string) (string, bool)
}

// Decision is the outcome of an evaluation.
type Decision struct {
	Allowed bool
	// Reason says which statement allowed or denied it, or why none did.
	Reason string
}

// Evaluate decides a request under the policy.
func (p Policy) Evaluate(r Request) Decision {
	return p.decide(r, func(Statement) bool { return true }, "no identity-based policy allows the "+r.Action+" action")
}

// EvaluateFor decides a request by a resource-based policy (a topic's, a
// key's) for one principal, as "service:cloudwatch.amazonaws.com" or
// "aws:<arn>": only the statements naming it (or "*") apply; without an
// allow among them no resource-based policy allows it, which for a service
// principal is a denial.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
func (p Policy) EvaluateFor(principal string, r Request) Decision {
	names := func(s Statement) bool {
		return slices.Contains(s.Principals, "*") || slices.Contains(s.Principals, principal)
	}
	return p.decide(r, names, "no resource-based policy allows the "+r.Action+" action for "+principal)
}

// decide applies the statements that apply and match: an explicit deny
// wins, then an allow, else none allows (why).
func (p Policy) decide(r Request, applies func(Statement) bool, none string) Decision {
	var allowedBy string
	for i, s := range p.Statements {
		if !applies(s) || !s.matches(r) {
			continue
		}
		if s.Effect == "Deny" {
			return Decision{Reason: fmt.Sprintf("explicitly denied by statement %d of %s", i, p.Role)}
		}
		if allowedBy == "" {
			allowedBy = fmt.Sprintf("statement %d of %s", i, p.Role)
		}
	}
	if allowedBy != "" {
		return Decision{Allowed: true, Reason: allowedBy}
	}
	return Decision{Reason: none}
}

func (s Statement) matches(r Request) bool {
	return anyMatch(s.Actions, r.Action, true) && anyMatch(s.Resources, r.Resource, false) && conditionsHold(s.Condition, r.Context)
}

func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		if glob(p, value, fold) {
			return true
		}
	}
	return false
}

// glob matches IAM's wildcards: * any run of characters (including /), ? one.
func glob(pattern, value string, fold bool) bool {
	if fold {
		pattern, value = strings.ToLower(pattern), strings.ToLower(value)
	}
	// path.Match stops * at '/', which IAM does not: match segment-free.
	return wildcard(pattern, value)
}

func wildcard(p, v string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(v); i >= 0; i-- {
				if wildcard(p[1:], v[i:]) {
					return true
				}
			}
			return false
		case '?':
			if v == "" {
				return false
			}
			p, v = p[1:], v[1:]
		default:
			if v == "" || p[0] != v[0] {
				return false
			}
			p, v = p[1:], v[1:]
		}
	}
	return v == ""
}

// conditionsHold applies every condition operator; a key the request does
// not carry fails the condition unless the operator ends in IfExists, and an
// operator this evaluator does not know fails it (the stricter reading).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
func conditionsHold(cond map[string]map[string][]string, ctx map[string]string) bool {
	for op, keys := range cond {
		base, ifExists := strings.CutSuffix(op, "IfExists")
		for key, values := range keys {
			got, ok := ctx[key]
			if !ok {
				if ifExists {
					continue
				}
				return false
			}
			if !holds(base, got, values) {
				return false
			}
		}
	}
	return true
}

func holds(op, got string, values []string) bool {
	some := func(f func(string) bool) bool {
		for _, v := range values {
			if f(v) {
				return true
			}
		}
		return false
	}
	switch op {
	case "StringEquals", "ArnEquals":
		return some(func(v string) bool { return v == got })
	case "StringEqualsIgnoreCase":
		return some(func(v string) bool { return strings.EqualFold(v, got) })
	case "StringLike", "ArnLike":
		return some(func(v string) bool { return wildcard(v, got) })
	case "StringNotEquals", "ArnNotEquals":
		return !some(func(v string) bool { return v == got })
	case "StringNotLike", "ArnNotLike":
		return !some(func(v string) bool { return wildcard(v, got) })
	case "Bool":
		return some(func(v string) bool { return strings.EqualFold(v, got) })
	}
	return false
}

// Template holds the identity policies of a template's roles and which role
// each Lambda function runs with.
type Template struct {
	// Policies by role logical ID.
	Policies map[string]*Policy
	// FunctionRoles maps a function's logical ID to its role's logical ID.
	FunctionRoles map[string]string
	// Managed holds the AWS::IAM::ManagedPolicy resources by logical ID.
	Managed map[string]*Policy
	// Topics holds the topic policies (AWS::SNS::TopicPolicy) by topic
	// ARN: resource-based, evaluated with EvaluateFor.
	Topics map[string]*Policy
	// Roles holds the roles (AWS::IAM::Role) by logical ID: their name, if
	// the template gives one, and trust policy.
	Roles map[string]Role
	// BusPolicies holds the statements of the event bus policies
	// (AWS::Events::EventBusPolicy): who may put events on the bus.
	BusPolicies []Statement
}

// Role is a role of a template.
type Role struct {
	Name  string
	Trust *Policy
}

// FromTemplate reads the AWS::IAM::Policy and AWS::IAM::ManagedPolicy
// resources of a template, resolving the intrinsics they use.
func FromTemplate(tpl []byte, ps Pseudo) (*Template, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(tpl, &doc); err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t := &Template{Policies: map[string]*Policy{}, FunctionRoles: map[string]string{}, Managed: map[string]*Policy{}, Topics: map[string]*Policy{}, Roles: map[string]Role{}}
	policy := func(role string) *Policy {
		if t.Policies[role] == nil {
			t.Policies[role] = &Policy{Role: role}
		}
		return t.Policies[role]
	}
	ids := make([]string, 0, len(doc.Resources))
	for id := range doc.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := doc.Resources[id]
		switch r.Type {
		case "AWS::IAM::Policy":
			stmts, err := statements(r.Properties["PolicyDocument"], ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			roles, _ := r.Properties["Roles"].([]any)
			for _, ref := range roles {
				role, ok := refOf(ref)
				if !ok {
					return nil, fmt.Errorf("%s: a role that is not a Ref: %v", id, ref)
				}
				policy(role).Statements = append(policy(role).Statements, stmts...)
			}
		case "AWS::IAM::ManagedPolicy":
			stmts, err := statements(r.Properties["PolicyDocument"], ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			t.Managed[id] = &Policy{Role: id, Statements: stmts}
			// A managed policy attached to roles (CDK moves what does not fit
			// a role's inline policy into such "OverflowPolicy" documents)
			// grants those roles too.
			roles, _ := r.Properties["Roles"].([]any)
			for _, ref := range roles {
				role, ok := refOf(ref)
				if !ok {
					return nil, fmt.Errorf("%s: a role that is not a Ref: %v", id, ref)
				}
				policy(role).Statements = append(policy(role).Statements, stmts...)
			}
		case "AWS::SNS::TopicPolicy":
			// "A topic policy replaces the default policy": it alone says
			// which service principals may publish.
			stmts, err := statements(r.Properties["PolicyDocument"], ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			for _, topic := range strs(r.Properties["Topics"], ps) {
				t.Topics[topic] = &Policy{Role: id, Statements: stmts}
			}
		case "AWS::IAM::Role":
			stmts, err := statements(r.Properties["AssumeRolePolicyDocument"], ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			for i := range stmts {
				stmts[i].Resources = []string{"*"} // a trust policy is about its role
			}
			role := Role{Trust: &Policy{Role: id + " trust", Statements: stmts}}
			if n, ok := r.Properties["RoleName"]; ok {
				role.Name = resolve(n, ps)
			}
			t.Roles[id] = role
		case "AWS::Events::EventBusPolicy":
			stmts, err := statements(map[string]any{"Statement": []any{r.Properties["Statement"]}}, ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			t.BusPolicies = append(t.BusPolicies, stmts...)
		case "AWS::Lambda::Function":
			if g, ok := r.Properties["Role"].(map[string]any)["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				t.FunctionRoles[id] = fmt.Sprint(g[0])
			}
		}
	}
	return t, nil
}

func refOf(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	s, ok := m["Ref"].(string)
	return s, ok
}

func statements(doc any, ps Pseudo) ([]Statement, error) {
	d, _ := doc.(map[string]any)
	list, _ := d["Statement"].([]any)
	var out []Statement
	for i, raw := range list {
		m, _ := raw.(map[string]any)
		for _, unsupported := range []string{"NotAction", "NotResource", "NotPrincipal"} {
			if _, ok := m[unsupported]; ok {
				return nil, fmt.Errorf("statement %d: %s is not evaluated by the local stack", i, unsupported)
			}
		}
		s := Statement{Effect: fmt.Sprint(m["Effect"]), Actions: strs(m["Action"], ps), Resources: strs(m["Resource"], ps), Condition: map[string]map[string][]string{},
			Principals: principals(m["Principal"], ps)}
		if c, ok := m["Condition"].(map[string]any); ok {
			for op, keys := range c {
				s.Condition[op] = map[string][]string{}
				for k, v := range keys.(map[string]any) {
					s.Condition[op][k] = strs(v, ps)
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// principals reads a statement's Principal: "*", or {"Service": …,
// "AWS": …} with a name or a list each.
func principals(v any, ps Pseudo) []string {
	if v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		return []string{s}
	}
	m, _ := v.(map[string]any)
	var out []string
	for _, kind := range []string{"Service", "AWS"} {
		for _, p := range strs(m[kind], ps) {
			out = append(out, strings.ToLower(kind)+":"+p)
		}
	}
	return out
}

// strs resolves a string or a list of strings, intrinsics included.
func strs(v any, ps Pseudo) []string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, e := range l {
			out = append(out, resolve(e, ps))
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []string{resolve(v, ps)}
}

// resolve evaluates Ref (pseudo parameters), Fn::Join and Fn::Sub. What it
// cannot resolve (another resource's attribute) becomes a value no real ARN
// equals, so a statement naming it allows nothing here.
func resolve(v any, ps Pseudo) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			switch r {
			case "AWS::Partition":
				return ps.Partition
			case "AWS::Region":
				return ps.Region
			case "AWS::AccountId":
				return ps.AccountID
			case "AWS::StackName":
				return ps.StackName
			case "AWS::URLSuffix":
				return "amazonaws.com"
			}
			if ps.Ref != nil {
				if v, ok := ps.Ref(r); ok {
					return v
				}
			}
			return "unresolved:Ref:" + r
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			return strings.Join(strs(j[1], ps), fmt.Sprint(j[0]))
		}
		if s, ok := x["Fn::Sub"].(string); ok {
			r := strings.NewReplacer("${AWS::Partition}", ps.Partition, "${AWS::Region}", ps.Region, "${AWS::AccountId}", ps.AccountID, "${AWS::StackName}", ps.StackName)
			return r.Replace(s)
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			if ps.GetAtt != nil && len(g) == 2 {
				if v, ok := ps.GetAtt(fmt.Sprint(g[0]), fmt.Sprint(g[1])); ok {
					return v
				}
			}
			return fmt.Sprintf("unresolved:GetAtt:%v", g)
		}
	}
	return fmt.Sprintf("unresolved:%v", v)
}

// ParsePolicy reads a policy document (an identity policy, or a role's
// trust policy with its principals) as IAM stores it: plain JSON, no
// intrinsics. name names it in decisions.
func ParsePolicy(name string, doc []byte) (*Policy, error) {
	var d any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	st, err := statements(d, Pseudo{})
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	return &Policy{Role: name, Statements: st}, nil
}

// ParseTrustPolicy reads a role's trust policy: its statements name no
// Resource, since they apply to the role they are attached to.
func ParseTrustPolicy(name string, doc []byte) (*Policy, error) {
	p, err := ParsePolicy(name, doc)
	if err != nil {
		return nil, err
	}
	for i := range p.Statements {
		if len(p.Statements[i].Resources) > 0 {
			return nil, fmt.Errorf("policy %s: statement %d names a Resource, which a trust policy may not", name, i)
		}
		p.Statements[i].Resources = []string{"*"}
	}
	return p, nil
}
