package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// checker judges targets against the account and the deployed stack.
type checker struct {
	api Setup
	// published is what the deployed stack says (nil with stackErr).
	published config.Targets
	stackErr  error
	// roles are the stack's functions' roles (nil with rolesErr).
	roles    map[string]string
	rolesErr error
	acct     deploy.Account
	region   string
}

// checker reads the deployed stack once: its targets and its roles.
func (a *App) checker(ctx context.Context) *checker {
	c := &checker{api: a.setup, region: a.region}
	outputs, err := a.stackOutputs(ctx)
	if err == nil {
		c.published, err = config.ReadPublished(outputs)
	}
	if err != nil {
		c.stackErr, c.rolesErr = err, err
		return c
	}
	acct, ok := accountOf(outputs["StateMachineArn"])
	if !ok {
		c.rolesErr = fmt.Errorf("stack %s has no StateMachineArn output: is it ecr-deployer's stack? (--stack)", a.global.stack)
		return c
	}
	c.acct = acct
	c.roles, c.rolesErr = stackRoles(ctx, a.setup.Resources, a.global.stack, acct)
	return c
}

// target runs every check of one target, in the order a push meets them.
func (c *checker) target(ctx context.Context, t config.Resolved) []CheckRow {
	digest, err := deploy.DescribeImage(ctx, c.api.ECR, "", t.Repository, ecrtypes.ImageIdentifier{ImageTag: aws.String(t.Tag)}, "tag "+t.Tag)
	rows := []CheckRow{checked(t, "image", err, fmt.Sprintf("%s:%s is %s", t.Repository, t.Tag, digest))}
	if t.Account != "" {
		return append(rows, c.pull(ctx, t), c.stack(t), skipped(t, "target account", elsewhere(t)))
	}
	var first *ecstypes.TaskDefinition
	var others []deploy.Runs
	for i, ref := range t.AllServices() {
		st := t
		st.Service, st.TaskDefinitionFamily = ref.Service, ref.TaskDefinitionFamily
		svcRows, td := c.service(ctx, st, i == 0, len(t.AllServices()) > 1)
		rows = append(rows, svcRows...)
		switch {
		case i == 0:
			first = td
		case td != nil:
			others = append(others, runsOfTD(td))
		}
	}
	var runs deploy.Runs
	if first == nil {
		rows = append(rows, skipped(t, "migration", "the service's task definition could not be read"), skipped(t, "log group", "the service's task definition could not be read"))
	} else {
		var migRows []CheckRow
		migRows, runs = c.migration(ctx, t, first)
		rows = append(rows, migRows...)
	}
	rows = append(rows, c.stack(t))
	if first == nil {
		return append(rows, skipped(t, "permissions", "the service's task definition could not be read"))
	}
	if len(others) != len(t.AllServices())-1 {
		return append(rows, skipped(t, "permissions", "a service's task definition could not be read"))
	}
	return append(rows, c.permissions(ctx, t, runs, others))
}

// pull checks that the repository's policy lets a target's account pull
// from it (the central-repository layout of docs/multi-account.md).
func (c *checker) pull(ctx context.Context, t config.Resolved) CheckRow {
	const check = "repository policy"
	replicated := fmt.Sprintf(" (with ECR replication into account %s the services pull their own replica, and this does not apply)", t.Account)
	out, err := c.api.Policies.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(t.Repository)})
	var none *ecrtypes.RepositoryPolicyNotFoundException
	switch {
	case errors.As(err, &none):
		return checked(t, check, fmt.Errorf("repository %s has no policy, so account %s cannot pull from it: allow it %s%s", t.Repository, t.Account, strings.Join(deploy.PullActions, " and "), replicated), "")
	case err != nil:
		return checked(t, check, err, "")
	}
	g, err := deploy.JudgePull(aws.ToString(out.PolicyText), t.Account)
	switch {
	case err != nil:
		return checked(t, check, err, "")
	case !g.Granted:
		return checked(t, check, fmt.Errorf("repository %s's policy: %s%s", t.Repository, g.Why, replicated), "")
	case len(g.Conditional) > 0:
		return checked(t, check, nil, fmt.Sprintf("account %s may pull from %s if the policy's conditions hold for it (%s)", t.Account, t.Repository, strings.Join(g.Conditional, ", ")))
	}
	return checked(t, check, nil, fmt.Sprintf("account %s may pull from %s", t.Account, t.Repository))
}

// service checks one service as ResolveTarget does: it exists and is
// ACTIVE, ECS controls its deployments, its strategy fits the timeout, and
// its task definition is the one the stack may run. It returns the task
// definition, nil if it could not be read.
func (c *checker) service(ctx context.Context, t config.Resolved, first, several bool) ([]CheckRow, *ecstypes.TaskDefinition) {
	name := func(check string) string {
		if several {
			return check + " " + t.Service
		}
		return check
	}
	sc := deploy.CheckService(ctx, c.api.ECS, t, first)
	svc := sc.Service
	rows := []CheckRow{checked(t, name("service"), sc.Found, fmt.Sprintf("%s/%s is ACTIVE, %d/%d running", t.Cluster, t.Service, svc.RunningCount, svc.DesiredCount))}
	if sc.Found != nil {
		why := "the service could not be read"
		return append(rows, skipped(t, name("controller"), why), skipped(t, name("timeouts"), why), skipped(t, name("task definition"), why)), nil
	}
	rows = append(rows, checked(t, name("controller"), sc.Controller, "the ECS deployment controller"))
	rows = append(rows, checked(t, name("timeouts"), sc.BakeTime, timeoutsCover(svc, t)))
	td := sc.TaskDefinition
	if td == nil {
		return append(rows, checked(t, name("task definition"), sc.Definition, "")), nil
	}
	err := errors.Join(sc.Definition, sc.Tag)
	return append(rows, checked(t, name("task definition"), err, fmt.Sprintf("%s: family %s, its roles in taskRoles", aws.ToString(td.TaskDefinitionArn), aws.ToString(td.Family)))), td
}

// timeoutsCover says how the deployment timeout covers the strategy.
func timeoutsCover(svc ecstypes.Service, t config.Resolved) string {
	least, how := deploy.MinimumDuration(svc.DeploymentConfiguration)
	if least == 0 {
		return fmt.Sprintf("deploymentTimeout %s; the rolling strategy has no bake", written(time.Duration(t.DeploymentTimeout)))
	}
	return fmt.Sprintf("deploymentTimeout %s covers %s (at least %s)", written(time.Duration(t.DeploymentTimeout)), how, written(least))
}

// written is a duration as targets.json writes it: 30m, not 30m0s.
func written(d time.Duration) string {
	s := d.String()
	if s == "0s" {
		return s
	}
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// migration checks the migration's container and the log group a failed
// migration's cause is read from, and returns what the migration runs.
func (c *checker) migration(ctx context.Context, t config.Resolved, td *ecstypes.TaskDefinition) ([]CheckRow, deploy.Runs) {
	runs := runsOfTD(td)
	if t.Migration.Disabled {
		return []CheckRow{checked(t, "migration", nil, `none ("migration": false)`), checked(t, "log group", nil, "no migration, no log to read")}, runs
	}
	plan, err := deploy.PlanMigration(t, td, c.region)
	if err != nil {
		return []CheckRow{checked(t, "migration", err, ""), skipped(t, "log group", "no migration container")}, runs
	}
	runs.Container, runs.LogGroup, runs.LogStreamPrefix = plan.Container, plan.LogGroup, plan.LogStreamPrefix
	rows := []CheckRow{checked(t, "migration", nil, fmt.Sprintf("%s in container %s", strings.Join(plan.Command, " "), plan.Container))}
	return append(rows, checked(t, "log group", c.logGroup(ctx, t, plan), logGroupOK(plan))), runs
}

// runsOfTD is what a task definition runs as the stack's policies see it:
// its revision, family and roles.
func runsOfTD(td *ecstypes.TaskDefinition) deploy.Runs {
	runs := deploy.Runs{TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn), Family: aws.ToString(td.Family)}
	for _, r := range []*string{td.TaskRoleArn, td.ExecutionRoleArn} {
		if aws.ToString(r) != "" {
			runs.Roles = append(runs.Roles, aws.ToString(r))
		}
	}
	return runs
}

func logGroupOK(m deploy.Migration) string {
	if m.LogGroup == "" {
		return fmt.Sprintf("container %s does not log with awslogs: a failed migration's cause will carry no log lines", m.Container)
	}
	return fmt.Sprintf("%s exists; container %s logs to it", m.LogGroup, m.Container)
}

