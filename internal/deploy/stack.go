package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// StacksAPI is CloudFormation's DescribeStacks: the deployed stack's
// outputs say its state machine, its alias and its targets.
type StacksAPI interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var _ StacksAPI = (*cloudformation.Client)(nil)

// StackOutputs reads a stack's outputs (key → value).
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
func StackOutputs(ctx context.Context, api StacksAPI, stack string) (map[string]string, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("read the stack %q: %w", stack, err)
	}
	outputs := map[string]string{}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
	}
	return outputs, nil
}

// StackTargets is LiveTargets read from the deployed stack's outputs.
type StackTargets struct {
	API   StacksAPI
	Stack string
}

// Targets reads the stack's published targets now.
func (st StackTargets) Targets(ctx context.Context) (config.Targets, error) {
	outputs, err := StackOutputs(ctx, st.API, st.Stack)
	if err != nil {
		return nil, err
	}
	return config.ReadPublished(outputs)
}
