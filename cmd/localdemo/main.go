// Command localdemo runs one deployment on the local stack: it builds the
// Lambdas, starts the ECS/ECR emulator and the RIEs, feeds AWS's documented
// ECR push event with the tag "staging" (or a scenario's input), prints the
// execution history and result, and exits 0 only when the execution SUCCEEDED.
//
//	go run ./cmd/localdemo [-scenario local/scenarios/migration-fails.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/lambdabuild"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func main() {
	os.Exit(run())
}

func run() int {
	scenario := flag.String("scenario", "", "scenario file (see README: Scenarios); empty runs a deployment where everything works")
	wait := flag.Duration("wait", 250*time.Millisecond, "how long each Wait state pauses locally")
	verbose := flag.Bool("v", false, "print the Lambdas' logs")
	buildOnly := flag.Bool("build-only", false, "build the binaries into bin/ and stop")
	serve := flag.Bool("serve", false, "keep the local stack running for the deployer CLI and the AWS CLI, until interrupted")
	addr := flag.String("addr", "127.0.0.1:4599", "with -serve: where the local stack listens (fixed, so the exported variables survive a restart)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: localdemo [-scenario FILE] [-wait DURATION] [-v]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var sc emulator.Scenario
	if *scenario != "" {
		var err error
		if sc, err = emulator.LoadScenario(*scenario); err != nil {
			fmt.Fprintln(os.Stderr, "localdemo:", err)
			return 2
		}
	}
	root, err := lambdabuild.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localdemo:", err)
		return 1
	}
	bin := filepath.Join(root, "bin")
	fmt.Println("Building the Lambdas (bootstrap binaries) and the Lambda RIE…")
	if err := rig.Build(ctx, root, bin); err != nil {
		fmt.Fprintln(os.Stderr, "localdemo:", err)
		return 1
	}
	if *buildOnly {
		return 0
	}
	listen := ""
	if *serve {
		listen = *addr
	}
	var lambdaLog io.Writer
	if *verbose {
		lambdaLog = os.Stderr
	}
	opts := rig.Options{
		Root: root, BinDir: bin, ConfigFile: filepath.Join(root, "local", "targets.json"), Wait: *wait, LambdaLog: lambdaLog, Addr: listen,
	}
	multi := filepath.Join(root, "local", "multi-account")
	if sc.Layout == "multi-account" {
		opts.ConfigFile, opts.Template = filepath.Join(multi, "targets.json"), filepath.Join(multi, "template.json")
	}
	stack, err := rig.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localdemo:", err)
		return 1
	}
	defer stack.Close()
	if err := stack.Emulator.SeedStandardWorld(); err != nil {
		fmt.Fprintln(os.Stderr, "localdemo:", err)
		return 1
	}
	if sc.Layout == "multi-account" {
		if err := stack.SetUpTargetAccounts(multi, nil); err != nil {
			fmt.Fprintln(os.Stderr, "localdemo:", err)
			return 1
		}
	}
	fmt.Printf("Local stack: ECS/ECR emulator at %s, %d Lambdas under aws-lambda-rie, ASL in aws-local-stepfunctions.\n", stack.Endpoint, len(statemachine.Functions))
	if *serve {
		stack.SetScenario(sc)
		fmt.Printf(`
The local stack serves ECS, ECR, Step Functions, STS and the stack's CloudFormation outputs
(stack %[3]s) at %[1]s until you press Ctrl-C.
ECR pushes of a configured tag start executions, as the EventBridge rules in template.json do.
In another shell:

  export AWS_ENDPOINT_URL=%[1]s AWS_REGION=%[2]s AWS_DEFAULT_REGION=%[2]s
  export AWS_ACCESS_KEY_ID=%[4]s AWS_SECRET_ACCESS_KEY=%[5]s  # the stack's OperatorPolicy, as IAM would apply it
  go run ./cmd/deployer promote --repository app --from sha-2 --to staging
  go run ./cmd/deployer status
  go run ./cmd/deployer start staging --follow
  AWS_ACCESS_KEY_ID=admin AWS_SECRET_ACCESS_KEY=local go run ./cmd/deployer check --targets local/targets.json  # as whoever deploys the stack
`, stack.Endpoint, emulator.Region, rig.StackName, rig.OperatorAccessKey, rig.SecretOf(rig.OperatorAccessKey))
		<-ctx.Done()
		return 0
	}
	if sc.Description != "" {
		fmt.Println("Scenario:", sc.Description)
	}
	fmt.Println("Trigger:", trigger(sc.Input))
	fmt.Printf("Wait states pause %s here (-wait); in AWS they last the seconds the history names (\"retry in 30s\").\n\n", *wait)
	// A push goes the way the push rule sends it, through the Trigger
	// function; a manual start (a scenario's input) straight to the state
	// machine, as an administrator's StartExecution does (deployer start
	// goes through the deployer API, which writes the input with who asked).
	run := stack.RunPush
	if isManual(sc.Input) {
		run = stack.Run
	}
	res, err := run(ctx, nil, sc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localdemo:", err)
		return 1
	}
	rig.RenderHistory(os.Stdout, res)
	printNotification(ctx, stack, res.ExecutionARN)
	if res.Status != "SUCCEEDED" {
		return 1
	}
	return 0
}

