package deploy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// lambdaErrorDocument is the cause Step Functions receives from a Lambda
// that returned err (aws-lambda-go's errorMessage and errorType), which
// the ASL decodes with States.StringToJson.
func lambdaErrorDocument(t *testing.T, err error) string {
	t.Helper()
	name, _ := stepFunctionsName(err)
	b, jerr := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": name})
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(b)
}

func TestBoundCause(t *testing.T) {
	cases := map[string]string{
		"short":                     "Migration task arn:… exited with code 1.",
		"long ASCII":                strings.Repeat("x", 40_000),
		"quotes and newlines":       strings.Repeat("\"a\"\n", 20_000), // each character escapes to two
		"control characters":        strings.Repeat("\x01", 10_000),    // each escapes to six
		"multi-byte runes":          strings.Repeat("ü🚀", 20_000),
		"exactly at the bound":      strings.Repeat("y", MaxCauseJSON-2),
		"one past the bound":        strings.Repeat("y", MaxCauseJSON-1),
		"escapes across the cut":    strings.Repeat("y", MaxCauseJSON-200) + strings.Repeat("\n", 1000),
		"a rune across the cut":     strings.Repeat("y", MaxCauseJSON-len(causeCut)-3) + strings.Repeat("🚀", 100),
		"the longest that fits too": strings.Repeat("\\", MaxCauseJSON/2-1),
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			got := BoundCause(msg)
			if !utf8.ValidString(got) || jsonLen(got) > MaxCauseJSON {
				t.Fatalf("bounded cause is %d characters as JSON (valid UTF-8: %v), want at most %d", jsonLen(got), utf8.ValidString(got), MaxCauseJSON)
			}
			fits := jsonLen(msg) <= MaxCauseJSON
			if fits != (got == msg) {
				t.Fatalf("a cause of %d characters as JSON was changed: %v, want %v", jsonLen(msg), got != msg, !fits)
			}
			// ASCII without escapes fills the bound exactly; an escape or a
			// rune that would pass it is left out whole.
			exact := !strings.ContainsAny(msg, "\"\n\\\x01🚀ü")
			if !fits && (!strings.HasSuffix(got, causeCut) || !strings.HasPrefix(msg, strings.TrimSuffix(got, causeCut)) || jsonLen(got) < MaxCauseJSON-10 ||
				exact && jsonLen(got) != MaxCauseJSON) {
				t.Fatalf("a cut cause must keep as much of the head as fits and say it was cut: %d characters as JSON, ends %q", jsonLen(got), got[max(0, len(got)-80):])
			}
		})
	}
}

// Ten services failing, each with a full log tail: the execution's cause
// (the Lambda's error document) stays under Step Functions' 32,768
// characters, is JSON the ASL can decode, and keeps the first failure whole.
func TestTenFailingServicesCauseFits(t *testing.T) {
	tail := strings.Repeat("panic: connection refused to db:5432 \"retrying\"\n", logTailMaxBytes/48)
	s := State{Environment: "prod", Cluster: "prod"}
	for i := range 10 {
		s.Services = append(s.Services, ServiceRollout{Service: fmt.Sprintf("svc-%d", i), Outcome: OutcomeFailed, Error: "DeploymentRolledBack",
			Cause: fmt.Sprintf("Deployment ecs-svc/%d of service svc-%d failed: tasks failed to start.\nLast log lines:\n%s", i, i, tail)})
	}
	first := s.Services[0]
	err := ForStepFunctions(failureLike(first.Error, s.servicesFailure(first)))
	doc := lambdaErrorDocument(t, err)
	var back struct{ ErrorMessage, ErrorType string }
	if len(doc) > 32_768 || json.Unmarshal([]byte(doc), &back) != nil || back.ErrorType != "DeploymentRolledBack" {
		t.Fatalf("error document of %d characters (type %q); want at most 32,768, decodable", len(doc), back.ErrorType)
	}
	if !strings.Contains(back.ErrorMessage, first.Cause) || !strings.Contains(back.ErrorMessage, "svc-9 failed too") {
		t.Fatalf("the cause lost the first failure or the last service: %.300s…", back.ErrorMessage)
	}
}

// Every typed error and an InternalError of any size leave ForStepFunctions bounded.
func TestForStepFunctionsBoundsEveryCause(t *testing.T) {
	long := strings.Repeat("z", 50_000)
	for _, e := range append(AllErrors(), fmt.Errorf("read: %s", long)) {
		err := e
		if f, ok := e.(interface{ reword(string) }); ok {
			f.reword(long)
		}
		got := ForStepFunctions(err)
		if jsonLen(got.Error()) > MaxCauseJSON {
			t.Errorf("%T: cause of %d characters as JSON", e, jsonLen(got.Error()))
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"äbcd", 3, "äbc… [1 more characters]"},
		{"abcdefgh", 3, "abc… [5 more characters]"},
	} {
		if got := clip(c.s, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
