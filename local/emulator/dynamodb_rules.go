package emulator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// dynamodbRules are the DynamoDB API reference's prose constraints on the
// operations served (quoted from the SDK's doc comments; aws-sdk-go-v2
// service/dynamodb v1.74.0) that need no table to check. Those that do
// (the table exists, the key matches its schema, one action per item) are
// in the handlers. AWS answers all of them ValidationException.
var dynamodbRules = map[string][]rule{
	"GetItem": {
		tableNameRule(func(r request) []string { return []string{r.str("TableName")} }),
		{Cite: `GetItemInput.Key: "For the primary key, you must provide all of the attributes." AttributeValue: "Represents the data for an attribute. Each attribute value is described as a name-value pair … exactly one of the supported datatypes"`,
			Code:  "ValidationException",
			Check: func(r request) string { return checkAttributeValues(r["Key"]) }},
		{Cite: `GetItemInput.ProjectionExpression: "If no attribute names are specified, then all attributes are returned." (the emulator returns every attribute, so it refuses ProjectionExpression, AttributesToGet and ExpressionAttributeNames rather than ignore them)`,
			Code: "ValidationException",
			Check: func(r request) string {
				for _, k := range []string{"ProjectionExpression", "AttributesToGet", "ExpressionAttributeNames"} {
					if _, ok := r[k]; ok {
						return "the ecr-deployer emulator does not serve GetItem's " + k
					}
				}
				return ""
			}},
	},
	"TransactWriteItems": {
		tableNameRule(func(r request) []string {
			var out []string
			for _, x := range list(r["TransactItems"]) {
				if put, _ := x["Put"].(map[string]any); put != nil {
					n, _ := put["TableName"].(string)
					out = append(out, n)
				}
			}
			return out
		}),
		{Cite: `TransactWriteItem: "A list of requests that can perform update, put, delete, or check operations on multiple items in one or more tables atomically." (each element one of ConditionCheck, Put, Update, Delete)`,
			Code: "ValidationException",
			Check: func(r request) string {
				for i, x := range list(r["TransactItems"]) {
					n := 0
					for _, k := range []string{"ConditionCheck", "Put", "Update", "Delete"} {
						if x[k] != nil {
							n++
						}
					}
					if n != 1 {
						return fmt.Sprintf("1 validation error detected: Value at 'transactItems.%d.member' failed to satisfy constraint: TransactItems can only contain one of Check, Put, Update or Delete", i+1)
					}
					if x["Put"] == nil {
						return "the ecr-deployer emulator serves only Put in TransactWriteItems"
					}
				}
				return ""
			}},
		{Cite: `Put.Item: "A map of attribute name to attribute values" (each exactly one datatype); Put.ConditionExpression: "A condition that must be satisfied in order for a conditional update to succeed."; ExpressionAttributeNames/Values: "One or more substitution tokens … in an expression" (AWS refuses them unused, undefined or without an expression)`,
			Code: "ValidationException",
			Check: func(r request) string {
				for _, x := range list(r["TransactItems"]) {
					put, _ := x["Put"].(map[string]any)
					if put == nil {
						continue
					}
					if msg := checkAttributeValues(put["Item"]); msg != "" {
						return msg
					}
					if msg := checkCondition(put); msg != "" {
						return msg
					}
				}
				return ""
			}},
		{Cite: `Put: "An item size becomes too large (bigger than 400 KB) … DynamoDB rejects the entire TransactWriteItems request"`,
			Code: "ValidationException",
			Check: func(r request) string {
				for _, x := range list(r["TransactItems"]) {
					if put, _ := x["Put"].(map[string]any); put != nil {
						if b, _ := json.Marshal(put["Item"]); len(b) > 400*1024 {
							return "Item size has exceeded the maximum allowed size"
						}
					}
				}
				return ""
			}},
	},
}

// tableName is a table's name; TableName may also be its ARN.
var tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// tableNameRule checks the table names a request gives.
func tableNameRule(names func(request) []string) rule {
	return rule{Cite: `"Table names … must be between 3 and 255 characters long, and can contain only the following characters: a-z, A-Z, 0-9, _ (underscore), - (dash), . (dot)" (Naming rules, Amazon DynamoDB Developer Guide); GetItemInput.TableName: "You can also provide the Amazon Resource Name (ARN) of the table in this parameter."`,
		Code: "ValidationException",
		Check: func(r request) string {
			for _, n := range names(r) {
				if !strings.HasPrefix(n, "arn:") && !tableName.MatchString(n) {
					return fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255", n)
				}
			}
			return ""
		}}
}

// list is a request's list of structures.
func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// checkAttributeValues checks that each value of an attribute map sets
// exactly one datatype.
func checkAttributeValues(v any) string {
	m, _ := v.(map[string]any)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		av, _ := m[k].(map[string]any)
		n := 0
		for _, x := range av {
			if x != nil {
				n++
			}
		}
		switch {
		case n == 0:
			return "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
		case n > 1:
			return "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
		}
	}
	return ""
}

// checkCondition checks a write's ConditionExpression and its placeholders.
func checkCondition(w map[string]any) string {
	names, hasNames := w["ExpressionAttributeNames"].(map[string]any)
	values, hasValues := w["ExpressionAttributeValues"].(map[string]any)
	expr, _ := w["ConditionExpression"].(string)
	if hasValues && len(values) == 0 {
		return "ExpressionAttributeValues must not be empty"
	}
	if hasNames && len(names) == 0 {
		return "ExpressionAttributeNames must not be empty"
	}
	if expr == "" {
		switch {
		case hasValues:
			return "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"
		case hasNames:
			return "ExpressionAttributeNames can only be specified when using expressions"
		}
		return ""
	}
	c, msg := parseCondition(expr)
	if msg != "" {
		return msg
	}
	if msg := checkAttributeValues(values); msg != "" {
		return msg
	}
	return checkPlaceholders(c, names, values)
}
