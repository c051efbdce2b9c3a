package emulator

import (
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// logsAuthz is what IAM evaluates for each CloudWatch Logs operation
// served. GetLogEvents is authorized on the log stream
// (arn:…:log-group:GROUP:log-stream:STREAM); unmasking needs logs:Unmask.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
var logsAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"GetLogEvents": func(e *Emulator, r request) []iam.Request {
		group := r.str("logGroupName")
		if group == "" {
			group = logGroupOf(r.str("logGroupIdentifier"))
		}
		out := []iam.Request{{Action: "logs:GetLogEvents", Resource: e.arn("logs", "log-group:"+group+":log-stream:"+r.str("logStreamName"))}}
		if r["unmask"] == true {
			out = append(out, iam.Request{Action: "logs:Unmask", Resource: e.arn("logs", "log-group:"+group)})
		}
		return out
	},
	// DescribeLogGroups has no resource types (Service Authorization
	// Reference): only a statement on "*" allows it.
	"DescribeLogGroups": func(e *Emulator, r request) []iam.Request {
		return []iam.Request{{Action: "logs:DescribeLogGroups", Resource: "*"}}
	},
}
