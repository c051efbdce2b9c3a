// Package config loads and validates the deployer's target configuration:
// which ECR repository and tag deploy to which ECS cluster and service, and how.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Defaults that follow the convention of the shell script ecr-deployer replaces:
// the cluster is named after the environment and the service is "<cluster>-service".
var (
	DefaultCommand           = []string{"goose", "-dir", "migrations", "up"}
	DefaultMigrationTimeout  = Duration(30 * time.Minute)
	DefaultDeploymentTimeout = Duration(30 * time.Minute)
	// The waits end on ECS events; the poll intervals are their safety net.
	DefaultMigrationPollInterval  = Duration(time.Minute)
	DefaultDeploymentPollInterval = Duration(time.Minute)
	DefaultCapacityRetries        = 5
	DefaultCapacityRetryInterval  = Duration(30 * time.Second)
	// Queueing: see the README's "One deployment per service at a time".
	DefaultQueueSettle       = Duration(0)
	DefaultQueuePollInterval = Duration(15 * time.Second)
	DefaultDuplicateWindow   = Duration(15 * time.Minute)
	DefaultRequiresWait      = Duration(time.Hour)
)

// Image modes.
const (
	// ImageTag forces a new deployment of the service's task definition, so
	// ECS resolves the tag (today's script); the migration's and the
	// deployment's digests are checked, and a moved tag ends DigestMismatch.
	// Not with a gate (approval, requires): validateGatedImage.
	ImageTag = "tag"
	// ImageDigest (the default) registers a task definition revision pinned
	// to the digest: what was resolved and approved is what runs.
	ImageDigest = "digest"
)

// File is the document in targets.json.
type File struct {
	// Defaults apply to every target that does not set the field itself.
	Defaults Settings `json:"defaults"`
	// Targets maps repository + tag to an environment.
	Targets []Target `json:"targets"`
}

// Settings are the knobs that can be set once in defaults and overridden per target.
type Settings struct {
	Migration              *Migration `json:"migration,omitempty"`
	MigrationTimeout       *Duration  `json:"migrationTimeout,omitempty"`
	DeploymentTimeout      *Duration  `json:"deploymentTimeout,omitempty"`
	MigrationPollInterval  *Duration  `json:"migrationPollInterval,omitempty"`
	DeploymentPollInterval *Duration  `json:"deploymentPollInterval,omitempty"`
	CapacityRetries        *int       `json:"capacityRetries,omitempty"`
	CapacityRetryInterval  *Duration  `json:"capacityRetryInterval,omitempty"`
	Image                  *string    `json:"image,omitempty"`
	QueueSettle            *Duration  `json:"queueSettle,omitempty"`
	QueuePollInterval      *Duration  `json:"queuePollInterval,omitempty"`
	DuplicateWindow        *Duration  `json:"duplicateWindow,omitempty"`
	// RequiresWait bounds how long a guarded deployment waits for the
	// required environment's deployment of the same image to end.
	RequiresWait *Duration `json:"requiresWait,omitempty"`
	// NotifyOnSuccess also publishes a notification when a deployment
	// succeeds; failures, time-outs and aborts are always notified.
	NotifyOnSuccess *bool `json:"notifyOnSuccess,omitempty"`
	// Windows are the deployment windows: a deployment starts only inside
	// one ([] in a target: none, whatever the defaults say).
	Windows Windows `json:"windows,omitempty"`
	// OnFailure says what a target of several services does with the ones
	// that deployed when another failed: OnFailureLeaveOthers (default) or
	// OnFailureRollbackOthers.
	OnFailure *string `json:"onFailure,omitempty"`
	// Account and Region are where the target's cluster is, when not in the
	// deployer stack's own account and Region: the workflow assumes the
	// target account stack's roles there (docs/multi-account.md).
	Account *string `json:"account,omitempty"`
	Region  *string `json:"region,omitempty"`
}

// What a target of several services does when one of them fails.
const (
	// OnFailureLeaveOthers leaves the services that deployed on the new image.
	OnFailureLeaveOthers = "leave-others"
	// OnFailureRollbackOthers deploys their previous task definition again.
	OnFailureRollbackOthers = "rollback-others"
)

// MaxServices bounds a target's services: every check of the deployment
// reads each of them (DescribeServices and DescribeServiceDeployments), so
// one check stays a handful of ECS calls.
const MaxServices = 10

