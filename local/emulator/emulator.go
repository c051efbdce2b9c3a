// Package emulator is a local ECS and ECR: an HTTP server that speaks the AWS
// JSON 1.1 protocol (X-Amz-Target dispatch, {"__type","message"} errors), so
// the deployer's real SDK clients talk to it through AWS_ENDPOINT_URL_ECS and
// AWS_ENDPOINT_URL_ECR. Tasks and deployments move through their documented
// lifecycles on the wall clock, evaluated when read, and a Scenario scripts
// every way the deployment can go wrong.
package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Emulator holds the emulated account's clusters, services, task definitions,
// tasks and images.
type Emulator struct {
	Region  string
	Account string

	mu       sync.Mutex
	now      func() time.Time
	rng      *rand.Rand
	clusters map[string]*cluster
	taskDefs map[string]*taskDef // by ARN
	families map[string][]*taskDef
	tasks    map[string]*task // by ARN: tasks started by RunTask
	// topics are the SNS topics by ARN; published what was sent to them.
	topics    map[string]*snsTopic
	published []Publication
	// tables are the DynamoDB tables by name; ddbTokens the
	// TransactWriteItems client request tokens seen.
	tables    map[string]*ddbTable
	ddbTokens map[string]ddbToken
	// logs are CloudWatch Logs events by group and stream.
	logs map[string]map[string][]logEvent
	// serviceTasks are the tasks of service deployments, made when listed.
	serviceTasks map[string]*task
	registered   []json.RawMessage
	random       *rand.Rand
	spans        []Span
	buckets      map[string]*TokenBucket
	tokens       map[string]tokenEntry
	repos        map[string]*repository
	script       Scenario
	runTasks     int // RunTask calls that were not idempotent replays
	calls        []Call
	throttle     map[string]int
	// pending are events emitted while the lock was held, delivered after.
	pending []map[string]any
	// scale is the clock's speed-up (SetTimeScale); timers fire scheduled
	// state changes and their events.
	scale         float64
	timers        map[*time.Timer]bool
	delivering    atomic.Int32 // event batches handed to OnEvent and not yet delivered
	closed        bool
	droppedEvents int
	// authorize, when set, refuses the calls IAM would (SetAuthorizer).
	authorize Authorizer
	// adv is the adversarial mode's adversary (nil: off).
	adv *Adversary
	// OnEvent, if set, receives every event the emulator emits (ECR pushes,
	// ECS task and deployment state changes),
	// as EventBridge would: asynchronously, after the API call has answered.
	OnEvent func(event map[string]any)
}

// Call is one API request the emulator served.
type Call struct {
	Operation string
	Request   json.RawMessage
	Error     string
	At        time.Time
}

// New returns an empty emulator for one account and region.
func New(account, region string) *Emulator {
	return &Emulator{
		Region: region, Account: account,
		now:          time.Now,
		rng:          rand.New(rand.NewPCG(1, 2)),
		clusters:     map[string]*cluster{},
		taskDefs:     map[string]*taskDef{},
		families:     map[string][]*taskDef{},
		tasks:        map[string]*task{},
		logs:         map[string]map[string][]logEvent{},
		topics:       map[string]*snsTopic{},
		tables:       map[string]*ddbTable{},
		ddbTokens:    map[string]ddbToken{},
		serviceTasks: map[string]*task{},
		tokens:       map[string]tokenEntry{},
		repos:        map[string]*repository{},
		throttle:     map[string]int{},
		scale:        1,
		timers:       map[*time.Timer]bool{},
	}
}

// SetTimeScale makes the emulator's clock run scale times faster than the
// wall clock from now on, so that an ECS timeline of minutes plays in
// seconds; every time it reports and records is on that clock. The clock
// starts a week in the past, so that it stays behind the Lambdas' wall
// clock for the length of a benchmark: StartDeployment compares ECS's
// createdAt with its own clock to recognise a deployment it started, and a
// clock running ahead would make it adopt the previous deployment.
func (e *Emulator) SetTimeScale(scale float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	wall := time.Now()
	base := wall.Add(-7 * 24 * time.Hour)
	e.scale = scale
	e.now = func() time.Time { return base.Add(time.Duration(float64(time.Since(wall)) * scale)) }
}

// Now is the emulator's clock.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

// SetScenario scripts the behaviour of what follows.
func (e *Emulator) SetScenario(s Scenario) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.script = s
	if s.Random != nil {
		e.random = rand.New(rand.NewPCG(s.Random.Seed, s.Random.Seed^0x9e3779b97f4a7c15))
	}
	e.buckets = map[string]*TokenBucket{}
	if rl := s.RateLimit; rl != nil {
		for _, op := range rl.Operations {
			e.buckets[op] = NewTokenBucket(rl.PerSecond, rl.PerSecond, e.now())
		}
	}
	e.throttle = map[string]int{}
	for op, n := range s.Throttle {
		e.throttle[op] = n
	}
	e.adv = nil
	if s.Adversary != nil {
		// Validate refused a script it cannot make.
		e.adv, _ = NewAdversary(*s.Adversary)
	}
}

