// Package cli is the deployer command: promote an image, start, follow and
// inspect deployments. cmd/deployer wires it to os.Args.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecr-deployer/ecr-deployer/internal/awsretry"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// SFNAPI is the part of Step Functions the CLI calls.
type SFNAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	// continue and rollback record a decision in the waiting execution.
	SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
}

// ECRAPI is the part of ECR the CLI calls.
type ECRAPI interface {
	BatchGetImage(context.Context, *ecr.BatchGetImageInput, ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	PutImage(context.Context, *ecr.PutImageInput, ...func(*ecr.Options)) (*ecr.PutImageOutput, error)
}

// CFNAPI finds the state machine from the stack's outputs.
type CFNAPI = deploy.StacksAPI

var (
	_ SFNAPI = (*sfn.Client)(nil)
	_ ECRAPI = (*ecr.Client)(nil)
	_ CFNAPI = (*cloudformation.Client)(nil)
)

// App is one run of the command.
type App struct {
	Out, Err io.Writer
	Getenv   func(string) string
	// Poll is how often --follow looks at the execution.
	Poll time.Duration
	// Now is the clock (names, durations).
	Now func() time.Time
	// HTTP sends the deployer API's requests; nil: http.DefaultClient.
	HTTP *http.Client

	global  globalFlags
	region  string
	sfn     SFNAPI
	ecr     ECRAPI
	cfn     CFNAPI
	ecs     ECSAPI
	sts     STSAPI
	stopper StopperAPI
	// setup is what init, check and plan read.
	setup   Setup
	outputs map[string]string
	// creds sign the deployer API's requests (callAPI).
	creds aws.CredentialsProvider
}

type globalFlags struct {
	region, profile, stateMachine, stack, output string
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError ends the command with a code after its message was printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

const usage = `deployer: promote images and follow ecr-deployer's deployments.

Usage:
  deployer <command> [flags]

Commands:
  promote   retag an image in ECR (BatchGetImage + PutImage); the push starts a deployment
  start     start a deployment of an environment by hand
  status    recent deployments per environment
  history   an execution's history, state by state
  follow    follow an environment's running (or latest) deployment, or an execution, until it ends
  stats     the four DORA figures per environment (frequency, lead time, change failure rate, time to restore)
  audit     the people's decisions: who started, overrode, approved, continued or rolled back, when, why
  approve   approve the deployment that waits for a person (a target with "approval")
  reject    reject it: it ends Rejected and nothing runs
  continue  continue a deployment that waits at a pause hook
  rollback  roll an environment back: stop the deployment in flight, or deploy the previous image again
  preflight before make deploy or make destroy: the running deployments the change would strand
  init      write a targets.json from the account: each tag's service, family, migration container, roles, log group, timeout
  check     check targets.json against the account before a push: services, task definitions, roles, logs, timeouts, image, stack, permissions
  plan      what a push of an environment's tag would do now: digest, task definition, migration, strategies, gates, queue, time

Flags of every command:
  --region R           AWS region (default: the SDK's: AWS_REGION, profile)
  --profile P          AWS profile
  --state-machine ARN  the workflow (default: $DEPLOYER_STATE_MACHINE_ARN, else the --stack output)
  --stack NAME         the CloudFormation stack to read StateMachineArn from (default EcrDeployer)
  --output text|json   output format of the read commands (default text)

Run 'deployer <command> --help' for a command's flags and an example; 'deployer --version' for the version.
`

// Main runs the command line and returns the exit code: 0 success, 1 a
// failure (a failed deployment, an AWS error), 2 a bad command line.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &App{Out: stdout, Err: stderr, Getenv: os.Getenv, Poll: 2 * time.Second, Now: time.Now}
	return a.Run(ctx, args)
}

// Run runs one command line.
func (a *App) Run(ctx context.Context, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(a.Out, "deployer", version())
		return 0
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(a.Out, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func(context.Context, []string) error{
		"promote": a.promote, "start": a.start, "status": a.status, "history": a.history,
		"continue": a.continueCmd, "rollback": a.rollback, "follow": a.followCmd, "stats": a.stats,
		"audit":   a.audit,
		"approve": a.approve, "reject": a.reject, "preflight": a.preflight,
		"check": a.check, "plan": a.plan, "init": a.initCmd,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(a.Err, "deployer: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:])
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(a.Err, "deployer %s: %s (see deployer %s --help)\n", args[0], ue.msg, args[0])
		return 2
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(a.Err, "deployer %s: %v\n", args[0], err)
		return 1
	}
}

// flags returns a command's flag set with the global flags on it. The flag
// package's own output is discarded: a bad flag is printed once, by Run,
// and --help prints the usage with --flags, as the README writes them.
func (a *App) flags(name, summary, example string) *flag.FlagSet {
	fs := flag.NewFlagSet("deployer "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.global.region, "region", "", "AWS region")
	fs.StringVar(&a.global.profile, "profile", "", "AWS profile")
	fs.StringVar(&a.global.stateMachine, "state-machine", "", "state machine ARN (default $DEPLOYER_STATE_MACHINE_ARN, else the stack output)")
	fs.StringVar(&a.global.stack, "stack", "EcrDeployer", "CloudFormation stack whose outputs name the state machine and the targets")
	fs.StringVar(&a.global.output, "output", "text", "output format: text or json")
	// The flag package calls Usage on -h and on every bad flag: only --help
	// prints it (parse), so a bad flag is not buried under the flag list.
	fs.Usage = func() {}
	usages.Store(fs, func() {
		fmt.Fprintf(a.Out, "%s\n\nExample:\n  %s\n\nFlags:\n", summary, example)
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if arg != "" {
				line += " " + arg
			}
			if f.DefValue != "" && f.DefValue != "false" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(a.Out, "%-28s %s\n", line, usage)
		})
	})
	return fs
}

// usages holds each flag set's --help printer.
var usages sync.Map

// parse parses flags anywhere among the positional arguments.
// checkReason refuses a --reason longer than the workflow keeps
// (deploy.MaxReasonRunes): the execution's state carries every reason.
func checkReason(fs *flag.FlagSet) error {
	f := fs.Lookup("reason")
	if f == nil {
		return nil
	}
	if n := utf8.RuneCountInString(f.Value.String()); n > deploy.MaxReasonRunes {
		return &usageError{fmt.Sprintf("--reason is %d characters long; at most %d fit (the execution's state carries it)", n, deploy.MaxReasonRunes)}
	}
	return nil
}

func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if u, ok := usages.Load(fs); ok {
					u.(func())()
				}
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, checkReason(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (a *App) checkOutput() error {
	if a.global.output != "text" && a.global.output != "json" {
		return &usageError{fmt.Sprintf("--output must be text or json, not %q", a.global.output)}
	}
	return nil
}

// connect builds the AWS clients from the SDK's default configuration
// (profiles, region, AWS_ENDPOINT_URL*) and the global flags.
func (a *App) connect(ctx context.Context) error {
	if a.sfn != nil {
		return nil
	}
	// The Lambdas' retry policy: a throttled read is ridden out, not an exit 1.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRetryer(awsretry.New)}
	if a.global.region != "" {
		opts = append(opts, awsconfig.WithRegion(a.global.region))
	}
	if a.global.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(a.global.profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return &usageError{"no AWS region: set --region, AWS_REGION or a profile's region"}
	}
	a.region, a.creds = cfg.Region, cfg.Credentials
	a.sfn, a.ecr, a.cfn = sfn.NewFromConfig(cfg), ecr.NewFromConfig(cfg), cloudformation.NewFromConfig(cfg)
	ecsClient := ecs.NewFromConfig(cfg)
	a.ecs, a.sts = ecsClient, sts.NewFromConfig(cfg)
	a.stopper = stopper{sfn: sfn.NewFromConfig(cfg), ecs: ecsClient}
	ecrClient := ecr.NewFromConfig(cfg)
	a.setup = Setup{ECS: ecsClient, ECR: ecrClient, Policies: ecrClient, Logs: cloudwatchlogs.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg),
		Resources: cloudformation.NewFromConfig(cfg)}
	return nil
}

// executions reads the state machine's executions.
func (a *App) executions(sm string) *executions.Reader {
	return &executions.Reader{API: a.sfn, StateMachine: sm}
}

// stateMachine finds the workflow's ARN: --state-machine, else
// $DEPLOYER_STATE_MACHINE_ARN, else the stack's StateMachineArn output.
func (a *App) stateMachine(ctx context.Context) (string, error) {
	if a.global.stateMachine != "" {
		return a.global.stateMachine, nil
	}
	if v := a.Getenv("DEPLOYER_STATE_MACHINE_ARN"); v != "" {
		return v, nil
	}
	outputs, err := a.stackOutputs(ctx)
	if err != nil {
		return "", fmt.Errorf("find the state machine: give --state-machine or DEPLOYER_STATE_MACHINE_ARN, or %w", err)
	}
	if arn := outputs["StateMachineArn"]; arn != "" {
		return arn, nil
	}
	return "", fmt.Errorf("stack %s has no StateMachineArn output: is it ecr-deployer's stack? (--stack)", a.global.stack)
}

// stackOutputs reads the stack's outputs once.
func (a *App) stackOutputs(ctx context.Context) (map[string]string, error) {
	if a.outputs != nil {
		return a.outputs, nil
	}
	outputs, err := deploy.StackOutputs(ctx, a.cfn, a.global.stack)
	if err != nil {
		return nil, fmt.Errorf("%w (deploy it with make deploy, or name yours with --stack)", err)
	}
	a.outputs = outputs
	return a.outputs, nil
}

// targets are what the deployed stack says each push deploys (its Target*
// outputs): the CLI never guesses them from a file.
func (a *App) targets(ctx context.Context) (config.Targets, error) {
	outputs, err := a.stackOutputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("learn the targets: %w", err)
	}
	ts, err := config.ReadPublished(outputs)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", a.global.stack, err)
	}
	return ts, nil
}
