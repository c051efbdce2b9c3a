package rig

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
)

// Dead letters and alarms: what the stack does when something cannot be
// delivered, as its template configures it.
//   - EventBridge retries a target that fails, then sends the event to the
//     target's DeadLetterConfig queue, with why.
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
//   - Lambda retries a failed asynchronous invocation (MaximumRetryAttempts),
//     then sends a record of it to the EventInvokeConfig's OnFailure
//     destination. https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
//   - The template's CloudWatch alarms are evaluated on the metrics the local
//     stack can count (the queue's visible messages, the state machine's
//     failed, timed-out and aborted executions, a function's errors); an
//     alarm going to ALARM publishes CloudWatch's alarm message to its
//     actions' topics, as CloudWatch does, if the topic's key lets
//     CloudWatch use it.
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
//
// Compressed: EventBridge retries a state machine target for up to 24 hours
// (the rule's RetryAttempts); the local stack retries 3 times, opts.Retry
// apart. Alarms are evaluated over the stack's life, not per period, and
// never return to OK.

// DeadLetter is a message in a dead-letter queue.
type DeadLetter struct {
	// Queue is the queue's logical ID in the template.
	Queue string
	// From is what could not deliver it: a rule or a function.
	From string
	// Error is why (EventBridge's ERROR_CODE and ERROR_MESSAGE, or the
	// function's error).
	Error string
	Body  []byte
	At    time.Time
}

// Alarm is one of the template's alarms and its state.
type Alarm struct {
	// Name is the logical ID (CloudFormation would add the stack's name
	// and a suffix).
	Name        string
	Description string
	Namespace   string
	Metric      string
	Dimensions  map[string]string
	Threshold   float64
	Comparison  string
	// Actions are the topics (ARNs) it publishes to on ALARM.
	Actions []string
	// State is OK or ALARM; Reason says why it changed.
	State  string
	Reason string
}

type deadLetters struct {
	mu       sync.Mutex
	messages []DeadLetter
	// eventDLQ is each rule's target's dead-letter queue; asyncDLQ each
	// function's OnFailure destination (logical IDs).
	eventDLQ map[string]string
	asyncDLQ map[string]string
	// asyncRetries is each function's MaximumRetryAttempts (Lambda's default is 2).
	asyncRetries map[string]int
	errors       map[string]int // function name → failed invocations
	alarms       []*Alarm
	// cloudWatchMayUse says which topics' keys let CloudWatch publish.
	cloudWatchMayUse map[string]bool
}

// loadDeadLetters reads where the template sends what cannot be delivered,
// and its alarms.
func loadDeadLetters(res *resources) *deadLetters {
	d := &deadLetters{eventDLQ: map[string]string{}, asyncDLQ: map[string]string{}, asyncRetries: map[string]int{},
		errors: map[string]int{}, cloudWatchMayUse: map[string]bool{}}
	getAtt := func(v any) string {
		m, _ := v.(map[string]any)
		g, _ := m["Fn::GetAtt"].([]any)
		if len(g) == 2 {
			return fmt.Sprint(g[0])
		}
		return ""
	}
	ids := make([]string, 0, len(res.types))
	for id := range res.types {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := res.props[id]
		switch res.types[id] {
		case "AWS::Events::Rule":
			targets, _ := p["Targets"].([]any)
			for _, t := range targets {
				tm, _ := t.(map[string]any)
				if dlc, ok := tm["DeadLetterConfig"].(map[string]any); ok {
					d.eventDLQ[id] = getAtt(dlc["Arn"])
				}
			}
		case "AWS::Lambda::EventInvokeConfig":
			fn, _ := p["FunctionName"].(map[string]any)
			name := functionOf(fmt.Sprint(fn["Ref"]))
			if n, ok := p["MaximumRetryAttempts"].(float64); ok {
				d.asyncRetries[name] = int(n)
			}
			dest, _ := p["DestinationConfig"].(map[string]any)
			onFailure, _ := dest["OnFailure"].(map[string]any)
			d.asyncDLQ[name] = getAtt(onFailure["Destination"])
		case "AWS::CloudWatch::Alarm":
			a := &Alarm{Name: id, State: "OK", Dimensions: map[string]string{}}
			a.Description, _ = p["AlarmDescription"].(string)
			a.Namespace, _ = p["Namespace"].(string)
			a.Metric, _ = p["MetricName"].(string)
			a.Threshold, _ = p["Threshold"].(float64)
			a.Comparison, _ = p["ComparisonOperator"].(string)
			dims, _ := p["Dimensions"].([]any)
			for _, dm := range dims {
				m, _ := dm.(map[string]any)
				a.Dimensions[fmt.Sprint(m["Name"])] = physical(res, m["Value"])
			}
			actions, _ := p["AlarmActions"].([]any)
			for _, act := range actions {
				a.Actions = append(a.Actions, physical(res, act))
			}
			d.alarms = append(d.alarms, a)
		case "AWS::SNS::Topic":
			key := getAtt(p["KmsMasterKeyId"])
			arn, _ := res.ref(id)
			d.cloudWatchMayUse[arn] = key == "" || keyLetsCloudWatch(res.props[key])
		}
	}
	return d
}