// Adversary is the adversarial mode's adversary, shared with the rest of
// the local stack (nil when the mode is off).
func (e *Emulator) Adversary() *Adversary {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.adv
}

// Calls returns the requests served so far, optionally only those of one operation.
func (e *Emulator) Calls(op string) []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Call
	for _, c := range e.calls {
		if op == "" || c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

// TaskCount is the number of tasks started (migration tasks; service tasks are counted, not modelled).
func (e *Emulator) TaskCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.tasks)
}

// DeploymentCount is the number of deployments ever started on a service,
// including the one it was created with.
func (e *Emulator) DeploymentCount(clusterName, service string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.clusters[clusterName]
	if c == nil || c.services[service] == nil {
		return 0
	}
	return c.services[service].deploymentsStarted
}

type apiError struct {
	status int
	code   string
	msg    string
	// extra are members the error carries besides its message
	// (TransactionCanceledException's CancellationReasons).
	extra map[string]any
}

func (a *apiError) Error() string { return a.code + ": " + a.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

// Service target prefixes of the JSON 1.1 protocol.
const (
	ecsPrefix  = "AmazonEC2ContainerServiceV20141113."
	ecrPrefix  = "AmazonEC2ContainerRegistry_V20150921."
	logsPrefix = "Logs_20140328."
	// DynamoDB speaks JSON 1.0: the same dispatch and errors, its own
	// content type.
	dynamodbPrefix = "DynamoDB_20120810."
)

// contentType is each JSON service's protocol content type.
var contentType = map[string]string{"ecs": "application/x-amz-json-1.1", "ecr": "application/x-amz-json-1.1", "logs": "application/x-amz-json-1.1", "dynamodb": "application/x-amz-json-1.0"}

// ServeHTTP dispatches on X-Amz-Target like the AWS endpoints do.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errorf("SerializationException", "could not read the request body"))
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "UnknownOperationException", msg: "only POST is served"})
		return
	}
	var handler func(*Emulator, json.RawMessage) (any, *apiError)
	var op, service string
	switch {
	case strings.HasPrefix(target, ecsPrefix):
		op, service = strings.TrimPrefix(target, ecsPrefix), "ecs"
		handler = ecsOps[op]
	case strings.HasPrefix(target, ecrPrefix):
		op, service = strings.TrimPrefix(target, ecrPrefix), "ecr"
		handler = ecrOps[op]
	case strings.HasPrefix(target, logsPrefix):
		op, service = strings.TrimPrefix(target, logsPrefix), "logs"
		handler = logsOps[op]
	case strings.HasPrefix(target, dynamodbPrefix):
		op, service = strings.TrimPrefix(target, dynamodbPrefix), "dynamodb"
		handler = dynamodbOps[op]
	}
	if handler == nil {
		writeError(w, errorf("UnknownOperationException", "operation %q is not served by the ecr-deployer emulator", target))
		return
	}
	if !json.Valid(body) {
		writeError(w, errorf("SerializationException", "the request body is not JSON"))
		return
	}
	// AWS validates a request before it authorizes or runs it: the service
	// model's constraints, then the reference's prose rules.
	if code, msg := Validate(service, op, body); code != "" {
		e.record(Call{Operation: op, Request: append(json.RawMessage(nil), body...), Error: code})
		writeError(w, errorf(code, "%s", msg))
		return
	}
	out, aerr, events, onEvent := e.serve(service+":"+op, AccessKey(r), handler, body)
	for _, ev := range events {
		go func() {
			defer e.delivering.Add(-1)
			onEvent(ev)
		}()
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, &apiError{status: 500, code: "ServerException", msg: err.Error()})
		return
	}
	w.Header().Set("Content-Type", contentType[service])
	w.Header().Set("X-Amzn-RequestId", e.requestID())
	_, _ = w.Write(b)
}

