package emulator

import (
	"encoding/json"
	"regexp"
)

// sfnRules are the Step Functions API reference's prose constraints on the
// operations the local stack serves (aws-sdk-go-v2 service/sfn v1.41.2 doc
// comments); the local Step Functions API applies them with Validate.
var sfnRules = map[string][]rule{
	"StartExecution": {
		{Cite: `StartExecutionInput.Name: "A name must not contain: white space, brackets < > { } [ ], wildcard characters ? *, special characters " # % \ ^ | ~ ` + "`" + ` $ & , ; : /, control characters (U+0000-001F, U+007F-009F) … To enable logging with CloudWatch Logs, the name should only contain 0-9, A-Z, a-z, - and _."`,
			Code:  "InvalidName",
			Check: matches("name", regexp.MustCompile(`^[^\s<>{}\[\]?*"#%\\^|~`+"`"+`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$`), "Invalid Name: the name contains a character Step Functions does not allow"),
		},
		{Cite: `StartExecutionInput.Input: "The string that contains the JSON input data for the execution" (InvalidExecutionInput: "The provided JSON input data is not valid.")`,
			Code: "InvalidExecutionInput",
			Check: func(r request) string {
				if in, present := r["input"]; present && !json.Valid([]byte(r.str("input"))) && in != nil {
					return "Invalid State Machine Execution Input: the input is not valid JSON"
				}
				return ""
			}},
	},
	"ListExecutions": {
		{Cite: `ListExecutionsInput.MapRunArn: "You can specify either a mapRunArn or a stateMachineArn, but not both."`,
			Code: "ValidationException",
			Check: func(r request) string {
				if r.has("mapRunArn") == r.has("stateMachineArn") {
					return "Exactly one of stateMachineArn and mapRunArn must be given"
				}
				return ""
			}},
	},
	"SendTaskSuccess": {
		{Cite: `SendTaskSuccessInput.Output: "The JSON output of the task." (InvalidOutput: "The provided JSON output data is not valid.")`,
			Code: "InvalidOutput",
			Check: func(r request) string {
				if !json.Valid([]byte(r.str("output"))) {
					return "Invalid Output: the output is not valid JSON"
				}
				return ""
			}},
	},
}

func jsonUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }
