package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// rolloutAllowance is what deployer init adds to a strategy's least
// duration for the rollout itself when it sets deploymentTimeout.
const rolloutAllowance = 30 * time.Minute

func (a *App) initCmd(ctx context.Context, args []string) error {
	fs := a.flags("init", "Write a targets.json from the account (read-only calls): for each tag, the service by the convention (cluster = environment, service = <cluster>-service) or --cluster/--service, its task definition family, the migration's container, the roles to pass, the log group, and a deploymentTimeout that covers the strategy; each target's \"comment\" says what was assumed.",
		"deployer init --repository app --tags staging,prod")
	repo := fs.String("repository", "app", "the ECR repository whose tags deploy")
	tags := fs.String("tags", "staging,prod", "the tags that deploy, comma-separated: each is an environment")
	cluster := fs.String("cluster", "", "the cluster (one tag only; default: the tag)")
	service := fs.String("service", "", "the service (one tag only; default: <cluster>-service)")
	out := fs.String("out", "targets.json", "the file to write")
	force := fs.Bool("force", false, "overwrite the file if it exists")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	envs := strings.Split(*tags, ",")
	if (*cluster != "" || *service != "") && len(envs) != 1 {
		return &usageError{"--cluster and --service name one service: give one tag with them"}
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists: nothing was written (--force overwrites it, --out writes another file)", *out)
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	f := config.File{Defaults: config.Settings{Migration: &config.Migration{Command: config.DefaultCommand}}}
	for _, tag := range envs {
		t, err := a.initTarget(ctx, *repo, strings.TrimSpace(tag), *cluster, *service)
		if err != nil {
			return fmt.Errorf("%s: %w; nothing was written", tag, err)
		}
		f.Targets = append(f.Targets, t)
	}
	b, err := encodeTargets(f, *out)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Wrote %s with %d targets (each target's \"comment\" says what was assumed).\nNext: make deploy, then deployer check.\n", *out, len(f.Targets))
	return nil
}

// encodeTargets writes the file as people read it, and parses it back as
// the deployer will: init never writes a file the deployer refuses.
func encodeTargets(f config.File, name string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if _, err := config.Parse(name, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("the targets init made do not validate (a bug of init): %w", err)
	}
	return buf.Bytes(), nil
}

// initTarget reads one tag's service and writes its target.
func (a *App) initTarget(ctx context.Context, repo, tag, cluster, service string) (config.Target, error) {
	t := config.Target{Repository: repo, Tag: tag}
	how := "by the convention (cluster = environment, service = <cluster>-service)"
	if cluster == "" {
		cluster = tag
	} else {
		how = "as --cluster said"
	}
	if service == "" {
		service = cluster + "-service"
	} else {
		how = "as --service said"
	}
	svc, err := deploy.DescribeService(ctx, a.setup.ECS, cluster, service)
	if err != nil {
		return t, fmt.Errorf("%w (give --cluster and --service for a service that does not follow the convention)", err)
	}
	if err := deploy.CheckController(svc, config.Resolved{Cluster: cluster, Service: service}); err != nil {
		return t, err
	}
	out, err := a.setup.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		return t, fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
	}
	td := out.TaskDefinition
	t.Cluster, t.Service, t.TaskDefinitionFamily = cluster, service, aws.ToString(td.Family)
	t.Comment = append(t.Comment, fmt.Sprintf("cluster %s and service %s %s; its task definition is %s", cluster, service, how, aws.ToString(td.TaskDefinitionArn)))
	t.TaskRoles, t.Comment = rolesOf(td, t.Comment)
	m, err := deploy.PlanMigration(config.Resolved{Repository: repo, Migration: config.Migration{Command: config.DefaultCommand}}, td, a.region)
	if err != nil {
		return t, err
	}
	t.Migration = &config.Migration{Container: m.Container}
	t.Comment = append(t.Comment, containerComment(td, repo, m.Container))
	t.LogGroup, t.Comment = logGroupOf(m, t.Comment)
	t.Settings.DeploymentTimeout, t.Comment = timeoutFor(svc, t.Comment)
	return t, nil
}

// rolesOf lists the task definition's roles as taskRoles: by name when the
// stack can write the ARN itself (no path), else by ARN.
func rolesOf(td *ecstypes.TaskDefinition, comment []string) ([]string, []string) {
	var roles []string
	for _, arn := range []string{aws.ToString(td.TaskRoleArn), aws.ToString(td.ExecutionRoleArn)} {
		if arn == "" {
			continue
		}
		name := arn[strings.LastIndex(arn, ":role/")+len(":role/"):]
		if strings.Contains(name, "/") || !strings.Contains(arn, ":role/") {
			roles = append(roles, arn)
			continue
		}
		roles = append(roles, name)
	}
	if len(roles) == 0 {
		return nil, append(comment, "the task definition names no task or execution role: nothing to pass")
	}
	return roles, append(comment, "taskRoles are the task definition's task and execution roles: the only roles the stack may pass (iam:PassRole)")
}

func containerComment(td *ecstypes.TaskDefinition, repo, container string) string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container && deploy.ImageRepository(aws.ToString(c.Image)) == repo {
			return fmt.Sprintf("the migration runs in container %s, which runs %s's image", container, repo)
		}
	}
	return fmt.Sprintf("no container runs %s's image: the migration runs in %s, the first essential container; set migration.container if that is wrong", repo, container)
}

// logGroupOf is the migration container's awslogs group, the only one the
// stack may read for a failed migration's log.
func logGroupOf(m deploy.Migration, comment []string) (string, []string) {
	if m.LogGroup == "" {
		return "", append(comment, fmt.Sprintf("container %s does not log with awslogs: a failed migration's cause will carry no log lines", m.Container))
	}
	return m.LogGroup, append(comment, fmt.Sprintf("logGroup is container %s's awslogs-group (stream prefix %q): the only group the stack may read", m.Container, m.LogStreamPrefix))
}

// timeoutFor covers the strategy's least duration with the rollout's
// allowance; nil keeps the default when the default covers it.
func timeoutFor(svc ecstypes.Service, comment []string) (*config.Duration, []string) {
	least, how := deploy.MinimumDuration(svc.DeploymentConfiguration)
	if least == 0 {
		return nil, append(comment, fmt.Sprintf("the rolling strategy has no bake: the default deploymentTimeout (%s) applies", written(time.Duration(config.DefaultDeploymentTimeout))))
	}
	d := config.Duration(least + rolloutAllowance)
	if time.Duration(d) > 12*time.Hour {
		d = config.Duration(12 * time.Hour)
	}
	return &d, append(comment, fmt.Sprintf("%s takes at least %s: deploymentTimeout %s leaves %s for the rollout", how, written(least), written(time.Duration(d)), written(time.Duration(d)-least)))
}