// serve runs one operation under the lock and records it. A panic in a
// handler is answered as a ServerException rather than left holding the lock.
func (e *Emulator) serve(qualified, accessKey string, handler func(*Emulator, json.RawMessage) (any, *apiError), body []byte) (out any, aerr *apiError, events []map[string]any, onEvent func(map[string]any)) {
	_, op, _ := strings.Cut(qualified, ":")
	e.mu.Lock()
	defer e.mu.Unlock()
	call := Call{Operation: op, Request: append(json.RawMessage(nil), body...), At: e.now()}
	defer func() {
		if r := recover(); r != nil {
			out, aerr = nil, &apiError{status: http.StatusInternalServerError, code: "ServerException", msg: fmt.Sprintf("emulator bug: %v", r)}
		}
		if aerr != nil {
			call.Error = aerr.code
		}
		e.calls = append(e.calls, call)
		if onEvent = e.OnEvent; onEvent != nil {
			events = e.pending
			e.delivering.Add(int32(len(events)))
		}
		e.pending = nil
	}()
	if e.authorize != nil {
		var r request
		_ = json.Unmarshal(body, &r)
		service, _, _ := strings.Cut(qualified, ":")
		if err := e.authorize(accessKey, authzFor[qualified](e, r)); err != nil {
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
			denied := errorf("AccessDeniedException", "%s", err.Error())
			if code, ok := deniedCode[service]; ok {
				denied.code, denied.status = code, http.StatusForbidden
			}
			return nil, denied, nil, nil
		}
		if keyAuthz := keyAuthzFor[qualified]; keyAuthz != nil {
			if err := e.authorize(accessKey, keyAuthz(e, r)); err != nil {
				return nil, errorf(keyDeniedCode[service], "%s (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)", err.Error()), nil, nil
			}
		}
	}
	if b := e.buckets[op]; b != nil && !b.Take(e.now()) {
		return nil, errorf("ThrottlingException", "Rate exceeded"), nil, nil
	}
	if e.throttle[op] > 0 {
		// ECS and ECR throttle per account and Region with a token bucket and
		// answer ThrottlingException; the SDK retries it.
		// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
		e.throttle[op]--
		return nil, errorf("ThrottlingException", "Rate exceeded"), nil, nil
	}
	if aerr := e.adverseCall(qualified); aerr != nil {
		return nil, aerr, nil, nil
	}
	out, aerr = handler(e, body)
	return out, aerr, nil, nil
}

// adverseCall is the adversarial mode's answer to a call before it runs:
// throttled, as every one of these APIs may be; the SDK's retryer retries
// both codes. (AdvThrottle, AdvReadThrottled)
func (e *Emulator) adverseCall(qualified string) *apiError {
	if qualified == "dynamodb:GetItem" && e.adv.Roll(AdvReadThrottled) {
		return errorf("ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
	}
	if e.adv.Roll(AdvThrottle) {
		return errorf("ThrottlingException", "Rate exceeded")
	}
	return nil
}

// record keeps a request that was answered before it reached its handler.
func (e *Emulator) record(c Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.At = e.now()
	e.calls = append(e.calls, c)
}

func (e *Emulator) requestID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.uuid()
}

// NewUUID returns a UUID from the emulator's seeded generator.
func (e *Emulator) NewUUID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.uuid()
}

// uuid is a random-looking UUID from the emulator's seeded generator.
func (e *Emulator) uuid() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", e.rng.Uint32(), e.rng.Uint32()&0xffff, e.rng.Uint32()&0xffff, e.rng.Uint32()&0xffff, e.rng.Uint64()&0xffffffffffff)
}

// writeError answers as the JSON 1.1 protocol does: HTTP 400 (or 5xx) with
// {"__type": code, "message": text}; the SDK reads the code from __type.
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	doc := map[string]any{"__type": e.code, "message": e.msg}
	for k, v := range e.extra {
		doc[k] = v
	}
	b, _ := json.Marshal(doc)
	_, _ = w.Write(b)
}

func decode(body json.RawMessage, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf("SerializationException", "%v", err)
	}
	return nil
}

func ts(t time.Time) epoch { return epoch(float64(t.UnixMilli()) / 1000) }

func tsp(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

func (e *Emulator) id(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[e.rng.IntN(16)]
	}
	return string(b)
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// TokenBucket is a token bucket refilled continuously: Rate tokens a second,
// at most Size. AWS throttles its APIs per account and Region this way.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
type TokenBucket struct {
	rate, size, tokens float64
	at                 time.Time
}

// NewTokenBucket returns a full bucket.
func NewTokenBucket(rate, size float64, now time.Time) *TokenBucket {
	return &TokenBucket{rate: rate, size: size, tokens: size, at: now}
}

// Take takes a token if there is one.
func (b *TokenBucket) Take(now time.Time) bool {
	b.tokens = min(b.size, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Page slices n results for a maxResults/nextToken request: the token is
// the offset this local stack handed out, and ok is false for any other,
// which AWS refuses as a token it did not issue. maxResults ≤ 0 takes
// byDefault.
func Page(token string, maxResults, byDefault, n int) (from, to int, next string, ok bool) {
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > n {
			return 0, 0, "", false
		}
		from = v
	}
	if maxResults <= 0 {
		maxResults = byDefault
	}
	to = min(from+maxResults, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, true
}
