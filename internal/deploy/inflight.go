package deploy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS's truth in the queue. The queue and the turns table know only this
// deployer's executions while they run. A rollout ECS is still doing that
// no running execution holds (another tool's, the console's, or ours when
// its execution ended early: stopped by hand, a timeout, a failure of
// ours) is seen only by asking ECS; CheckTurn asks before it takes a turn
// and waits for it, as it waits for an execution ahead.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html

// inFlightStatuses are the service deployment statuses of a rollout under
// way (developer guide, "View service history using Amazon ECS service
// deployments"): PENDING and IN_PROGRESS are ongoing, STOP_REQUESTED ends
// STOPPED, ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS are a rollback under
// way. SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL and ROLLBACK_FAILED have ended.
var inFlightStatuses = []ecstypes.ServiceDeploymentStatus{
	ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentStatusStopRequested,
	ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress,
}

// InFlight is a service deployment ECS is still doing that CheckTurn waits for.
type InFlight struct {
	Service              string     `json:"service"` // cluster/service
	ServiceDeploymentARN string     `json:"serviceDeploymentArn"`
	Status               string     `json:"status"`
	StartedAt            *time.Time `json:"startedAt,omitempty"`
}

// listServiceDeployments visits every service deployment of a service the
// input asks for, page by page: "If you provided maxResults, it's possible
// the number of results is fewer than maxResults" (NextToken), so a short
// or empty page with a nextToken is read on. visit returns true to stop.
func (d *Deployer) listServiceDeployments(ctx context.Context, in ecs.ListServiceDeploymentsInput, visit func(ecstypes.ServiceDeploymentBrief) bool) error {
	for {
		out, err := d.ECS.ListServiceDeployments(ctx, &in)
		if err != nil {
			return fmt.Errorf("list service deployments of %s/%s: %w", aws.ToString(in.Cluster), aws.ToString(in.Service), err)
		}
		for _, b := range out.ServiceDeployments {
			if visit(b) {
				return nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// inFlight is the first service deployment of the services that ECS is
// still doing, or nil when none is. It filters by status and checks the
// status again: a filter is a request, not a promise.
func (d *Deployer) inFlight(ctx context.Context, cluster string, services []string) (*InFlight, error) {
	for _, svc := range services {
		var found *InFlight
		err := d.listServiceDeployments(ctx, ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: aws.String(svc), Status: inFlightStatuses},
			func(b ecstypes.ServiceDeploymentBrief) bool {
				if !slices.Contains(inFlightStatuses, b.Status) {
					return false
				}
				found = &InFlight{Service: cluster + "/" + svc, ServiceDeploymentARN: aws.ToString(b.ServiceDeploymentArn), Status: string(b.Status), StartedAt: b.StartedAt}
				return true
			})
		if err != nil || found != nil {
			return found, err
		}
	}
	return nil, nil
}

// waitForECS makes a GO wait while ECS still rolls out a service of the
// execution's: the decision WAITs on the service deployment, bounded like
// any wait by QueueTimedOut. It reports whether it waits.
func (d *Deployer) waitForECS(ctx context.Context, s *State, me Candidate, now time.Time) (bool, error) {
	t := &s.Turn
	f, err := d.inFlight(ctx, s.Cluster, s.ServiceNames())
	t.InFlight = f
	if err != nil || f == nil {
		return false, err
	}
	if err := d.queueTimedOut(*s, me, "ECS service deployment "+f.ServiceDeploymentARN, now); err != nil {
		return false, err
	}
	t.Decision, t.WaitingFor, t.WaitSeconds = TurnWait, "", s.queueWaitSeconds(now)
	t.Reason = inFlightReason(*f)
	d.log().InfoContext(ctx, "turn", "execution", s.Execution.ID, "service", f.Service, "decision", TurnWait, "inFlight", f.ServiceDeploymentARN)
	return true, nil
}

// inFlightReason says whose rollout is waited for: not a running
// execution of this deployer's (the queue would have named it).
func inFlightReason(f InFlight) string {
	since := ""
	if f.StartedAt != nil {
		since = " since " + f.StartedAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("ECS is still rolling out %s (service deployment %s, %s%s), which no running execution of this deployer holds: "+
		"another tool, the console, or a deployment whose execution ended before ECS finished. Waits for it to end before deploying over it",
		f.Service, f.ServiceDeploymentARN, f.Status, since)
}
