package rig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/local/iam"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// StateMachineName is the local state machine's name.
const StateMachineName = StackName + "-deploy"

const sfnPrefix = "AWSStepFunctions."

// SFNServer serves the Step Functions API (JSON 1.0) for the local state
// machine: StartExecution, DescribeExecution, ListExecutions,
// GetExecutionHistory, StopExecution, SendTaskSuccess and SendTaskFailure,
// with each execution run by
// aws-local-stepfunctions and its history kept as Step Functions reports it.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
type SFNServer struct {
	stack *Stack
	// StateMachineARN is the ARN clients address.
	StateMachineARN string

	mu         sync.Mutex
	executions map[string]*execution
	order      []*execution
	// tokens are the task tokens handed out; seen signals their registration.
	tokens map[string]*taskToken
	seen   map[string]chan struct{}
	// calls counts the requests served, by operation; limits throttle some.
	calls map[string]int
	// log is every request with its time (CallLog).
	log    []SFNCall
	limits map[string]*emulator.TokenBucket
}

// Quota is a Step Functions API throttling quota: a token bucket.
type Quota struct{ Size, PerSecond float64 }

// Quotas are Step Functions' documented API throttling quotas (Standard
// workflows, in US East (N. Virginia), US West (Oregon) and Europe
// (Ireland)) for the calls ecr-deployer's functions make.
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
var Quotas = map[string]Quota{
	"ListExecutions":      {Size: 200, PerSecond: 5},
	"GetExecutionHistory": {Size: 400, PerSecond: 20},
	"DescribeExecution":   {Size: 300, PerSecond: 15},
	"SendTaskSuccess":     {Size: 3000, PerSecond: 500},
}

// SetQuotas throttles the operations with their token buckets from now on
// (ThrottlingException beyond them); nil lifts every limit.
func (s *SFNServer) SetQuotas(q map[string]Quota) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = map[string]*emulator.TokenBucket{}
	for op, l := range q {
		s.limits[op] = emulator.NewTokenBucket(l.PerSecond, l.Size, time.Now())
	}
}

type execution struct {
	arn, name string
	input     string
	start     time.Time
	stop      time.Time
	status    string
	output    string
	errName   string
	cause     string
	history   []historyEvent
	cancel    context.CancelFunc
	result    *Result
	runErr    error
	done      chan struct{}
	openTasks map[string]string // state name → Lambda ARN
	// entered is the state entered last; early holds a wait's TaskScheduled
	// line that arrived before its state's StateEntered line (the runner
	// writes it from the task, the interpreter's log comes a moment later).
	entered string
	early   map[string]Event
	// aliasARN and versionARN are what it was started through (release.go).
	aliasARN, versionARN string
}

// startedOn is what an execution runs: its release (nil: the latest
// revision) and the state machine ARN it was started with ($$.StateMachine.Id).
type startedOn struct {
	release *release
	machine string
}

func newSFNServer(s *Stack) *SFNServer {
	return &SFNServer{
		stack:           s,
		StateMachineARN: fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", emulator.Region, emulator.Account, StateMachineName),
		executions:      map[string]*execution{},
		tokens:          map[string]*taskToken{},
		seen:            map[string]chan struct{}{},
		calls:           map[string]int{},
	}
}

// CallsBy counts the requests of an operation a function (by its name in
// statemachine.Functions) made so far.
func (s *SFNServer) CallsBy(op, function string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op+" by LOCAL"+function]
}

// SFNCall is one Step Functions API request: its operation, who made it
// (a function's name, as in statemachine.Functions), and when.
type SFNCall struct {
	Operation, By string
	At            time.Time
}

// CallLog lists the Step Functions API requests so far, in order.
func (s *SFNServer) CallLog() []SFNCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SFNCall(nil), s.log...)
}

// Calls counts the Step Functions API requests of an operation so far
// ("<op>:throttled" counts those answered ThrottlingException).
func (s *SFNServer) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// historyEvent is a HistoryEvent on the wire.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
type historyEvent struct {
	Timestamp       epochSeconds   `json:"timestamp"`
	Type            string         `json:"type"`
	ID              int64          `json:"id"`
	PreviousEventID int64          `json:"previousEventId"`
	Details         map[string]any `json:"-"`
	DetailsKey      string         `json:"-"`
}

