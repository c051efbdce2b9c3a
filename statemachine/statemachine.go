// Package statemachine holds the workflow definition, deployer.asl.json: the
// single source of truth that the CDK app, the tests and the local stack read.
package statemachine

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Definition is deployer.asl.json with its ${…} placeholders.
//
//go:embed deployer.asl.json
var Definition []byte

// Functions names each Lambda as it appears in the placeholders
// (${<Name>FunctionArn}), in workflow order, with its directory under functions/.
var Functions = []Function{
	{Name: "ResolveTarget", Dir: "resolve-target"},
	{Name: "CheckTurn", Dir: "check-turn"},
	{Name: "PinImage", Dir: "pin-image"},
	{Name: "RunMigration", Dir: "run-migration"},
	{Name: "Watch", Dir: "watch"},
	{Name: "CheckMigration", Dir: "check-migration"},
	{Name: "StartDeployment", Dir: "start-deployment"},
	{Name: "CheckDeployment", Dir: "check-deployment"},
	{Name: "Trigger", Dir: "trigger", Event: true},
	{Name: "Wake", Dir: "wake", Event: true},
	{Name: "Notify", Dir: "notify", Event: true},
	{Name: "ApproverApi", Dir: "approver-api", Event: true, URL: true},
	{Name: "PromoterApi", Dir: "promoter-api", Event: true, URL: true},
	{Name: "OverriderApi", Dir: "overrider-api", Event: true, URL: true},
}

// Function is one Lambda of the workflow.
type Function struct {
	// Name is the placeholder's stem, and the Task state's name for a
	// function a single state invokes directly.
	Name string
	// Dir is the directory of its main package under functions/.
	Dir string
	// Event is set for a function the state machine does not invoke: one
	// EventBridge invokes (Wake on ECS events, Notify on the state
	// machine's status changes) or, with URL, people do. It has no
	// placeholder in the definition.
	Event bool
	// URL is set for the deployer API's functions, which people invoke
	// through their function URL (AuthType AWS_IAM; internal/api).
	URL bool
}

// Placeholder is the substitution key for the function's ARN.
func (f Function) Placeholder() string { return f.Name + "FunctionArn" }

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders lists the ${…} keys used in the definition, sorted.
func Placeholders() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range placeholder.FindAllSubmatch(Definition, -1) {
		if k := string(m[1]); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Substitute fills the placeholders, as Step Functions does with
// DefinitionSubstitutions, and fails if one is left without a value.
func Substitute(values map[string]string) ([]byte, error) {
	var missing []string
	out := placeholder.ReplaceAllFunc(Definition, func(m []byte) []byte {
		k := string(placeholder.FindSubmatch(m)[1])
		v, ok := values[k]
		if !ok {
			missing = append(missing, k)
			return m
		}
		b, _ := json.Marshal(v)
		return b[1 : len(b)-1] // the placeholder already sits inside a JSON string
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// State is the part of a state definition the tools read.
type State struct {
	Type     string    `json:"Type"`
	Resource string    `json:"Resource"`
	Next     string    `json:"Next"`
	Default  string    `json:"Default"`
	End      bool      `json:"End"`
	Choices  []Choice  `json:"Choices"`
	Catch    []Catcher `json:"Catch"`
	Retry    []Catcher `json:"Retry"`
	Error    string    `json:"Error"`
	// TimeoutSecondsPath and Parameters are read for the waits.
	TimeoutSecondsPath string          `json:"TimeoutSecondsPath"`
	Parameters         json.RawMessage `json:"Parameters"`
	Extra              json.RawMessage `json:"-"`
}

// WaitForTaskToken is the Resource of a state that invokes a Lambda and
// waits for its task token.
const WaitForTaskToken = "arn:aws:states:::lambda:invoke.waitForTaskToken"

// FunctionOf is the placeholder of the function a Task state invokes: its
// Resource, or Parameters.FunctionName for a wait for a task token.
func (s State) FunctionOf() string {
	ref := s.Resource
	if s.Resource == WaitForTaskToken {
		var p struct{ FunctionName string }
		_ = json.Unmarshal(s.Parameters, &p)
		ref = p.FunctionName
	}
	if m := placeholder.FindStringSubmatch(ref); m != nil {
		return m[1]
	}
	return ref
}

// Choice is one rule of a Choice state.
type Choice struct {
	Next string `json:"Next"`
}

// Catcher is one Catch or Retry rule.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	MaxAttempts int      `json:"MaxAttempts"`
	Next        string   `json:"Next"`
	ResultPath  *string  `json:"ResultPath"`
}

// Document is the parsed definition.
type Document struct {
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds int              `json:"TimeoutSeconds"`
	States         map[string]State `json:"States"`
}

// Parse reads the embedded definition.
func Parse() (Document, error) {
	var d Document
	if err := json.Unmarshal(Definition, &d); err != nil {
		return d, fmt.Errorf("parse deployer.asl.json: %w", err)
	}
	return d, nil
}

// AliasName is the state machine alias the stack publishes each release
// under: Trigger and the deployer CLI start executions through it.
const AliasName = "live"
