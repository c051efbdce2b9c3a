package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	ecrdeployer "github.com/ecr-deployer/ecr-deployer"
)

func TestDefaultsFollowTheScriptConvention(t *testing.T) {
	c, err := Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.ByImage("app", "staging")
	if !ok {
		t.Fatal("target not found")
	}
	want := Resolved{Environment: "staging", Repository: "app", Tag: "staging", Cluster: "staging", Service: "staging-service", TaskDefinitionFamily: "app", LogGroup: "/ecs/app",
		Migration: Migration{Command: []string{"goose", "-dir", "migrations", "up"}}, MigrationTimeout: DefaultMigrationTimeout,
		DeploymentTimeout: DefaultDeploymentTimeout, MigrationPollInterval: DefaultMigrationPollInterval,
		DeploymentPollInterval: DefaultDeploymentPollInterval, CapacityRetries: DefaultCapacityRetries, CapacityRetryInterval: DefaultCapacityRetryInterval,
		Image: ImageDigest, QueueSettle: DefaultQueueSettle, QueuePollInterval: DefaultQueuePollInterval, DuplicateWindow: DefaultDuplicateWindow, RequiresWait: DefaultRequiresWait}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestOverrides(t *testing.T) {
	c, err := Parse("t.json", []byte(`{
	  "defaults": {"migration": {"container": "web", "command": ["./migrate"]}, "deploymentTimeout": "10m", "capacityRetries": 2},
	  "targets": [
	    {"repository": "team/api", "tag": "prod", "environment": "api-prod", "cluster": "main", "service": "api",
	     "migration": {"command": ["rake", "db:migrate"]}, "deploymentTimeout": "45m", "capacityRetries": 0},
	    {"repository": "team/api", "tag": "staging", "environment": "api-staging", "migration": false}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.ByEnvironment("api-prod")
	if p.Cluster != "main" || p.Service != "api" || p.Migration.Container != "web" || strings.Join(p.Migration.Command, " ") != "rake db:migrate" ||
		time.Duration(p.DeploymentTimeout) != 45*time.Minute || p.CapacityRetries != 0 {
		t.Errorf("api-prod = %+v", p)
	}
	s, _ := c.ByImage("team/api", "staging")
	if !s.Migration.Disabled || s.Cluster != "api-staging" || s.Service != "api-staging-service" || time.Duration(s.DeploymentTimeout) != 10*time.Minute {
		t.Errorf("api-staging = %+v", s)
	}
	if _, ok := c.ByImage("team/api", "latest"); ok {
		t.Error("an unconfigured tag matched")
	}
}

// The documented limits themselves are accepted: a 255-character cluster
// and service, 10 services, 100 capacity retries; a migration that names
// only its container keeps the default command.
func TestLimitsAreInclusive(t *testing.T) {
	services := make([]string, MaxServices)
	for i := range services {
		services[i] = fmt.Sprintf("%q", fmt.Sprintf("svc-%d", i))
	}
	long := strings.Repeat("c", 255)
	c, err := Parse("t.json", []byte(`{"targets":[
	  {"repository":"app","tag":"x","cluster":"`+long+`","service":"`+long+`","migration":{"container":"web"},"capacityRetries":100,"queuePollInterval":"1m"},
	  {"repository":"app","tag":"y","cluster":"y","services":[`+strings.Join(services, ",")+`]},
	  {"repository":"app","tag":"z","cluster":"z","services":["`+long+`"]}]}`))
	if err != nil {
		t.Fatalf("the limits themselves are refused: %v", err)
	}
	x, _ := c.ByEnvironment("x")
	if strings.Join(x.Migration.Command, " ") != strings.Join(DefaultCommand, " ") || x.Migration.Container != "web" || x.CapacityRetries != 100 {
		t.Errorf("x = %+v", x.Migration)
	}
}

func TestValidationErrorsNameFileAndField(t *testing.T) {
	cases := map[string]struct {
		doc  string
		want []string
	}{
		"no targets":         {`{"targets":[]}`, []string{"t.json: targets: at least one target"}},
		"unknown field":      {`{"targets":[{"repository":"app","tag":"x","clustr":"c"}]}`, []string{`unknown field "clustr"`}},
		"bad repository":     {`{"targets":[{"repository":"App","tag":"x"}]}`, []string{"targets[0].repository", "not an ECR repository name"}},
		"bad tag":            {`{"targets":[{"repository":"app","tag":"a b"}]}`, []string{"targets[0].tag"}},
		"duplicate image":    {`{"targets":[{"repository":"app","tag":"x"},{"repository":"app","tag":"x","environment":"y"}]}`, []string{"targets[1]: repository \"app\" tag \"x\" is already targets[0]"}},
		"duplicate env":      {`{"targets":[{"repository":"a","tag":"staging"},{"repository":"b","tag":"staging"}]}`, []string{"targets[1].environment", "set \"environment\""}},
		"bad duration":       {`{"targets":[{"repository":"app","tag":"x","deploymentTimeout":"soon"}]}`, []string{"targets[0].deploymentTimeout: \"soon\" is not a duration"}},
		"too short":          {`{"targets":[{"repository":"app","tag":"x","migrationPollInterval":"10ms"}]}`, []string{"targets[0].migrationPollInterval: must be at least 1s"}},
		"too long":           {`{"targets":[{"repository":"app","tag":"x","deploymentTimeout":"13h"}]}`, []string{"targets[0].deploymentTimeout: must be at most 12h"}},
		"negative retries":   {`{"defaults":{"capacityRetries":-1},"targets":[{"repository":"app","tag":"x"}]}`, []string{"defaults.capacityRetries"}},
		"empty command":      {`{"targets":[{"repository":"app","tag":"x","migration":{"command":[]}}]}`, []string{`"migration.command" must not be empty`}},
		"empty default cmd":  {`{"defaults":{"migration":{"command":[]}},"targets":[{"repository":"app","tag":"x"}]}`, []string{`"migration.command" must not be empty`}},
		"cluster too long":   {`{"targets":[{"repository":"app","tag":"x","cluster":"` + strings.Repeat("c", 256) + `"}]}`, []string{"targets[0].cluster: must be 1-255 characters"}},
		"service too long":   {`{"targets":[{"repository":"app","tag":"x","service":"` + strings.Repeat("s", 256) + `"}]}`, []string{"targets[0].service"}},
		"retries over 100":   {`{"defaults":{"capacityRetries":101},"targets":[{"repository":"app","tag":"x"}]}`, []string{"defaults.capacityRetries"}},
		"migration true":     {`{"targets":[{"repository":"app","tag":"x","migration":true}]}`, []string{`"migration" must be false or an object`}},
		"bad image mode":     {`{"targets":[{"repository":"app","tag":"x","image":"sha"}]}`, []string{`targets[0].image: "sha" must be "tag" or "digest"`}},
		"two errors at once": {`{"targets":[{"repository":"App","tag":"a b"}]}`, []string{"targets[0].repository", "targets[0].tag"}},
		// A gate in tag mode would approve one image and deploy whatever the tag names later.
		"approval in tag mode": {`{"targets":[{"repository":"app","tag":"x","image":"tag","approval":{"timeout":"1h"}}]}`,
			[]string{`targets[0].approval: needs "image": "digest" (the default)`, "deploy an image nobody approved"}},
		"requires in tag mode": {`{"targets":[{"repository":"app","tag":"s"},{"repository":"app","tag":"x","requires":"s","image":"tag"}]}`,
			[]string{`targets[1].requires: needs "image": "digest" (the default)`, "never passed s"}},
		"a bad approver": {`{"targets":[{"repository":"app","tag":"x","approval":{"timeout":"1h","approvers":["alice"]}}]}`,
			[]string{`targets[0].approval.approvers[0]: "alice" is not an IAM principal ARN`}},
		"tag mode by default": {`{"defaults":{"image":"tag"},"targets":[{"repository":"app","tag":"s"},{"repository":"app","tag":"x","requires":"s","approval":{"timeout":"1h"}}]}`,
			[]string{"targets[1].requires: needs", "targets[1].approval: needs"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { expectParseErrors(t, tc.doc, tc.want) })
	}
}

func TestShippedTargetsFileIsValid(t *testing.T) {
	c, err := Parse("targets.json", ecrdeployer.TargetsJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Environments(), ","); got != "prod,staging" {
		t.Errorf("environments = %s", got)
	}
}

// The whole configuration reaches ResolveTarget compiled into its binary, not
// through Lambda's 4 KB of environment variables; this checks 50 targets
// parse and resolve, and that the resolved state the later Lambdas receive
// stays small.
func TestFiftyTargets(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"targets":[`)
	for i := range 50 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"repository":"team/service-%02d","tag":"staging","environment":"service-%02d-staging","deploymentTimeout":"20m"}`, i, i)
	}
	b.WriteString(`]}`)
	c, err := Parse("t.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets()) != 50 {
		t.Fatalf("%d targets", len(c.Targets()))
	}
	one, _ := json.Marshal(c.Targets()[49])
	if len(one) > 1024 {
		t.Errorf("one resolved target is %d bytes", len(one))
	}
}

func TestTaskDefinitionFamilyAndRoles(t *testing.T) {
	c, err := Parse("t.json", []byte(`{"targets":[
	  {"repository":"team/api","tag":"staging","taskRoles":["api-task","arn:aws:iam::123456789012:role/path/api-execution"]},
	  {"repository":"team/api","tag":"prod","taskDefinitionFamily":"api-prod"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.ByEnvironment("staging")
	p, _ := c.ByEnvironment("prod")
	if s.TaskDefinitionFamily != "api" || len(s.TaskRoles) != 2 || p.TaskDefinitionFamily != "api-prod" {
		t.Errorf("staging = %+v, prod = %+v", s, p)
	}
	_, err = Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"x","taskRoles":["arn:aws:iam::1:user/x"],"taskDefinitionFamily":"a:1"}]}`))
	if err == nil || !strings.Contains(err.Error(), "targets[0].taskRoles[0]") || !strings.Contains(err.Error(), "targets[0].taskDefinitionFamily") {
		t.Errorf("err = %v", err)
	}
}

func TestHistoryLimit(t *testing.T) {
	cases := map[string]struct {
		doc  string
		want []string // substrings of the error; none: valid
	}{
		"defaults fit": {doc: `{"targets":[{"repository":"app","tag":"staging"}]}`},
		"12h timeouts at the default polls fit": {
			doc: `{"targets":[{"repository":"app","tag":"staging","migrationTimeout":"12h","deploymentTimeout":"12h","queuePollInterval":"1m"}]}`,
		},
		"1s deployment polls for 12h": {
			doc:  `{"targets":[{"repository":"app","tag":"staging","deploymentTimeout":"12h","deploymentPollInterval":"1s"}]}`,
			want: []string{"targets[0]", "deployment 43211 looks × 15 (12h0m0s every 1s", "25000-event history limit"},
		},
		// Queue waits back off (QueuePoll): a day behind a holder paused at
		// a hook is a few hundred checks, whatever the poll.
		"a 1s queue poll behind a long execution of the same service fits": {
			doc: `{"targets":[{"repository":"app","tag":"staging","queuePollInterval":"1s"},
			                {"repository":"app","tag":"hotfix","cluster":"staging","service":"staging-service","migrationTimeout":"3h"}]}`,
		},
		"12h timeouts at the default queue poll fit": {
			doc: `{"targets":[{"repository":"app","tag":"staging","migrationTimeout":"12h","deploymentTimeout":"12h"}]}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { expectParseErrors(t, tc.doc, tc.want) })
	}
}

