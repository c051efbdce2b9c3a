package emulator

import (
	"time"
)

// ECS emits events to EventBridge as tasks and deployments change state; the
// emulator does so on its own clock, so that a listener is woken at the
// moment a change happens rather than when somebody next asks.
//
// ECS task state change events carry the task as DescribeTasks shows it:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
// ECS service deployment state change events carry eventType (INFO|ERROR),
// eventName SERVICE_DEPLOYMENT_IN_PROGRESS|COMPLETED|FAILED, deploymentId,
// updatedAt and reason; resources holds the service ARN:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
// Delivery is best effort: events can be late, lost or duplicated.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html

// EventsScript scripts the delivery of ECS events (ECR events are not affected).
type EventsScript struct {
	// Drop loses every ECS event.
	Drop bool `json:"drop,omitempty"`
	// DelaySeconds delays each ECS event by this many seconds of the emulator's clock.
	DelaySeconds float64 `json:"delaySeconds,omitempty"`
	// Duplicate delivers each ECS event twice.
	Duplicate bool `json:"duplicate,omitempty"`
}

// at runs fn under the lock once the emulator's clock has reached when, and
// then delivers the events fn emitted. It is called with the lock held.
func (e *Emulator) at(when time.Time, fn func(now time.Time)) {
	if e.closed {
		return
	}
	delay := time.Duration(float64(when.Sub(e.now())) / e.scale)
	var t *time.Timer
	t = time.AfterFunc(max(delay, 0), func() {
		e.mu.Lock()
		delete(e.timers, t)
		if e.closed {
			e.mu.Unlock()
			return
		}
		fn(e.now())
		events, onEvent := e.pending, e.OnEvent
		e.pending = nil
		if onEvent == nil || len(events) == 0 {
			e.mu.Unlock()
			return
		}
		e.delivering.Add(1) // under the lock, so that Settled never sees the batch in neither place
		e.mu.Unlock()
		go func() {
			defer e.delivering.Add(-1)
			for _, ev := range events {
				onEvent(ev)
			}
		}()
	})
	e.timers[t] = true
}

// Delivering says an event the emulator emitted is still being handed to
// OnEvent.
func (e *Emulator) Delivering() bool { return e.delivering.Load() > 0 }

// Settled says that nothing is scheduled and no event is on its way: every
// event the emulator will emit without another request has been delivered.
// Tests wait for it instead of sleeping ("nothing more arrives").
func (e *Emulator) Settled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.timers) == 0 && e.delivering.Load() == 0
}

// emitECS queues an ECS event as the scenario's delivery script says. It is
// called with the lock held.
func (e *Emulator) emitECS(detailType string, resources []string, detail any, at time.Time) {
	s := e.script.Events
	if s.Drop {
		e.droppedEvents++
		return
	}
	ev := map[string]any{
		"version": "0", "id": e.uuid(), "detail-type": detailType, "source": "aws.ecs", "account": e.Account,
		"time": at.UTC().Format(time.RFC3339), "region": e.Region, "resources": resources, "detail": detail,
	}
	copies := 1
	if s.Duplicate {
		copies = 2
	}
	for range copies {
		if s.DelaySeconds > 0 {
			e.at(e.now().Add(secs(s.DelaySeconds)), func(time.Time) { e.pending = append(e.pending, ev) })
			continue
		}
		e.pending = append(e.pending, ev)
	}
}

// taskEvent emits an ECS Task State Change for the task as it is at now,
// once per lastStatus.
func (e *Emulator) taskEvent(t *task, now time.Time) {
	w := t.wire(now, e.migrationContainer(t))
	if t.reported[w.LastStatus] {
		return
	}
	t.reported[w.LastStatus] = true
	detail := taskEventDetail{wTask: w, UpdatedAt: ts(now), Version: len(t.reported)}
	e.emitECS("ECS Task State Change", []string{t.arn}, detail, now)
}

type taskEventDetail struct {
	wTask
	UpdatedAt epoch `json:"updatedAt"`
	Version   int   `json:"version"`
}

// watchTask schedules the task's state change events: RUNNING when its
// container starts, STOPPED when it stops. A task that hangs emits no
// STOPPED until it is stopped; a task ECS loses emits nothing more.
func (e *Emulator) watchTask(t *task) {
	if t.plan.Disappear {
		return
	}
	dur := secs(t.plan.duration())
	if t.plan.FailToStart == "" {
		e.at(t.createdAt.Add(dur/5), func(now time.Time) {
			if t.stoppedAt.IsZero() {
				e.taskEvent(t, now)
			}
		})
	}
	if t.plan.Hang {
		return
	}
	e.at(t.createdAt.Add(dur), func(now time.Time) { e.taskEvent(t, now) })
}

// deploymentEvent emits an ECS Deployment State Change for d.
func (e *Emulator) deploymentEvent(svc *service, d *deployment, at time.Time) {
	name, typ := "SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO"
	switch d.rolloutState {
	case "COMPLETED":
		name = "SERVICE_DEPLOYMENT_COMPLETED"
	case "FAILED":
		name, typ = "SERVICE_DEPLOYMENT_FAILED", "ERROR"
	}
	e.emitECS("ECS Deployment State Change", []string{svc.arn}, map[string]any{
		"eventType": typ, "eventName": name, "deploymentId": d.id,
		"updatedAt": at.UTC().Format("2006-01-02T15:04:05.000Z"), "reason": d.reason,
	}, at)
}

// Close stops the emulator's timers; no event is delivered after it returns.
func (e *Emulator) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for t := range e.timers {
		t.Stop()
	}
	e.timers = nil
}

// DroppedEvents counts the ECS events the scenario lost.
func (e *Emulator) DroppedEvents() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.droppedEvents
}