// physical evaluates a Ref or Fn::GetAtt of the local resources.
func physical(res *resources, v any) string {
	m, _ := v.(map[string]any)
	if id, ok := m["Ref"].(string); ok {
		if s, ok := res.ref(id); ok {
			return s
		}
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) == 2 {
		if s, ok := res.getAtt(fmt.Sprint(g[0]), fmt.Sprint(g[1])); ok {
			return s
		}
	}
	return fmt.Sprint(v)
}

// keyLetsCloudWatch says whether a key policy allows cloudwatch.amazonaws.com
// to generate data keys and decrypt, which publishing to a topic under the
// key takes.
func keyLetsCloudWatch(props map[string]any) bool {
	raw, _ := json.Marshal(props)
	var p struct {
		KeyPolicy struct {
			Statement []struct {
				Effect    string `json:"Effect"`
				Principal struct {
					Service any `json:"Service"`
				} `json:"Principal"`
				Action any `json:"Action"`
			} `json:"Statement"`
		} `json:"KeyPolicy"`
	}
	_ = json.Unmarshal(raw, &p)
	for _, st := range p.KeyPolicy.Statement {
		actions := fmt.Sprint(st.Action)
		if st.Effect == "Allow" && strings.Contains(fmt.Sprint(st.Principal.Service), "cloudwatch.amazonaws.com") &&
			strings.Contains(actions, "kms:Decrypt") && strings.Contains(actions, "kms:GenerateDataKey") {
			return true
		}
	}
	return false
}

// deadLetter puts a message in a queue and evaluates the alarms.
func (s *Stack) deadLetter(queue, from, why string, body []byte) {
	s.dlq.mu.Lock()
	if queue == "" {
		s.dlq.mu.Unlock()
		fmt.Fprintf(s.opts.LambdaLog, "%s: no dead-letter queue: the event is dropped (%s)\n", from, why)
		return
	}
	s.dlq.messages = append(s.dlq.messages, DeadLetter{Queue: queue, From: from, Error: why, Body: append([]byte(nil), body...), At: time.Now().UTC()})
	s.dlq.mu.Unlock()
	s.evaluateAlarms()
}

// functionFailed counts a failed invocation (the Errors metric).
func (s *Stack) functionFailed(name string) {
	s.dlq.mu.Lock()
	s.dlq.errors[name]++
	s.dlq.mu.Unlock()
	s.evaluateAlarms()
}

// DeadLetters returns the messages in the dead-letter queues, oldest first.
func (s *Stack) DeadLetters() []DeadLetter {
	s.dlq.mu.Lock()
	defer s.dlq.mu.Unlock()
	return append([]DeadLetter(nil), s.dlq.messages...)
}

// Alarms returns the template's alarms and their states.
func (s *Stack) Alarms() []Alarm {
	s.dlq.mu.Lock()
	defer s.dlq.mu.Unlock()
	out := make([]Alarm, 0, len(s.dlq.alarms))
	for _, a := range s.dlq.alarms {
		out = append(out, *a)
	}
	return out
}

