package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	ecrdeployer "github.com/ecr-deployer/ecr-deployer"
	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/eventpattern"
	wakerules "github.com/ecr-deployer/ecr-deployer/internal/rules"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// One synthesis serves every test: jsii starts a Node process per run.
var (
	stack     awscdk.Stack
	synthesis []byte
	doc       map[string]any
)

func TestMain(m *testing.M) {
	code := setup(m)
	jsii.Close() // stops the Node child and removes /tmp/jsii-runtime.*
	os.Exit(code)
}

func setup(m *testing.M) int {
	cfg, err := config.Parse("targets.json", ecrdeployer.TargetsJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := os.MkdirTemp("", "cdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(out)
	// GIVEN the shipped targets.json, WHEN the app synthesizes as make synth does
	app := NewApp(jsii.String(out))
	stack = NewDeployerStack(app, StackName, Props(cfg, ""))
	app.Synth(nil)
	if synthesis, err = os.ReadFile(filepath.Join(out, StackName+".template.json")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.Unmarshal(synthesis, &doc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// THEN local/template.json, whose IAM policies the local stack enforces, is
// what make synth writes for local/targets.json, byte for byte.
func TestLocalTemplateJSONIsUpToDate(t *testing.T) {
	cfg, err := config.LoadFile("../local/targets.json")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	app := NewApp(jsii.String(out))
	NewDeployerStack(app, StackName, Props(cfg, ""))
	app.Synth(nil)
	synthesized, err := os.ReadFile(filepath.Join(out, StackName+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../local/template.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != string(synthesized) {
		t.Fatal("local/template.json is out of date: run make synth and commit it")
	}
}

// THEN Trigger's, Wake's and Notify's own failures are dead-lettered:
// EventBridge invokes them asynchronously, so only their async-invoke
// configurations see them. A push is worth starting for 6 hours (then a
// person starts it from the dead letter); an ECS event is of no use after
// 10 minutes (the safety poll has looked); an execution's end is still
// worth telling for an hour.
func TestEventFunctionsAsyncInvokeDeadLetters(t *testing.T) {
	tpl := template()
	for fn, age := range map[string]int{"Trigger": 21600, "Wake": 600, "Notify": 3600} {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), &map[string]any{
			"FunctionName":             map[string]any{"Ref": logicalID(t, "AWS::Lambda::Function", fn)},
			"MaximumRetryAttempts":     2,
			"MaximumEventAgeInSeconds": age,
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{
				"Destination": map[string]any{"Fn::GetAtt": []any{logicalID(t, "AWS::SQS::Queue", "DeadLetterQueue"), "Arn"}},
			}},
		})
	}
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), jsii.Number(3))
}

// logicalID finds the one resource of a type whose logical ID starts with prefix.
func logicalID(t *testing.T, typ, prefix string) string {
	t.Helper()
	var found []string
	for id, r := range doc["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == typ && strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s resources named %s*: %v", typ, prefix, found)
	}
	return found[0]
}

// THEN template.json is what make synth writes, byte for byte.
func TestTemplateJSONIsUpToDate(t *testing.T) {
	committed, err := os.ReadFile("../template.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != string(synthesis) {
		t.Fatal("template.json is out of date: run make synth and commit it")
	}
}

func template() assertions.Template { return assertions.Template_FromStack(stack, nil) }

func TestLambdas(t *testing.T) {
	tpl := template()
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(statemachine.Functions)))
	tpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap", "MemorySize": memoryMB, "Timeout": timeoutSeconds,
		"Code":          map[string]any{"S3Bucket": map[string]any{"Ref": "CodeBucket"}},
		"LoggingConfig": map[string]any{"LogFormat": "JSON"},
	})
	tpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), &map[string]any{"RetentionInDays": 90})
	tpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(len(statemachine.Functions)+1))
}

func TestStateMachine(t *testing.T) {
	tpl := template()
	subs := map[string]any{}
	for _, p := range statemachine.Placeholders() {
		subs[p] = assertions.Match_AnyValue()
	}
	tpl.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), &map[string]any{
		"StateMachineType":        "STANDARD",
		"DefinitionSubstitutions": assertions.Match_ObjectEquals(&subs),
		"LoggingConfiguration":    map[string]any{"Level": "ALL", "IncludeExecutionData": true},
		"TracingConfiguration":    map[string]any{"Enabled": true},
	})
	// The definition is the ASL file itself, inline (no second S3 asset).
	for _, r := range resources("AWS::StepFunctions::StateMachine") {
		def := fmt.Sprint(r["DefinitionString"])
		if !strings.Contains(def, `"TimeoutSeconds": 691200`) || !strings.Contains(def, "${ResolveTargetFunctionArn}") {
			t.Errorf("DefinitionString is not deployer.asl.json: %.200s", def)
		}
	}
}

