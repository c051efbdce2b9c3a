package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// PlanJSON is `deployer plan --output json`: what a push of the
// environment's tag would do now, read with read-only calls.
type PlanJSON struct {
	SchemaVersion int    `json:"schemaVersion"`
	Environment   string `json:"environment"`
	Repository    string `json:"repository"`
	Tag           string `json:"tag"`
	Cluster       string `json:"cluster"`
	Digest        string `json:"digest"`
	// DigestFrom is "tag" (what the tag names now) or "--digest".
	DigestFrom string `json:"digestFrom"`
	// ImageMode is the target's "image": digest or tag.
	ImageMode string `json:"imageMode"`
	// Runs says which task definition the migration and the deployment run.
	Runs      string            `json:"runs"`
	Migration *PlannedMigration `json:"migration,omitempty"`
	Services  []PlannedService  `json:"services"`
	Gates     []PlannedGate     `json:"gates"`
	// Ahead are the running executions of these services it would queue behind.
	Ahead    []string `json:"ahead"`
	Estimate Estimate `json:"estimate"`
	// WouldFail is the Fail state the push would end in now, and its cause.
	WouldFail *PlannedFailure `json:"wouldFail,omitempty"`
}

// PlannedMigration is the migration task a push would run.
type PlannedMigration struct {
	Skipped        string        `json:"skipped,omitempty"`
	Command        []string      `json:"command,omitempty"`
	Container      string        `json:"container,omitempty"`
	Launch         deploy.Launch `json:"launch"`
	TimeoutSeconds int           `json:"timeoutSeconds,omitempty"`
	LogGroup       string        `json:"logGroup,omitempty"`
}

// PlannedService is one service a push would deploy.
type PlannedService struct {
	Service        string `json:"service"`
	TaskDefinition string `json:"taskDefinition"`
	Strategy       string `json:"strategy"`
	// MinimumSeconds is the least the strategy takes besides the rollout.
	MinimumSeconds int    `json:"minimumSeconds"`
	How            string `json:"how,omitempty"`
	DesiredCount   int32  `json:"desiredCount"`
}

// PlannedGate is a gate of the target and what it says now.
type PlannedGate struct {
	Gate string `json:"gate"`
	Now  string `json:"now"`
	// WaitsUntil is when a closed window opens.
	WaitsUntil *time.Time `json:"waitsUntil,omitempty"`
}

// Estimate is the expected time from the push to deployed.
type Estimate struct {
	Seconds int    `json:"seconds"`
	Basis   string `json:"basis"`
}

// PlannedFailure is where the push would end now.
type PlannedFailure struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
}