// MarshalJSON writes the event in GetExecutionHistory's shape.
func (h historyEvent) MarshalJSON() ([]byte, error) {
	m := map[string]any{"timestamp": h.Timestamp, "type": h.Type, "id": h.ID, "previousEventId": h.PreviousEventID}
	if h.DetailsKey != "" {
		m[h.DetailsKey] = h.Details
	}
	return json.Marshal(m)
}

type epochSeconds float64

func epochOf(t time.Time) epochSeconds { return epochSeconds(float64(t.UnixMilli()) / 1000) }

type sfnError struct {
	code, msg string
}

func (s *SFNServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), sfnPrefix)
	body, _ := io.ReadAll(r.Body)
	// The account's quotas, and in the adversarial mode any call (AdvThrottle).
	throttled := s.throttled(op) || s.adversary().Roll(emulator.AdvThrottle)
	s.mu.Lock()
	s.calls[op+" by "+emulator.AccessKey(r)]++
	s.log = append(s.log, SFNCall{Operation: op, By: strings.TrimPrefix(emulator.AccessKey(r), "LOCAL"), At: time.Now()})
	s.mu.Unlock()
	var out any
	var err *sfnError
	code, msg := emulator.Validate("stepfunctions", op, body)
	if code == "" && s.stack.guard != nil {
		if denied := s.stack.guard.authorize(emulator.AccessKey(r), s.authz(op, body)); denied != nil {
			code, msg = "AccessDeniedException", denied.Error()
		}
	}
	switch {
	case throttled:
		err = &sfnError{"ThrottlingException", "Rate exceeded"}
	case code != "":
		err = &sfnError{code, msg}
	default:
		out, err = s.dispatch(op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		b, _ := json.Marshal(map[string]string{"__type": err.code, "message": err.msg})
		_, _ = w.Write(b)
		return
	}
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
}

// throttled counts a call and says whether its quota refuses it.
func (s *SFNServer) throttled(op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	throttled := s.limits[op] != nil && !s.limits[op].Take(time.Now())
	if throttled {
		s.calls[op+":throttled"]++
	}
	return throttled
}

func (s *SFNServer) dispatch(op string, body []byte) (out any, err *sfnError) {
	switch op {
	case "StartExecution":
		out, err = s.startExecution(body)
	case "DescribeExecution":
		out, err = s.describeExecution(body)
	case "ListExecutions":
		out, err = s.listExecutions(body)
	case "GetExecutionHistory":
		out, err = s.getExecutionHistory(body)
	case "StopExecution":
		out, err = s.stopExecution(body)
	case "SendTaskSuccess":
		out, err = s.sendTask(body, true)
	case "SendTaskFailure":
		out, err = s.sendTask(body, false)
	default:
		err = &sfnError{"UnknownOperationException", fmt.Sprintf("operation %q is not served by the local stack", op)}
	}
	return out, err
}

// Execution names: 1-80 characters, no whitespace, wildcards, brackets,
// quotes or control characters; ecr-deployer's own are [0-9A-Za-z_-].
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
var executionName = regexp.MustCompile(`^[^\s<>{}\[\]?*"#%\\^|~` + "`" + `$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$`)