func TestTriggerRuleAndDeadLetterQueue(t *testing.T) {
	tpl := template()
	tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
		"EventPattern": map[string]any{
			"source": []any{"aws.ecr"}, "detail-type": []any{"ECR Image Action"},
			"detail": map[string]any{"action-type": []any{"PUSH"}, "result": []any{"SUCCESS"}, "repository-name": []any{"app"}, "image-tag": []any{"staging", "prod"}},
		},
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"Arn":              map[string]any{"Fn::GetAtt": []any{logicalID(t, "AWS::Lambda::Function", "Trigger"), "Arn"}},
			"RetryPolicy":      map[string]any{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
			"DeadLetterConfig": map[string]any{"Arn": assertions.Match_AnyValue()},
		})},
	})
	// Only the Trigger function starts executions.
	for _, st := range statementsOf(t, tpl, "TriggerRole") {
		if a := fmt.Sprint(st["Action"]); strings.Contains(a, "states:StartExecution") {
			if res, _ := json.Marshal(st["Resource"]); !strings.Contains(string(res), "stateMachine") {
				t.Errorf("Trigger may start executions of %s", res)
			}
		}
	}
	tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600})
	for _, o := range []string{"StateMachineArn", "StateMachineAliasArn", "StateMachineConsoleUrl", "DeadLetterQueueUrl"} {
		tpl.HasOutput(jsii.String(o), &map[string]any{})
	}
}

// The rule, as written in template.json, against AWS's documented sample
// event: a configured tag matches; latest, a DELETE, a FAILURE and a push by
// digest do not.
func TestRulePatternAgainstTheDocumentedSample(t *testing.T) {
	sample, err := os.ReadFile("../internal/deploy/testdata/ecr-image-push-event.json")
	if err != nil {
		t.Fatal(err)
	}
	event := func(change func(detail map[string]any)) map[string]any {
		var ev map[string]any
		if err := json.Unmarshal(sample, &ev); err != nil {
			t.Fatal(err)
		}
		ev["detail"].(map[string]any)["repository-name"] = "app"
		change(ev["detail"].(map[string]any))
		return ev
	}
	var pattern map[string]any
	for _, r := range resources("AWS::Events::Rule") {
		if p := r["EventPattern"].(map[string]any); fmt.Sprint(p["source"]) == "[aws.ecr]" {
			pattern = p
		}
	}
	cases := map[string]struct {
		event map[string]any
		match bool
	}{
		"staging":          {event(func(d map[string]any) { d["image-tag"] = "staging" }), true},
		"prod":             {event(func(d map[string]any) { d["image-tag"] = "prod" }), true},
		"latest (as is)":   {event(func(map[string]any) {}), false},
		"DELETE":           {event(func(d map[string]any) { d["image-tag"] = "staging"; d["action-type"] = "DELETE" }), false},
		"FAILURE":          {event(func(d map[string]any) { d["image-tag"] = "staging"; d["result"] = "FAILURE" }), false},
		"push by digest":   {event(func(d map[string]any) { delete(d, "image-tag") }), false},
		"other repository": {event(func(d map[string]any) { d["image-tag"] = "staging"; d["repository-name"] = "other" }), false},
	}
	for name, tc := range cases {
		if got := eventpattern.Match(pattern, tc.event); got != tc.match {
			t.Errorf("%s: match = %v, want %v", name, got, tc.match)
		}
	}
}

