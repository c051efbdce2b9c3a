package deploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A retried StartDeployment adopts the deployment its earlier attempt
// started, never ECS's rollback of it: in tag mode the rollback deploys
// the same task definition, and it is PRIMARY once ours has failed.
func TestOurEarlier(t *testing.T) {
	due := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	dep := func(id, status string, created time.Time, td string, rollout ecstypes.DeploymentRolloutState) ecstypes.Deployment {
		return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), CreatedAt: aws.Time(created), TaskDefinition: aws.String(td), RolloutState: rollout}
	}
	before := dep("before", "ACTIVE", due.Add(-time.Hour), "td:1", ecstypes.DeploymentRolloutStateCompleted)
	ours := dep("ours", "PRIMARY", due.Add(5*time.Second), "td:1", ecstypes.DeploymentRolloutStateInProgress)
	failed := dep("ours", "ACTIVE", due.Add(5*time.Second), "td:1", ecstypes.DeploymentRolloutStateFailed)
	rollback := dep("ecs-rollback", "PRIMARY", due.Add(9*time.Second), "td:1", ecstypes.DeploymentRolloutStateInProgress)
	cases := map[string]struct {
		deps      []ecstypes.Deployment
		notBefore *time.Time
		td        string
		want      string
	}{
		"nothing started yet":                       {[]ecstypes.Deployment{before}, &due, "td:1", ""},
		"ours in progress":                          {[]ecstypes.Deployment{ours, before}, &due, "td:1", "ours"},
		"ours failed, ECS rolling back to the same": {[]ecstypes.Deployment{rollback, failed}, &due, "td:1", "ours"},
		"another task definition":                   {[]ecstypes.Deployment{ours}, &due, "td:2", ""},
		"no due time (an older state)":              {[]ecstypes.Deployment{ours}, nil, "td:1", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ourEarlier(tc.deps, tc.notBefore, tc.td)
			if id := ""; got != nil {
				id = aws.ToString(got.Id)
				if id != tc.want {
					t.Fatalf("adopted %s, want %q", id, tc.want)
				}
			} else if tc.want != "" {
				t.Fatalf("adopted nothing, want %s", tc.want)
			}
		})
	}
}