func (s *SFNServer) startExecution(body []byte) (any, *sfnError) {
	var in struct {
		StateMachineARN string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sfnError{"SerializationException", err.Error()}
	}
	rel, aliasARN, versionARN, ok := s.stack.resolveStart(in.StateMachineARN)
	if !ok {
		return nil, &sfnError{"StateMachineDoesNotExist", "State Machine Does Not Exist: '" + in.StateMachineARN + "'"}
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	if !json.Valid([]byte(input)) {
		return nil, &sfnError{"InvalidExecutionInput", "Invalid State Machine Execution Input: 'input is not valid JSON'"}
	}
	if in.Name == "" {
		in.Name = s.stack.Emulator.NewUUID()
	}
	if !executionName.MatchString(in.Name) {
		return nil, &sfnError{"InvalidName", "Invalid Name: '" + in.Name + "'"}
	}
	arn := s.stack.ExecutionARN(in.Name)
	s.mu.Lock()
	if prev, ok := s.executions[arn]; ok {
		s.mu.Unlock()
		// Idempotent for the same name and input while it runs.
		if prev.status == "RUNNING" && prev.input == input {
			return map[string]any{"executionArn": arn, "startDate": epochOf(prev.start)}, nil
		}
		return nil, &sfnError{"ExecutionAlreadyExists", "Execution Already Exists: '" + arn + "'"}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ex := &execution{arn: arn, name: in.Name, input: input, start: time.Now().UTC(), status: "RUNNING", cancel: cancel,
		done: make(chan struct{}), openTasks: map[string]string{}, early: map[string]Event{}, aliasARN: aliasARN, versionARN: versionARN}
	s.executions[arn] = ex
	s.order = append(s.order, ex)
	go s.stack.deliver(s.statusChange(ex))
	s.mu.Unlock()
	faults := s.stack.scenarioFaults()
	go func() {
		defer close(ex.done)
		res, err := s.stack.execute(ctx, arn, ex.name, ex.start, json.RawMessage(input), faults, startedOn{release: rel, machine: in.StateMachineARN}, func(ev Event) { s.record(ex, ev) })
		s.mu.Lock()
		defer s.mu.Unlock()
		ex.result, ex.runErr = res, err
		if ex.status != "RUNNING" {
			return // stopped
		}
		ex.stop = time.Now().UTC()
		switch {
		case err != nil:
			ex.status, ex.errName, ex.cause = "FAILED", "States.Runtime", err.Error()
			s.appendEvent(ex, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": ex.errName, "cause": ex.cause})
		default:
			ex.status, ex.output, ex.errName, ex.cause = res.Status, string(res.Output), res.Error, res.Cause
		}
		go s.stack.deliver(s.statusChange(ex))
		go s.stack.evaluateAlarms()
	}()
	return map[string]any{"executionArn": arn, "startDate": epochOf(ex.start)}, nil
}

// record turns one aws-local-stepfunctions event into the history events
// Step Functions writes for it.
func (s *SFNServer) record(ex *execution, ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex.status != "RUNNING" {
		return
	}
	at := time.UnixMilli(ev.Timestamp).UTC()
	add := func(typ, key string, details map[string]any) {
		s.appendEventAt(ex, at, typ, key, details)
	}
	str := func(raw json.RawMessage) string {
		if len(raw) == 0 {
			return "null"
		}
		return string(raw)
	}
	switch ev.Type {
	case "ExecutionStarted":
		add("ExecutionStarted", "executionStartedEventDetails", map[string]any{"input": str(ev.Input), "inputDetails": map[string]any{"truncated": false},
			"roleArn": fmt.Sprintf("arn:aws:iam::%s:role/ecr-deployer-local", emulator.Account)})
	case "ExecutionSucceeded":
		add("ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": str(ev.Output), "outputDetails": map[string]any{"truncated": false}})
	case "ExecutionFailed":
		add("ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": ev.Error, "cause": causeString(ev.Cause)})
	case "TaskScheduled":
		if ex.entered != ev.State.Name {
			ex.early[ev.State.Name] = ev
			return
		}
		s.scheduled(ex, ev, at)
	case "TaskSubmitted":
		add("TaskSubmitted", "taskSubmittedEventDetails", map[string]any{"resourceType": "lambda", "resource": "invoke.waitForTaskToken",
			"output": str(ev.Output), "outputDetails": map[string]any{"truncated": false}})
	case "StateEntered":
		add(ev.State.Type+"StateEntered", "stateEnteredEventDetails", map[string]any{"name": ev.State.Name, "input": str(ev.State.Input), "inputDetails": map[string]any{"truncated": false}})
		ex.entered = ev.State.Name
		if early, ok := ex.early[ev.State.Name]; ok {
			delete(ex.early, ev.State.Name)
			s.scheduled(ex, early, time.UnixMilli(early.Timestamp).UTC())
		}
		if ev.State.Type == "Task" && !s.stack.waits[ev.State.Name] {
			resource := s.stack.taskResource(ev.State.Name)
			ex.openTasks[ev.State.Name] = resource
			add("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", map[string]any{"resource": resource, "input": str(ev.State.Input), "timeoutInSeconds": 120})
			add("LambdaFunctionStarted", "", nil)
		}
	case "StateExited":
		if ev.State.Type == "Task" && !s.stack.waits[ev.State.Name] {
			add("LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", map[string]any{"output": str(ev.State.Output)})
		}
		add(ev.State.Type+"StateExited", "stateExitedEventDetails", map[string]any{"name": ev.State.Name, "output": str(ev.State.Output), "outputDetails": map[string]any{"truncated": false}})
	case "StateFailed":
		if ev.State != nil && ev.State.Type == "Task" && !s.stack.waits[ev.State.Name] {
			add("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", map[string]any{"error": ev.Error, "cause": causeString(ev.Cause)})
		}
	case "StateRetried":
		if s.stack.waits[ev.State.Name] {
			break // the runner schedules the retry with a new token
		}
		resource := ex.openTasks[ev.State.Name]
		add("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", map[string]any{"resource": resource, "input": str(ev.State.Input), "timeoutInSeconds": 120})
		add("LambdaFunctionStarted", "", nil)
	}
}

func causeString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (s *SFNServer) appendEvent(ex *execution, typ, key string, details map[string]any) {
	s.appendEventAt(ex, time.Now().UTC(), typ, key, details)
}

func (s *SFNServer) appendEventAt(ex *execution, at time.Time, typ, key string, details map[string]any) {
	id := int64(len(ex.history) + 1)
	ex.history = append(ex.history, historyEvent{Timestamp: epochOf(at), Type: typ, ID: id, PreviousEventID: id - 1, DetailsKey: key, Details: details})
}

func (s *SFNServer) find(body []byte) (*execution, *sfnError) {
	var in struct {
		ExecutionARN string `json:"executionArn"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sfnError{"SerializationException", err.Error()}
	}
	ex, ok := s.executions[in.ExecutionARN]
	if !ok {
		return nil, &sfnError{"ExecutionDoesNotExist", "Execution Does Not Exist: '" + in.ExecutionARN + "'"}
	}
	return ex, nil
}

// associations adds the alias and version an execution was started
// through, as DescribeExecution and ListExecutions name them.
func (ex *execution) associations(out map[string]any) {
	if ex.aliasARN != "" {
		out["stateMachineAliasArn"] = ex.aliasARN
	}
	if ex.versionARN != "" {
		out["stateMachineVersionArn"] = ex.versionARN
	}
}

func (s *SFNServer) describe(ex *execution) map[string]any {
	out := map[string]any{
		"executionArn": ex.arn, "stateMachineArn": s.StateMachineARN, "name": ex.name, "status": ex.status,
		"startDate": epochOf(ex.start), "input": ex.input, "inputDetails": map[string]any{"included": true},
	}
	if !ex.stop.IsZero() {
		out["stopDate"] = epochOf(ex.stop)
	}
	ex.associations(out)
	if ex.status == "SUCCEEDED" {
		out["output"] = ex.output
		out["outputDetails"] = map[string]any{"included": true}
	}
	if ex.errName != "" {
		out["error"] = ex.errName
	}
	if ex.cause != "" {
		out["cause"] = ex.cause
	}
	return out
}

// statusChange is the "Step Functions Execution Status Change" event
// Step Functions sends EventBridge when an execution starts and ends: its
// detail is DescribeExecution's, dates in epoch milliseconds. Call it with
// s.mu held.
// https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
func (s *SFNServer) statusChange(ex *execution) map[string]any {
	detail := map[string]any{
		"executionArn": ex.arn, "stateMachineArn": s.StateMachineARN, "name": ex.name, "status": ex.status,
		"startDate": ex.start.UnixMilli(), "stopDate": nil, "input": ex.input, "inputDetails": map[string]any{"included": true},
		"output": nil, "outputDetails": nil,
	}
	if !ex.stop.IsZero() {
		detail["stopDate"] = ex.stop.UnixMilli()
	}
	if ex.status == "SUCCEEDED" {
		detail["output"], detail["outputDetails"] = ex.output, map[string]any{"included": true}
	}
	if ex.errName != "" || ex.cause != "" {
		detail["error"], detail["cause"] = ex.errName, ex.cause
	}
	return map[string]any{
		"version": "0", "id": s.stack.Emulator.NewUUID(), "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": emulator.Account, "time": time.Now().UTC().Format(time.RFC3339), "region": emulator.Region,
		"resources": []string{ex.arn}, "detail": detail,
	}
}

func (s *SFNServer) describeExecution(body []byte) (any, *sfnError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, err := s.find(body)
	if err != nil {
		return nil, err
	}
	// "This operation is eventually consistent. The results are best effort
	// and may not reflect very recent updates and changes"
	// (DescribeExecution): an execution started a moment ago is not found.
	// (AdvDescribeNewMissing; within describeLag, shorter than ListLag, so
	// that an execution ListExecutions lists can be described.)
	if time.Since(ex.start) < describeLag && s.adversary().Roll(emulator.AdvDescribeNewMissing) {
		return nil, &sfnError{"ExecutionDoesNotExist", "Execution Does Not Exist: '" + ex.arn + "'"}
	}
	return s.describe(ex), nil
}

// describeLag is how long after its start the adversarial mode may not
// describe an execution.
const describeLag = time.Second

func (s *SFNServer) adversary() *emulator.Adversary { return s.stack.Emulator.Adversary() }

func page(token string, maxResults, n int) (from, to int, next string, err *sfnError) {
	if maxResults > 1000 { // past the models' maximum: the default page
		maxResults = 0
	}
	from, to, next, ok := emulator.Page(token, maxResults, 100, n)
	if !ok {
		return 0, 0, "", &sfnError{"InvalidToken", "Invalid Token: '" + token + "'"}
	}
	return from, to, next, nil
}

func (s *SFNServer) listExecutions(body []byte) (any, *sfnError) {
	var in struct {
		StateMachineARN string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sfnError{"SerializationException", err.Error()}
	}
	// "You can also return a list of executions associated with a specific
	// alias or version, by specifying an alias ARN or a version ARN"
	// (ListExecutionsInput.StateMachineArn).
	if _, _, _, ok := s.stack.resolveStart(in.StateMachineARN); !ok {
		return nil, &sfnError{"StateMachineDoesNotExist", "State Machine Does Not Exist: '" + in.StateMachineARN + "'"}
	}
	qualified := in.StateMachineARN != s.StateMachineARN
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []map[string]any
	// Newest first, as Step Functions lists them, and as they were ListLag
	// ago ("This operation is eventually consistent. The results are best
	// effort and may not reflect very recent updates and changes.").
	sorted := append([]*execution(nil), s.order...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].start.After(sorted[j].start) })
	seenAt := time.Now().Add(-max(0, s.stack.opts.ListLag))
	for _, ex := range sorted {
		if ex.start.After(seenAt) {
			continue
		}
		status, stop := ex.status, ex.stop
		if !stop.IsZero() && stop.After(seenAt) {
			status, stop = "RUNNING", time.Time{}
		}
		if in.StatusFilter != "" && status != in.StatusFilter {
			continue
		}
		if qualified && in.StateMachineARN != ex.aliasARN && in.StateMachineARN != ex.versionARN {
			continue
		}
		item := map[string]any{"executionArn": ex.arn, "stateMachineArn": s.StateMachineARN, "name": ex.name, "status": status, "startDate": epochOf(ex.start)}
		ex.associations(item)
		if !stop.IsZero() {
			item["stopDate"] = epochOf(stop)
		}
		list = append(list, item)
	}
	from, to, next, err := page(in.NextToken, in.MaxResults, len(list))
	if err != nil {
		return nil, err
	}
	to, next = s.adversary().ShortPage(emulator.AdvListEmptyPage, from, to, next)
	out := map[string]any{"executions": append([]map[string]any{}, list[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *SFNServer) getExecutionHistory(body []byte) (any, *sfnError) {
	var in struct {
		ExecutionARN string `json:"executionArn"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
		ReverseOrder bool   `json:"reverseOrder"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sfnError{"SerializationException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, err := s.find(body)
	if err != nil {
		return nil, err
	}
	events := append([]historyEvent(nil), ex.history...)
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	from, to, next, err := page(in.NextToken, in.MaxResults, len(events))
	if err != nil {
		return nil, err
	}
	to, next = s.adversary().ShortPage(emulator.AdvHistoryPartialPage, from, to, next)
	out := map[string]any{"events": append([]historyEvent{}, events[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *SFNServer) stopExecution(body []byte) (any, *sfnError) {
	var in struct {
		Error string `json:"error"`
		Cause string `json:"cause"`
	}
	_ = json.Unmarshal(body, &in)
	// StopExecution: "error … Length Constraints: Minimum length of 0.
	// Maximum length of 256"; "cause … Maximum length of 32768" (API reference).
	if len(in.Error) > 256 || len(in.Cause) > 32768 {
		return nil, &sfnError{"ValidationException", "1 validation error detected: error must have length less than or equal to 256, cause less than or equal to 32768"}
	}
	s.mu.Lock()
	ex, err := s.find(body)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if ex.status == "RUNNING" {
		ex.status, ex.stop, ex.errName, ex.cause = "ABORTED", time.Now().UTC(), in.Error, in.Cause
		s.appendEvent(ex, "ExecutionAborted", "executionAbortedEventDetails", map[string]any{"error": in.Error, "cause": in.Cause})
		ex.cancel()
		go s.stack.deliver(s.statusChange(ex))
	}
	stop := ex.stop
	s.mu.Unlock()
	return map[string]any{"stopDate": epochOf(stop)}, nil
}

// countStatus counts the executions that ended with a status.
func (s *SFNServer) countStatus(status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ex := range s.order {
		if ex.status == status {
			n++
		}
	}
	return n
}

// Start starts an execution as StartExecution does and returns its ARN.
func (s *SFNServer) Start(name string, input json.RawMessage) (string, error) {
	req, _ := json.Marshal(map[string]any{"stateMachineArn": s.StateMachineARN, "name": name, "input": string(input)})
	out, err := s.startExecution(req)
	if err != nil {
		return "", fmt.Errorf("%s: %s", err.code, err.msg)
	}
	return out.(map[string]any)["executionArn"].(string), nil
}

// Result waits for an execution to end and returns its run.
func (s *SFNServer) Result(ctx context.Context, arn string) (*Result, error) {
	s.mu.Lock()
	ex := s.executions[arn]
	s.mu.Unlock()
	if ex == nil {
		return nil, fmt.Errorf("no execution %s", arn)
	}
	select {
	case <-ex.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ex.result, ex.runErr
}

// ExecutionARNs lists every execution started so far, in start order.
func (s *SFNServer) ExecutionARNs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.order))
	for i, ex := range s.order {
		out[i] = ex.arn
	}
	return out
}

// Results are the runs of the executions that have ended, in start order.
func (s *SFNServer) Results() []*Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Result
	for _, ex := range s.order {
		select {
		case <-ex.done:
			if ex.result != nil {
				out = append(out, ex.result)
			}
		default:
		}
	}
	return out
}

// Wait blocks until every execution started so far has ended.
func (s *SFNServer) Wait(ctx context.Context) error {
	s.mu.Lock()
	var done []chan struct{}
	for _, ex := range s.order {
		done = append(done, ex.done)
	}
	s.mu.Unlock()
	for _, d := range done {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops every running execution.
func (s *SFNServer) Close() {
	s.mu.Lock()
	for _, ex := range s.order {
		ex.cancel()
	}
	s.mu.Unlock()
	_ = s.Wait(context.Background())
}

// authz is what IAM evaluates for each Step Functions operation served.
// SendTaskSuccess and SendTaskFailure list no resource type in the Service
// Authorization Reference, but AWS evaluates them on the state machine of
// the token's execution (its AccessDenied names "resource:
// arn:aws:states:…:stateMachine:…", NOAA-OWP/hydrovis#837), which is what
// CDK's grantTaskResponse grants: one state machine here.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
func (s *SFNServer) authz(op string, body []byte) []iam.Request {
	var in struct {
		StateMachineARN string `json:"stateMachineArn"`
		ExecutionARN    string `json:"executionArn"`
	}
	_ = json.Unmarshal(body, &in)
	switch op {
	case "StartExecution", "ListExecutions":
		// "To authorize a version or an alias to invoke an API action, Step
		// Functions uses the state machine's ARN instead of using the
		// version ARN or alias ARN" (developer guide, Authorization for
		// versions and aliases).
		return []iam.Request{{Action: "states:" + op, Resource: executions.Unqualified(in.StateMachineARN)}}
	case "DescribeExecution", "GetExecutionHistory", "StopExecution":
		return []iam.Request{{Action: "states:" + op, Resource: in.ExecutionARN}}
	case "SendTaskSuccess", "SendTaskFailure":
		return []iam.Request{{Action: "states:" + op, Resource: s.StateMachineARN}}
	}
	return []iam.Request{{Action: "states:" + op, Resource: "*"}}
}

// HistoryLength is how many events GetExecutionHistory holds for an execution.
func (s *SFNServer) HistoryLength(arn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex := s.executions[arn]; ex != nil {
		return len(ex.history)
	}
	return 0
}
