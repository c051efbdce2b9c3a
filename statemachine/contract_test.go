package statemachine_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// errorDocument are the paths read from the error a Catch passes on (no
// ResultPath: the input becomes {"Error", "Cause"}), and from what
// ReadFailure makes of it ({"error", "cause"}, the cause being the Lambda's
// error JSON, whose message aws-lambda-go writes as errorMessage).
var errorDocument = map[string]bool{"$.Error": true, "$.Cause": true, "$.error": true, "$.cause.errorMessage": true}

// Every $. path the ASL reads exists in the State document the Lambdas
// return, or is written by the ASL itself (a ResultPath), or is read from
// an error: a field renamed in Go without the ASL would otherwise end an
// execution in States.Runtime, which no Catch takes.
func TestEveryPathTheASLReadsIsInTheState(t *testing.T) {
	var def any
	if err := json.Unmarshal(statemachine.Definition, &def); err != nil {
		t.Fatal(err)
	}
	reads, written := map[string]bool{}, map[string]bool{}
	walkPaths(def, "", reads, written)
	if len(reads) < 10 {
		t.Fatalf("found only %d paths in the ASL: the walk is broken", len(reads))
	}
	var doc any
	b, err := json.Marshal(filled(reflect.TypeOf(deploy.State{}), 0).Interface())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for p := range reads {
		if errorDocument[p] || underAny(p, written) {
			continue
		}
		if !has(doc, strings.Split(strings.TrimPrefix(p, "$."), ".")) {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the ASL reads paths that no State has: %v", missing)
	}
}

// walkPaths collects the JSONPaths a definition reads (values of keys
// ending in ".$" or "Path", and Choice Variables) and the ones it writes
// (ResultPath).
func walkPaths(v any, key string, reads, written map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walkPaths(c, k, reads, written)
		}
	case []any:
		for _, c := range x {
			walkPaths(c, key, reads, written)
		}
	case string:
		if !strings.HasPrefix(x, "$.") {
			// An intrinsic function's argument: States.StringToJson($.Cause).
			if i := strings.Index(x, "($."); i >= 0 && strings.HasSuffix(key, ".$") {
				x = strings.TrimSuffix(x[i+1:], ")")
			} else {
				return
			}
		}
		switch {
		case key == "ResultPath":
			written[x] = true
		case strings.HasSuffix(key, ".$"), strings.HasSuffix(key, "Path"), key == "Variable":
			reads[x] = true
		}
	}
}

func underAny(p string, prefixes map[string]bool) bool {
	for w := range prefixes {
		if p == w || strings.HasPrefix(p, w+".") {
			return true
		}
	}
	return false
}

func has(doc any, path []string) bool {
	for _, k := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		if doc, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

// filled is a value of t with every field set (pointers allocated, slices
// of one element, maps of one entry), so that no omitempty field is left
// out of its JSON.
func filled(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth > 6 {
		return v
	}
	if t == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
		return v
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				v.Field(i).Set(filled(t.Field(i).Type, depth+1))
			}
		}
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		p.Elem().Set(filled(t.Elem(), depth+1))
		v.Set(p)
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), filled(t.Elem(), depth+1)))
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(filled(t.Key(), depth+1), filled(t.Elem(), depth+1))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
	return v
}