// logGroup checks that the migration container logs where the target says
// (the only group the stack may read) and that the group exists.
func (c *checker) logGroup(ctx context.Context, t config.Resolved, m deploy.Migration) error {
	switch {
	case m.LogGroup == "":
		return nil
	case m.LogGroup != t.LogGroup:
		return fmt.Errorf("container %s logs to %s, but the target's logGroup is %s, the only group the stack may read: set \"logGroup\": %q", m.Container, m.LogGroup, t.LogGroup, m.LogGroup)
	case m.LogRegion != "" && m.LogRegion != c.region:
		return fmt.Errorf("container %s logs to %s in %s, not in the stack's Region %s: the stack reads its own Region's groups only", m.Container, m.LogGroup, m.LogRegion, c.region)
	}
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c.api.Logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(m.LogGroup)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe log groups %s: %w", m.LogGroup, err)
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == m.LogGroup {
				return nil
			}
		}
	}
	return fmt.Errorf("log group %s does not exist: create it (the awslogs driver does not, unless the container sets awslogs-create-group), or the migration's task fails to start", m.LogGroup)
}

// stack checks that the deployed stack publishes this target as the file
// declares it: the stack's policies and rules were made from that file.
func (c *checker) stack(t config.Resolved) CheckRow {
	if c.stackErr != nil {
		return checked(t, "stack", c.stackErr, "")
	}
	p, ok := c.published.ByEnvironment(t.Environment)
	if !ok {
		return checked(t, "stack", fmt.Errorf("the deployed stack has no target %s: deploy this file (make deploy)", t.Environment), "")
	}
	want, _ := json.Marshal(t.Published())
	got, _ := json.Marshal(p)
	if string(want) != string(got) {
		return checked(t, "stack", fmt.Errorf("the deployed stack's target %s is %s, this file's is %s: deploy this file (make deploy)", t.Environment, got, want), "")
	}
	return checked(t, "stack", nil, "deployed as this file declares it")
}

// permissions asks IAM's policy simulator whether each of the stack's
// roles may make each call a push of the target makes.
func (c *checker) permissions(ctx context.Context, t config.Resolved, runs deploy.Runs, others []deploy.Runs) CheckRow {
	if c.rolesErr != nil {
		return skipped(t, "permissions", oneLine(c.rolesErr.Error()))
	}
	needs := deploy.NeedsOf(t, runs, others, c.acct)
	var denied []string
	roles := map[string]bool{}
	for _, n := range needs {
		role, ok := c.roles[n.Function]
		if !ok {
			denied = append(denied, fmt.Sprintf("the stack has no role for %s", n.Function))
			continue
		}
		roles[role] = true
		d, err := c.simulate(ctx, role, n)
		if err != nil {
			return checked(t, "permissions", err, "")
		}
		if d != iamtypes.PolicyEvaluationDecisionTypeAllowed {
			denied = append(denied, fmt.Sprintf("%s may not %s on %s (%s)", n.Function, n.Action, n.Resource, d))
		}
	}
	if len(denied) > 0 {
		return checked(t, "permissions", fmt.Errorf("%s: deploy this file (make deploy), whose targets the stack's policies are made from; an explicitDeny is a Deny in a role's policies, its permissions boundary or an SCP", strings.Join(denied, "; ")), "")
	}
	return checked(t, "permissions", nil, fmt.Sprintf("%d calls allowed to %d roles (IAM policy simulator)", len(needs), len(roles)))
}

// simulate is IAM's decision on one call by a role: the first result,
// after any pages the simulator answered empty.
func (c *checker) simulate(ctx context.Context, role string, n deploy.Need) (iamtypes.PolicyEvaluationDecisionType, error) {
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: []string{n.Action}, ResourceArns: []string{n.Resource}}
	for k, v := range n.Context {
		in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyValues: []string{v}, ContextKeyType: iamtypes.ContextKeyTypeEnumString})
	}
	p := iam.NewSimulatePrincipalPolicyPaginator(c.api.IAM, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("simulate %s for %s: %w", n.Action, role, err)
		}
		if len(page.EvaluationResults) > 0 {
			return page.EvaluationResults[0].EvalDecision, nil
		}
	}
	return "", fmt.Errorf("simulate %s for %s: IAM answered no result", n.Action, role)
}
