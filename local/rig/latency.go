package rig

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"
)

// Latency models AWS's own latencies, which the local stack otherwise does
// not have, for the real-time benchmark (bench -part realtime). Each is a
// uniform draw between its bounds. docs/benchmark.md gives the source of
// each figure, or says that there is none and why the bound is cautious.
type Latency struct {
	// EventMin and EventMax bound EventBridge's delivery: an event's
	// emission (ECS, ECR, Step Functions) → its rule's target invoked.
	EventMin time.Duration `json:"eventDeliveryMin"`
	EventMax time.Duration `json:"eventDeliveryMax"`
	// LambdaWarm is the Lambda service's own time per invocation of a warm
	// execution environment; LambdaCold is added to an environment's first
	// invocation (its Init).
	LambdaWarm time.Duration `json:"lambdaWarm"`
	LambdaCold time.Duration `json:"lambdaCold"`
	// Transition is Step Functions' time from entering a Task state to
	// invoking its Lambda (and from a task token's SendTaskSuccess to the
	// next state), per state.
	Transition time.Duration `json:"stateTransition"`
	Seed       uint64        `json:"seed"`

	mu  sync.Mutex
	rng *rand.Rand
}

// MarshalJSON writes the durations in milliseconds.
func (l *Latency) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(map[string]any{"eventDeliveryMinMs": ms(l.EventMin), "eventDeliveryMaxMs": ms(l.EventMax),
		"lambdaWarmMs": ms(l.LambdaWarm), "lambdaColdMs": ms(l.LambdaCold), "stateTransitionMs": ms(l.Transition), "seed": l.Seed})
}

// eventDelay draws one delivery's latency (0 without a model).
func (l *Latency) eventDelay() time.Duration {
	if l == nil || l.EventMax <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng == nil {
		l.rng = rand.New(rand.NewPCG(l.Seed, 11))
	}
	return l.EventMin + time.Duration(l.rng.Float64()*float64(l.EventMax-l.EventMin))
}

// Delivery is one event EventBridge handed to a rule's target, when, and
// what it was about (Key: "<taskArn> <lastStatus>" for a task, "<deployment
// id> <eventName>" for a service deployment, "ecr <digest>" for a push).
type Delivery struct {
	Rule string
	Key  string
	At   time.Time
}

// deliveryKey names what an event is about.
func deliveryKey(ev map[string]any) string {
	d, _ := ev["detail"].(map[string]any)
	str := func(k string) string { s, _ := d[k].(string); return s }
	switch ev["detail-type"] {
	case "ECS Task State Change":
		return str("taskArn") + " " + str("lastStatus")
	case "ECS Deployment State Change":
		return str("deploymentId") + " " + str("eventName")
	case "ECR Image Action":
		return "ecr " + str("image-digest")
	case "Step Functions Execution Status Change":
		return str("executionArn") + " " + str("status")
	}
	return ""
}

// Deliveries lists the events handed to rules' targets so far.
func (s *Stack) Deliveries() []Delivery {
	s.deliveriesMu.Lock()
	defer s.deliveriesMu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

func (s *Stack) recordDelivery(rule string, ev map[string]any) {
	s.deliveriesMu.Lock()
	defer s.deliveriesMu.Unlock()
	s.deliveries = append(s.deliveries, Delivery{Rule: rule, Key: deliveryKey(ev), At: time.Now()})
}
