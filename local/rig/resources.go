package rig

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// resources are the template's resources as the local stack stands them
// up: each one's type, and the physical values a Ref or Fn::GetAtt of it
// evaluates to here (CloudFormation would name them after the stack and a
// random suffix; here the logical ID stands in).
type resources struct {
	types map[string]string
	props map[string]map[string]any
	// endpoint is the local stack's, which serves the function URLs.
	endpoint string
}

func readResources(templateFile string) (*resources, error) {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		return nil, err
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		return nil, fmt.Errorf("%s: %w", templateFile, err)
	}
	r := &resources{types: map[string]string{}, props: map[string]map[string]any{}}
	for id, res := range tpl.Resources {
		r.types[id], r.props[id] = res.Type, res.Properties
	}
	return r, nil
}

// ref is what {"Ref": id} evaluates to for a resource the local stack models.
func (r *resources) ref(id string) (string, bool) {
	switch r.types[id] {
	case "AWS::StepFunctions::StateMachine":
		return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", emulator.Region, emulator.Account, StateMachineName), true
	case "AWS::IAM::Role":
		return roleName(id), true
	case "AWS::IAM::ManagedPolicy":
		return fmt.Sprintf("arn:aws:iam::%s:policy/%s", emulator.Account, id), true
	case "AWS::SNS::Topic":
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", emulator.Region, emulator.Account, id), true
	case "AWS::SQS::Queue":
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", emulator.Region, emulator.Account, id), true
	case "AWS::KMS::Key":
		return id, true // the key ID
	case "AWS::DynamoDB::Table":
		return id, true // the table name
	case "AWS::Lambda::Function":
		if name := functionOf(id); name != "" {
			return name, true
		}
	}
	return "", false
}

// getAtt is what {"Fn::GetAtt": [id, attribute]} evaluates to.
func (r *resources) getAtt(id, attribute string) (string, bool) {
	switch t := r.types[id]; {
	case t == "AWS::KMS::Key" && attribute == "Arn":
		return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", emulator.Region, emulator.Account, id), true
	case t == "AWS::SNS::Topic" && attribute == "TopicArn":
		return r.ref(id)
	case t == "AWS::SQS::Queue" && attribute == "QueueName":
		return id, true
	case t == "AWS::SQS::Queue" && attribute == "Arn":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", emulator.Region, emulator.Account, id), true
	case t == "AWS::DynamoDB::Table" && attribute == "Arn":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", emulator.Region, emulator.Account, id), true
	case t == "AWS::StepFunctions::StateMachine" && attribute == "Name":
		return StateMachineName, true
	case t == "AWS::Lambda::Function" && attribute == "Arn" && functionOf(id) != "":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", emulator.Region, emulator.Account, functionOf(id)), true
	case t == "AWS::Lambda::Url" && attribute == "FunctionUrl":
		target, _ := r.props[id]["TargetFunctionArn"].(map[string]any)["Fn::GetAtt"].([]any)
		if len(target) == 2 && functionOf(fmt.Sprint(target[0])) != "" {
			return r.endpoint + urlPrefix + functionOf(fmt.Sprint(target[0])) + "/", true
		}
	case t == "AWS::StepFunctions::StateMachineAlias" && attribute == "Arn":
		m, _ := r.ref(r.firstOfType("AWS::StepFunctions::StateMachine"))
		return m + ":" + statemachine.AliasName, true
	}
	return "", false
}

// firstOfType is the logical ID of the template's (only) resource of a type.
func (r *resources) firstOfType(t string) string {
	for id, typ := range r.types {
		if typ == t {
			return id
		}
	}
	return ""
}

// topics are the template's SNS topics by ARN, with the ARN of the KMS key
// each is encrypted with ("" for none).
func (r *resources) topics() map[string]string {
	out := map[string]string{}
	for id, t := range r.types {
		if t != "AWS::SNS::Topic" {
			continue
		}
		arn, _ := r.ref(id)
		key := ""
		if k, ok := r.props[id]["KmsMasterKeyId"].(map[string]any); ok {
			if g, ok := k["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				key, _ = r.getAtt(fmt.Sprint(g[0]), fmt.Sprint(g[1]))
			}
		}
		out[arn] = key
	}
	return out
}

// tables are the template's DynamoDB tables: name → partition key.
func (r *resources) tables() map[string]string {
	out := map[string]string{}
	for id, t := range r.types {
		if t != "AWS::DynamoDB::Table" {
			continue
		}
		keys, _ := r.props[id]["KeySchema"].([]any)
		for _, k := range keys {
			if k, _ := k.(map[string]any); k["KeyType"] == "HASH" {
				out[id], _ = k["AttributeName"].(string)
			}
		}
	}
	return out
}
