package emulator

import (
	"bytes"
	"encoding/json"
)

// rule is a constraint that an API reference states in prose and the service
// model does not carry. Cite quotes the sentence; Check returns the error
// message AWS answers when the request breaks it, or "".
type rule struct {
	Cite  string
	Code  string
	Check func(r request) string
}

// request is a decoded request body.
type request map[string]any

// has says whether a member is present and not null (an empty list counts as absent).
func (r request) has(k string) bool {
	switch v := r[k].(type) {
	case nil:
		return false
	case []any:
		return len(v) > 0
	case string:
		return v != ""
	default:
		return true
	}
}

func (r request) str(k string) string { s, _ := r[k].(string); return s }

func (r request) count(k string) int { l, _ := r[k].([]any); return len(l) }

// modelErrorCode is the error each service answers a model violation with.
// ECS and ECR declare InvalidParameterException ("The specified parameter
// isn't valid") on every operation served here; Step Functions declares
// ValidationException. AWS does not document which code a model violation
// gets: these are the errors the operations declare for invalid input.
var modelErrorCode = map[string]string{"ecs": "InvalidParameterException", "ecr": "InvalidParameterException", "stepfunctions": "ValidationException", "logs": "InvalidParameterException", "sns": "InvalidParameter", "dynamodb": "ValidationException"}

// serviceRules are each service's prose constraints, by operation.
var serviceRules = map[string]map[string][]rule{"ecs": ecsRules, "ecr": ecrRules, "stepfunctions": sfnRules, "logs": logsRules, "sns": snsRules, "dynamodb": dynamodbRules}

// Validate checks a request to one of the served services (ecs, ecr,
// stepfunctions) against the service model and the prose rules, and
// returns AWS's error code and message, or "" when the request is valid.
func Validate(service, op string, body []byte) (code, msg string) {
	m, err := serviceModel(service)
	if err != nil {
		return "ServerException", "emulator: " + err.Error()
	}
	var r request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return "SerializationException", "the request body is not a JSON object"
	}
	if v := m.validate(op, map[string]any(r)); len(v) > 0 {
		return modelErrorCode[service], validationMessage(v)
	}
	for _, ru := range serviceRules[service][op] {
		if msg := ru.Check(r); msg != "" {
			return ru.Code, msg
		}
	}
	return "", ""
}

// RuleCitations lists every prose rule's citation, by service and operation.
func RuleCitations() map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for svc, ops := range serviceRules {
		out[svc] = map[string][]string{}
		for op, rs := range ops {
			for _, r := range rs {
				out[svc][op] = append(out[svc][op], r.Cite)
			}
		}
	}
	return out
}
