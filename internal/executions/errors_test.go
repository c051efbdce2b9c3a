package executions_test

import (
	"slices"
	"testing"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// The table names every Fail state's error of the workflow, and nothing
// else: a Fail state added to the ASL without a row would be read as the
// default (failed), silently.
func TestTheTableNamesEveryFailStateOfTheASL(t *testing.T) {
	doc, err := statemachine.Parse()
	if err != nil {
		t.Fatal(err)
	}
	var asl []string
	for _, s := range doc.States {
		if s.Type == "Fail" && s.Error != "" {
			asl = append(asl, s.Error)
		}
	}
	table := executions.ErrorNames()
	for _, name := range asl {
		if !slices.Contains(table, name) {
			t.Errorf("Fail state error %s has no row in errorClasses", name)
		}
	}
	for _, name := range table {
		if !slices.Contains(asl, name) {
			t.Errorf("errorClasses names %s, which no Fail state of the ASL has", name)
		}
	}
}

// The three readings are consistent: a change failure ran, and blocks a
// promotion; an error that ran a change blocks a promotion too.
func TestClassesAreConsistent(t *testing.T) {
	names := append(executions.ErrorNames(), "States.Timeout", "States.Runtime", "Lambda.Unknown", "SomethingNew")
	for _, name := range names {
		c := executions.Classify(sfntypes.ExecutionStatusFailed, name, false)
		if c.ChangeFailure && !c.ChangeRan {
			t.Errorf("%s: a change failure that did not run", name)
		}
		if c.ChangeRan && !c.BlocksPromotion {
			t.Errorf("%s: ran a change, but would not block a promotion", name)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name     string
		status   sfntypes.ExecutionStatus
		err      string
		deployed bool
		want     executions.Class
	}{
		{"deployed", sfntypes.ExecutionStatusSucceeded, "", true, executions.Class{ChangeRan: true}},
		{"superseded in the queue", sfntypes.ExecutionStatusSucceeded, "", false, executions.Class{}},
		{"still running", sfntypes.ExecutionStatusRunning, "", false, executions.Class{}},
		{"refused: unknown target", sfntypes.ExecutionStatusFailed, "UnknownTarget", false, executions.Class{}},
		{"refused: rejected", sfntypes.ExecutionStatusFailed, "Rejected", false, executions.Class{}},
		{"no capacity: nothing ran, not passed", sfntypes.ExecutionStatusFailed, "MigrationCapacityUnavailable", false, executions.Class{BlocksPromotion: true}},
		{"blocked itself", sfntypes.ExecutionStatusFailed, "PromotionBlocked", false, executions.Class{BlocksPromotion: true}},
		{"superseded deployment", sfntypes.ExecutionStatusFailed, "DeploymentSuperseded", false, executions.Class{ChangeRan: true, BlocksPromotion: true}},
		{"migration failed", sfntypes.ExecutionStatusFailed, "MigrationFailed", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
		{"rolled back", sfntypes.ExecutionStatusFailed, "DeploymentRolledBack", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
		{"internal error", sfntypes.ExecutionStatusFailed, "InternalError", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
		{"a raw error through DeployerFailed", sfntypes.ExecutionStatusFailed, "States.Timeout", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
		{"execution timed out", sfntypes.ExecutionStatusTimedOut, "", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
		{"aborted by hand", sfntypes.ExecutionStatusAborted, "", false, executions.Class{ChangeRan: true, ChangeFailure: true, BlocksPromotion: true}},
	}
	for _, tc := range cases {
		if got := executions.Classify(tc.status, tc.err, tc.deployed); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