// The ECS rules wake only for what an execution can wait for: a migration
// task (startedBy ecr-deployer) of a configured cluster stopping, and the
// deployments of a configured service. Events are AWS's documented examples
// (ECS developer guide, "Amazon ECS task state change events", stopped and
// started by ecr-deployer, and "Amazon ECS service deployment state change
// events") moved to the configured cluster and service.
func TestWakeRulesAgainstTheDocumentedSamples(t *testing.T) {
	const account, region = "111122223333", "us-west-2"
	rules, err := eventpattern.FromTemplate(synthesis, eventpattern.Pseudo{Partition: "aws", Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	wake := ""
	for name := range resources("AWS::Lambda::Function") {
		if strings.HasPrefix(name, "Wake") {
			wake = name
		}
	}
	load := func(file string, change func(ev, detail map[string]any)) map[string]any {
		b, err := os.ReadFile("../internal/deploy/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		change(ev, ev["detail"].(map[string]any))
		return ev
	}
	task := func(change func(d map[string]any)) map[string]any {
		return load("ecs-task-state-change-event.json", func(_, d map[string]any) {
			d["clusterArn"] = "arn:aws:ecs:us-west-2:111122223333:cluster/staging"
			change(d)
		})
	}
	deployment := func(service string) map[string]any {
		return load("ecs-deployment-state-change-event.json", func(ev, _ map[string]any) {
			ev["resources"] = []any{"arn:aws:ecs:us-west-2:111122223333:service/" + service}
		})
	}
	// No example of this event is documented: the fields the developer
	// guide names, with the service deployment in resources.
	hook := func(name string) map[string]any {
		return map[string]any{"version": "0", "source": "aws.ecs", "detail-type": "ECS Hook State Change", "account": account, "region": region,
			"resources": []any{"arn:aws:ecs:us-west-2:111122223333:service-deployment/staging/staging-service/abc"},
			"detail":    map[string]any{"eventName": name, "hookId": "ecs-pause-1"}}
	}
	cases := map[string]struct {
		event map[string]any
		wakes bool
	}{
		"migration stopped":          {task(func(map[string]any) {}), true},
		"migration running":          {task(func(d map[string]any) { d["lastStatus"] = "RUNNING" }), false},
		"a service's task stopped":   {task(func(d map[string]any) { d["startedBy"] = "ecs-svc/123" }), false},
		"task of another cluster":    {task(func(d map[string]any) { d["clusterArn"] = "arn:aws:ecs:us-west-2:111122223333:cluster/other" }), false},
		"staging-service deployment": {deployment("staging/staging-service"), true},
		"prod-service deployment":    {deployment("prod/prod-service"), true},
		"another service":            {deployment("staging/other-service"), false},
		"a pause hook awaits action": {hook("HOOK_AWAITING_ACTION"), true},
		"another hook event":         {hook("HOOK_SUCCEEDED"), false},
	}
	// The local stack routes with internal/rules for its own targets file:
	// template.json's wake rules must be exactly those patterns.
	cfg, err := config.Parse("targets.json", ecrdeployer.TargetsJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{}
	for _, r := range wakerules.Wake(cfg.Targets(), func(_, _, resource, name string) *string {
		return jsii.String("arn:aws:ecs:" + region + ":" + account + ":" + resource + "/" + name)
	}) {
		want[r.Name] = r.Pattern.Map()
	}
	for _, r := range rules {
		if r.Target != wake {
			continue
		}
		name := r.Name[:len(r.Name)-8] // CDK's logical ID: the construct ID and 8 hex digits
		got, _ := json.Marshal(r.Pattern)
		exp, _ := json.Marshal(want[name])
		if string(got) != string(exp) {
			t.Errorf("rule %s:\n got  %s\n want %s", r.Name, got, exp)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("no wake rule for %v", want)
	}
	for name, tc := range cases {
		var matched []string
		for _, r := range rules {
			if eventpattern.Match(r.Pattern, tc.event) {
				matched = append(matched, r.Name)
				if r.Target != wake {
					t.Errorf("%s: rule %s targets %s, want the Wake function %s", name, r.Name, r.Target, wake)
				}
			}
		}
		if (len(matched) == 1) != tc.wakes || len(matched) > 1 {
			t.Errorf("%s: matched by %v, want wakes = %v (by one rule)", name, matched, tc.wakes)
		}
	}
}

// No role may mutate anything that targets.json does not name.
func TestLeastPrivilege(t *testing.T) {
	mutating := []string{"ecs:RunTask", "ecs:StopTask", "ecs:UpdateService", "iam:PassRole", "lambda:InvokeFunction", "states:StartExecution", "states:SendTaskSuccess", "sns:Publish", "ecs:TagResource",
		"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "sqs:SendMessage", "kms:GenerateDataKey*", "logs:CreateLogStream", "logs:PutLogEvents", "ecr:PutImage"}
	// Where each service's actions may point: the stack's own resource of
	// that type (by its logical id's prefix), never another.
	ownResource := map[string][]string{"dynamodb:": {`"Turns`, `"Notified`, `"Promotions`}, "sqs:": {`"DeadLetterQueue`}, "sns:": {`"Notifications`}, "kms:": {`"NotificationsKey`}}
	found := map[string]bool{}
	for name, policy := range resources("AWS::IAM::Policy") {
		for _, st := range policy["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			actions := strings.Fields(strings.Trim(fmt.Sprint(s["Action"]), "[]"))
			res, _ := json.Marshal(s["Resource"])
			for _, a := range actions {
				found[a] = true
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("%s: wildcard action %s", name, a)
				}
				if slices.Contains(mutating, a) && (string(res) == `"*"` || strings.Contains(string(res), `"*"`)) {
					t.Errorf("%s: %s on every resource", name, a)
				}
			}
			for _, a := range actions {
				for prefix, own := range ownResource {
					if strings.HasPrefix(a, prefix) && !slices.ContainsFunc(own, func(o string) bool { return strings.Contains(string(res), o) }) {
						t.Errorf("%s: %s on %s, not the stack's own %s", name, a, res, strings.Join(own, " or "))
					}
				}
				if (a == "logs:CreateLogStream" || a == "logs:PutLogEvents") && !strings.Contains(string(res), "Logs") {
					t.Errorf("%s: %s on %s, not the function's own log group", name, a, res)
				}
			}
			cond, _ := json.Marshal(s["Condition"])
			switch {
			case slices.Contains(actions, "iam:PassRole"):
				want := []string{`:role/app-task"`, `:role/app-execution"`}
				for _, w := range want {
					if !strings.Contains(string(res), w) {
						t.Errorf("iam:PassRole resources %s lack %s", res, w)
					}
				}
				if !strings.Contains(string(cond), `"iam:PassedToService":"ecs-tasks.amazonaws.com"`) {
					t.Errorf("iam:PassRole without the iam:PassedToService condition: %s", cond)
				}
			case slices.Contains(actions, "ecs:RunTask"):
				if !strings.Contains(string(res), ":task-definition/app:*") || !strings.Contains(string(cond), "ecs:cluster") {
					t.Errorf("ecs:RunTask not scoped to the family and clusters: %s %s", res, cond)
				}
			case slices.Contains(actions, "ecs:StopTask"):
				if !strings.Contains(string(res), ":task/staging/*") || !strings.Contains(string(cond), "ecs:cluster") {
					t.Errorf("ecs:StopTask not scoped to the clusters: %s %s", res, cond)
				}
			case slices.Contains(actions, "states:ListExecutions"), slices.Contains(actions, "states:DescribeExecution"):
				if !strings.Contains(string(res), ":stateMachine:") && !strings.Contains(string(res), ":execution:") {
					t.Errorf("%v not on this state machine: %s", actions, res)
				}
			case slices.Contains(actions, "ecs:ListTasks"):
				if !strings.Contains(string(cond), "ecs:cluster") {
					t.Errorf("ecs:ListTasks without the ecs:cluster condition: %s", cond)
				}
			case slices.Contains(actions, "ecs:UpdateService"), slices.Contains(actions, "ecs:DescribeServices"):
				if !strings.Contains(string(res), ":service/staging/staging-service") || !strings.Contains(string(res), ":service/prod/prod-service") {
					t.Errorf("%v not on the configured services: %s", actions, res)
				}
			case slices.Contains(actions, "ecr:DescribeImages"):
				if !strings.Contains(string(res), ":repository/app") {
					t.Errorf("ecr:DescribeImages not on the repository: %s", res)
				}
			}
		}
	}
	for _, a := range []string{"ecs:RunTask", "ecs:StopTask", "ecs:UpdateService", "iam:PassRole", "ecr:DescribeImages", "lambda:InvokeFunction", "states:StartExecution",
		"states:ListExecutions", "states:DescribeExecution", "ecs:ListTasks", "dynamodb:GetItem", "dynamodb:PutItem", "sns:Publish", "sqs:SendMessage"} {
		if !found[a] {
			t.Errorf("no statement grants %s: a step would fail in AWS", a)
		}
	}
	// Resource policies: the topic's and the dead-letter queue's must exist
	// (the alarms and the rules deliver through them), and every Allow to a
	// principal outside the account is bound to this stack's sources.
	for _, typ := range []string{"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
		policies := resources(typ)
		if len(policies) == 0 {
			t.Errorf("no %s: the stack's alarms or rules could not deliver", typ)
		}
		for name, p := range policies {
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				s := st.(map[string]any)
				if s["Effect"] != "Allow" {
					continue
				}
				cond, _ := json.Marshal(s["Condition"])
				if !strings.Contains(string(cond), "aws:SourceArn") {
					t.Errorf("%s: Allow to %v without an aws:SourceArn condition: %s", name, s["Principal"], cond)
				}
			}
		}
	}
	// No managed policies (AWSLambdaBasicExecutionRole would grant logs on every group).
	for name, r := range resources("AWS::IAM::Role") {
		if r["ManagedPolicyArns"] != nil {
			t.Errorf("%s has managed policies %v", name, r["ManagedPolicyArns"])
		}
	}
}

// cdk-nag AwsSolutions: no unsuppressed error or warning, and every
// suppression carries a reason.
func TestCdkNag(t *testing.T) {
	ann := assertions.Annotations_FromStack(stack)
	errs := ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
	}
	warns := ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, w := range *warns {
		t.Errorf("cdk-nag warning at %s: %v", *w.Id, w.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
	}
	suppressions := 0
	for name, r := range allResources() {
		meta, _ := r["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			suppressions++
			reason := fmt.Sprint(rule.(map[string]any)["reason"])
			if len(reason) < 40 {
				t.Errorf("%s: suppression %v has no reason a reviewer can check", name, rule)
			}
		}
	}
	if suppressions == 0 {
		t.Error("no suppressions found: the metadata check is not looking at the right place")
	}
}

func allResources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range doc["Resources"].(map[string]any) {
		out[name] = r.(map[string]any)
	}
	return out
}

func resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range allResources() {
		if r["Type"] == typ {
			out[name] = r["Properties"].(map[string]any)
		}
	}
	return out
}

// "image": "digest" (the default) adds PinImage's registration rights, and
// only then.
func TestDigestModeAddsOnlyTheRegistrationItNeeds(t *testing.T) {
	if !strings.Contains(string(synthesis), "ecs:RegisterTaskDefinition") {
		t.Error("the shipped configuration uses the default image mode, digest, yet no role may register task definitions")
	}
	tagged, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"prod","image":"tag","taskRoles":["app-task"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tagStack := NewDeployerStack(NewApp(jsii.String(t.TempDir())), "Tagged", Props(tagged, ""))
	if b, _ := json.Marshal(assertions.Template_FromStack(tagStack, nil).ToJSON()); strings.Contains(string(b), "ecs:RegisterTaskDefinition") {
		t.Error("a configuration in image mode tag, yet a role may register task definitions")
	}
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"prod","taskRoles":["app-task"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	app := NewApp(jsii.String(t.TempDir()))
	s := NewDeployerStack(app, "Pinned", Props(cfg, ""))
	tpl := assertions.Template_FromStack(s, nil)
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": "ecs:RegisterTaskDefinition", "Effect": "Allow", "Resource": "*"},
			assertions.Match_ObjectLike(&map[string]any{"Action": "ecs:TagResource", "Condition": map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}}}),
			assertions.Match_ObjectLike(&map[string]any{"Action": "iam:PassRole", "Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}),
		})},
	})
	errs := assertions.Annotations_FromStack(s).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
	}
}

