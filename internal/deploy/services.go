package deploy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// A target of several services ("services" in targets.json) runs the
// migration once, then deploys every service at once, and judges each
// deployment as a target of one service judges its one: the per-service
// work below is startOne and checkOne on a State narrowed to the service
// (forService). One wait (WaitForDeployment) covers them all: any of their
// events wakes it, and CheckDeployment looks at each service that has not
// ended. The execution succeeds when all have deployed; when one fails it
// waits for the others to end, rolls back those that deployed if the target
// says "onFailure": "rollback-others", and then fails with the first
// failure's error, naming the service and saying what the others did.

// forService narrows s to one service r: the deployment dep, and the task
// definition that deployment deploys: the service's own (pinned is "":
// UpdateService forces a new deployment of it), or pinned (a revision
// pinned to the digest, or the previous one for rollback-others).
func (s State) forService(r ServiceRollout, dep Deployment, pinned string) State {
	own := r.TaskDefinition
	sub := s
	sub.Services, sub.Rollback = nil, nil
	sub.Service, sub.Deployment = r.Service, dep
	if r.Service != s.Service {
		// The migration's container is the first service's; the cause of
		// this one's failure reads its own container's log.
		sub.Migration.Container, sub.Migration.LogGroup, sub.Migration.LogStreamPrefix, sub.Migration.LogRegion = "", "", "", ""
		if l := r.Log; l != nil {
			sub.Migration.Container, sub.Migration.LogGroup, sub.Migration.LogStreamPrefix, sub.Migration.LogRegion = l.Container, l.Group, l.StreamPrefix, l.Region
		}
	}
	sub.Launch.TaskDefinition = own
	if pinned != "" {
		sub.Launch.TaskDefinition = pinned
	}
	sub.Image.PinnedTaskDefinition, sub.Image.DeployedDigest, sub.Image.Note = pinned, "", ""
	// A person's decision is about one service, or all of them.
	if w := s.Wake; w != nil && w.Decision != nil && w.Decision.Service != "" && w.Decision.Service != r.Service {
		wake := *w
		wake.Decision = nil
		sub.Wake = &wake
	}
	return sub
}

// startServices starts (or adopts, on a retried invocation) the deployment
// of every service.
func (d *Deployer) startServices(ctx context.Context, s State) (State, error) {
	if s.Rollback != nil {
		// Once for all services; a tag that already names the digest is fine.
		if err := d.retag(ctx, &s); err != nil {
			return s, err
		}
	}
	var started []string
	for i := range s.Services {
		r := &s.Services[i]
		// The tag is checked before the first deployment only: once one
		// started (or an earlier attempt's is adopted), ECS has resolved it.
		sub, err := d.startOne(ctx, s.forService(*r, s.Deployment, r.PinnedTaskDefinition), len(started) == 0)
		if err != nil {
			if len(started) > 0 {
				return s, fmt.Errorf("%w (the deployments of %s had started: ECS goes on with them)", err, strings.Join(started, ", "))
			}
			return s, err
		}
		r.Deployment, r.Outcome = sub.Deployment, OutcomeDeploying
		started = append(started, r.Service+" ("+sub.Deployment.ID+")")
	}
	now := d.now()
	dep := &s.Deployment
	dep.StartedAt = ptrTime(now)
	dep.Deadline, dep.LatestEnd = s.Services[0].Deployment.Deadline, s.Services[0].Deployment.LatestEnd
	dep.WakeTag = s.Services[0].Deployment.WakeTag
	s.Poll.DeploymentSeconds = s.nextPoll(now)
	dep.Progress = s.servicesProgress()
	return s, nil
}

