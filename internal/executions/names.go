package executions

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Execution names. Every execution ecr-deployer starts (a push through the
// Trigger function, deployer start, deployer rollback) is named
// <environment>-<short digest or "tag">-<UTC time>-<suffix>: readable in the
// console, and how CheckTurn tells which environment an execution deploys
// without reading its input (ResolveTarget refuses a name that says another
// environment than the input).

var (
	nameUnsafe = regexp.MustCompile(`[^0-9A-Za-z_-]`)
	nameShort  = regexp.MustCompile(`^([0-9a-f]{12}|tag)$`)
	nameTime   = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z$`)
	nameSuffix = regexp.MustCompile(`^[0-9A-Za-z_]{1,12}$`)
)

// nameTimeLayout is the name's UTC time.
const nameTimeLayout = "20060102T150405Z"

// ExecutionName is a readable, valid name: environment, short digest (or
// "tag"), UTC time and a suffix (random for a start by hand, the event's id
// for a push), at most 80 characters of [0-9A-Za-z_-] as Step Functions
// requires.
func ExecutionName(env, digest string, at time.Time, suffix string) string {
	short := "tag"
	if d := strings.TrimPrefix(digest, "sha256:"); d != digest && len(d) >= 12 {
		short = d[:12]
	}
	env = nameUnsafe.ReplaceAllString(env, "_")
	if len(env) > 40 {
		env = env[:40]
	}
	suffix = nameUnsafe.ReplaceAllString(suffix, "_")
	if len(suffix) > 12 {
		suffix = suffix[:12]
	}
	return fmt.Sprintf("%s-%s-%s-%s", env, short, at.UTC().Format(nameTimeLayout), suffix)
}

// EnvironmentOfName is the environment an execution name of that form
// says, if it has that form.
func EnvironmentOfName(name string) (string, bool) {
	parts := strings.Split(name, "-")
	n := len(parts)
	if n < 4 || !nameSuffix.MatchString(parts[n-1]) || !nameTime.MatchString(parts[n-2]) || !nameShort.MatchString(parts[n-3]) {
		return "", false
	}
	env := strings.Join(parts[:n-3], "-")
	return env, env != ""
}

// ARN is the ARN of a named execution of the state machine (an ARN passes
// through). A qualified state machine ARN (a version or an alias) names
// the same executions as the state machine itself.
func ARN(stateMachine, nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return executionPrefix(stateMachine) + nameOrARN
}

// OfStateMachine says an execution ARN is one of the state machine's
// executions: arn:partition:states:region:account:execution:<machine>:<name>.
func OfStateMachine(executionARN, stateMachine string) bool {
	name, ok := strings.CutPrefix(executionARN, executionPrefix(stateMachine))
	return ok && name != "" && !strings.Contains(name, ":")
}

// Unqualified is a state machine's ARN without a version or alias
// qualifier: arn:…:stateMachine:<machine>.
func Unqualified(stateMachine string) string {
	head, machine, ok := strings.Cut(stateMachine, ":stateMachine:")
	if !ok {
		return stateMachine
	}
	machine, _, _ = strings.Cut(machine, ":")
	return head + ":stateMachine:" + machine
}

// executionPrefix is "arn:…:execution:<machine>:" for a state machine ARN,
// qualified or not (arn:…:stateMachine:<machine>[:version or alias]).
func executionPrefix(stateMachine string) string {
	u := Unqualified(stateMachine)
	if u == stateMachine && !strings.Contains(u, ":stateMachine:") {
		return stateMachine + ":"
	}
	return strings.Replace(u, ":stateMachine:", ":execution:", 1) + ":"
}
