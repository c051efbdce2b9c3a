package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/notify"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// checkNotified checks what Notify made of the execution's end, as the
// status change rule of template.json delivered it: every failure is
// published once, to email as text with the whole cause (so with each of
// causeHas: the log lines and stop reasons) and to chat as an Amazon Q
// custom notification; a deployment that succeeded only where its target
// sets notifyOnSuccess; and the Deployments metric counts it by outcome.
func checkNotified(t *testing.T, s *rig.Stack, r *rig.Result, causeHas []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	pubs, err := s.Notified(ctx, r.ExecutionARN)
	if err != nil {
		t.Error(err)
		return
	}
	cfg, err := config.LoadFile(filepath.Join(root, "local", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var outcome, env string
	lead := -1.0
	for _, m := range s.Metrics("notify") {
		if m.Properties["Execution"] != r.ExecutionARN {
			continue
		}
		switch m.Name {
		case notify.MetricDeployments:
			outcome, env = m.Dimensions["Outcome"], m.Dimensions["Environment"]
		case notify.MetricLeadTime:
			lead = m.Value
		}
	}
	// A push that deployed has a lead time from the push's event time: here
	// the event was sent a moment before the execution started.
	var in struct{ Source string }
	for _, ev := range r.Events {
		if ev.Type == "ExecutionStarted" {
			_ = json.Unmarshal(ev.Input, &in)
		}
	}
	if outcome == "Deployed" && in.Source == "aws.ecr" && (lead <= 0 || lead > 600) {
		t.Errorf("lead time = %v s for a push that deployed, want the seconds since the push", lead)
	}
	want := 0
	switch {
	case r.Status != "SUCCEEDED":
		want = 1
	case outcome == "Deployed":
		if t, ok := cfg.ByEnvironment(env); ok && t.NotifyOnSuccess {
			want = 1
		}
	}
	if len(pubs) != want {
		t.Errorf("Notify published %d messages about %s (%s, outcome %s in %s), want %d", len(pubs), r.Name, r.Status, outcome, env, want)
		return
	}
	if want == 0 {
		return
	}
	p := pubs[0]
	text := p.For("email")
	for _, c := range causeHas {
		if !strings.Contains(text, c) {
			t.Errorf("the email does not say %q:\n%s", c, text)
		}
	}
	if r.Error != "" && (!strings.Contains(p.Subject, r.Error) || !strings.Contains(text, r.Error)) {
		t.Errorf("the notification does not name %s: subject %q\n%s", r.Error, p.Subject, text)
	}
	var chat notify.Chat
	if err := json.Unmarshal([]byte(p.For("https")), &chat); err != nil {
		t.Fatalf("the chat notification is not JSON: %v", err)
	}
	if chat.Version != "1.0" || chat.Source != "custom" || chat.Content.TextType != "client-markdown" || !strings.Contains(chat.Content.Title, env) ||
		chat.Metadata.ThreadID != "ecr-deployer-"+env || len(chat.Content.NextSteps) == 0 {
		t.Errorf("chat notification = %+v", chat)
	}
}

// A push whose deployment cannot be started (here the Trigger function's
// StartExecution is refused: a stack whose policy lacks it) is retried by
// Lambda, then lands in the dead-letter queue with the event, and the
// dead-letter alarm tells the topic, as template.json configures all three.
func TestUndeliveredPushRaisesTheDeadLetterAlarm(t *testing.T) {
	s := startStackWith(t, withoutStatement(t, "TriggerRole", "states:StartExecution"))
	cliEnv(t, s)
	if code, out, errOut := deployer(t, "promote", "--repository", "app", "--from", "sha-2", "--to", "staging"); code != 0 {
		t.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
	}
	var letters []rig.DeadLetter
	for deadline := time.Now().Add(20 * time.Second); len(letters) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		letters = s.DeadLetters()
	}
	if len(letters) != 1 {
		t.Fatalf("dead letters = %+v, want the push", letters)
	}
	l := letters[0]
	expect(t, l.From == "ecr-deployer-trigger" && strings.HasPrefix(l.Queue, "DeadLetterQueue") && strings.Contains(l.Error, "states:StartExecution"), "dead letter %+v", l)
	expect(t, s.Invocations("trigger") == 3, "Trigger invoked %d times, want 3 (Lambda's two retries)", s.Invocations("trigger"))
	expect(t, strings.Contains(string(l.Body), `"ECR Image Action"`) && strings.Contains(string(l.Body), `"image-tag":"staging"`), "dead letter body %s", l.Body)
	expect(t, len(s.SFN.Results()) == 0, "an execution started")

	var alarm *emulator.Publication
	for deadline := time.Now().Add(10 * time.Second); alarm == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, p := range s.Emulator.Published() {
			if strings.HasPrefix(p.Subject, `ALARM: "DeadLetterAlarm`) {
				alarm = &p
			}
		}
	}
	if alarm == nil {
		t.Fatalf("the dead-letter alarm published nothing; alarms %+v", s.Alarms())
	}
	var msg struct {
		AlarmName, NewStateValue, NewStateReason, AlarmDescription string
	}
	if err := json.Unmarshal([]byte(alarm.Message), &msg); err != nil || msg.NewStateValue != "ALARM" || !strings.Contains(msg.AlarmDescription, "DeadLetterQueueUrl") {
		t.Errorf("alarm message %s: %v", alarm.Message, err)
	}
	// The function's errors raise its own alarm too; nothing else fires.
	for _, a := range s.Alarms() {
		want := map[bool]string{true: "ALARM", false: "OK"}[strings.HasPrefix(a.Name, "DeadLetterAlarm") || strings.HasPrefix(a.Name, "TriggerErrorsAlarm")]
		expect(t, a.State == want, "alarm %s is %s, want %s", a.Name, a.State, want)
	}
}

// EventBridge delivers every event twice here (its retries may, and do):
// Notify tells the end of a failed deployment once, and counts it once.
func TestNotifyOnceWhateverTheDeliveries(t *testing.T) {
	s := startStack(t)
	s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{ExitCode: 1},
		Adversary: &emulator.AdversaryScript{Seed: 3, Rate: 1, Only: []string{emulator.AdvEventDuplicated}}})
	p := push(t, s, "staging")
	r, _ := result(t, s, p)
	if r.Status != "FAILED" || r.Error != "MigrationFailed" {
		t.Fatalf("%s %s, want FAILED MigrationFailed", r.Status, r.Error)
	}
	statusChanges := func() int {
		n := 0
		for _, d := range s.Deliveries() {
			if d.Key == p.arn+" FAILED" {
				n++
			}
		}
		return n
	}
	waitUntil(t, "the end delivered twice and handled", func() bool { return statusChanges() >= 2 && !s.EventsInFlight() })
	if _, err := s.Notified(t.Context(), p.arn); err != nil {
		t.Fatal(err)
	}
	pubs, counted := 0, 0
	for _, pub := range s.Emulator.Published() {
		if strings.Contains(pub.Message, p.arn) {
			pubs++
		}
	}
	for _, m := range s.Metrics("notify") {
		if m.Name == notify.MetricDeployments && m.Properties["Execution"] == p.arn {
			counted++
		}
	}
	if pubs != 1 || counted != 1 {
		t.Fatalf("the end was delivered %d times: published %d messages and counted %d deployments; want one of each", statusChanges(), pubs, counted)
	}
	if len(s.DeadLetters()) != 0 {
		t.Fatalf("dead letters: %+v", s.DeadLetters())
	}
}
