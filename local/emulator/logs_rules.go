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
}
