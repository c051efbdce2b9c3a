package e2e

import (
	"strings"
	"testing"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// Targets of several services, through the real binaries: "suite" deploys
// app-web and app-worker of cluster suite from one image behind one
// migration (onFailure leave-others, image tag); "suite-pinned" does the
// same with "image": "digest" and "onFailure": "rollback-others".
func TestSeveralServices(t *testing.T) {
	rolledBack := emulator.RolloutScript{Seconds: 1, Outcome: emulator.OutcomeRolledBack}
	cases := map[string]struct {
		tag      string
		scenario emulator.Scenario
		status   string
		error    string
		causeHas []string
		// outcomes is each service's outcome in the output; deployments
		// counts UpdateService's deployments per service.
		outcomes    map[string]string // for a success
		deployments map[string]int
		check       func(t *testing.T, s *rig.Stack, r *rig.Result, out deploy.State)
	}{
		"both deploy": {
			tag: "suite", status: "SUCCEEDED",
			outcomes:    map[string]string{"app-web": deploy.OutcomeDeployed, "app-worker": deploy.OutcomeDeployed},
			deployments: map[string]int{"app-web": 1, "app-worker": 1},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result, out deploy.State) {
				expect(t, out.Deployment.Done && out.Service == "app-web", "deployment = %+v", out.Deployment)
				// The migration ran once, on the first service's task definition.
				rt := lastRequest(t, s, "RunTask")
				expect(t, strings.HasPrefix(rt["taskDefinition"].(string), "arn:aws:ecs:us-west-2:123456789012:task-definition/app-web:"), "RunTask task definition %v", rt["taskDefinition"])
				for _, svc := range out.Services {
					expect(t, svc.DeployedDigest == emulator.Digest && strings.HasPrefix(svc.Deployment.ID, "ecs-svc/"), "%s: %+v", svc.Service, svc)
				}
				// Both services were tagged for Wake, and one wait covered them.
				expect(t, len(s.Emulator.Calls("TagResource")) == 2, "TagResource calls = %d", len(s.Emulator.Calls("TagResource")))
			},
		},
		"one fails, the other stays (leave-others)": {
			tag: "suite", scenario: emulator.Scenario{ServiceRollouts: map[string]emulator.RolloutScript{"app-worker": rolledBack}},
			status: "FAILED", error: "DeploymentRolledBack",
			causeHas: []string{"Service app-worker of suite failed (DeploymentRolledBack)", "app-web deployed", "runs the new image", "onFailure is leave-others"},
			// app-worker's: ours, and ECS's rollback of it.
			deployments: map[string]int{"app-web": 1, "app-worker": 2},
		},
		"one fails, the others roll back (rollback-others)": {
			tag: "suite-pinned", scenario: emulator.Scenario{ServiceRollouts: map[string]emulator.RolloutScript{"app-worker": rolledBack}},
			status: "FAILED", error: "DeploymentRolledBack",
			causeHas:    []string{"Service app-worker of suite-pinned failed (DeploymentRolledBack)", "app-web had deployed and was rolled back to arn:aws:ecs:us-west-2:123456789012:task-definition/app-web:"},
			deployments: map[string]int{"app-web": 2, "app-worker": 2},
			check: func(t *testing.T, s *rig.Stack, r *rig.Result, out deploy.State) {
				// The last check before the end saw app-web rolling back.
				web := out.Services[0]
				expect(t, web.PinnedTaskDefinition != "" && web.PinnedTaskDefinition != web.TaskDefinition, "app-web pinned %q, ran %q", web.PinnedTaskDefinition, web.TaskDefinition)
				expect(t, web.Outcome == deploy.OutcomeRollingBack && web.Rollback != nil && web.Rollback.ID != "", "app-web = %+v", web)
				// The last UpdateService of app-web deployed its previous revision.
				var last map[string]any
				for _, c := range s.Emulator.Calls("UpdateService") {
					if req := decodeCall(t, c); req["service"] == "app-web" {
						last = req
					}
				}
				expect(t, last["taskDefinition"] == web.TaskDefinition, "app-web's last UpdateService deployed %v, want %s", last["taskDefinition"], web.TaskDefinition)
				// Both services' task definitions were pinned to the digest.
				expect(t, out.Services[1].PinnedTaskDefinition != "" && strings.Contains(out.Services[1].PinnedTaskDefinition, "task-definition/app-worker:"), "app-worker pinned %q", out.Services[1].PinnedTaskDefinition)
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stack := startStack(t)
			r, err := stack.Run(t.Context(), rig.SamplePushEvent(tc.tag, emulator.Digest), tc.scenario)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if r.Status != tc.status || r.Error != tc.error {
				t.Fatalf("ended %s %s (%s), want %s %s", r.Status, r.Error, r.Cause, tc.status, tc.error)
			}
			if tc.status == "FAILED" && !endsInFailState(r, tc.error) {
				t.Errorf("the execution did not end in the Fail state %s", tc.error)
			}
			for _, s := range tc.causeHas {
				expect(t, strings.Contains(r.Cause, s), "cause %q does not contain %q", r.Cause, s)
			}
			// A failed execution has no output: its cause says what each
			// service did; the last check's output says where they were.
			out := lastExited(t, r, "CheckDeployment")
			if r.Status == "SUCCEEDED" {
				out = output(t, r)
			}
			got := map[string]string{}
			for _, svc := range out.Services {
				got[svc.Service] = svc.Outcome
			}
			for svc, want := range tc.outcomes {
				expect(t, got[svc] == want, "%s outcome = %q, want %q (all: %v)", svc, got[svc], want, got)
			}
			for svc, n := range tc.deployments {
				// The seeded deployment counts as one.
				expect(t, stack.Emulator.DeploymentCount(tc.tag, svc)-1 == n, "deployments of %s = %d, want %d", svc, stack.Emulator.DeploymentCount(tc.tag, svc)-1, n)
			}
			expect(t, stack.Emulator.TaskCount() == 1, "migration tasks = %d, want 1", stack.Emulator.TaskCount())
			checkNotified(t, stack, r, tc.causeHas)
			if tc.check != nil {
				tc.check(t, stack, r, out)
			}
			if t.Failed() {
				var b strings.Builder
				rig.RenderHistory(&b, r)
				t.Log("\n" + b.String())
			}
		})
	}
}

// lastExited is the State output of the last time the execution left state.
func lastExited(t *testing.T, r *rig.Result, state string) deploy.State {
	t.Helper()
	outs := stateOutputs(t, r, state)
	if len(outs) == 0 {
		t.Fatalf("the execution never left %s with a State", state)
	}
	return outs[len(outs)-1]
}
