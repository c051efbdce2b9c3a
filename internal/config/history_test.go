package config

import (
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/golden"
)

// The history budget of three kinds of target, term by term: a change to
// the model or to the ASL's cycles shows in testdata/budgets.golden
// (go test -update).
func TestBudgetsGolden(t *testing.T) {
	cfg, err := Parse("t.json", []byte(`{"targets":[
	  {"repository":"app","tag":"staging"},
	  {"repository":"app","tag":"prod","requires":"staging","approval":{"timeout":"2h"},"queuePollInterval":"30s","capacityRetries":3},
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