// expectParseErrors parses doc: with no wanted strings it must be accepted,
// else refused with an error containing each of them.
func expectParseErrors(t *testing.T, doc string, want []string) {
	t.Helper()
	_, err := Parse("t.json", []byte(doc))
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("accepted a configuration it must refuse")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestPublishedTargets(t *testing.T) {
	cfg, err := Parse("targets.json", []byte(`{"targets":[
		{"environment":"staging","repository":"app","tag":"staging","cluster":"staging","service":"staging-service","taskDefinitionFamily":"app"},
		{"environment":"prod","repository":"app","tag":"prod","cluster":"prod","service":"prod-service","taskDefinitionFamily":"app"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{"StateMachineArn": "arn:…"}
	for i, r := range cfg.Targets() {
		outputs[PublishedOutputPrefix+string(rune('1'+i))] = r.Published().OutputValue()
	}
	ts, err := ReadPublished(outputs)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := ts.ByImage("app", "prod"); !ok || p.Environment != "prod" || p.Service != "prod-service" {
		t.Errorf("ByImage(app, prod) = %+v, %v", p, ok)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"a letter missing": {"stagin", "staging"},
		"two swapped":      {"prdo", "prod"},
		"case":             {"PROD", "prod"},
		"too far":          {"production", ""},
		"nothing like it":  {"qa", ""},
	} {
		if got, _ := ts.Closest(tc.in); got != tc.want {
			t.Errorf("%s: Closest(%q) = %q, want %q", name, tc.in, got, tc.want)
		}
	}
	for name, outputs := range map[string]map[string]string{
		"an older stack":     {"StateMachineArn": "arn:…"},
		"a broken output":    {"Target1": "{"},
		"an output not ours": {"Target1": `{"environment":"x"}`},
	} {
		if _, err := ReadPublished(outputs); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}

// A broken file says where: the line and column of bad JSON, the field path
// of a bad duration.
func TestDecodeErrorsSayWhere(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"syntax": {"{\"targets\": [\n  {\"environment\": \"staging\",}\n]}", "line 2, column 29"},
		"type":   {"{\"targets\": [{\"environment\": 7}]}", "line 1, column 30"},
		"duration in a target": {`{"targets":[{"environment":"staging","repository":"app","tag":"staging","cluster":"c","service":"s","taskDefinitionFamily":"app"},
			{"environment":"prod","repository":"app","tag":"prod","cluster":"c","service":"s","taskDefinitionFamily":"app","deploymentTimeout":"10 minutes"}]}`, `targets[1].deploymentTimeout: "10 minutes" is not a duration`},
		"duration in the defaults": {`{"defaults":{"queueSettle":5},"targets":[]}`, `defaults.queueSettle: 5 is not a duration`},
	}
	for name, tc := range cases {
		_, err := Parse("targets.json", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestRequiresIsChecked(t *testing.T) {
	target := func(env, requires string) string {
		return fmt.Sprintf(`{"environment":%q,"repository":"app","tag":%q,"requires":%q}`, env, env, requires)
	}
	for name, tc := range map[string]struct {
		targets []string
		want    string
	}{
		"unknown environment": {[]string{target("staging", ""), target("prod", "stagin")}, `targets[1].requires: "stagin" is not a configured environment (environments: prod, staging)`},
		"itself":              {[]string{target("prod", "prod")}, "targets[0].requires: the guard is a cycle (prod requires prod)"},
		"a cycle":             {[]string{target("staging", "prod"), target("prod", "staging")}, "the guard is a cycle (staging requires prod requires staging)"},
		"fine":                {[]string{target("staging", ""), target("prod", "staging")}, ""},
	} {
		_, err := Parse("t.json", []byte(`{"targets":[`+strings.Join(tc.targets, ",")+`]}`))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestApprovalTimeoutIsBounded(t *testing.T) {
	// The bounds themselves are allowed: 1m and MaxApprovalTimeout. (A 12h
	// approval at the default 15 s queue poll exceeds the history budget,
	// which refuses it and names the fix, so the rows poll every minute.)
	for timeout, ok := range map[string]bool{"30s": false, "59s": false, "1m": true, "4h": true, "12h": true, "12h0m1s": false, "13h": false} {
		_, err := Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"prod","queuePollInterval":"1m","approval":{"timeout":"`+timeout+`"}}]}`))
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "targets[0].approval.timeout")) {
			t.Errorf("approval timeout %s: %v", timeout, err)
		}
	}
}

