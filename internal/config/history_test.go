package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// The history budget of three kinds of target, term by term: a change to
// the model or to the ASL's cycles shows in testdata/budgets.golden
// (go test -update).
func TestBudgetsGolden(t *testing.T) {
	cfg, err := Parse("t.json", []byte(`{"targets":[
	  {"repository":"app","tag":"staging"},
	  {"repository":"app","tag":"prod","requires":"staging","approval":{"timeout":"2h"},"queuePollInterval":"30s","capacityRetries":3,"queueSettle":"2m"},
	  {"repository":"app","tag":"fleet","image":"digest","services":["web","worker","cron"],"onFailure":"rollback-others","migration":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, target := range cfg.Targets() {
		budget, err := cfg.Budget(target)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(target.Environment + ": " + budget.String() + "\n")
	}
	golden.Check(t, "budgets", b.String())
}

// QueuePoll's schedule: the poll for the first QueueBackoffAfter, then a
// tenth of the time waited, at most MaxQueuePoll; and the checks it makes
// of a day's wait behind a holder paused at a hook stay a few hundred
// (at a fixed 15 s they were 5,761, about 52,000 events).
func TestQueuePollBacksOff(t *testing.T) {
	for _, c := range []struct{ poll, waited, want time.Duration }{
		{15 * time.Second, 0, 15 * time.Second},
		{15 * time.Second, QueueBackoffAfter - time.Second, 15 * time.Second},
		{15 * time.Second, QueueBackoffAfter, time.Minute},
		{15 * time.Second, 20 * time.Minute, 2 * time.Minute},
		{15 * time.Second, 2 * time.Hour, MaxQueuePoll},
		{10 * time.Minute, 2 * time.Hour, 10 * time.Minute}, // never faster than the poll
		{0, 0, time.Duration(DefaultQueuePollInterval)},     // a document without pollSeconds
	} {
		if got := QueuePoll(c.poll, c.waited); got != c.want {
			t.Errorf("QueuePoll(%s, %s) = %s, want %s", c.poll, c.waited, got, c.want)
		}
	}
	for _, c := range []struct {
		wait, poll time.Duration
		min, max   int
	}{
		{0, 15 * time.Second, 1, 1},
		{QueueBackoffAfter, 15 * time.Second, 41, 41},
		{WorkSpan, 15 * time.Second, 300, 340},
		{WorkSpan, time.Second, 850, 900},
	} {
		if got := queueChecks(c.wait, c.poll); got < c.min || got > c.max {
			t.Errorf("queueChecks(%s, %s) = %d, want %d–%d", c.wait, c.poll, got, c.min, c.max)
		}
	}
}

// The gates a target publishes, which an execution reads again at its turn.
func TestPublishedGates(t *testing.T) {
	cfg, err := Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging","requiresWait":"5m"},
	  {"repository":"app","tag":"prod","requires":"staging","requiresWait":"20m","approval":{"timeout":"2h"},
	   "windows":[{"days":"Mon-Fri","from":"09:00","to":"17:00","timeZone":"UTC"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := cfg.ByEnvironment("staging")
	p, _ := cfg.ByEnvironment("prod")
	if got := s.Published(); got.Requires != "" || got.RequiresWaitSeconds != 0 || got.ApprovalSeconds != 0 || len(got.Windows) != 0 {
		t.Errorf("staging publishes gates it does not have: %+v", got)
	}
	if got := p.Published(); got.Requires != "staging" || got.RequiresWaitSeconds != 1200 || got.ApprovalSeconds != 7200 || got.Windows.String() != p.Windows.String() {
		t.Errorf("prod publishes %+v", got)
	}
}
