package emulator

import (
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// dynamodbAuthz is what IAM evaluates for each DynamoDB operation served:
// GetItem is authorized on the table; TransactWriteItems has no action of
// its own, each of its actions is authorized as the single-item operation
// it amounts to (a Put as dynamodb:PutItem) on its table.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
var dynamodbAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"GetItem": func(e *Emulator, r request) []iam.Request {
		return []iam.Request{{Action: "dynamodb:GetItem", Resource: e.tableARN(r.str("TableName"))}}
	},
	"TransactWriteItems": func(e *Emulator, r request) []iam.Request {
		var out []iam.Request
		for _, x := range list(r["TransactItems"]) {
			if put, _ := x["Put"].(map[string]any); put != nil {
				t, _ := put["TableName"].(string)
				out = append(out, iam.Request{Action: "dynamodb:PutItem", Resource: e.tableARN(t)})
			}
		}
		return out
	},
}