// Each person's policy grants its duty's CLI calls and nothing else, none
// of them on "*" (the e2e CLI tests run under them, so a missing one fails
// them). No person holds states:SendTaskSuccess: decisions reach a waiting
// execution only through the deployer API, which records who IAM says
// called it; the approver cannot promote, the promoter cannot approve.
func TestPeoplesPolicies(t *testing.T) {
	viewer := []string{"cloudformation:DescribeStacks", "ecs:DescribeServiceDeployments", "states:DescribeExecution", "states:GetExecutionHistory", "states:ListExecutions"}
	with := func(more ...string) []string {
		out := append(append([]string(nil), viewer...), more...)
		sort.Strings(out)
		return slices.Compact(out)
	}
	want := map[string][]string{
		"ViewerPolicy":    with(),
		"PromoterPolicy":  with("ecs:StopServiceDeployment", "lambda:InvokeFunctionUrl"),
		"ApproverPolicy":  with("ecs:ContinueServiceDeployment", "lambda:InvokeFunctionUrl"),
		"OverriderPolicy": with("lambda:InvokeFunctionUrl"),
		"OperatorPolicy":  with("ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment", "lambda:InvokeFunctionUrl"),
	}
	got := map[string][]string{}
	invokes := map[string][]string{}
	for id, p := range resources("AWS::IAM::ManagedPolicy") {
		role := strings.TrimRight(id, "0123456789ABCDEF")
		role = role[:strings.Index(role, "Policy")+len("Policy")]
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			if s["Effect"] != "Allow" || s["Resource"] == "*" {
				t.Errorf("%s: statement %v", id, s)
			}
			var actions []string
			switch a := s["Action"].(type) {
			case string:
				actions = []string{a}
			case []any:
				for _, x := range a {
					actions = append(actions, x.(string))
				}
			}
			got[role] = append(got[role], actions...)
			if slices.Contains(actions, "lambda:InvokeFunctionUrl") {
				b, _ := json.Marshal(s)
				for _, fn := range []string{"ApproverApi", "PromoterApi", "OverriderApi"} {
					if strings.Contains(string(b), `"`+fn) {
						invokes[role] = append(invokes[role], fn)
					}
				}
				if !strings.Contains(string(b), `"lambda:FunctionUrlAuthType":"AWS_IAM"`) {
					t.Errorf("%s: InvokeFunctionUrl without the AWS_IAM condition: %s", id, b)
				}
			}
		}
	}
	for role, actions := range want {
		g := got[role]
		sort.Strings(g)
		if g = slices.Compact(g); !slices.Equal(g, actions) {
			t.Errorf("%s actions = %v, want %v", role, g, actions)
		}
	}
	for role, fns := range map[string][]string{"PromoterPolicy": {"PromoterApi"}, "ApproverPolicy": {"ApproverApi"}, "OverriderPolicy": {"OverriderApi"}, "OperatorPolicy": {"ApproverApi", "PromoterApi", "OverriderApi"}} {
		if !slices.Equal(invokes[role], fns) {
			t.Errorf("%s invokes the URLs of %v, want %v", role, invokes[role], fns)
		}
	}
	for _, o := range []string{"OperatorPolicyArn", "ViewerPolicyArn", "PromoterPolicyArn", "ApproverPolicyArn", "OverriderPolicyArn"} {
		template().HasOutput(jsii.String(o), &map[string]any{"Value": map[string]any{"Ref": assertions.Match_AnyValue()}})
	}
	// The API's URLs authenticate with IAM.
	template().ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Url"), &map[string]any{"AuthType": "AWS_IAM"}, jsii.Number(3))
	template().ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(3))
	// What each URL's function may do in Step Functions: the approver's
	// answers waits and starts nothing; the overrider's only starts.
	apiStates := map[string][]string{}
	for id, p := range resources("AWS::IAM::Policy") {
		for _, fn := range []string{"ApproverApi", "PromoterApi", "OverriderApi"} {
			if !strings.HasPrefix(id, fn+"Role") {
				continue
			}
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				for _, a := range strings.Fields(strings.Trim(fmt.Sprint(st.(map[string]any)["Action"]), "[]")) {
					if strings.HasPrefix(a, "states:") {
						apiStates[fn] = append(apiStates[fn], a)
					}
				}
			}
		}
	}
	for fn, want := range map[string][]string{
		"ApproverApi":  {"states:DescribeExecution", "states:GetExecutionHistory", "states:ListExecutions", "states:SendTaskSuccess"},
		"PromoterApi":  {"states:DescribeExecution", "states:GetExecutionHistory", "states:ListExecutions", "states:SendTaskSuccess", "states:StartExecution"},
		"OverriderApi": {"states:StartExecution"},
	} {
		got := apiStates[fn]
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s's role: %v, want %v", fn, got, want)
		}
	}
}