func (a *App) plan(ctx context.Context, args []string) error {
	fs := a.flags("plan", "Say what a push of an environment's tag would do now, with read-only calls: the digest, the task definition, the migration, each service's strategy, the gates, the queue and the time to deployed. Nothing is started or written.",
		"deployer plan prod --digest sha256:4f2c…")
	digestFlag := fs.String("digest", "", "plan the push of this image (default: what the tag names now)")
	file := fs.String("targets", "", "the targets file the stack was deployed with (default $DEPLOYER_CONFIG_FILE, else targets.json)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give the environment to plan"}
	}
	if err := a.checkOutput(); err != nil {
		return err
	}
	c, path, err := a.targetsFile(*file)
	if err != nil {
		return err
	}
	ts, err := pick(c, pos, path)
	if err != nil {
		return err
	}
	if ts[0].Account != "" {
		return fmt.Errorf("plan %s: %s", ts[0].Environment, elsewhere(ts[0]))
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	p, err := a.makePlan(ctx, ts[0], *digestFlag)
	if err != nil {
		return err
	}
	if a.global.output == "json" {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	RenderPlan(a.Out, p)
	if p.WouldFail != nil {
		return &exitError{1}
	}
	return nil
}

// makePlan reads what ResolveTarget, CheckTurn and the gates would read.
func (a *App) makePlan(ctx context.Context, t config.Resolved, digest string) (PlanJSON, error) {
	p := PlanJSON{SchemaVersion: SchemaVersion, Environment: t.Environment, Repository: t.Repository, Tag: t.Tag, Cluster: t.Cluster, ImageMode: t.Image,
		DigestFrom: "tag", Gates: []PlannedGate{}, Ahead: []string{}}
	id, what := ecrtypes.ImageIdentifier{ImageTag: aws.String(t.Tag)}, "tag "+t.Tag
	if digest != "" {
		id, what, p.DigestFrom = ecrtypes.ImageIdentifier{ImageDigest: aws.String(digest)}, "digest "+digest, "--digest"
	}
	var err error
	if p.Digest, err = deploy.DescribeImage(ctx, a.setup.ECR, "", t.Repository, id, what); p.wouldFail(err) {
		return p, nil
	}
	first, td, err := a.planServices(ctx, t, &p)
	if p.wouldFail(err) {
		return p, nil
	}
	p.Runs = runsOf(t, td, p.Services, p.Digest)
	if p.Migration, err = planMigrationOf(t, first, td, a.region); p.wouldFail(err) {
		return p, nil
	}
	sm, err := a.stateMachine(ctx)
	if err != nil {
		return p, err
	}
	published, err := a.targets(ctx)
	if err != nil {
		return p, err
	}
	if err := a.planGates(ctx, sm, published, t, &p); err != nil {
		return p, err
	}
	p.Estimate, err = a.estimate(ctx, sm, published, t, p)
	return p, err
}

// wouldFail records a typed error as where the push would end; an AWS
// error is returned as it is (false: go on).
func (p *PlanJSON) wouldFail(err error) bool {
	if err == nil {
		return false
	}
	name, ok := deploy.FailState(err)
	if !ok {
		name = "error"
	}
	p.WouldFail = &PlannedFailure{Error: name, Cause: oneLine(err.Error())}
	return true
}

// planServices reads each service as ResolveTarget does and returns the
// first one and its task definition (the migration's).
func (a *App) planServices(ctx context.Context, t config.Resolved, p *PlanJSON) (ecstypes.Service, *ecstypes.TaskDefinition, error) {
	var first ecstypes.Service
	var firstTD *ecstypes.TaskDefinition
	for i, ref := range t.AllServices() {
		st := t
		st.Service, st.TaskDefinitionFamily = ref.Service, ref.TaskDefinitionFamily
		sc := deploy.CheckService(ctx, a.setup.ECS, st, i == 0)
		if err := sc.Err(); err != nil {
			return first, nil, err
		}
		svc := sc.Service
		least, how := deploy.MinimumDuration(svc.DeploymentConfiguration)
		strategy := "ROLLING"
		if c := svc.DeploymentConfiguration; c != nil && c.Strategy != "" {
			strategy = string(c.Strategy)
		}
		p.Services = append(p.Services, PlannedService{Service: ref.Service, TaskDefinition: aws.ToString(svc.TaskDefinition), Strategy: strategy,
			MinimumSeconds: int(least / time.Second), How: how, DesiredCount: svc.DesiredCount})
		if i == 0 {
			first, firstTD = svc, sc.TaskDefinition
		}
	}
	return first, firstTD, nil
}

// runsOf says what the migration and the deployment run: in digest mode
// a revision of each service's task definition pinned to the digest, in
// tag mode the task definitions as they are.
func runsOf(t config.Resolved, td *ecstypes.TaskDefinition, services []PlannedService, digest string) string {
	if t.Image != config.ImageDigest {
		return fmt.Sprintf("%s as it is: ECS resolves %s:%s when each task starts", aws.ToString(td.TaskDefinitionArn), t.Repository, t.Tag)
	}
	if len(services) == 1 {
		return fmt.Sprintf("a new revision of %s (from %s) with %s pinned to %s@%s", aws.ToString(td.Family), services[0].TaskDefinition, t.Repository, t.Repository, digest)
	}
	var from []string
	for _, s := range services {
		from = append(from, s.Service+" from "+s.TaskDefinition)
	}
	return fmt.Sprintf("a new revision of each service's task definition with %s pinned to %s@%s (%s)", t.Repository, t.Repository, digest, strings.Join(from, "; "))
}

func planMigrationOf(t config.Resolved, svc ecstypes.Service, td *ecstypes.TaskDefinition, region string) (*PlannedMigration, error) {
	if t.Migration.Disabled {
		return &PlannedMigration{Skipped: `the target has no migration ("migration": false)`}, nil
	}
	m, err := deploy.PlanMigration(t, td, region)
	if err != nil {
		return nil, err
	}
	return &PlannedMigration{Command: m.Command, Container: m.Container, Launch: deploy.LaunchOf(svc), TimeoutSeconds: m.TimeoutSeconds, LogGroup: m.LogGroup}, nil
}

// RenderPlan prints the plan a line per fact.
func RenderPlan(w io.Writer, p PlanJSON) {
	fmt.Fprintf(w, "A push of %s:%s to %s (cluster %s) would:\n", p.Repository, p.Tag, p.Environment, p.Cluster)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-11s %s\n", label, fmt.Sprintf(format, args...))
	}
	if p.Digest != "" {
		from := "what " + p.Repository + ":" + p.Tag + " names now"
		if p.DigestFrom != "tag" {
			from = "--digest"
		}
		line("image", "%s (%s)", p.Digest, from)
	}
	if p.Runs != "" {
		line("runs", "%s", p.Runs)
	}
	if m := p.Migration; m != nil && m.Skipped != "" {
		line("migration", "none: %s", m.Skipped)
	} else if m != nil {
		line("migration", "%s in container %s, %s, timeout %s", strings.Join(m.Command, " "), m.Container, launchWords(m.Launch), written(time.Duration(m.TimeoutSeconds)*time.Second))
	}
	for _, s := range p.Services {
		how := "no bake"
		if s.How != "" {
			how = s.How + fmt.Sprintf(": at least %s", written(time.Duration(s.MinimumSeconds)*time.Second))
		}
		line("service", "%s (%s): %s, %s", s.Service, plural(int(s.DesiredCount), "task"), s.Strategy, how)
	}
	for _, g := range p.Gates {
		line(g.Gate, "%s", g.Now)
	}
	if p.WouldFail == nil {
		ahead := "nothing ahead: it would take its turn at once"
		if len(p.Ahead) > 0 {
			ahead = fmt.Sprintf("behind %d running: %s", len(p.Ahead), strings.Join(p.Ahead, ", "))
		}
		line("queue", "%s", ahead)
		line("estimate", "%s", p.Estimate.Basis)
	} else {
		line("would end", "%s: %s", p.WouldFail.Error, p.WouldFail.Cause)
	}
	fmt.Fprintln(w, "Nothing was started or written.")
}

// launchWords says how the migration's task runs.
func launchWords(l deploy.Launch) string {
	var parts []string
	if l.LaunchType != "" {
		parts = append(parts, "launch type "+l.LaunchType)
	}
	for _, c := range l.CapacityProviderStrategy {
		parts = append(parts, fmt.Sprintf("%s (weight %d, base %d)", c.CapacityProvider, c.Weight, c.Base))
	}
	if n := l.Network; n != nil {
		parts = append(parts, fmt.Sprintf("awsvpc in %s with %s, public IP %s", strings.Join(n.Subnets, ", "), strings.Join(n.SecurityGroups, ", "), strings.ToLower(n.AssignPublicIP)))
	}
	if len(parts) == 0 {
		return "the cluster's default capacity"
	}
	return strings.Join(parts, ", ")
}

// plural is "1 task", "2 tasks", "2 pushes".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "sh") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
