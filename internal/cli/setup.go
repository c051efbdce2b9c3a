package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// The setup commands (init, check, plan) read the account as the workflow
// would, with read-only calls only: what a team runs before its first push.

// LogGroupsAPI lists log groups by prefix (deployer check).
type LogGroupsAPI interface {
	DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// RepositoryPolicyAPI reads a repository's policy (deployer check of a
// target in another account: may it pull?).
type RepositoryPolicyAPI interface {
	GetRepositoryPolicy(context.Context, *ecr.GetRepositoryPolicyInput, ...func(*ecr.Options)) (*ecr.GetRepositoryPolicyOutput, error)
}

// SimulatorAPI asks IAM's policy simulator whether a role may make a call.
type SimulatorAPI interface {
	SimulatePrincipalPolicy(context.Context, *iam.SimulatePrincipalPolicyInput, ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

// StackResourcesAPI lists the stack's resources (its functions' roles).
type StackResourcesAPI interface {
	ListStackResources(context.Context, *cloudformation.ListStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
}

var (
	_ LogGroupsAPI        = (*cloudwatchlogs.Client)(nil)
	_ SimulatorAPI        = (*iam.Client)(nil)
	_ StackResourcesAPI   = (*cloudformation.Client)(nil)
	_ deploy.ImagesAPI    = (*ecr.Client)(nil)
	_ RepositoryPolicyAPI = (*ecr.Client)(nil)
)

// Setup is what the setup commands call.
type Setup struct {
	ECS       deploy.ServicesAPI
	ECR       deploy.ImagesAPI
	Policies  RepositoryPolicyAPI
	Logs      LogGroupsAPI
	IAM       SimulatorAPI
	Resources StackResourcesAPI
}

// targetsFile reads the targets file the setup commands judge: --targets,
// else $DEPLOYER_CONFIG_FILE, else targets.json (what make deploy deploys).
func (a *App) targetsFile(path string) (*config.Config, string, error) {
	if path == "" {
		path = a.Getenv("DEPLOYER_CONFIG_FILE")
	}
	if path == "" {
		path = "targets.json"
	}
	c, err := config.LoadFile(path)
	if err != nil {
		return nil, path, err
	}
	return c, path, nil
}

// pick is the targets an optional environment argument names: all of
// them, or the one, or a usage error naming the closest.
func pick(c *config.Config, pos []string, file string) ([]config.Resolved, error) {
	if len(pos) > 1 {
		return nil, &usageError{"give at most one environment"}
	}
	if len(pos) == 0 {
		return c.Targets(), nil
	}
	t, ok := c.ByEnvironment(pos[0])
	if !ok {
		return nil, &usageError{fmt.Sprintf("%s has no environment %q (it has: %s)", file, pos[0], strings.Join(c.Environments(), ", "))}
	}
	return []config.Resolved{t}, nil
}

// accountOf is the partition, Region and account of an ARN (the stack's
// state machine): where the targets' resources are.
func accountOf(arn string) (deploy.Account, bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[4] == "" {
		return deploy.Account{}, false
	}
	return deploy.Account{Partition: p[1], Region: p[3], ID: p[4]}, true
}

// stackRoles maps each of the stack's functions to its role's ARN: a role's
// logical ID is the function's name, "Role" and CDK's 8-character hash.
func stackRoles(ctx context.Context, api StackResourcesAPI, stack string, acct deploy.Account) (map[string]string, error) {
	roles := map[string]string{}
	p := cloudformation.NewListStackResourcesPaginator(api, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the resources of stack %s: %w", stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			id := aws.ToString(r.LogicalResourceId)
			if aws.ToString(r.ResourceType) != "AWS::IAM::Role" || len(id) <= len("Role")+8 || id[len(id)-12:len(id)-8] != "Role" {
				continue
			}
			roles[id[:len(id)-12]] = fmt.Sprintf("arn:%s:iam::%s:role/%s", acct.Partition, acct.ID, aws.ToString(r.PhysicalResourceId))
		}
	}
	return roles, nil
}