// Alarms tell people what needs them, through one encrypted topic.
func TestNotifications(t *testing.T) {
	topics := resources("AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("topics = %d, want the notification topic", len(topics))
	}
	var topicID string
	for id, tp := range topics {
		topicID = id
		if tp["KmsMasterKeyId"] == nil {
			t.Error("the topic is not encrypted")
		}
	}
	alarms := resources("AWS::CloudWatch::Alarm")
	want := map[string]bool{"ApproximateNumberOfMessagesVisible": false, "ExecutionsFailed": false, "ExecutionsTimedOut": false, "ExecutionsAborted": false,
		"Errors of " + logicalID(t, "AWS::Lambda::Function", "Wake"): false, "Errors of " + logicalID(t, "AWS::Lambda::Function", "Notify"): false}
	for id, a := range alarms {
		name := fmt.Sprint(a["MetricName"])
		if ms, ok := a["Metrics"].([]any); ok {
			// A math alarm: the larger of the state machine's and the alias's metric.
			var names, dims []string
			for _, m := range ms {
				if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					metric := stat["Metric"].(map[string]any)
					names = append(names, fmt.Sprint(metric["MetricName"]))
					d, _ := json.Marshal(metric["Dimensions"])
					dims = append(dims, string(d))
				}
			}
			if len(names) != 2 || names[0] != names[1] || !strings.Contains(strings.Join(dims, " "), `"StateMachineAlias"`) || !strings.Contains(strings.Join(dims, " "), `"`+logicalID(t, "AWS::StepFunctions::StateMachine", "StateMachine")+`"`) {
				t.Errorf("alarm %s: metrics %v with dimensions %v; want one metric of the state machine and of its alias", id, names, dims)
				continue
			}
			name = names[0]
		}
		if name == "Errors" {
			dims, _ := json.Marshal(a["Dimensions"])
			for _, fn := range []string{"Wake", "Notify"} {
				if id := logicalID(t, "AWS::Lambda::Function", fn); strings.Contains(string(dims), id) {
					name += " of " + id
				}
			}
		}
		want[name] = true
		actions, _ := json.Marshal(a["AlarmActions"])
		if !strings.Contains(string(actions), topicID) || a["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s: actions %s, missing data %v", id, actions, a["TreatMissingData"])
		}
	}
	for m, seen := range want {
		if !seen {
			t.Errorf("no alarm on %s", m)
		}
	}
	for _, p := range resources("AWS::SNS::TopicPolicy") {
		doc, _ := json.Marshal(p["PolicyDocument"])
		if !strings.Contains(string(doc), `"aws:SecureTransport":"false"`) {
			t.Errorf("the topic does not refuse plain HTTP: %s", doc)
		}
		// A topic policy replaces SNS's default policy: the alarms publish
		// only if it allows CloudWatch, scoped to this account's alarms.
		if !strings.Contains(string(doc), `"Principal":{"Service":"cloudwatch.amazonaws.com"}`) || !strings.Contains(string(doc), `"aws:SourceAccount"`) ||
			!strings.Contains(string(doc), `:alarm:*`) {
			t.Errorf("the topic policy does not let this account's alarms publish: %s", doc)
		}
	}
	for id, k := range resources("AWS::KMS::Key") {
		doc, _ := json.Marshal(k["KeyPolicy"])
		if k["EnableKeyRotation"] != true || !strings.Contains(string(doc), "cloudwatch.amazonaws.com") {
			t.Errorf("key %s: rotation %v, policy %s", id, k["EnableKeyRotation"], doc)
		}
	}
	template().HasResource(jsii.String("AWS::SNS::Subscription"), &map[string]any{"Condition": "HasNotificationEmail",
		"Properties": map[string]any{"Protocol": "email", "Endpoint": map[string]any{"Ref": "NotificationEmail"}}})
	template().ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	for _, d := range resources("AWS::CloudWatch::Dashboard") {
		body, _ := json.Marshal(d["DashboardBody"])
		for _, m := range []string{"Deployments", "LeadTime", "MigrationTime", "DeploymentTime"} {
			if !strings.Contains(string(body), `MetricName=\\\"`+m) {
				t.Errorf("the dashboard does not chart %s: %s", m, body)
			}
		}
	}
	template().HasOutput(jsii.String("NotificationTopicArn"), &map[string]any{"Value": map[string]any{"Ref": topicID}})

	// Notify gets every end of this state machine's executions, and
	// publishes to the topic only, with its key only.
	notifyID := logicalID(t, "AWS::Lambda::Function", "Notify")
	template().HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
		"EventPattern": map[string]any{
			"source": []any{"aws.states"}, "detail-type": []any{"Step Functions Execution Status Change"},
			"detail": map[string]any{"status": []any{"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}, "stateMachineArn": assertions.Match_AnyValue()},
		},
		"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Arn": map[string]any{"Fn::GetAtt": []any{notifyID, "Arn"}}, "DeadLetterConfig": assertions.Match_AnyValue()})}),
	})
	template().HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Environment": map[string]any{"Variables": map[string]any{"TOPIC_ARN": map[string]any{"Ref": topicID}, "STATE_MACHINE_ARN": assertions.Match_AnyValue()}},
	})
	keyID := logicalID(t, "AWS::KMS::Key", "NotificationsKey")
	for name, policy := range resources("AWS::IAM::Policy") {
		for _, st := range policy["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			actions, _ := json.Marshal(s["Action"])
			res, _ := json.Marshal(s["Resource"])
			if strings.Contains(string(actions), "sns:Publish") && string(res) != `{"Ref":"`+topicID+`"}` {
				t.Errorf("%s: sns:Publish on %s, want the topic only", name, res)
			}
			if strings.Contains(string(actions), "kms:") && !strings.Contains(string(res), keyID) {
				t.Errorf("%s: %s on %s, want the topic's key only", name, actions, res)
			}
		}
	}
}

