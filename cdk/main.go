// Command cdk is ecr-deployer's CDK app: app → stack → synth.
//
//	make synth    writes ../template.json (code from the CodeBucket parameter), and
//	              ../local/template.json from ../local/targets.json for the local stack
//	make deploy   cdk deploy with the code of ../dist as assets (-c assets=../dist)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	ecrdeployer "github.com/ecr-deployer/ecr-deployer"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// StackName is the CloudFormation stack's name.
const StackName = "EcrDeployer"

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cdk:", err)
		os.Exit(1)
	}
}

func run() error {
	// DEPLOYER_CONFIG_FILE synthesizes the stack for another targets file:
	// make synth writes local/template.json from local/targets.json, whose
	// IAM policies the local stack enforces.
	cfg, err := config.Parse("targets.json", ecrdeployer.TargetsJSON)
	if f := os.Getenv("DEPLOYER_CONFIG_FILE"); f != "" {
		cfg, err = config.LoadFile(f)
	}
	if err != nil {
		return err
	}
	// The local benchmarks synthesize more services than one stack deploys.
	warnOnly := os.Getenv("DEPLOYER_QUOTAS") == "warn"
	if err := cfg.FitsOneStack(); err != nil && !warnOnly {
		return err
	}
	outdir := os.Getenv("CDK_OUTDIR") // set by the cdk CLI
	if outdir == "" {
		outdir = "cdk.out"
	}
	app := NewApp(jsii.String(outdir))
	assets, _ := app.Node().TryGetContext(jsii.String("assets")).(string)
	NewDeployerStack(app, StackName, Props(cfg, assets))
	// A target account stack for each account and Region of the targets
	// elsewhere (docs/multi-account.md).
	_, remote := splitTargets(cfg.Targets())
	for _, at := range placesOf(remote) {
		NewTargetStack(app, TargetStackName(at), &TargetStackProps{Targets: targetsAt(remote, at), DeployerStack: StackName})
	}
	app.Synth(nil)
	tpl, err := os.ReadFile(filepath.Join(outdir, StackName+".template.json"))
	if err != nil {
		return err
	}
	problems, err := CheckQuotas(tpl)
	if err != nil {
		return err
	}
	if len(problems) > 0 && warnOnly {
		fmt.Fprintln(os.Stderr, "cdk: warning: the stack would not deploy in AWS:", strings.Join(problems, "; "))
		return nil
	}
	if len(problems) > 0 {
		return fmt.Errorf("the stack would not deploy: %s. The policies and the wake rules name every configured service; split the targets over two stacks (two targets files), or use shorter cluster and service names", strings.Join(problems, "; "))
	}
	return nil
}

// NewApp returns an app whose output is byte-stable: no version reporting,
// construct paths or asset metadata in the template. cdk-nag's AwsSolutions
// checks run on everything in it.
func NewApp(outdir *string) awscdk.App {
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir: outdir,
		PostCliContext: &map[string]interface{}{
			"aws:cdk:version-reporting":     false,
			"aws:cdk:enable-path-metadata":  false,
			"aws:cdk:enable-asset-metadata": false,
		},
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return app
}

// Props are the stack's props for a configuration; assetDir as in DeployerStackProps.
func Props(cfg *config.Config, assetDir string) *DeployerStackProps {
	props := &DeployerStackProps{
		Config:     cfg,
		Definition: statemachine.Definition,
		AssetDir:   assetDir,
		StackProps: awscdk.StackProps{
			Description: jsii.String("ecr-deployer: runs the migration and deploys ECS services when an image is tagged in ECR"),
		},
	}
	if assetDir == "" {
		// A plain CloudFormation template: no bootstrap stack, no bootstrap version rule.
		props.Synthesizer = awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{GenerateBootstrapVersionRule: jsii.Bool(false)})
	}
	return props
}