func TestSeveralServices(t *testing.T) {
	c, err := Parse("t.json", []byte(`{"defaults": {"onFailure": "rollback-others", "image": "digest"},
	  "targets": [
	    {"repository": "app", "tag": "prod", "cluster": "main", "taskDefinitionFamily": "app-web",
	     "services": ["app-web", {"service": "app-worker", "taskDefinitionFamily": "app-worker"}, "app-scheduler"]},
	    {"repository": "app", "tag": "staging", "services": ["app-web", "app-worker"], "onFailure": "leave-others"},
	    {"repository": "app", "tag": "qa"}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.ByEnvironment("prod")
	want := []ServiceRef{{"app-web", "app-web"}, {"app-worker", "app-worker"}, {"app-scheduler", "app-web"}}
	if fmt.Sprint(prod.AllServices()) != fmt.Sprint(want) || prod.Service != "app-web" || prod.TaskDefinitionFamily != "app-web" || prod.OnFailure != OnFailureRollbackOthers {
		t.Errorf("prod = %+v", prod)
	}
	if p := prod.Published(); fmt.Sprint(p.Services) != "[app-web app-worker app-scheduler]" || p.Service != "app-web" {
		t.Errorf("published %+v", p)
	}
	staging, _ := c.ByEnvironment("staging")
	if staging.OnFailure != OnFailureLeaveOthers || staging.TaskDefinitionFamily != "app" {
		t.Errorf("staging = %+v", staging)
	}
	// A target of one service ignores the defaults' onFailure.
	qa, _ := c.ByEnvironment("qa")
	if qa.OnFailure != "" || len(qa.Services) != 0 || fmt.Sprint(qa.AllServices()) != "[{qa-service app}]" {
		t.Errorf("qa = %+v", qa)
	}
	if !SharesService(prod, Resolved{Cluster: "main", Service: "app-worker"}) || SharesService(prod, Resolved{Cluster: "other", Service: "app-worker"}) || SharesService(prod, staging) {
		t.Error("SharesService is wrong")
	}
}

func TestSeveralServicesValidation(t *testing.T) {
	eleven := `"s0","s1","s2","s3","s4","s5","s6","s7","s8","s9","s10"`
	cases := map[string]struct {
		doc  string
		want []string
	}{
		"service and services": {`{"targets":[{"repository":"app","tag":"x","service":"web","services":["web","worker"]}]}`,
			[]string{`t.json: targets[0].services: set either "service" or "services", not both`}},
		"no services":        {`{"targets":[{"repository":"app","tag":"x","services":[]}]}`, []string{"targets[0].services: 0 services: give 1 to 10"}},
		"eleven services":    {`{"targets":[{"repository":"app","tag":"x","services":[` + eleven + `]}]}`, []string{"targets[0].services: 11 services: give 1 to 10"}},
		"duplicate service":  {`{"targets":[{"repository":"app","tag":"x","services":["web","worker","web"]}]}`, []string{`targets[0].services[2]: service "web" is already services[0]`}},
		"empty service name": {`{"targets":[{"repository":"app","tag":"x","services":["web",""]}]}`, []string{"targets[0].services[1]: the service name must be 1-255 characters"}},
		"bad family":         {`{"targets":[{"repository":"app","tag":"x","services":["web",{"service":"worker","taskDefinitionFamily":"a:b"}]}]}`, []string{`targets[0].services[1].taskDefinitionFamily: "a:b" must be 1-255`}},
		"unknown service field": {`{"targets":[{"repository":"app","tag":"x","services":[{"service":"web","family":"f"}]}]}`,
			[]string{`unknown field "family"`}},
		"bad onFailure": {`{"targets":[{"repository":"app","tag":"x","services":["a","b"],"onFailure":"rollback"}]}`,
			[]string{`targets[0].onFailure: "rollback" must be "leave-others" or "rollback-others"`}},
		"rollback-others in tag mode": {`{"targets":[{"repository":"app","tag":"x","image":"tag","services":["a","b"],"onFailure":"rollback-others"}]}`,
			[]string{`targets[0].onFailure: "rollback-others" needs "image": "digest"`}},
		"onFailure on one service": {`{"targets":[{"repository":"app","tag":"x","onFailure":"leave-others"}]}`,
			[]string{"targets[0].onFailure: is for a target of several services"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { expectParseErrors(t, tc.doc, tc.want) })
	}
}

// The Lambdas read any number of targets; one stack publishes at most
// MaxTargets, and the CDK app asks FitsOneStack.
func TestFitsOneStack(t *testing.T) {
	for _, n := range []int{MaxTargets, MaxTargets + 1} {
		var targets []string
		for i := range n {
			targets = append(targets, fmt.Sprintf(`{"repository":"app","tag":"t%d","cluster":"c","service":"s%d"}`, i, i))
		}
		c, err := Parse("big.json", []byte(`{"targets":[`+strings.Join(targets, ",")+`]}`))
		if err != nil {
			t.Fatalf("%d targets: %v", n, err)
		}
		err = c.FitsOneStack()
		if fits := n <= MaxTargets; fits != (err == nil) || (!fits && !strings.Contains(err.Error(), fmt.Sprintf("big.json: targets: %d targets: at most %d", MaxTargets+1, MaxTargets))) {
			t.Errorf("%d targets: %v", n, err)
		}
	}
}

// Approvers name principals as AWS authenticates them, * for any characters.
func TestMayApprove(t *testing.T) {
	a := Approval{Approvers: []string{"arn:aws:iam::123456789012:user/alice", "arn:aws:sts::123456789012:assumed-role/ReleaseManagers/*"}}
	cases := map[string]bool{
		"arn:aws:iam::123456789012:user/alice":                          true,
		"arn:aws:iam::123456789012:user/alice2":                         false,
		"arn:aws:iam::123456789012:user/bob":                            false,
		"arn:aws:sts::123456789012:assumed-role/ReleaseManagers/carol":  true,
		"arn:aws:sts::123456789012:assumed-role/ReleaseManagersX/carol": false,
		"arn:aws:sts::999999999999:assumed-role/ReleaseManagers/carol":  false,
	}
	for principal, want := range cases {
		if got := a.MayApprove(principal); got != want {
			t.Errorf("MayApprove(%s) = %v, want %v", principal, got, want)
		}
	}
	if !(Approval{}).MayApprove("arn:aws:iam::123456789012:user/anyone") {
		t.Error("an empty list refuses")
	}
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{{"a*c", "abc", true}, {"a*c", "ac", true}, {"a*c", "acb", false}, {"*b*", "abc", true}, {"a**", "a", true}, {"abc", "abc", true}, {"ab", "abc", false}, {"*ab*ab", "zzab", false}, {"*ab*ab", "abab", true}} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// A target names its account and Region, or takes the defaults', or the
// stack's own (empty, PlaceIn); bad ones name the field.
func TestAccountAndRegion(t *testing.T) {
	c, err := Parse("t.json", []byte(`{"defaults": {"account": "222222222222"}, "targets": [
	  {"repository": "app", "tag": "staging", "region": "us-east-1"},
	  {"repository": "app", "tag": "prod", "account": "333333333333", "region": "eu-west-1"},
	  {"repository": "app", "tag": "dev", "account": "123456789012", "region": "us-east-1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	home := Place{Account: "123456789012", Region: "us-east-1"}
	for env, want := range map[string]Place{
		"staging": {"222222222222", "us-east-1"},
		"prod":    {"333333333333", "eu-west-1"},
		"dev":     home,
	} {
		r, _ := c.ByEnvironment(env)
		if got := r.PlaceIn(home); got != want {
			t.Errorf("%s: PlaceIn = %+v, want %+v", env, got, want)
		}
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"targets":[{"repository":"app","tag":"prod","account":"12345678901"}]}`, "targets[0].account"},
		{`{"targets":[{"repository":"app","tag":"prod","account":"1234567890123"}]}`, "targets[0].account"},
		{`{"defaults":{"region":"EU-west-1"},"targets":[{"repository":"app","tag":"prod"}]}`, "defaults.region"},
		{`{"targets":[{"repository":"app","tag":"prod","account":"123456789012","region":"eu-west"}]}`, "targets[0].region"},
		{`{"targets":[{"repository":"app","tag":"prod","region":"eu-west-1"}]}`, `give both "account" and "region"`},
	} {
		_, err := Parse("t.json", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.doc, err, tc.want)
		}
	}
}