// A target of several services: every service is in the ECS statements, each
// service's family in the pinning one; only a rollback-others target gives
// CheckDeployment UpdateService and TagResource, on its services alone.
func TestSeveralServicesPolicy(t *testing.T) {
	cfg, err := config.Parse("t.json", []byte(`{"targets":[
	  {"repository":"app","tag":"prod","image":"digest","onFailure":"rollback-others","taskRoles":["app-task"],
	   "services":["app-web",{"service":"app-worker","taskDefinitionFamily":"app-worker"}]},
	  {"repository":"app","tag":"staging","services":["staging-web","staging-worker"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	app := NewApp(jsii.String(t.TempDir()))
	s := NewDeployerStack(app, "Several", Props(cfg, ""))
	tpl := assertions.Template_FromStack(s, nil)
	b, _ := json.Marshal(tpl.ToJSON())
	doc := string(b)
	for _, svc := range []string{"service/prod/app-web", "service/prod/app-worker", "service/staging/staging-web", "service/staging/staging-worker",
		"service-deployment/prod/app-worker/*", "task-definition/app-worker:*"} {
		if !strings.Contains(doc, svc) {
			t.Errorf("no statement names %s", svc)
		}
	}
	var check []map[string]any
	for _, st := range statementsOf(t, tpl, "CheckDeploymentRole") {
		if a := fmt.Sprint(st["Action"]); strings.Contains(a, "ecs:UpdateService") {
			check = append(check, st)
		}
	}
	if len(check) != 1 {
		t.Fatalf("CheckDeployment's UpdateService statements: %v", check)
	}
	res, _ := json.Marshal(check[0]["Resource"])
	if !strings.Contains(string(res), "service/prod/app-web") || !strings.Contains(string(res), "service/prod/app-worker") || strings.Contains(string(res), "staging") {
		t.Errorf("CheckDeployment may update %s, want prod's two services only", res)
	}
	errs := assertions.Annotations_FromStack(s).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data) //nolint:staticcheck // jsii's SynthesisMessage.Id is the only id the Go binding has
	}
}

// statementsOf lists the policy statements of the policy attached to the
// role whose logical ID starts with role.
func statementsOf(t *testing.T, tpl assertions.Template, role string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range *tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		props := (*p)["Properties"].(map[string]any)
		roles, _ := json.Marshal(props["Roles"])
		if !strings.Contains(string(roles), `"`+role) {
			continue
		}
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no policy of %s", role)
	}
	return out
}

