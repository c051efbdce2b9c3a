package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// synthMultiAccount synthesizes the app for local/multi-account/targets.json
// into a directory: the deployer stack and a target account stack per
// account and Region (returned, the deployer stack first).
func synthMultiAccount(t *testing.T) (string, []awscdk.Stack) {
	t.Helper()
	cfg, err := config.LoadFile("../local/multi-account/targets.json")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	app := NewApp(jsii.String(out))
	stacks := []awscdk.Stack{NewDeployerStack(app, StackName, Props(cfg, ""))}
	_, remote := splitTargets(cfg.Targets())
	for _, at := range placesOf(remote) {
		stacks = append(stacks, NewTargetStack(app, TargetStackName(at), &TargetStackProps{Targets: targetsAt(remote, at), DeployerStack: StackName}))
	}
	app.Synth(nil)
	return out, stacks
}

// THEN cdk-nag's AwsSolutions checks pass on the deployer stack and on
// each target account stack: no unsuppressed error or warning.
func TestTargetAccountStacksPassCdkNag(t *testing.T) {
	_, stacks := synthMultiAccount(t)
	if len(stacks) != 3 {
		t.Fatalf("%d stacks, want the deployer's and two target account stacks", len(stacks))
	}
	for _, st := range stacks {
		ann := assertions.Annotations_FromStack(st)
		for _, e := range *ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			t.Errorf("%s: cdk-nag error at %s: %v", *st.StackName(), *e.Id, e.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
		}
		for _, w := range *ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			t.Errorf("%s: cdk-nag warning at %s: %v", *st.StackName(), *w.Id, w.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
		}
	}
}

// THEN the multi-account templates the local stack deploys are what make
// synth writes, byte for byte: the deployer stack and one target account
// stack per account and Region.
func TestMultiAccountTemplatesAreUpToDate(t *testing.T) {
	out, _ := synthMultiAccount(t)
	names := []string{StackName + ".template.json"}
	for _, at := range []Place{{Account: "222222222222", Region: "us-west-2"}, {Account: "333333333333", Region: "eu-west-1"}} {
		names = append(names, TargetStackName(at)+".template.json")
	}
	for _, name := range names {
		synthesized, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		committedName := name
		if name == StackName+".template.json" {
			committedName = "template.json"
		}
		committed, err := os.ReadFile(filepath.Join("../local/multi-account", committedName))
		if err != nil {
			t.Fatal(err)
		}
		if string(committed) != string(synthesized) {
			t.Errorf("local/multi-account/%s is out of date: run make synth and commit it", committedName)
		}
	}
}

// THEN the deployer stack grants nothing on ECS in another account: its
// functions only assume their own role there; the target stack's role of
// each function trusts only that function's role, with the external ID;
// the target stack forwards its clusters' ECS events to the deployer's bus,
// which accepts them from that account.
func TestTargetAccountStacks(t *testing.T) {
	out, _ := synthMultiAccount(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	deployer := read(StackName)
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(deployer), &doc); err != nil {
		t.Fatal(err)
	}
	for id, r := range doc.Resources {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		b, _ := json.Marshal(r.Properties["PolicyDocument"])
		for _, remote := range []string{"cluster/staging", "service/staging/", "service/prod/", "task/prod/"} {
			if strings.Contains(string(b), remote) {
				t.Errorf("%s grants on %s in the deployer's own account: the target is another account's", id, remote)
			}
		}
	}
	for _, want := range []string{`":iam::222222222222:role/EcrDeployer-RunMigration-us-west-2"`, `":iam::333333333333:role/EcrDeployer-Wake-eu-west-1"`, `"TARGET_EXTERNAL_ID"`, `"ecr-deployer-333333333333"`, `"arn:aws:iam::222222222222:root"`,
		`":ecs:eu-west-1:333333333333:service/prod/prod-service"`} {
		if !strings.Contains(deployer, want) {
			t.Errorf("the deployer stack lacks %s", want)
		}
	}
	target := read(TargetStackName(Place{Account: "333333333333", Region: "eu-west-1"}))
	doc.Resources = nil
	if err := json.Unmarshal([]byte(target), &doc); err != nil {
		t.Fatal(err)
	}
	roles, rules := 0, 0
	for id, r := range doc.Resources {
		switch r.Type {
		case "AWS::IAM::Role":
			trust, _ := json.Marshal(r.Properties["AssumeRolePolicyDocument"])
			if strings.Contains(string(trust), "events.amazonaws.com") {
				continue
			}
			roles++
			fn := id[:len(id)-8]
			for _, want := range []string{`"sts:ExternalId":{"Ref":"ExternalId"}`, `":role/EcrDeployer-` + fn + `Role*"`} {
				if !strings.Contains(string(trust), want) {
					t.Errorf("%s (%s): trust %s lacks %s", id, fn, trust, want)
				}
			}
		case "AWS::Events::Rule":
			rules++
			b, _ := json.Marshal(r.Properties["Targets"])
			if !strings.Contains(string(b), ":event-bus/default") || !strings.Contains(string(b), "RoleArn") {
				t.Errorf("%s forwards to %s", id, b)
			}
		}
	}
	if roles != len(TargetFunctions) || rules != 3 {
		t.Errorf("%d function roles, %d forwarding rules; want %d and 3", roles, rules, len(TargetFunctions))
	}
	if strings.Contains(target, "states:") || strings.Contains(target, "ecr:") {
		t.Error("a target account stack grants Step Functions or ECR: those stay the deployer stack's")
	}
}