// checkServices judges each service that has not ended, and the target as a
// whole once all have.
func (d *Deployer) checkServices(ctx context.Context, s State) (State, error) {
	now := d.now()
	for i := range s.Services {
		if err := d.checkService(ctx, s, &s.Services[i]); err != nil {
			return s, err
		}
	}
	s.Deployment.Progress = s.servicesProgress()
	if s.ongoing() {
		s.Poll.DeploymentSeconds = s.nextPoll(now)
		return s, nil
	}
	first := s.firstFailure()
	if first == nil {
		dep := &s.Deployment
		dep.Done, dep.FinishedAt = true, ptrTime(now)
		s.Image.DeployedDigest = s.Services[0].DeployedDigest
		s.Image.Note = s.servicesNote()
		if dep.StartedAt != nil {
			s.Phases.DeploymentSeconds = seconds(*dep.StartedAt, now)
		}
		s.Phases.TotalSeconds = seconds(s.Execution.StartTime, now)
		d.log().InfoContext(ctx, "services deployed", "execution", s.Execution.ID, "cluster", s.Cluster, "services", strings.Join(s.ServiceNames(), ","))
		return s, nil
	}
	if s.OnFailure == config.OnFailureRollbackOthers {
		started, err := d.rollbackOthers(ctx, &s)
		if err != nil {
			return s, err
		}
		if started {
			s.Deployment.Progress = s.servicesProgress()
			s.Poll.DeploymentSeconds = s.nextPoll(now)
			return s, nil
		}
	}
	s.Deployment.FinishedAt = ptrTime(now)
	return s, failureLike(first.Error, s.servicesFailure(*first))
}

// checkService looks once at one service's deployment (or its rollback)
// and records its outcome in r; an error that is not a Fail state's ends
// the step.
func (d *Deployer) checkService(ctx context.Context, s State, r *ServiceRollout) error {
	switch r.Outcome {
	case OutcomeDeploying:
		sub, err := d.checkOne(ctx, s.forService(*r, r.Deployment, r.PinnedTaskDefinition), true)
		r.Deployment = sub.Deployment
		r.DeployedDigest, r.Note = sub.Image.DeployedDigest, sub.Image.Note
		if p := r.Deployment.Paused; p != nil {
			p.Answer = fmt.Sprintf("deployer continue %s --service %s | deployer rollback %s --service %s --reason …", s.Environment, r.Service, s.Environment, r.Service)
		}
		switch name, failed := stepFunctionsName(err); {
		case failed:
			r.Outcome, r.Error, r.Cause = OutcomeFailed, name, err.Error()
		case err != nil:
			return err
		case r.Deployment.Done:
			r.Outcome = OutcomeDeployed
		}
	case OutcomeRollingBack:
		sub, err := d.checkOne(ctx, s.forService(*r, *r.Rollback, r.TaskDefinition), false)
		r.Rollback = &sub.Deployment
		switch _, failed := stepFunctionsName(err); {
		case failed:
			r.Outcome, r.RollbackCause = OutcomeRollbackFailed, err.Error()
		case err != nil:
			return err
		case sub.Deployment.Done:
			r.Outcome = OutcomeRolledBack
		}
	}
	return nil
}

// rollbackOthers starts, for each service that deployed, a deployment of
// the revision it ran before (UpdateService with its TaskDefinition). It is
// adopted, not started twice, on a retried invocation: a PRIMARY deployment
// of that revision created since our deployment of the service started
// (ours deployed another revision, the pinned one) can only be the rollback.
func (d *Deployer) rollbackOthers(ctx context.Context, s *State) (bool, error) {
	started := false
	for i := range s.Services {
		r := &s.Services[i]
		if r.Outcome != OutcomeDeployed {
			continue
		}
		dep := Deployment{TimeoutSeconds: s.Deployment.TimeoutSeconds, NotBefore: r.Deployment.StartedAt}
		sub, err := d.startOne(ctx, s.forService(*r, dep, r.TaskDefinition), false)
		if err != nil {
			r.Outcome, r.RollbackCause = OutcomeRollbackFailed, err.Error()
			continue
		}
		r.Rollback, r.Outcome, started = &sub.Deployment, OutcomeRollingBack, true
	}
	return started, nil
}

// ongoing says some service's deployment (or its rollback) has not ended.
func (s State) ongoing() bool {
	for _, r := range s.Services {
		if r.Outcome == OutcomeDeploying || r.Outcome == OutcomeRollingBack {
			return true
		}
	}
	return false
}