// IAM's size quotas hold for the shipped configuration and the local one,
// and a configuration whose policies would pass them is refused at synth,
// saying which policy and by how much, rather than by CloudFormation half
// way through a deployment.
func TestPolicySizesFitIAM(t *testing.T) {
	for _, f := range []string{"../template.json", "../local/template.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if problems, err := CheckQuotas(b); err != nil || len(problems) > 0 {
			t.Errorf("%s: %v %v", f, problems, err)
		}
	}
	sizes := func(n int, service string) []string {
		var targets []string
		for i := range n {
			targets = append(targets, fmt.Sprintf(`{"repository":"app","tag":"t%d","cluster":"main","service":"%s-%d","taskRoles":["app-task"]}`, i, service, i))
		}
		cfg, err := config.Parse("t.json", []byte(`{"targets":[`+strings.Join(targets, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		app := NewApp(jsii.String(t.TempDir()))
		tpl := assertions.Template_FromStack(NewDeployerStack(app, "Sized", Props(cfg, "")), nil)
		b, _ := json.Marshal(tpl.ToJSON())
		problems, err := CheckQuotas(b)
		if err != nil {
			t.Fatal(err)
		}
		return problems
	}
	// The most targets a stack publishes, with service names of 25
	// characters: the policies (statements of 30 ARNs, spread over managed
	// policies), the operator's policies and the wake rules fit.
	if p := sizes(config.MaxTargets, "a-service-name-of-this-length"); len(p) > 0 {
		t.Errorf("%d targets: %v", config.MaxTargets, p)
	}
	// With names of 200 characters they do not, and synth says which.
	if p := strings.Join(sizes(config.MaxTargets, strings.Repeat("s", 200)), " "); !strings.Contains(p, "managed policies attached (IAM allows 10)") {
		t.Errorf("names of 200 characters: %q", p)
	}
}

// The stack's own outputs are the ones config.MaxTargets leaves room for:
// at the most targets, the template still fits CloudFormation's outputs.
func TestOwnOutputsLeaveRoomForTheTargets(t *testing.T) {
	own := 0
	for id := range doc["Outputs"].(map[string]any) {
		if !strings.HasPrefix(id, config.PublishedOutputPrefix) {
			own++
		}
	}
	if own != config.StackOutputs || config.MaxTargets+own > MaxOutputs {
		t.Errorf("the stack has %d outputs of its own; config.StackOutputs is %d, MaxTargets %d: %d outputs at the most targets (CloudFormation allows %d)",
			own, config.StackOutputs, config.MaxTargets, config.MaxTargets+own, MaxOutputs)
	}
}

// A release is versioned: every workflow function publishes a version that
// the next release keeps, the definition names those versions (qualified
// ARNs, so an execution runs the code it started with), the state machine
// publishes a version that is kept too, the alias "live" points at it, and
// Trigger starts executions through the alias. The workflow may invoke
// every version of its functions: executions of earlier releases run on.
func TestReleasesAreVersioned(t *testing.T) {
	tpl := template()
	raw, _ := json.Marshal(tpl.ToJSON())
	var doc struct {
		Resources map[string]struct {
			Type                string
			Properties          map[string]any
			DeletionPolicy      string
			UpdateReplacePolicy string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	versions, fns := map[string]bool{}, 0
	var subs map[string]any
	var smVersion, alias string
	var trigger map[string]any
	for id, r := range doc.Resources {
		switch r.Type {
		case "AWS::Lambda::Version":
			if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
				t.Errorf("%s: a function version must be kept (DeletionPolicy and UpdateReplacePolicy Retain), has %q/%q", id, r.DeletionPolicy, r.UpdateReplacePolicy)
			}
			versions[id] = true
		case "AWS::Lambda::Function":
			fns++
			if strings.HasPrefix(id, "Trigger") {
				trigger = r.Properties
			}
		case "AWS::StepFunctions::StateMachine":
			subs, _ = r.Properties["DefinitionSubstitutions"].(map[string]any)
		case "AWS::StepFunctions::StateMachineVersion":
			smVersion = id
			if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
				t.Errorf("the state machine version must be kept, has %q/%q", r.DeletionPolicy, r.UpdateReplacePolicy)
			}
			if _, ok := r.Properties["StateMachineRevisionId"]; !ok {
				t.Error("the state machine version does not follow the definition's revision: a release would not publish a new one")
			}
		case "AWS::StepFunctions::StateMachineAlias":
			alias = fmt.Sprint(r.Properties)
			if r.Properties["Name"] != "live" {
				t.Errorf("alias %v, want live", r.Properties["Name"])
			}
		}
	}
	if len(subs) == 0 || smVersion == "" || !strings.Contains(alias, smVersion) {
		t.Fatalf("substitutions %v, state machine version %q, alias %s: want a version the alias points at", subs, smVersion, alias)
	}
	for k, v := range subs {
		ref, _ := v.(map[string]any)["Ref"].(string)
		if !versions[ref] {
			t.Errorf("the definition's %s is %v, not a function version (an unqualified ARN runs $LATEST: the next release's code)", k, v)
		}
	}
	if len(versions) != len(subs) {
		t.Errorf("%d function versions for %d workflow functions", len(versions), len(subs))
	}
	env, _ := json.Marshal(trigger["Environment"])
	if !strings.Contains(string(env), "STATE_MACHINE_ALIAS_ARN") || !strings.Contains(string(env), `"live"`) {
		t.Errorf("Trigger's environment %s does not name the alias", env)
	}
	invoke := false
	for _, st := range statementsOf(t, tpl, "StateMachineRole") {
		if fmt.Sprint(st["Action"]) == "lambda:InvokeFunction" {
			res, _ := json.Marshal(st["Resource"])
			invoke = strings.Count(string(res), `:*"`) == len(subs)
		}
	}
	if !invoke {
		t.Error("the workflow may not invoke every version of each of its functions")
	}
}

// A deleted stack can be created again under the same name: what is kept
// (the logs, the dead-letter queue) has generated names or names that end
// with the stack's ID, and what has a fixed name (the state machine) is
// deleted with it.
func TestStackCanBeCreatedAgain(t *testing.T) {
	tpl := template()
	raw, _ := json.Marshal(tpl.ToJSON())
	var doc struct {
		Resources map[string]struct {
			Type           string
			Properties     map[string]any
			DeletionPolicy string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for id, r := range doc.Resources {
		named, _ := json.Marshal(r.Properties["LogGroupName"])
		if r.Properties["QueueName"] != nil || r.Properties["TableName"] != nil || r.Properties["TopicName"] != nil {
			t.Errorf("%s has a fixed name: a stack created again would collide with it", id)
		}
		switch r.Type {
		case "AWS::Logs::LogGroup":
			if r.DeletionPolicy != "Retain" {
				t.Errorf("log group %s is deleted with the stack (%q): its deployments' logs would go", id, r.DeletionPolicy)
			}
			if string(named) != "null" && !strings.Contains(string(named), "AWS::StackId") {
				t.Errorf("log group %s is kept under a fixed name %s: creating the stack again would fail (already exists)", id, named)
			}
		case "AWS::SQS::Queue":
			if r.DeletionPolicy != "Retain" {
				t.Errorf("the dead-letter queue %s is deleted with the stack: its undelivered pushes would go", id)
			}
		}
	}
}
