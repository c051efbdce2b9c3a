package emulator

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// The AWS service models the emulator validates requests against (see
// models/README.md): botocore's service-2.json of ECS, ECR and Step
// Functions, the data AWS's SDKs are generated from.
//
//go:embed models/*.json.gz
var modelFiles embed.FS

// model is the part of a service model that constrains requests.
type model struct {
	ops    map[string]string // operation → input shape
	shapes map[string]shape
	// patterns are the shapes' patterns compiled; nil where Go's RE2
	// cannot compile one (a lookahead): see UncompiledPatterns.
	patterns map[string]*regexp.Regexp
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string              `json:"type"`
	Required []string            `json:"required"`
	Members  map[string]shapeRef `json:"members"`
	Member   *shapeRef           `json:"member"`
	Key      *shapeRef           `json:"key"`
	Value    *shapeRef           `json:"value"`
	Min      *float64            `json:"min"`
	Max      *float64            `json:"max"`
	Pattern  string              `json:"pattern"`
	Enum     []string            `json:"enum"`
}

var (
	modelsOnce sync.Once
	models     map[string]*model
	modelsErr  error
)

// serviceModel loads one of ecs, ecr, stepfunctions, logs.
func serviceModel(name string) (*model, error) {
	modelsOnce.Do(func() {
		models = map[string]*model{}
		for _, n := range []string{"ecs", "ecr", "stepfunctions", "logs", "sns", "dynamodb"} {
			m, err := loadModel(n)
			if err != nil {
				modelsErr = err
				return
			}
			models[n] = m
		}
	})
	if modelsErr != nil {
		return nil, modelsErr
	}
	return models[name], nil
}

func loadModel(name string) (*model, error) {
	raw, err := modelFiles.ReadFile("models/" + name + ".json.gz")
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Operations map[string]struct {
			Input *shapeRef `json:"input"`
		} `json:"operations"`
		Shapes map[string]shape `json:"shapes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	m := &model{ops: map[string]string{}, shapes: doc.Shapes, patterns: map[string]*regexp.Regexp{}}
	for op, o := range doc.Operations {
		if o.Input != nil {
			m.ops[op] = o.Input.Shape
		}
	}
	for _, s := range doc.Shapes {
		if s.Pattern == "" {
			continue
		}
		if _, done := m.patterns[s.Pattern]; done {
			continue
		}
		// Smithy leaves patterns unanchored, but these models come from AWS's
		// older service definitions, whose validation matched the whole value
		// (repositoryName "App" is refused though "pp" matches): the
		// stricter reading, anchored. RE2 lacks \p{ASCII}.
		re, err := regexp.Compile(`^(?:` + strings.ReplaceAll(s.Pattern, `\p{ASCII}`, `[\x00-\x7F]`) + `)$`)
		if err != nil {
			re = nil
		}
		m.patterns[s.Pattern] = re
	}
	return m, nil
}

// UncompiledPatterns lists the patterns of a service model that Go's RE2
// cannot compile (lookaheads), which the emulator therefore cannot enforce.
func UncompiledPatterns(service string) []string {
	m, err := serviceModel(service)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for p, re := range m.patterns {
		if re == nil {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// validate checks a request body against the operation's input shape and
// returns the violations in AWS's wording ("Value … at '…' failed to
// satisfy constraint: Member must …").
func (m *model) validate(op string, v any) []string {
	in, ok := m.ops[op]
	if !ok {
		return nil
	}
	var out []string
	m.check(in, v, "", &out)
	return out
}

func (m *model) check(name string, v any, path string, out *[]string) {
	s, ok := m.shapes[name]
	if !ok || v == nil {
		return
	}
	fail := func(value any, constraint string) {
		*out = append(*out, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", show(value), path, constraint))
	}
	at := func(member string) string {
		if path == "" {
			return member
		}
		return path + "." + member
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			fail(v, "be a structure")
			return
		}
		for _, r := range s.Required {
			if obj[r] == nil {
				*out = append(*out, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", at(r)))
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ref, ok := s.Members[k]; ok {
				m.check(ref.Shape, obj[k], at(k), out)
			}
		}
	case "list":
		list, ok := v.([]any)
		if !ok {
			fail(v, "be a list")
			return
		}
		m.bounds(s, float64(len(list)), v, "have length", fail)
		if s.Member != nil {
			for i, e := range list {
				m.check(s.Member.Shape, e, fmt.Sprintf("%s.%d.member", path, i+1), out)
			}
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			fail(v, "be a map")
			return
		}
		m.bounds(s, float64(len(obj)), v, "have length", fail)
		for k, e := range obj {
			if s.Key != nil {
				m.check(s.Key.Shape, k, path+".key", out)
			}
			if s.Value != nil {
				m.check(s.Value.Shape, e, fmt.Sprintf("%s.%s.value", path, k), out)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail(v, "be a string")
			return
		}
		m.bounds(s, float64(utf8.RuneCountInString(str)), v, "have length", fail)
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			fail(v, "satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
		if re := m.patterns[s.Pattern]; re != nil && !re.MatchString(str) {
			fail(v, "satisfy regular expression pattern: "+s.Pattern)
		}
	case "integer", "long", "double", "float":
		n, ok := v.(json.Number)
		if !ok {
			fail(v, "be a number")
			return
		}
		f, err := n.Float64()
		if err != nil || (s.Type == "integer" && (f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32)) {
			fail(v, "be an "+s.Type)
			return
		}
		m.bounds(s, f, v, "have value", fail)
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail(v, "be a boolean")
		}
	}
}

func (m *model) bounds(s shape, n float64, v any, what string, fail func(any, string)) {
	if s.Min != nil && n < *s.Min {
		fail(v, fmt.Sprintf("%s greater than or equal to %v", what, *s.Min))
	}
	if s.Max != nil && n > *s.Max {
		fail(v, fmt.Sprintf("%s less than or equal to %v", what, *s.Max))
	}
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 64 {
			x = x[:64] + "…"
		}
		return "'" + x + "'"
	case json.Number:
		return "'" + x.String() + "'"
	default:
		b, _ := json.Marshal(v)
		if len(b) > 64 {
			b = append(b[:64], "…"...)
		}
		return "'" + string(b) + "'"
	}
}

// validationMessage is the wording of AWS's model validation errors.
func validationMessage(violations []string) string {
	noun := "error"
	if len(violations) > 1 {
		noun = "errors"
	}
	return fmt.Sprintf("%d validation %s detected: %s", len(violations), noun, strings.Join(violations, "; "))
}
