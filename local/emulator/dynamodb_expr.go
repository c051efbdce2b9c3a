package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// DynamoDB condition expressions, as far as the emulator serves them:
//
//	condition  = term { OR term }
//	term       = factor { AND factor }
//	factor     = NOT factor | "(" condition ")" | function | comparison
//	function   = attribute_exists "(" path ")" | attribute_not_exists "(" path ")"
//	comparison = operand ( "=" | "<>" ) operand
//	operand    = path | ":value"
//	path       = "#name"
//
// That is a subset of AWS's grammar. The rest (BETWEEN, IN, size, begins_with,
// contains, attribute_type, < > <= >=, document paths, and attribute names
// written without a # placeholder) is refused as ValidationException rather
// than evaluated by a guess: the stricter reading. AWS itself refuses a
// bare name that is a reserved word; the emulator refuses every bare name.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html

// condExpr is a parsed condition.
type condExpr interface {
	eval(item map[string]any, names map[string]string, values map[string]any) bool
}

type (
	logicExpr struct {
		and  bool // else OR
		l, r condExpr
	}
	notExpr    struct{ x condExpr }
	existsExpr struct {
		path string
		want bool
	}
	compareExpr struct {
		op   string
		l, r string // "#name" or ":value"
	}
)

func (x logicExpr) eval(i map[string]any, n map[string]string, v map[string]any) bool {
	if x.and {
		return x.l.eval(i, n, v) && x.r.eval(i, n, v)
	}
	return x.l.eval(i, n, v) || x.r.eval(i, n, v)
}

func (x notExpr) eval(i map[string]any, n map[string]string, v map[string]any) bool {
	return !x.x.eval(i, n, v)
}

func (x existsExpr) eval(i map[string]any, n map[string]string, _ map[string]any) bool {
	_, ok := i[n[x.path]]
	return ok == x.want
}

// eval compares two operands. "a = :v" is false and "a <> :v" true when the
// item has no attribute a ("If the attribute does not exist … the comparison
// evaluates to false" for =). Values compare by type and value.
func (x compareExpr) eval(i map[string]any, n map[string]string, v map[string]any) bool {
	operand := func(s string) (any, bool) {
		if strings.HasPrefix(s, ":") {
			return v[s], true
		}
		a, ok := i[n[s]]
		return a, ok
	}
	a, okA := operand(x.l)
	b, okB := operand(x.r)
	eq := okA && okB && sameValue(a, b)
	if x.op == "=" {
		return eq
	}
	return !eq
}

