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
	{Name: "CheckMigration", Dir: "check-migration"},
	{Name: "StartDeployment", Dir: "start-deployment"},
	{Name: "CheckDeployment", Dir: "check-deployment"},
}

// Function is one Lambda of the workflow.
type Function struct {
	// Name is the Task state's name and the placeholder's stem.
	Name string
	// Dir is the directory of its main package under functions/.
	Dir string
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
	Type     string          `json:"Type"`
	Resource string          `json:"Resource"`
	Next     string          `json:"Next"`
	Default  string          `json:"Default"`
	End      bool            `json:"End"`
	Choices  []Choice        `json:"Choices"`
	Catch    []Catcher       `json:"Catch"`
	Retry    []Catcher       `json:"Retry"`
	Error    string          `json:"Error"`
	Extra    json.RawMessage `json:"-"`
}

// Choice is one rule of a Choice state.
type Choice struct {
	Next string `json:"Next"`
}

// Catcher is one Catch or Retry rule.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
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
