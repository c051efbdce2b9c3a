package notify

import (
	"encoding/json"
	"time"
)

// Namespace is the CloudWatch namespace of the deployer's own metrics.
const Namespace = "ecr-deployer"

// The metrics each ended execution emits.
const (
	// MetricDeployments counts executions by Environment and Outcome.
	MetricDeployments = "Deployments"
	// MetricLeadTime is the ECR push → deployed time of a push that deployed.
	MetricLeadTime = "LeadTime"
	// MetricQueueTime, MetricMigrationTime and MetricDeploymentTime are the
	// phases' durations, MetricTotalTime the execution's.
	MetricQueueTime      = "QueueTime"
	MetricMigrationTime  = "MigrationTime"
	MetricDeploymentTime = "DeploymentTime"
	MetricTotalTime      = "TotalTime"
)

// EMF is one log line in CloudWatch Embedded Metric Format: Lambda's logs
// turn it into metrics with no API call and no extra permission.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
type EMF map[string]any

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

func newEMF(at time.Time, dims [][]string) EMF {
	return EMF{"_aws": map[string]any{"Timestamp": at.UnixMilli(), "CloudWatchMetrics": []emfDirective{{Namespace: Namespace, Dimensions: dims}}}}
}

func (e EMF) add(name, unit string, v float64) {
	d := e["_aws"].(map[string]any)["CloudWatchMetrics"].([]emfDirective)
	d[0].Metrics = append(d[0].Metrics, emfMetric{Name: name, Unit: unit})
	e[name] = v
}

// Line is the document as one line of JSON.
func (e EMF) Line() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// Metrics are the EMF documents of an ended execution: the count by
// environment and outcome, then the durations by environment. An execution
// whose environment is unknown (bad input) counts under "unknown".
func Metrics(f Facts) []EMF {
	env := f.Environment()
	if env == "" {
		env = "unknown"
	}
	at := f.Stop
	if at.IsZero() {
		at = f.Start
	}
	count := newEMF(at, [][]string{{"Environment", "Outcome"}})
	count["Environment"], count["Outcome"], count["Execution"] = env, f.Outcome(), f.ExecutionARN
	if f.Error != "" {
		count["Error"] = f.Error
	}
	count.add(MetricDeployments, "Count", 1)
	out := []EMF{count}

	times := newEMF(at, [][]string{{"Environment"}})
	times["Environment"], times["Execution"] = env, f.ExecutionARN
	if !f.Start.IsZero() && !f.Stop.IsZero() {
		times.add(MetricTotalTime, "Seconds", f.Stop.Sub(f.Start).Seconds())
	}
	if s := f.State; s != nil {
		for _, m := range []struct {
			name string
			v    float64
		}{{MetricQueueTime, s.Phases.QueueSeconds}, {MetricMigrationTime, s.Phases.MigrationSeconds}, {MetricDeploymentTime, s.Phases.DeploymentSeconds}} {
			if m.v > 0 {
				times.add(m.name, "Seconds", m.v)
			}
		}
	}
	if f.Outcome() == "Deployed" && f.PushedAt != nil && !f.Stop.IsZero() && f.Stop.After(*f.PushedAt) {
		times.add(MetricLeadTime, "Seconds", f.Stop.Sub(*f.PushedAt).Seconds())
	}
	if len(times["_aws"].(map[string]any)["CloudWatchMetrics"].([]emfDirective)[0].Metrics) > 0 {
		out = append(out, times)
	}
	return out
}
