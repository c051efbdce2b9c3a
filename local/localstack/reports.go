package localstack

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"sync"
)

// LambdaReport is what the RIE's REPORT lines say about one function.
type LambdaReport struct {
	Invocations int
	// BilledMs adds up "Billed Duration" (whole milliseconds, rounded up).
	BilledMs float64
	// InitMs is the "Init Duration" of the cold start. This RIE starts the
	// bootstrap asynchronously, so the process's start-up shows in FirstMs.
	InitMs float64
	// FirstMs is the "Duration" of the first (cold) invocation.
	FirstMs float64
}

var (
	reportLine = regexp.MustCompile(`^REPORT RequestId: \S+\t(?:Init Duration: ([0-9.]+) ms\t)?Duration: ([0-9.]+) ms\tBilled Duration: ([0-9.]+) ms`)
)

// reportWriter passes an RIE's output on and reads its REPORT lines.
type reportWriter struct {
	mu     sync.Mutex
	out    io.Writer
	buf    []byte
	report LambdaReport
}

func (w *reportWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if m := reportLine.FindSubmatch(w.buf[:i]); m != nil {
			w.report.Invocations++
			billed, _ := strconv.ParseFloat(string(m[3]), 64)
			w.report.BilledMs += billed
			if w.report.Invocations == 1 {
				w.report.FirstMs, _ = strconv.ParseFloat(string(m[2]), 64)
			}
			if len(m[1]) > 0 {
				w.report.InitMs, _ = strconv.ParseFloat(string(m[1]), 64)
			}
		}
		w.buf = w.buf[i+1:]
	}
	return w.out.Write(p)
}

// LambdaReports returns each function's REPORT figures so far, by directory
// name, added up over its instances (cold start: the first instance used).
func (s *Stack) LambdaReports() map[string]LambdaReport {
	out := map[string]LambdaReport{}
	for dir, ws := range s.reports {
		var sum LambdaReport
		for _, w := range ws {
			w.mu.Lock()
			r := w.report
			w.mu.Unlock()
			if sum.Invocations == 0 && r.Invocations > 0 {
				sum.InitMs, sum.FirstMs = r.InitMs, r.FirstMs
			}
			sum.Invocations += r.Invocations
			sum.BilledMs += r.BilledMs
		}
		out[dir] = sum
	}
	return out
}