// sameValue compares two AttributeValues ({"S": "x"}, {"N": "1"}, …) by
// their canonical JSON.
func sameValue(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// parsedCondition is a condition and the placeholders it uses.
type parsedCondition struct {
	expr   condExpr
	names  map[string]bool
	values map[string]bool
}

// parseCondition parses a condition expression, or returns AWS's
// "Invalid ConditionExpression: …" message.
func parseCondition(s string) (parsedCondition, string) {
	toks, msg := lexCondition(s)
	if msg != "" {
		return parsedCondition{}, msg
	}
	p := &condParser{toks: toks, out: parsedCondition{names: map[string]bool{}, values: map[string]bool{}}}
	e, msg := p.or()
	if msg == "" && p.i < len(p.toks) {
		msg = p.syntax()
	}
	if msg != "" {
		return parsedCondition{}, msg
	}
	p.out.expr = e
	return p.out, ""
}

func lexCondition(s string) ([]string, string) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == '#' || c == ':' || c == '_' || isAlnum(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || isAlnum(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Sprintf("Invalid ConditionExpression: Syntax error; token: %q, near: %q", string(c), s[max(0, i-5):min(len(s), i+5)])
		}
	}
	if len(toks) == 0 {
		return nil, "Invalid ConditionExpression: The expression can not be empty;"
	}
	return toks, ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type condParser struct {
	toks []string
	i    int
	out  parsedCondition
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) syntax() string {
	if p.i >= len(p.toks) {
		return "Invalid ConditionExpression: Syntax error; token: <EOF>, near: " + fmt.Sprintf("%q", strings.Join(p.toks[max(0, len(p.toks)-2):], " "))
	}
	return fmt.Sprintf("Invalid ConditionExpression: Syntax error; token: %q, near: %q", p.toks[p.i], strings.Join(p.toks[max(0, p.i-1):min(len(p.toks), p.i+2)], " "))
}

func (p *condParser) or() (condExpr, string) { return p.chain("OR", p.and) }

func (p *condParser) and() (condExpr, string) { return p.chain("AND", p.factor) }

// chain parses operands joined by the keyword (OR, AND), left to right.
func (p *condParser) chain(keyword string, operand func() (condExpr, string)) (condExpr, string) {
	l, msg := operand()
	for msg == "" && strings.EqualFold(p.peek(), keyword) {
		p.i++
		var r condExpr
		r, msg = operand()
		l = logicExpr{and: keyword == "AND", l: l, r: r}
	}
	return l, msg
}

func (p *condParser) factor() (condExpr, string) {
	t := p.peek()
	switch {
	case strings.EqualFold(t, "NOT"):
		p.i++
		x, msg := p.factor()
		return notExpr{x}, msg
	case t == "(":
		p.i++
		x, msg := p.or()
		if msg != "" {
			return nil, msg
		}
		if p.peek() != ")" {
			return nil, p.syntax()
		}
		p.i++
		return x, ""
	case t == "attribute_exists" || t == "attribute_not_exists":
		p.i++
		if p.peek() != "(" {
			return nil, p.syntax()
		}
		p.i++
		path, msg := p.path()
		if msg != "" {
			return nil, msg
		}
		if p.peek() != ")" {
			return nil, p.syntax()
		}
		p.i++
		return existsExpr{path: path, want: t == "attribute_exists"}, ""
	}
	l, msg := p.operand()
	if msg != "" {
		return nil, msg
	}
	op := p.peek()
	switch op {
	case "=", "<>":
	case "<", "<=", ">", ">=":
		return nil, "Invalid ConditionExpression: the ecr-deployer emulator serves only = and <> comparisons; operator: " + op
	default:
		return nil, p.syntax()
	}
	p.i++
	r, msg := p.operand()
	if msg != "" {
		return nil, msg
	}
	return compareExpr{op: op, l: l, r: r}, ""
}

func (p *condParser) operand() (string, string) {
	if t := p.peek(); strings.HasPrefix(t, ":") && len(t) > 1 {
		p.i++
		p.out.values[t] = true
		return t, ""
	}
	return p.path()
}

func (p *condParser) path() (string, string) {
	t := p.peek()
	switch {
	case strings.HasPrefix(t, "#") && len(t) > 1:
		p.i++
		p.out.names[t] = true
		return t, ""
	case t != "" && (t[0] == '_' || isAlnum(t[0])):
		if p.i+1 < len(p.toks) && p.toks[p.i+1] == "(" {
			return "", fmt.Sprintf("Invalid ConditionExpression: the ecr-deployer emulator does not serve the function %s", t)
		}
		return "", fmt.Sprintf("Invalid ConditionExpression: the ecr-deployer emulator takes attribute names only as #placeholders (AWS refuses reserved words such as this one may be); attribute name: %s", t)
	}
	return "", p.syntax()
}

// checkPlaceholders is AWS's rule on ExpressionAttributeNames and
// ExpressionAttributeValues: each one given must be used, and each one used
// must be given.
func checkPlaceholders(c parsedCondition, names map[string]any, values map[string]any) string {
	for _, n := range sortedKeys(c.names) {
		if _, ok := names[n]; !ok {
			return "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: " + n
		}
	}
	for _, v := range sortedKeys(c.values) {
		if _, ok := values[v]; !ok {
			return "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: " + v
		}
	}
	var unusedNames, unusedValues []string
	for n := range names {
		if !c.names[n] {
			unusedNames = append(unusedNames, n)
		}
	}
	for v := range values {
		if !c.values[v] {
			unusedValues = append(unusedValues, v)
		}
	}
	sort.Strings(unusedNames)
	sort.Strings(unusedValues)
	switch {
	case len(unusedNames) > 0:
		return "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + strings.Join(unusedNames, ", ") + "}"
	case len(unusedValues) > 0:
		return "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + strings.Join(unusedValues, ", ") + "}"
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
