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
	"github.com/ecr-deployer/ecr-deployer/local/localstack"
)

// checkNotified checks what Notify made of the execution's end, as the
// status change rule of template.json delivered it: every failure is
// published once, to email as text with the whole cause (so with each of
// causeHas: the log lines and stop reasons) and to chat as an Amazon Q
// custom notification; a deployment that succeeded only where its target
// sets notifyOnSuccess; and the Deployments metric counts it by outcome.
func checkNotified(t *testing.T, s *localstack.Stack, r *localstack.Result, causeHas []string) {
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
	for _, m := range s.Metrics("notify") {
		if m.Name == notify.MetricDeployments && m.Properties["Execution"] == r.ExecutionARN {
			outcome, env = m.Dimensions["Outcome"], m.Dimensions["Environment"]
		}
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
