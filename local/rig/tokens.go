package rig

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// Waits for a task token (lambda:invoke.waitForTaskToken). The runner
// (local/sfn/run.mjs) writes a TaskScheduled line with the token and the
// resolved parameters, asks /_local/token/registered until this side has
// recorded it (so the history shows the token before the function runs, as
// in Step Functions), invokes the function, and then long-polls
// /_local/token/wait until SendTaskSuccess or SendTaskFailure arrives or the
// state's timeout passes.
// https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token

const (
	tokenPending   = "PENDING"
	tokenSucceeded = "SUCCEEDED"
	tokenFailed    = "FAILED"
	tokenTimedOut  = "TIMED_OUT"
)

type taskToken struct {
	ex     *execution
	state  string
	status string
	output string
	err    string
	cause  string
	done   chan struct{}
}

// NewTaskToken returns an opaque token, as long as Step Functions' are.
func NewTaskToken() string {
	b := make([]byte, 384)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// scheduled records a TaskScheduled line of the runner and registers its token.
// Called with s.mu held.
func (s *SFNServer) scheduled(ex *execution, ev Event, at time.Time) {
	add := func(typ, key string, details map[string]any) { s.appendEventAt(ex, at, typ, key, details) }
	add("TaskScheduled", "taskScheduledEventDetails", map[string]any{
		"resourceType": "lambda", "resource": "invoke.waitForTaskToken", "region": emulator.Region,
		"parameters": ev.Parameters, "timeoutInSeconds": ev.TimeoutSeconds,
	})
	add("TaskStarted", "taskStartedEventDetails", map[string]any{"resourceType": "lambda", "resource": "invoke.waitForTaskToken"})
	t := &taskToken{ex: ex, state: ev.State.Name, status: tokenPending, done: make(chan struct{})}
	s.tokens[ev.Token] = t
	s.tokenSeen(ev.Token)
}

// tokenSeen returns a channel closed once the token is registered. Called with s.mu held.
func (s *SFNServer) tokenSeen(token string) chan struct{} {
	ch, ok := s.seen[token]
	if !ok {
		ch = make(chan struct{})
		s.seen[token] = ch
	}
	if _, registered := s.tokens[token]; registered {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return ch
}

// end closes a pending token and records how it ended. Called with s.mu held.
func (s *SFNServer) end(t *taskToken, status, output, errName, cause string) {
	t.status, t.output, t.err, t.cause = status, output, errName, cause
	close(t.done)
	if t.ex.status != "RUNNING" {
		return
	}
	res := map[string]any{"resourceType": "lambda", "resource": "invoke.waitForTaskToken"}
	switch status {
	case tokenSucceeded:
		res["output"], res["outputDetails"] = output, map[string]any{"truncated": false}
		s.appendEvent(t.ex, "TaskSucceeded", "taskSucceededEventDetails", res)
	case tokenFailed:
		res["error"], res["cause"] = errName, cause
		s.appendEvent(t.ex, "TaskFailed", "taskFailedEventDetails", res)
	case tokenTimedOut:
		res["error"], res["cause"] = "States.Timeout", cause
		s.appendEvent(t.ex, "TaskTimedOut", "taskTimedOutEventDetails", res)
	}
}

// sendTask serves SendTaskSuccess and SendTaskFailure.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html
func (s *SFNServer) sendTask(body []byte, success bool) (any, *sfnError) {
	var in struct {
		TaskToken string  `json:"taskToken"`
		Output    *string `json:"output"`
		Error     string  `json:"error"`
		Cause     string  `json:"cause"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sfnError{"SerializationException", err.Error()}
	}
	if success && (in.Output == nil || !json.Valid([]byte(*in.Output))) {
		return nil, &sfnError{"InvalidOutput", "Invalid State Machine Output: 'output is not valid JSON'"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[in.TaskToken]
	if !ok {
		return nil, &sfnError{"InvalidToken", "Invalid Token: 'Invalid token'"}
	}
	if t.status != tokenPending || t.ex.status != "RUNNING" {
		return nil, &sfnError{"TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"}
	}
	if success {
		s.end(t, tokenSucceeded, *in.Output, "", "")
	} else {
		s.end(t, tokenFailed, "", in.Error, in.Cause)
	}
	return map[string]any{}, nil
}

// localToken serves the runner's /_local/token/* requests.
func (s *SFNServer) localToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"token"`
		Deadline int64  `json:"deadline"` // Unix milliseconds
		Error    string `json:"error"`
		Cause    string `json:"cause"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/_local/token/registered":
		s.mu.Lock()
		ch := s.tokenSeen(in.Token)
		s.mu.Unlock()
		select {
		case <-ch:
			reply(map[string]any{})
		case <-time.After(10 * time.Second):
			http.Error(w, "the TaskScheduled line of this token never arrived", http.StatusGatewayTimeout)
		case <-r.Context().Done():
		}
	case "/_local/token/failed":
		// The function itself failed: the task fails with its error, as in Step Functions.
		s.mu.Lock()
		if t, ok := s.tokens[in.Token]; ok && t.status == tokenPending {
			s.end(t, tokenFailed, "", in.Error, in.Cause)
		}
		s.mu.Unlock()
		reply(map[string]any{})
	case "/_local/token/wait":
		s.mu.Lock()
		t, ok := s.tokens[in.Token]
		s.mu.Unlock()
		if !ok {
			http.Error(w, "unknown token", http.StatusNotFound)
			return
		}
		deadline := time.UnixMilli(in.Deadline)
		// At most 30 s per request; the runner asks again.
		wait := min(time.Until(deadline), 30*time.Second)
		select {
		case <-t.done:
		case <-time.After(max(wait, 0)):
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if t.status == tokenPending && !time.Now().Before(deadline) {
			s.end(t, tokenTimedOut, "", "", fmt.Sprintf("The task %s timed out waiting for its task token.", t.state))
		}
		reply(map[string]any{"status": t.status, "output": t.output, "error": t.err, "cause": t.cause})
	default:
		http.NotFound(w, r)
	}
}