// ServiceRef is one entry of a target's services: a service name, or
// {"service": …, "taskDefinitionFamily": …} when the service's task
// definition family is not the target's (it matters when "image" is
// "digest": each service's task definition is pinned).
type ServiceRef struct {
	Service              string `json:"service"`
	TaskDefinitionFamily string `json:"taskDefinitionFamily,omitempty"`
}

// UnmarshalJSON accepts a service name or an object.
func (r *ServiceRef) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*r = ServiceRef{Service: name}
		return nil
	}
	type plain ServiceRef
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf(`a service is a name or {"service": "app-worker", "taskDefinitionFamily": "app-worker"}: %w`, err)
	}
	*r = ServiceRef(p)
	return nil
}

// Target is one entry of targets.json as written.
type Target struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	// Comment is for people (deployer init writes what it assumed there);
	// the deployer ignores it.
	Comment     []string `json:"comment,omitempty"`
	Environment string   `json:"environment,omitempty"`
	Cluster     string   `json:"cluster,omitempty"`
	Service     string   `json:"service,omitempty"`
	// Services, instead of Service, deploys several services of the
	// cluster from the one image behind one migration (web, worker,
	// scheduler): the migration runs on the first one's task definition,
	// then all deploy at once.
	Services []ServiceRef `json:"services,omitempty"`
	// TaskDefinitionFamily is the family of the service's task definition:
	// the only one the migration may run (IAM ecs:RunTask). Default: the
	// repository's last path segment.
	TaskDefinitionFamily string `json:"taskDefinitionFamily,omitempty"`
	// TaskRoles are the roles in that task definition (task role, execution
	// role), names or ARNs: the only ones iam:PassRole may pass.
	TaskRoles []string `json:"taskRoles,omitempty"`
	// LogGroup is the CloudWatch Logs group the migration container logs
	// to (its awslogs-group): the only one whose streams the workflow may
	// read, to put the log's last lines in a failed migration's cause.
	// Default: /ecs/<taskDefinitionFamily>, what the ECS console creates.
	LogGroup string `json:"logGroup,omitempty"`
	// Requires names the environment an image must have deployed to
	// successfully before this one deploys it (promotion guard): "staging".
	Requires string `json:"requires,omitempty"`
	// Approval makes each deployment wait for a person before anything runs.
	Approval *Approval `json:"approval,omitempty"`
	Settings
}

// Approval is the approval gate: how long a deployment waits for a person
// (deployer approve / reject) before it ends ApprovalTimedOut.
type Approval struct {
	Timeout Duration `json:"timeout"`
	// Approvers, if given, are who may approve or reject: IAM principal ARNs
	// as AWS authenticates a caller (arn:aws:iam::<account>:user/<name>,
	// arn:aws:sts::<account>:assumed-role/<role>/<session>), where * matches
	// any characters (arn:aws:sts::123456789012:assumed-role/ReleaseManagers/*).
	// Empty: anyone whose policy lets them call the approvals API.
	Approvers []string `json:"approvers,omitempty"`
}

