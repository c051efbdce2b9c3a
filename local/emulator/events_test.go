package emulator

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// eventLog collects the events the emulator delivers.
type eventLog struct {
	mu  sync.Mutex
	evs []map[string]any
}

// add keeps the event as EventBridge sees it: JSON.
func (l *eventLog) add(ev map[string]any) {
	b, _ := json.Marshal(ev)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, m)
}

// waitFor waits until n events of detailType have arrived and returns them.
func (l *eventLog) waitFor(t *testing.T, detailType string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		var got []map[string]any
		for _, ev := range l.evs {
			if ev["detail-type"] == detailType {
				got = append(got, ev)
			}
		}
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q events after 5s, want %d", len(got), detailType, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSettled waits until the emulator has nothing scheduled and no event
// on its way (Settled), so that what a test counts next is final.
func waitSettled(t *testing.T, e *Emulator) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !e.Settled(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the emulator still had timers or deliveries after 10 s")
		}
	}
}

// waitClock waits until the emulator's clock has reached at.
func waitClock(t *testing.T, e *Emulator, at time.Time) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); e.Now().Before(at); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the emulator's clock did not reach %s in 10 s", at)
		}
	}
}

func runMigrationTask(t *testing.T, c *ecs.Client) string {
	t.Helper()
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: aws.String("app:1"), StartedBy: aws.String("ecr-deployer"),
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Command: []string{"migrate"}}}}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// A migration task emits RUNNING and then STOPPED, unasked, at the moment it
// stops, with the exit code in the detail as DescribeTasks shows it.
func TestTaskStateChangeEvents(t *testing.T) {
	e, c, _ := clients(t)
	t.Cleanup(e.Close)
	var log eventLog
	e.OnEvent = log.add
	e.SetScenario(Scenario{Migration: MigrationScript{Seconds: 0.3, ExitCode: 3}})
	arn := runMigrationTask(t, c)
	evs := log.waitFor(t, "ECS Task State Change", 2)
	var statuses []string
	for _, ev := range evs {
		d := ev["detail"].(map[string]any)
		statuses = append(statuses, d["lastStatus"].(string))
		if ev["source"] != "aws.ecs" || d["taskArn"] != arn || d["startedBy"] != "ecr-deployer" || ev["resources"].([]any)[0] != arn {
			t.Errorf("event = %v", ev)
		}
	}
	if statuses[0] != "RUNNING" || statuses[1] != "STOPPED" {
		t.Fatalf("statuses = %v, want RUNNING, STOPPED", statuses)
	}
	stopped := evs[1]["detail"].(map[string]any)
	var exit any
	for _, ct := range stopped["containers"].([]any) {
		if ct := ct.(map[string]any); ct["name"] == "app" {
			exit = ct["exitCode"]
		}
	}
	if exit != 3.0 || stopped["stopCode"] != "EssentialContainerExited" {
		t.Fatalf("STOPPED detail: exit %v, stopCode %v", exit, stopped["stopCode"])
	}
}

func TestDeploymentStateChangeEvents(t *testing.T) {
	tests := []struct {
		outcome string
		want    []string // eventName per deployment event, in order
	}{
		{OutcomeCompleted, []string{"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"}},
		// The failed deployment, then ECS's rollback deployment.
		{OutcomeRolledBack, []string{"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_FAILED", "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"}},
	}
	for _, tc := range tests {
		t.Run(tc.outcome, func(t *testing.T) {
			e, c, _ := clients(t)
			t.Cleanup(e.Close)
			var log eventLog
			e.OnEvent = log.add
			e.SetScenario(Scenario{Rollout: RolloutScript{Seconds: 0.2, Outcome: tc.outcome}})
			out, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("staging-service"), ForceNewDeployment: true})
			if err != nil {
				t.Fatal(err)
			}
			log.waitFor(t, "ECS Deployment State Change", len(tc.want))
			waitSettled(t, e) // nothing more arrives
			evs := log.waitFor(t, "ECS Deployment State Change", len(tc.want))
			if len(evs) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(evs), len(tc.want))
			}
			ours := aws.ToString(out.Service.Deployments[0].Id)
			for i, ev := range evs {
				d := ev["detail"].(map[string]any)
				if d["eventName"] != tc.want[i] {
					t.Errorf("event %d = %v, want %s", i, d["eventName"], tc.want[i])
				}
				if i < 2 && d["deploymentId"] != ours {
					t.Errorf("event %d is about %v, want our deployment %s", i, d["deploymentId"], ours)
				}
				if ev["resources"].([]any)[0] != aws.ToString(out.Service.ServiceArn) {
					t.Errorf("resources = %v", ev["resources"])
				}
			}
		})
	}
}

func TestEventsScript(t *testing.T) {
	tests := []struct {
		name    string
		script  EventsScript
		want    int
		dropped int
	}{
		{"delivered", EventsScript{}, 2, 0},
		{"lost", EventsScript{Drop: true}, 0, 2},
		{"duplicated", EventsScript{Duplicate: true}, 4, 0},
		{"late", EventsScript{DelaySeconds: 0.1}, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, c, _ := clients(t)
			t.Cleanup(e.Close)
			var log eventLog
			e.OnEvent = log.add
			e.SetScenario(Scenario{Migration: MigrationScript{Seconds: 0.1}, Events: tc.script})
			runMigrationTask(t, c)
			waitSettled(t, e)
			log.mu.Lock()
			got := len(log.evs)
			log.mu.Unlock()
			if got != tc.want || e.DroppedEvents() != tc.dropped {
				t.Fatalf("%d events delivered, %d dropped; want %d, %d", got, e.DroppedEvents(), tc.want, tc.dropped)
			}
		})
	}
}