// printNotification prints what the Notify function published about the
// execution's end, as an email subscriber reads it, and the metrics it emitted.
func printNotification(ctx context.Context, stack *rig.Stack, arn string) {
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pubs, err := stack.Notified(wait, arn)
	if err != nil {
		fmt.Println("\nNotification:", err)
		return
	}
	if len(pubs) == 0 {
		fmt.Println("\nNotification: none published (a deployment that succeeded is told only where the target sets notifyOnSuccess)")
	}
	for _, p := range pubs {
		fmt.Printf("\nNotification published to %s (email; Slack and Teams get the same as an Amazon Q custom notification):\n  Subject: %s\n", p.TopicARN, p.Subject)
		for _, l := range strings.Split(strings.TrimRight(p.For("email"), "\n"), "\n") {
			fmt.Println("  " + l)
		}
	}
	var ms []string
	for _, m := range stack.Metrics("notify") {
		if m.Properties["Execution"] == arn {
			ms = append(ms, fmt.Sprintf("%s=%g %s %v", m.Name, m.Value, m.Unit, m.Dimensions))
		}
	}
	if len(ms) > 0 {
		fmt.Println("\nMetrics (EMF, namespace ecr-deployer):\n  " + strings.Join(ms, "\n  "))
	}
	// CloudWatch evaluates the alarms a moment after the execution ends.
	time.Sleep(200 * time.Millisecond)
	for _, a := range stack.Alarms() {
		if a.State == "ALARM" {
			fmt.Printf("\nAlarm %s → ALARM, published to the topic: %s\n", a.Name, a.Reason)
		}
	}
}

// trigger says what starts the run: the scenario's input, else AWS's
// documented ECR push event retagged staging.
func trigger(input json.RawMessage) string {
	if len(input) == 0 {
		input = rig.SamplePushEvent("staging", emulator.Digest)
	}
	req, err := deploy.ParseInput(input)
	switch {
	case err != nil:
		return "an input the workflow refuses (InvalidInput)"
	case req.Trigger.Type == "push":
		return fmt.Sprintf("push of %s:%s (%s), as ECR's EventBridge event delivers it", req.Repository, req.Tag, req.Digest)
	}
	return fmt.Sprintf("%s start of %s", req.Trigger.Type, req.Environment)
}

// isManual says an input is a manual start ({"environment": …}), not an
// ECR event.
func isManual(input json.RawMessage) bool {
	var probe struct {
		Source string `json:"source"`
	}
	return input != nil && json.Unmarshal(input, &probe) == nil && probe.Source == ""
}
