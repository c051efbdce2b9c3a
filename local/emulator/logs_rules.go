package emulator

// logsRules are the CloudWatch Logs API reference's prose constraints on
// the operations served here (quoted from the SDK's doc comments;
// aws-sdk-go-v2 service/cloudwatchlogs v1.92.2).
var logsRules = map[string][]rule{
	"GetLogEvents": {
		{Cite: `GetLogEventsInput.LogGroupName: "You must include either logGroupIdentifier or logGroupName, but not both."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				switch {
				case r.has("logGroupName") && r.has("logGroupIdentifier"):
					return "Only one of logGroupName or logGroupIdentifier may be specified."
				case !r.has("logGroupName") && !r.has("logGroupIdentifier"):
					return "Either logGroupName or logGroupIdentifier must be specified."
				}
				return ""
			}},
		{Cite: `GetLogEventsInput.StartFromHead: "If you are using a previous nextForwardToken value as the nextToken in this operation, you must specify true for startFromHead."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if tok := r.str("nextToken"); len(tok) > 2 && tok[:2] == "f/" && r["startFromHead"] != true {
					return "startFromHead must be true when nextToken is a nextForwardToken."
				}
				return ""
			}},
	},
	"DescribeLogGroups": {
		{Cite: `DescribeLogGroupsInput.LogGroupNamePrefix: "logGroupNamePrefix and logGroupNamePattern are mutually exclusive. Only one of these parameters can be passed."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("logGroupNamePrefix") && r.has("logGroupNamePattern") {
					return "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
				}
				return ""
			}},
		{Cite: `DescribeLogGroupsInput.LogGroupIdentifiers: "If you specify this parameter, the only other filter that you can choose to specify is includeLinkedAccounts."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("logGroupIdentifiers") && (r.has("logGroupNamePrefix") || r.has("logGroupNamePattern") || r.has("logGroupClass")) {
					return "logGroupIdentifiers cannot be combined with other filters besides includeLinkedAccounts."
				}
				return ""
			}},
	},
}
