package emulator

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// ecsRules are the ECS API reference's prose constraints on the operations
// served here (quoted from the SDK's doc comments, which carry the
// reference's member descriptions; aws-sdk-go-v2 service/ecs v1.105.1).
// The error messages are AWS's where known (cited), else ours.
var ecsRules = map[string][]rule{
	"DescribeServiceDeployments": {
		{Cite: `DescribeServiceDeploymentsInput.ServiceDeploymentArns: "You can specify a maximum of 20 ARNs."`,
			Code:  "InvalidParameterException",
			Check: maxItems("serviceDeploymentArns", 20)},
	},
	"ListServiceDeployments": {
		{Cite: `ListServiceDeploymentsInput.MaxResults: "This value can be between 1 and 100. If this parameter isn't used, then ListServiceDeployments returns up to 20 results"`,
			Code:  "InvalidParameterException",
			Check: intRange("maxResults", 1, 100)},
	},
	"StopServiceDeployment": {
		{Cite: `StopServiceDeploymentInput.StopType: "How you want Amazon ECS to stop the service. The valid values are ROLLBACK." (the model's enum also lists ABORT; the stricter reading refuses it)`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("stopType") && r.str("stopType") != "ROLLBACK" {
					return "The stop type " + r.str("stopType") + " is not supported. The valid value is ROLLBACK."
				}
				return ""
			}},
	},
	"ListTasks": {
		{Cite: `ListTasksInput.StartedBy: "When you specify startedBy as the filter, it must be the only filter that you use." (AWS answers "cannot specify startedBy with other arguments", aws/aws-sdk-go-v2#1893)`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("startedBy") && (r.has("serviceName") || r.has("family") || r.has("containerInstance") || r.has("desiredStatus") || r.has("launchType") || r.has("daemonName")) {
					return "cannot specify startedBy with other arguments"
				}
				return ""
			}},
		{Cite: `ListTasks: serviceName and family cannot be combined (AWS-FACTS.md; ListTasks API reference)`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("serviceName") && r.has("family") {
					return "cannot specify both serviceName and family"
				}
				return ""
			}},
		{Cite: `ListTasksInput.MaxResults: "This value can be between 1 and 100."`,
			Code:  "InvalidParameterException",
			Check: intRange("maxResults", 1, 100)},
	},
	"RunTask": {
		{Cite: `RunTaskInput.CapacityProviderStrategy: "If a capacityProviderStrategy is specified, the launchType parameter must be omitted."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if r.has("launchType") && r.has("capacityProviderStrategy") {
					return "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
				}
				return ""
			}},
		{Cite: `RunTaskInput.CapacityProviderStrategy: "A capacity provider strategy can contain a maximum of 20 capacity providers."`,
			Code:  "InvalidParameterException",
			Check: maxItems("capacityProviderStrategy", 20)},
		{Cite: `RunTaskInput.Count: "You can specify up to 10 tasks for each call."`,
			Code:  "InvalidParameterException",
			Check: intRange("count", 1, 10)},
		{Cite: `RunTaskInput.ClientToken: "Up to 64 characters are allowed. The valid characters are characters in the range of 33-126, inclusive."`,
			Code:  "InvalidParameterException",
			Check: matches("clientToken", regexp.MustCompile(`^[\x21-\x7e]{1,64}$`), "clientToken must be 1-64 characters in the range 33-126")},
		{Cite: `RunTaskInput.StartedBy: "Up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and underscores (_) are allowed."`,
			Code:  "InvalidParameterException",
			Check: matches("startedBy", regexp.MustCompile(`^[A-Za-z0-9/_-]{1,128}$`), "startedBy must be up to 128 letters, numbers, hyphens, forward slashes and underscores")},
		{Cite: `RunTaskInput.Overrides: "A total of 8192 characters are allowed for overrides. This limit includes the JSON formatting characters of the override structure."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if o, ok := r["overrides"]; ok && o != nil {
					if b, _ := json.Marshal(o); len(b) > 8192 {
						return fmt.Sprintf("Container Overrides length must be at most 8192 (it is %d)", len(b))
					}
				}
				return ""
			}},
		{Cite: `RunTaskInput.PlacementConstraints: "You can specify up to 10 constraints for each task"; PlacementStrategy: "a maximum of 5 strategy rules for each task."`,
			Code: "InvalidParameterException",
			Check: func(r request) string {
				if m := maxItems("placementConstraints", 10)(r); m != "" {
					return m
				}
				return maxItems("placementStrategy", 5)(r)
			}},
	},
	"DescribeTasks": {
		{Cite: `DescribeTasksInput.Tasks: "A list of up to 100 task IDs or full ARN entries."`,
			Code:  "InvalidParameterException",
			Check: itemsBetween("tasks", 1, 100)},
	},
	"DescribeServices": {
		{Cite: `DescribeServicesInput.Services: "You may specify up to 10 services to describe in a single operation."`,
			Code:  "InvalidParameterException",
			Check: itemsBetween("services", 1, 10)},
	},
	"RegisterTaskDefinition": {
		{Cite: `RegisterTaskDefinitionInput.Family: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."`,
			Code:  "ClientException",
			Check: matches("family", regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`), "Family contains invalid characters or is longer than 255")},
	},
}

func intRange(member string, lo, hi int) func(request) string {
	return func(r request) string {
		n, ok := r[member].(json.Number)
		if !ok {
			return ""
		}
		if v, err := n.Int64(); err != nil || v < int64(lo) || v > int64(hi) {
			return fmt.Sprintf("%s must be between %d and %d", member, lo, hi)
		}
		return ""
	}
}

func maxItems(member string, n int) func(request) string {
	return func(r request) string {
		if c := r.count(member); c > n {
			return fmt.Sprintf("%s can have at most %d items (it has %d)", member, n, c)
		}
		return ""
	}
}

func itemsBetween(member string, lo, hi int) func(request) string {
	return func(r request) string {
		if c := r.count(member); c < lo || c > hi {
			return fmt.Sprintf("%s must have between %d and %d items (it has %d)", member, lo, hi, c)
		}
		return ""
	}
}

func matches(member string, re *regexp.Regexp, msg string) func(request) string {
	return func(r request) string {
		if _, present := r[member]; present && !re.MatchString(r.str(member)) {
			return msg
		}
		return ""
	}
}
