package rig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
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

// reportWriter passes an RIE's output on and reads its REPORT lines and
// the Embedded Metric Format lines the function prints.
type reportWriter struct {
	mu      sync.Mutex
	out     io.Writer
	buf     []byte
	report  LambdaReport
	metrics []Metric
}

// Metric is one value CloudWatch would extract from an EMF log line.
type Metric struct {
	Namespace  string
	Name       string
	Unit       string
	Value      float64
	Dimensions map[string]string
	// Properties are the document's other string members (searchable in
	// CloudWatch Logs Insights, not metrics): Notify's Execution and Error.
	Properties map[string]string
}

// emfMetrics reads a log line as CloudWatch does an EMF document: each
// metric of each directive, with each dimension set's values. A line that
// is not EMF gives none.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
func emfMetrics(line []byte) []Metric {
	if !bytes.Contains(line, []byte(`"_aws"`)) {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(line, &doc) != nil {
		return nil
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	raw, _ := json.Marshal(doc["_aws"])
	if json.Unmarshal(raw, &meta) != nil {
		return nil
	}
	var out []Metric
	for _, d := range meta.CloudWatchMetrics {
		for _, m := range d.Metrics {
			v, ok := doc[m.Name].(float64)
			if !ok {
				continue // the specification: a metric without a number is not published
			}
			for _, set := range d.Dimensions {
				dims := map[string]string{}
				for _, k := range set {
					dims[k], _ = doc[k].(string)
				}
				props := map[string]string{}
				for k, v := range doc {
					if sv, ok := v.(string); ok && dims[k] == "" {
						props[k] = sv
					}
				}
				out = append(out, Metric{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Value: v, Dimensions: dims, Properties: props})
			}
		}
	}
	return out
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
		w.metrics = append(w.metrics, emfMetrics(w.buf[:i])...)
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

// Metrics returns the EMF metrics a function (by directory name) printed so far.
func (s *Stack) Metrics(dir string) []Metric {
	var out []Metric
	for _, w := range s.reports[dir] {
		w.mu.Lock()
		out = append(out, w.metrics...)
		w.mu.Unlock()
	}
	return out
}

// Notified waits until Notify has handled the end of an execution (its
// metrics name the execution) and returns what was published about it.
func (s *Stack) Notified(ctx context.Context, executionARN string) ([]emulator.Publication, error) {
	for {
		for _, m := range s.Metrics("notify") {
			if m.Name == "Deployments" && m.Properties["Execution"] == executionARN {
				var out []emulator.Publication
				for _, p := range s.Emulator.Published() {
					if strings.Contains(p.Message, executionARN) {
						out = append(out, p)
					}
				}
				return out, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("notify did not report the end of %s: %w", executionARN, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