func (s State) firstFailure() *ServiceRollout {
	for i := range s.Services {
		if s.Services[i].Outcome == OutcomeFailed {
			return &s.Services[i]
		}
	}
	return nil
}

// nextPoll is the soonest safety poll any ongoing deployment asks for.
func (s State) nextPoll(now time.Time) int {
	next := 0
	for _, r := range s.Services {
		var dep *Deployment
		switch r.Outcome {
		case OutcomeDeploying:
			dep = &r.Deployment
		case OutcomeRollingBack:
			dep = r.Rollback
		default:
			continue
		}
		sub := s
		sub.Deployment = *dep
		if p := pollSeconds(sub, now); next == 0 || p < next {
			next = p
		}
	}
	return max(next, 1)
}

// servicesProgress says where each service is, for the history and status.
func (s State) servicesProgress() string {
	var parts []string
	for _, r := range s.Services {
		p := r.Service + " " + r.Outcome
		dep := r.Deployment
		if r.Rollback != nil {
			dep = *r.Rollback
		}
		if (r.Outcome == OutcomeDeploying || r.Outcome == OutcomeRollingBack) && dep.Progress != "" {
			p += " (" + dep.Progress + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// servicesNote joins the services' notes on the deployed digest.
func (s State) servicesNote() string {
	var notes []string
	for _, r := range s.Services {
		if r.Note != "" {
			notes = append(notes, r.Service+": "+r.Note)
		}
	}
	return strings.Join(notes, " ")
}

// servicesFailure is the cause of a target of several services that failed:
// the first failure's own cause, then what became of every other service.
func (s State) servicesFailure(first ServiceRollout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Service %s of %s failed (%s): %s", first.Service, s.Environment, first.Error, first.Cause)
	var others []string
	for _, r := range s.Services {
		if r.Service == first.Service {
			continue
		}
		switch r.Outcome {
		case OutcomeFailed:
			others = append(others, fmt.Sprintf("%s failed too (%s): %s", r.Service, r.Error, clip(r.Cause, otherCauseRunes)))
		case OutcomeDeployed:
			others = append(others, fmt.Sprintf("%s deployed (deployment %s) and runs the new image: onFailure is %s; deployer rollback %s returns every service to the previous image", r.Service, r.Deployment.ID, config.OnFailureLeaveOthers, s.Environment))
		case OutcomeRolledBack:
			others = append(others, fmt.Sprintf("%s had deployed and was rolled back to %s (deployment %s)", r.Service, r.TaskDefinition, r.Rollback.ID))
		case OutcomeRollbackFailed:
			others = append(others, fmt.Sprintf("%s had deployed, but its rollback to %s failed: %s; deploy it by hand", r.Service, r.TaskDefinition, clip(r.RollbackCause, otherCauseRunes)))
		default:
			others = append(others, fmt.Sprintf("%s: %s", r.Service, r.Outcome))
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, " The other services: %s.", strings.Join(others, "; "))
	}
	return b.String()
}

// FailState is the Fail state a typed error ends an execution in (its
// error name); false for an untyped error (an AWS call that failed).
func FailState(err error) (string, bool) { return stepFunctionsName(err) }

// stepFunctionsName is the error name of a typed error (what its Fail
// state is called); failed is false for an untyped error, which is an
// AWS call that failed, not a judgement of the deployment.
func stepFunctionsName(err error) (name string, failed bool) {
	var sfe stepFunctionsError
	if !errors.As(err, &sfe) {
		return "", false
	}
	return reflect.TypeOf(sfe).Elem().Name(), true
}

// failureLike is the typed error called name, with cause as its message.
func failureLike(name, cause string) error {
	for _, e := range AllErrors() {
		t := reflect.TypeOf(e).Elem()
		if t.Name() == name {
			v := reflect.New(t).Interface().(interface {
				error
				reword(string)
			})
			v.reword(cause)
			return v
		}
	}
	return servicesFailed(cause)
}