// MayApprove says whether an approver list admits the principal (an empty
// list admits everyone the approvals API's IAM lets in).
func (a Approval) MayApprove(principal string) bool {
	if len(a.Approvers) == 0 {
		return true
	}
	for _, p := range a.Approvers {
		if globMatch(p, principal) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern where * stands for any characters.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// approverPattern is an IAM or STS principal ARN, * allowed.
var approverPattern = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}|\*):[A-Za-z0-9+=,.@_/*-]+$`)

// MaxApprovalTimeout keeps an approval wait well inside the execution's
// own 24 hours, with room for the migration and the deployment after it.
const MaxApprovalTimeout = 12 * time.Hour

// Migration says how to run the migration. `"migration": false` disables it.
type Migration struct {
	Disabled bool `json:"-"`
	// Container is the container whose command is overridden. Empty: the
	// container that runs the target's repository image, else the first essential one.
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command,omitempty"`
}

// UnmarshalJSON accepts false (no migration) or an object.
func (m *Migration) UnmarshalJSON(b []byte) error {
	switch strings.TrimSpace(string(b)) {
	case "false":
		*m = Migration{Disabled: true}
		return nil
	case "true":
		return errors.New(`"migration" must be false or an object such as {"container":"app","command":["goose","-dir","migrations","up"]}`)
	}
	type plain Migration
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	// "command": [] would otherwise fall back to the default command
	// silently: a migration the file seems to turn off would run goose.
	if p.Command != nil && len(p.Command) == 0 {
		return errors.New(`"migration.command" must not be empty: omit it for the default (goose -dir migrations up), or set "migration": false for no migration`)
	}
	*m = Migration(p)
	return nil
}

// MarshalJSON writes false for a disabled migration.
func (m Migration) MarshalJSON() ([]byte, error) {
	if m.Disabled {
		return []byte("false"), nil
	}
	type plain Migration
	return json.Marshal(plain(m))
}

// Duration is a time.Duration written as a Go duration string ("30m", "15s").
type Duration time.Duration

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: want a duration string such as \"30s\" or \"15m\", got %s", errDuration, b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: want a duration string such as \"30s\" or \"15m\": %v", errDuration, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Seconds returns the duration in whole seconds, at least 1.
func (d Duration) Seconds() int {
	s := int(time.Duration(d) / time.Second)
	if s < 1 {
		return 1
	}
	return s
}

// Resolved is a target with every default applied: what the workflow runs with.
type Resolved struct {
	Environment            string    `json:"environment"`
	Repository             string    `json:"repository"`
	Tag                    string    `json:"tag"`
	Cluster                string    `json:"cluster"`
	Service                string    `json:"service"`
	TaskDefinitionFamily   string    `json:"taskDefinitionFamily"`
	LogGroup               string    `json:"logGroup"`
	TaskRoles              []string  `json:"taskRoles,omitempty"`
	Migration              Migration `json:"migration"`
	MigrationTimeout       Duration  `json:"migrationTimeout"`
	DeploymentTimeout      Duration  `json:"deploymentTimeout"`
	MigrationPollInterval  Duration  `json:"migrationPollInterval"`
	DeploymentPollInterval Duration  `json:"deploymentPollInterval"`
	CapacityRetries        int       `json:"capacityRetries"`
	CapacityRetryInterval  Duration  `json:"capacityRetryInterval"`
	Image                  string    `json:"image"`
	QueueSettle            Duration  `json:"queueSettle"`
	QueuePollInterval      Duration  `json:"queuePollInterval"`
	DuplicateWindow        Duration  `json:"duplicateWindow"`
	Requires               string    `json:"requires,omitempty"`
	RequiresWait           Duration  `json:"requiresWait"`
	Approval               *Approval `json:"approval,omitempty"`
	NotifyOnSuccess        bool      `json:"notifyOnSuccess"`
	Windows                Windows   `json:"windows,omitempty"`
	// Services is set for a target of several services: each with its task
	// definition family; Service is the first of them.
	Services  []ServiceRef `json:"services,omitempty"`
	OnFailure string       `json:"onFailure,omitempty"`
	// Account and Region are the target's when it is not in the deployer
	// stack's own (empty: the stack's).
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Place is an AWS account and Region.
type Place struct{ Account, Region string }

// PlaceIn is where the target's cluster is: its account and Region, each
// defaulting to the deployer stack's own (home).
func (r Resolved) PlaceIn(home Place) Place {
	p := Place{Account: r.Account, Region: r.Region}
	if p.Account == "" {
		p.Account = home.Account
	}
	if p.Region == "" {
		p.Region = home.Region
	}
	return p
}

// ServiceNames lists the names of the services the target deploys.
func (r Resolved) ServiceNames() []string {
	var out []string
	for _, ref := range r.AllServices() {
		out = append(out, ref.Service)
	}
	return out
}

// AllServices lists the services the target deploys, with their task
// definition families: its Services, or its one Service.
func (r Resolved) AllServices() []ServiceRef {
	if len(r.Services) > 0 {
		return append([]ServiceRef(nil), r.Services...)
	}
	return []ServiceRef{{Service: r.Service, TaskDefinitionFamily: r.TaskDefinitionFamily}}
}

// Config is a validated configuration.
type Config struct {
	targets []Resolved
	file    string // the file's name, for errors
}

// FitsOneStack says whether one stack can deploy the targets: the stack
// publishes each as a CloudFormation output for the CLI, and CloudFormation
// allows MaxOutputs. The Lambdas read any number; the CDK app refuses more.
func (c *Config) FitsOneStack() error {
	if n := len(c.targets); n > MaxTargets {
		return &FieldError{File: c.file, Field: "targets", Msg: fmt.Sprintf("%d targets: at most %d, because the stack publishes each as a CloudFormation output (200 per stack) for the CLI; split them over two stacks", n, MaxTargets)}
	}
	return nil
}

// Targets returns every resolved target, in file order.
func (c *Config) Targets() []Resolved { return append([]Resolved(nil), c.targets...) }

// ByImage finds the target for a repository and tag.
func (c *Config) ByImage(repository, tag string) (Resolved, bool) {
	for _, t := range c.targets {
		if t.Repository == repository && t.Tag == tag {
			return t, true
		}
	}
	return Resolved{}, false
}

// ByEnvironment finds the target for an environment name.
func (c *Config) ByEnvironment(env string) (Resolved, bool) {
	for _, t := range c.targets {
		if t.Environment == env {
			return t, true
		}
	}
	return Resolved{}, false
}

// EnvironmentOf is the environment an execution deploys to: the one its
// input names, or the one its pushed image's repository and tag deploy.
func (c *Config) EnvironmentOf(repository, tag, env string) (string, bool) {
	if env != "" {
		_, ok := c.ByEnvironment(env)
		return env, ok
	}
	t, ok := c.ByImage(repository, tag)
	return t.Environment, ok
}

// Environments lists the configured environment names, sorted.
func (c *Config) Environments() []string {
	var out []string
	for _, t := range c.targets {
		out = append(out, t.Environment)
	}
	sort.Strings(out)
	return out
}

// Repositories lists each configured repository once with its tags, in file order.
func (c *Config) Repositories() []RepositoryTags {
	var out []RepositoryTags
	idx := map[string]int{}
	for _, t := range c.targets {
		i, ok := idx[t.Repository]
		if !ok {
			i = len(out)
			idx[t.Repository] = i
			out = append(out, RepositoryTags{Repository: t.Repository})
		}
		out[i].Tags = append(out[i].Tags, t.Tag)
	}
	return out
}

// RepositoryTags is a repository and the tags that deploy from it.
type RepositoryTags struct {
	Repository string
	Tags       []string
}

// FieldError says which field of which file is wrong.
type FieldError struct {
	File  string
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// checkRequires refuses a promotion guard that names no configured
// environment, the target itself, or closes a cycle (prod requires staging
// requires prod: neither could ever deploy).
func checkRequires(name string, targets []Resolved) []error {
	byEnv := map[string]Resolved{}
	for _, t := range targets {
		byEnv[t.Environment] = t
	}
	var errs []error
	for i, t := range targets {
		if t.Requires == "" {
			continue
		}
		field := fmt.Sprintf("targets[%d].requires", i)
		if _, ok := byEnv[t.Requires]; !ok {
			errs = append(errs, &FieldError{name, field, fmt.Sprintf("%q is not a configured environment (environments: %s)", t.Requires, strings.Join(sortedKeys(byEnv), ", "))})
			continue
		}
		seen := map[string]bool{t.Environment: true}
		path := []string{t.Environment}
		for next := t.Requires; next != ""; next = byEnv[next].Requires {
			path = append(path, next)
			if seen[next] {
				errs = append(errs, &FieldError{name, field, fmt.Sprintf("the guard is a cycle (%s): no environment in it could ever deploy", strings.Join(path, " requires "))})
				break
			}
			seen[next] = true
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeError says where a document failed to decode: the line and column
// of a syntax or type error, the field path of a bad duration.
func decodeError(name string, b []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := position(b, syntax.Offset)
		return &FieldError{File: name, Msg: fmt.Sprintf("not valid JSON at line %d, column %d: %s", line, col, syntax.Error())}
	case errors.As(err, &typ):
		line, col := position(b, typ.Offset)
		return &FieldError{File: name, Field: typ.Field, Msg: fmt.Sprintf("line %d, column %d: want %s, got %s", line, col, typ.Type, typ.Value)}
	case errors.Is(err, errDuration):
		if path, value, ok := badDuration(b); ok {
			return &FieldError{File: name, Field: path, Msg: fmt.Sprintf("%s is not a duration: want a string such as \"30s\" or \"15m\"", value)}
		}
	}
	return &FieldError{File: name, Msg: "not a valid targets document: " + err.Error()}
}

// position turns the offset encoding/json reports (the error "occurred
// after reading Offset bytes") into the 1-based line and column of the
// last byte read.
func position(b []byte, offset int64) (line, col int) {
	offset = max(1, min(offset, int64(len(b))))
	before := b[:offset-1]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// badDuration finds the first duration field whose value does not parse,
// and its path (defaults.deploymentTimeout, targets[2].migrationTimeout).
func badDuration(b []byte) (string, string, bool) {
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return "", "", false
	}
	bad := func(prefix string, m map[string]any) (string, string, bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !durationField[k] {
				continue
			}
			raw, _ := json.Marshal(m[k])
			if s, ok := m[k].(string); ok {
				if _, err := time.ParseDuration(s); err == nil {
					continue
				}
			}
			return prefix + k, string(raw), true
		}
		return "", "", false
	}
	if d, ok := doc["defaults"].(map[string]any); ok {
		if p, v, ok := bad("defaults.", d); ok {
			return p, v, true
		}
	}
	ts, _ := doc["targets"].([]any)
	for i, t := range ts {
		if m, ok := t.(map[string]any); ok {
			if p, v, ok := bad(fmt.Sprintf("targets[%d].", i), m); ok {
				return p, v, true
			}
			if mig, ok := m["migration"].(map[string]any); ok {
				if p, v, ok := bad(fmt.Sprintf("targets[%d].migration.", i), mig); ok {
					return p, v, true
				}
			}
		}
	}
	return "", "", false
}

// durationField names the fields that hold a Duration.
var durationField = func() map[string]bool {
	out := map[string]bool{}
	for _, t := range []reflect.Type{reflect.TypeOf(Settings{}), reflect.TypeOf(Resolved{})} {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type == reflect.TypeOf(Duration(0)) || f.Type == reflect.TypeOf((*Duration)(nil)) {
				out[strings.Split(f.Tag.Get("json"), ",")[0]] = true
			}
		}
	}
	return out
}()

// errDuration marks a duration that does not parse.
var errDuration = errors.New("not a duration")

// LoadFile reads and validates a configuration file.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse validates a configuration document; name is used in error messages.
func Parse(name string, b []byte) (*Config, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(name, b, err)
	}
	var errs []error
	if len(f.Targets) == 0 {
		errs = append(errs, &FieldError{File: name, Field: "targets", Msg: "at least one target is required"})
	}
	errs = append(errs, validateSettings(name, "defaults", f.Defaults)...)
	c := &Config{file: name}
	seenImage := map[string]int{}
	seenEnv := map[string]int{}
	for i, t := range f.Targets {
		field := fmt.Sprintf("targets[%d]", i)
		r := resolve(f.Defaults, t)
		if !repoName.MatchString(t.Repository) {
			errs = append(errs, &FieldError{name, field + ".repository", fmt.Sprintf("%q is not an ECR repository name (lowercase letters, digits, . _ - /)", t.Repository)})
		}
		if !tagName.MatchString(t.Tag) {
			errs = append(errs, &FieldError{name, field + ".tag", fmt.Sprintf("%q is not an image tag (letters, digits, . _ -, at most 128)", t.Tag)})
		}
		if !envName.MatchString(r.Environment) {
			errs = append(errs, &FieldError{name, field + ".environment", fmt.Sprintf("%q must be 1-40 of [A-Za-z0-9_-] (it becomes part of execution names)", r.Environment)})
		}
		if r.Cluster == "" || len(r.Cluster) > 255 {
			errs = append(errs, &FieldError{name, field + ".cluster", "must be 1-255 characters"})
		}
		errs = append(errs, validateServices(name, field, t, r)...)
		errs = append(errs, validateGatedImage(name, field, r)...)
		if a := r.Approval; a != nil && (time.Duration(a.Timeout) < time.Minute || time.Duration(a.Timeout) > MaxApprovalTimeout) {
			errs = append(errs, &FieldError{name, field + ".approval.timeout", fmt.Sprintf("%s: give 1m to %s, inside the execution's 24 hours", time.Duration(a.Timeout), MaxApprovalTimeout)})
		}
		if a := r.Approval; a != nil {
			for j, p := range a.Approvers {
				if !approverPattern.MatchString(p) {
					errs = append(errs, &FieldError{name, fmt.Sprintf("%s.approval.approvers[%d]", field, j), fmt.Sprintf("%q is not an IAM principal ARN as AWS authenticates a caller (arn:aws:iam::<account>:user/<name>, arn:aws:sts::<account>:assumed-role/<role>/<session>; * matches any characters)", p)})
				}
			}
		}
		// A log group name: 1-512 of [.\-_/#A-Za-z0-9] (CreateLogGroup).
		if !logGroupName.MatchString(r.LogGroup) {
			errs = append(errs, &FieldError{name, field + ".logGroup", fmt.Sprintf("%q is not a CloudWatch Logs group name (1-512 of letters, digits, . - _ / #)", r.LogGroup)})
		}
		if !familyName.MatchString(r.TaskDefinitionFamily) {
			errs = append(errs, &FieldError{name, field + ".taskDefinitionFamily", fmt.Sprintf("%q must be 1-255 of [A-Za-z0-9_-]", r.TaskDefinitionFamily)})
		}
		for j, role := range t.TaskRoles {
			if !roleRef.MatchString(role) {
				errs = append(errs, &FieldError{name, fmt.Sprintf("%s.taskRoles[%d]", field, j), fmt.Sprintf("%q is neither an IAM role name nor a role ARN", role)})
			}
		}
		errs = append(errs, validateSettings(name, field, t.Settings)...)
		if (r.Account == "") != (r.Region == "") {
			errs = append(errs, &FieldError{name, field, "give both \"account\" and \"region\" (here or in defaults), or neither for the deployer stack's own: a target account stack is made per account and Region"})
		}
		if !r.Migration.Disabled && len(r.Migration.Command) == 0 {
			errs = append(errs, &FieldError{name, field + ".migration.command", "must not be empty (use \"migration\": false for a target without a migration)"})
		}
		key := t.Repository + ":" + t.Tag
		if j, dup := seenImage[key]; dup {
			errs = append(errs, &FieldError{name, field, fmt.Sprintf("repository %q tag %q is already targets[%d]", t.Repository, t.Tag, j)})
		}
		seenImage[key] = i
		if j, dup := seenEnv[r.Environment]; dup {
			errs = append(errs, &FieldError{name, field + ".environment", fmt.Sprintf("%q is already the environment of targets[%d]; set \"environment\" to tell them apart", r.Environment, j)})
		}
		seenEnv[r.Environment] = i
		c.targets = append(c.targets, r)
	}
	errs = append(errs, checkRequires(name, c.targets)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := errors.Join(checkHistory(name, c)...); err != nil {
		return nil, err
	}
	return c, nil
}

var (
	// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Repository.html (repositoryName pattern)
	repoName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	tagName  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	envName  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)
	// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html (family)
	familyName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// logGroupName is a CloudWatch Logs group name (CreateLogGroup: 1-512 of [.\-_/#A-Za-z0-9]).
	logGroupName = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	accountID    = regexp.MustCompile(`^[0-9]{12}$`)
	regionName   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	roleRef      = regexp.MustCompile(`^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}|[\w+=,.@-]{1,64})$`)
)

// validateServices checks the one service, or the several: not both, at
// most MaxServices, each named once, and rollback-others only where the
// previous version can be deployed exactly again.
func validateServices(file, field string, t Target, r Resolved) []error {
	var errs []error
	if t.Services == nil {
		if r.Service == "" || len(r.Service) > 255 {
			errs = append(errs, &FieldError{file, field + ".service", "must be 1-255 characters"})
		}
		if t.OnFailure != nil {
			errs = append(errs, &FieldError{file, field + ".onFailure", "is for a target of several services (\"services\"); a target's one service is rolled back by ECS's circuit breaker"})
		}
		return errs
	}
	if t.Service != "" {
		errs = append(errs, &FieldError{file, field + ".services", "set either \"service\" or \"services\", not both (put the service in the list)"})
	}
	if len(t.Services) == 0 || len(t.Services) > MaxServices {
		errs = append(errs, &FieldError{file, field + ".services", fmt.Sprintf("%d services: give 1 to %d (each check of the deployment reads every one)", len(t.Services), MaxServices)})
	}
	seen := map[string]int{}
	for j, s := range t.Services {
		f := fmt.Sprintf("%s.services[%d]", field, j)
		if s.Service == "" || len(s.Service) > 255 {
			errs = append(errs, &FieldError{file, f, "the service name must be 1-255 characters"})
		}
		if s.TaskDefinitionFamily != "" && !familyName.MatchString(s.TaskDefinitionFamily) {
			errs = append(errs, &FieldError{file, f + ".taskDefinitionFamily", fmt.Sprintf("%q must be 1-255 of [A-Za-z0-9_-]", s.TaskDefinitionFamily)})
		}
		if k, dup := seen[s.Service]; dup {
			errs = append(errs, &FieldError{file, f, fmt.Sprintf("service %q is already services[%d]", s.Service, k)})
		}
		seen[s.Service] = j
	}
	if r.OnFailure == OnFailureRollbackOthers && r.Image != ImageDigest {
		errs = append(errs, &FieldError{file, field + ".onFailure", "\"rollback-others\" needs \"image\": \"digest\": in tag mode the services' task definitions name the tag, which names the new image now, so their previous version cannot be deployed again exactly"})
	}
	return errs
}

// validateGatedImage refuses a gate in tag mode: ECS resolves the tag at
// RunTask and again at the deployment, both after the approval and the
// guard, so a push in between would run and deploy an image nobody
// approved or that never passed the required environment. Digest mode pins
// the approved digest in a task definition revision.
func validateGatedImage(file, field string, r Resolved) []error {
	if r.Image != ImageTag {
		return nil
	}
	var errs []error
	if r.Approval != nil {
		errs = append(errs, &FieldError{file, field + ".approval", "needs \"image\": \"digest\" (the default): in tag mode ECS resolves the tag after the approval, so a push in between would deploy an image nobody approved"})
	}
	if r.Requires != "" {
		errs = append(errs, &FieldError{file, field + ".requires", "needs \"image\": \"digest\" (the default): in tag mode ECS resolves the tag after the promotion guard, so a push in between would deploy an image that never passed " + r.Requires})
	}
	return errs
}

func validateSettings(file, field string, s Settings) []error {
	var errs []error
	// The state machine's overall timeout is 24 hours; each phase gets at most half.
	const maxDuration = 12 * time.Hour
	check := func(name string, d *Duration, min time.Duration) {
		switch {
		case d == nil:
		case time.Duration(*d) < min:
			errs = append(errs, &FieldError{file, field + "." + name, fmt.Sprintf("must be at least %s", min)})
		case time.Duration(*d) > maxDuration:
			errs = append(errs, &FieldError{file, field + "." + name, "must be at most 12h"})
		}
	}
	check("migrationTimeout", s.MigrationTimeout, time.Second)
	check("deploymentTimeout", s.DeploymentTimeout, time.Second)
	check("migrationPollInterval", s.MigrationPollInterval, time.Second)
	check("deploymentPollInterval", s.DeploymentPollInterval, time.Second)
	check("capacityRetryInterval", s.CapacityRetryInterval, time.Second)
	check("queueSettle", s.QueueSettle, 0)
	check("queuePollInterval", s.QueuePollInterval, time.Second)
	check("duplicateWindow", s.DuplicateWindow, 0)
	errs = append(errs, validateWindows(file, field, s.Windows)...)
	if s.OnFailure != nil && *s.OnFailure != OnFailureLeaveOthers && *s.OnFailure != OnFailureRollbackOthers {
		errs = append(errs, &FieldError{file, field + ".onFailure", fmt.Sprintf("%q must be %q or %q", *s.OnFailure, OnFailureLeaveOthers, OnFailureRollbackOthers)})
	}
	if s.Image != nil && *s.Image != ImageTag && *s.Image != ImageDigest {
		errs = append(errs, &FieldError{file, field + ".image", fmt.Sprintf("%q must be \"tag\" or \"digest\"", *s.Image)})
	}
	if s.Account != nil && !accountID.MatchString(*s.Account) {
		errs = append(errs, &FieldError{file, field + ".account", fmt.Sprintf("%q is not an AWS account ID (12 digits, as a string)", *s.Account)})
	}
	if s.Region != nil && !regionName.MatchString(*s.Region) {
		errs = append(errs, &FieldError{file, field + ".region", fmt.Sprintf("%q is not an AWS Region code (us-east-1, eu-west-1, …)", *s.Region)})
	}
	if s.CapacityRetries != nil && (*s.CapacityRetries < 0 || *s.CapacityRetries > 100) {
		errs = append(errs, &FieldError{file, field + ".capacityRetries", "must be between 0 and 100"})
	}
	return errs
}

func resolve(d Settings, t Target) Resolved {
	r := Resolved{Repository: t.Repository, Tag: t.Tag, Environment: t.Environment, Cluster: t.Cluster, Service: t.Service,
		TaskDefinitionFamily: t.TaskDefinitionFamily, TaskRoles: append([]string(nil), t.TaskRoles...)}
	if r.TaskDefinitionFamily == "" {
		r.TaskDefinitionFamily = t.Repository[strings.LastIndex(t.Repository, "/")+1:]
	}
	for _, ref := range t.Services {
		if ref.TaskDefinitionFamily == "" {
			ref.TaskDefinitionFamily = r.TaskDefinitionFamily
		}
		r.Services = append(r.Services, ref)
	}
	if len(r.Services) > 0 {
		r.Service, r.TaskDefinitionFamily = r.Services[0].Service, r.Services[0].TaskDefinitionFamily
	}
	r.LogGroup = t.LogGroup
	if r.LogGroup == "" {
		r.LogGroup = "/ecs/" + r.TaskDefinitionFamily
	}
	if r.Environment == "" {
		r.Environment = t.Tag
	}
	if r.Cluster == "" {
		r.Cluster = r.Environment
	}
	if r.Service == "" {
		r.Service = r.Cluster + "-service"
	}
	r.Migration = Migration{Command: DefaultCommand}
	for _, m := range []*Migration{d.Migration, t.Migration} {
		if m == nil {
			continue
		}
		if m.Disabled {
			r.Migration = Migration{Disabled: true}
			continue
		}
		r.Migration.Disabled = false
		if m.Container != "" {
			r.Migration.Container = m.Container
		}
		if len(m.Command) > 0 {
			r.Migration.Command = m.Command
		}
	}
	r.Migration.Command = append([]string(nil), r.Migration.Command...)
	pick := func(def Duration, vals ...*Duration) Duration {
		for i := len(vals) - 1; i >= 0; i-- {
			if vals[i] != nil {
				return *vals[i]
			}
		}
		return def
	}
	r.MigrationTimeout = pick(DefaultMigrationTimeout, d.MigrationTimeout, t.MigrationTimeout)
	r.DeploymentTimeout = pick(DefaultDeploymentTimeout, d.DeploymentTimeout, t.DeploymentTimeout)
	r.MigrationPollInterval = pick(DefaultMigrationPollInterval, d.MigrationPollInterval, t.MigrationPollInterval)
	r.DeploymentPollInterval = pick(DefaultDeploymentPollInterval, d.DeploymentPollInterval, t.DeploymentPollInterval)
	r.CapacityRetryInterval = pick(DefaultCapacityRetryInterval, d.CapacityRetryInterval, t.CapacityRetryInterval)
	r.QueueSettle = pick(DefaultQueueSettle, d.QueueSettle, t.QueueSettle)
	r.QueuePollInterval = pick(DefaultQueuePollInterval, d.QueuePollInterval, t.QueuePollInterval)
	r.DuplicateWindow = pick(DefaultDuplicateWindow, d.DuplicateWindow, t.DuplicateWindow)
	r.RequiresWait = pick(DefaultRequiresWait, d.RequiresWait, t.RequiresWait)
	r.Requires = t.Requires
	if t.Approval != nil {
		a := *t.Approval
		r.Approval = &a
	}
	r.Image = ImageDigest
	for _, v := range []*string{d.Image, t.Image} {
		if v != nil {
			r.Image = *v
		}
	}
	for _, v := range []Windows{d.Windows, t.Windows} {
		if v != nil {
			r.Windows = append(Windows(nil), v...)
		}
	}
	if len(r.Services) > 0 {
		r.OnFailure = OnFailureLeaveOthers
		for _, v := range []*string{d.OnFailure, t.OnFailure} {
			if v != nil {
				r.OnFailure = *v
			}
		}
	}
	for _, v := range []*bool{d.NotifyOnSuccess, t.NotifyOnSuccess} {
		if v != nil {
			r.NotifyOnSuccess = *v
		}
	}
	for _, v := range [][2]*string{{d.Account, d.Region}, {t.Account, t.Region}} {
		if v[0] != nil {
			r.Account = *v[0]
		}
		if v[1] != nil {
			r.Region = *v[1]
		}
	}
	r.CapacityRetries = DefaultCapacityRetries
	for _, v := range []*int{d.CapacityRetries, t.CapacityRetries} {
		if v != nil {
			r.CapacityRetries = *v
		}
	}
	return r
}