// metric is the value of a metric the local stack counts, over its life.
func (s *Stack) metric(a *Alarm) (float64, bool) {
	switch a.Namespace + " " + a.Metric {
	case "AWS/SQS ApproximateNumberOfMessagesVisible":
		n := 0
		for _, m := range s.dlq.messages {
			if m.Queue == a.Dimensions["QueueName"] {
				n++
			}
		}
		return float64(n), true
	case "AWS/Lambda Errors":
		return float64(s.dlq.errors[a.Dimensions["FunctionName"]]), true
	case "AWS/States ExecutionsFailed", "AWS/States ExecutionsTimedOut", "AWS/States ExecutionsAborted":
		if a.Dimensions["StateMachineArn"] != s.SFN.StateMachineARN {
			return 0, false
		}
		status := map[string]string{"ExecutionsFailed": "FAILED", "ExecutionsTimedOut": "TIMED_OUT", "ExecutionsAborted": "ABORTED"}[a.Metric]
		return float64(s.SFN.countStatus(status)), true
	}
	return 0, false
}

// evaluateAlarms moves each alarm whose metric crossed its threshold to
// ALARM and publishes to its actions.
func (s *Stack) evaluateAlarms() {
	type fire struct {
		a     Alarm
		value float64
	}
	var fired []fire
	s.dlq.mu.Lock()
	for _, a := range s.dlq.alarms {
		v, ok := s.metric(a)
		if !ok || a.State == "ALARM" || !crosses(v, a.Comparison, a.Threshold) {
			continue
		}
		a.State = "ALARM"
		a.Reason = fmt.Sprintf("Threshold Crossed: 1 datapoint [%.1f] was %s the threshold (%.1f).", v, comparisonWords[a.Comparison], a.Threshold)
		fired = append(fired, fire{*a, v})
	}
	s.dlq.mu.Unlock()
	for _, f := range fired {
		for _, topic := range f.a.Actions {
			s.alarmAction(f.a, topic)
		}
	}
}

var comparisonWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to", "GreaterThanThreshold": "greater than",
	"LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to",
}

func crosses(v float64, op string, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "GreaterThanThreshold":
		return v > threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return false
}

// alarmAction publishes CloudWatch's alarm message (its JSON document,
// subject `ALARM: "name" in Region`).
func (s *Stack) alarmAction(a Alarm, topic string) {
	if !s.dlq.cloudWatchMayUse[topic] {
		fmt.Fprintf(s.opts.LambdaLog, "CloudWatch: alarm %s could not publish to %s: its KMS key does not let cloudwatch.amazonaws.com use it\n", a.Name, topic)
		return
	}
	alarmARN := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", emulator.Region, emulator.Account, a.Name)
	if d := s.guard.servicePublish("cloudwatch.amazonaws.com", topic, alarmARN); !d.Allowed {
		// "A topic policy replaces the default policy": without an Allow
		// for cloudwatch.amazonaws.com, alarms cannot publish
		// (aws-solutions/automated-security-response-on-aws #43).
		fmt.Fprintf(s.opts.LambdaLog, "CloudWatch: alarm %s could not publish to %s: %s\n", a.Name, topic, d.Reason)
		return
	}
	var dims []map[string]string
	for k, v := range a.Dimensions {
		dims = append(dims, map[string]string{"name": k, "value": v})
	}
	msg, _ := json.Marshal(map[string]any{
		"AlarmName": a.Name, "AlarmDescription": a.Description, "AWSAccountId": emulator.Account,
		"NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": a.Reason,
		"StateChangeTime": time.Now().UTC().Format("2006-01-02T15:04:05.000-0700"), "Region": "US West (Oregon)",
		"AlarmArn": alarmARN,
		"Trigger": map[string]any{"MetricName": a.Metric, "Namespace": a.Namespace, "Dimensions": dims,
			"ComparisonOperator": a.Comparison, "Threshold": a.Threshold},
	})
	if err := s.Emulator.PublishAsService(topic, fmt.Sprintf("ALARM: %q in US West (Oregon)", a.Name), string(msg)); err != nil {
		fmt.Fprintf(s.opts.LambdaLog, "CloudWatch: alarm %s: %v\n", a.Name, err)
	}
}
