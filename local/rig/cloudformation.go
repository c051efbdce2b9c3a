package rig

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// CloudFormation's DescribeStacks for the one stack the local stack stands
// for: its outputs are the template's, evaluated for the local resources,
// so the CLI learns the state machine and the targets from the stack as it
// does in AWS. AWS Query protocol.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html

// StackID is the local stack's ID (its ARN).
var StackID = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000001", emulator.Region, emulator.Account, StackName)

type cfnOutput struct {
	OutputKey   string `xml:"OutputKey"`
	OutputValue string `xml:"OutputValue"`
	Description string `xml:"Description,omitempty"`
}

type describeStacksResponse struct {
	XMLName xml.Name `xml:"DescribeStacksResponse"`
	NS      string   `xml:"xmlns,attr"`
	Stacks  []struct {
		StackName    string      `xml:"StackName"`
		StackID      string      `xml:"StackId"`
		CreationTime string      `xml:"CreationTime"`
		StackStatus  string      `xml:"StackStatus"`
		Outputs      []cfnOutput `xml:"Outputs>member"`
	} `xml:"DescribeStacksResult>Stacks>member"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// stackOutputs evaluates the template's outputs.
func (s *Stack) stackOutputs() ([]cfnOutput, error) {
	template := s.templateFile()
	b, err := os.ReadFile(template)
	if err != nil {
		return nil, err
	}
	var tpl struct {
		Outputs map[string]struct {
			Description string `json:"Description"`
			Value       any    `json:"Value"`
		} `json:"Outputs"`
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		return nil, fmt.Errorf("%s: %w", template, err)
	}
	res, err := readResources(template)
	if err != nil {
		return nil, err
	}
	res.endpoint = s.Endpoint
	ref := func(id string) (string, error) {
		switch id {
		case "AWS::Region":
			return emulator.Region, nil
		case "AWS::AccountId":
			return emulator.Account, nil
		case "AWS::Partition":
			return "aws", nil
		case "AWS::StackName":
			return StackName, nil
		case "AWS::StackId":
			return StackID, nil
		}
		if v, ok := res.ref(id); ok {
			return v, nil
		}
		return "", fmt.Errorf("ref %s: the local stack does not model a %q", id, res.types[id])
	}
	var eval func(v any) (string, error)
	eval = func(v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case map[string]any:
			if id, ok := v["Ref"].(string); ok {
				return ref(id)
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				if v, ok := res.getAtt(fmt.Sprint(ga[0]), fmt.Sprint(ga[1])); ok {
					return v, nil
				}
			}
			if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
				parts, _ := j[1].([]any)
				var out []string
				for _, p := range parts {
					s, err := eval(p)
					if err != nil {
						return "", err
					}
					out = append(out, s)
				}
				return strings.Join(out, fmt.Sprint(j[0])), nil
			}
		}
		return "", fmt.Errorf("the local stack cannot evaluate %v", v)
	}
	var keys []string
	for k := range tpl.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []cfnOutput
	for _, k := range keys {
		v, err := eval(tpl.Outputs[k].Value)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", k, err)
		}
		out = append(out, cfnOutput{OutputKey: k, OutputValue: v, Description: tpl.Outputs[k].Description})
	}
	return out, nil
}

// theStack says whether a call names the local stack (by name or ID) and
// IAM lets the caller make it, else answers as CloudFormation does. IAM
// decides before the stack is looked up, on the stack's ARN (an unknown
// stack's ARN has no ID yet: the name and a placeholder).
func (s *Stack) theStack(w http.ResponseWriter, r *http.Request, form url.Values, action string) bool {
	name := form.Get("StackName")
	resource := StackID
	if name != StackName && name != StackID {
		resource = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/unknown", emulator.Region, emulator.Account, name)
	}
	if denied := s.guard.authorize(emulator.AccessKey(r), []iam.Request{{Action: action, Resource: resource}}); denied != nil {
		queryError(w, http.StatusForbidden, "AccessDenied", denied.Error())
		return false
	}
	if resource != StackID {
		queryError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("Stack with id %s does not exist", name))
		return false
	}
	return true
}

// describeStacks answers DescribeStacks for the local stack, by name or ID.
func (s *Stack) describeStacks(w http.ResponseWriter, r *http.Request, form url.Values) {
	// DescribeStacks without a name lists every stack; the CLI always names one.
	if !s.theStack(w, r, form, "cloudformation:DescribeStacks") {
		return
	}
	outputs, err := s.stackOutputs()
	if err != nil {
		queryError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	resp := describeStacksResponse{NS: "http://cloudformation.amazonaws.com/doc/2010-05-15/", RequestID: "00000000-0000-0000-0000-000000000000"}
	resp.Stacks = append(resp.Stacks, struct {
		StackName    string      `xml:"StackName"`
		StackID      string      `xml:"StackId"`
		CreationTime string      `xml:"CreationTime"`
		StackStatus  string      `xml:"StackStatus"`
		Outputs      []cfnOutput `xml:"Outputs>member"`
	}{StackName, StackID, "2026-01-01T00:00:00.000Z", "CREATE_COMPLETE", outputs})
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}

// ListStackResources lists the local stack's resources, a page at a time,
// in logical ID order. A role's physical ID is its name (the local stack
// names it after its logical ID; CloudFormation would add the stack's name
// and a suffix); another resource's is what Ref evaluates to here, else its
// logical ID. deployer check finds the functions' roles this way.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html
func (s *Stack) listStackResources(w http.ResponseWriter, r *http.Request, form url.Values) {
	if !s.theStack(w, r, form, "cloudformation:ListStackResources") {
		return
	}
	res, err := readResources(s.templateFile())
	if err != nil {
		queryError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	ids := make([]string, 0, len(res.types))
	for id := range res.types {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	from, to, next, ok := emulator.Page(form.Get("NextToken"), 0, 100, len(ids))
	if !ok {
		queryError(w, http.StatusBadRequest, "ValidationError", "Invalid NextToken")
		return
	}
	type summary struct {
		LogicalID  string `xml:"LogicalResourceId"`
		PhysicalID string `xml:"PhysicalResourceId"`
		Type       string `xml:"ResourceType"`
		Updated    string `xml:"LastUpdatedTimestamp"`
		Status     string `xml:"ResourceStatus"`
	}
	var resp struct {
		XMLName   xml.Name  `xml:"ListStackResourcesResponse"`
		NS        string    `xml:"xmlns,attr"`
		Summaries []summary `xml:"ListStackResourcesResult>StackResourceSummaries>member"`
		NextToken string    `xml:"ListStackResourcesResult>NextToken,omitempty"`
		RequestID string    `xml:"ResponseMetadata>RequestId"`
	}
	resp.NS, resp.NextToken, resp.RequestID = "http://cloudformation.amazonaws.com/doc/2010-05-15/", next, "00000000-0000-0000-0000-000000000000"
	for _, id := range ids[from:to] {
		physical, ok := res.ref(id)
		if !ok {
			physical = id
		}
		resp.Summaries = append(resp.Summaries, summary{id, physical, res.types[id], "2026-01-01T00:00:00.000Z", "CREATE_COMPLETE"})
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}
