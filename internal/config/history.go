package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// WakesPerWait bounds how many ECS events can end one phase's waits early
// (each costs a turn of the loop): a task's STOPPED, a deployment's
// IN_PROGRESS, COMPLETED or FAILED and its rollback's, duplicates included.
const WakesPerWait = 10

// PausePollInterval is the safety poll while ECS waits at a pause hook: a
// person decides, the hook's ECS Hook State Change and the CLI's decision
// wake the wait, and ECS's timeout action ends it with a deployment event
// (or, for CONTINUE, the next look sees it).
const PausePollInterval = 10 * time.Minute

// MaxPause is the longest the workflow waits at pause hooks in all: the
// state machine's own 24-hour timeout bounds it (ECS's default hook
// timeout is 1440 minutes too).
const MaxPause = 24 * time.Hour

// maxCapacityBackoff is the longest wait between two RunTask attempts
// (deploy.CapacityBackoff's cap).
const maxCapacityBackoff = 5 * time.Minute

// Queue waits back off. A holder at a pause hook keeps its service's turn
// for up to MaxPause beyond its deploymentTimeout, and a waiter checking
// every queuePollInterval (15 s, about 9 events a check) would pass Step
// Functions' 25,000-event history in about 11 hours, an uncatchable
// failure, before QueueTimedOut could end its wait. So a waiter checks every
// queuePollInterval for its first QueueBackoffAfter, then waits a tenth of
// the time it has waited, at most MaxQueuePoll: a whole work span of
// waiting is a few hundred checks. The cost is that, after a long wait, the
// next deployment starts up to MaxQueuePoll after its turn is free.
const (
	QueueBackoffAfter = 10 * time.Minute
	MaxQueuePoll      = 5 * time.Minute
)

// QueuePoll is how long a check that has waited `waited` waits before the
// next (poll: the target's queuePollInterval; a document without one, from
// a release before it was kept, waits the default).
func QueuePoll(poll, waited time.Duration) time.Duration {
	if poll <= 0 {
		poll = time.Duration(DefaultQueuePollInterval)
	}
	if waited < QueueBackoffAfter {
		return poll
	}
	return max(poll, min(MaxQueuePoll, (waited/10).Truncate(time.Second)))
}

// queueChecks counts the checks of a wait of d, on QueuePoll's schedule:
// the first at once, the last after d.
func queueChecks(d, poll time.Duration) int {
	n := 1
	for waited := time.Duration(0); waited < d; n++ {
		waited += QueuePoll(poll, waited)
	}
	return n
}

// HistoryBudget is the worst case of one execution's history events for a
// target: every loop of the state machine turned as often as its settings
// allow, each turn costing the most events of any cycle through the loop's
// state (counted from the ASL), every Lambda Task retried to its Retry
// limits once, and the straight path through the rest.
type HistoryBudget struct {
	Path, Retries                               int
	QueueTurns, CapacityTurns                   int
	MigrationTurns, DeploymentTurns, PauseTurns int
	QueueCycle, CapacityCycle                   int
	MigrationCycle, DeploymentCycle             int
	Total                                       int
	QueueWait, MigrationSpan, DeploymentSpan    time.Duration
	queuePoll, migrationPoll, deploymentPoll    time.Duration
}

func (b HistoryBudget) String() string {
	return fmt.Sprintf("worst case %d history events: %d on the straight path, %d in retries, queue %d checks × %d (waiting up to %s, every %s, backing off to %s), capacity %d retries × %d, migration %d looks × %d (%s every %s, %d event wakes), deployment %d looks × %d (%s every %s, %d event wakes), pause hooks %d looks × %d (%s every %s)",
		b.Total, b.Path, b.Retries, b.QueueTurns, b.QueueCycle, b.QueueWait, b.queuePoll, MaxQueuePoll, b.CapacityTurns, b.CapacityCycle,
		b.MigrationTurns, b.MigrationCycle, b.MigrationSpan, b.migrationPoll, WakesPerWait, b.DeploymentTurns, b.DeploymentCycle, b.DeploymentSpan, b.deploymentPoll, WakesPerWait,
		b.PauseTurns, b.DeploymentCycle, MaxPause, PausePollInterval)
}

// Budget computes a target's HistoryBudget. A queued execution waits at most
// for the one execution of its service that holds the turn (an older waiter
// is superseded), so the queue wait is bounded by the longest execution of
// any target deploying the same service.
func (c *Config) Budget(t Resolved) (HistoryBudget, error) {
	doc, err := statemachine.Parse()
	if err != nil {
		return HistoryBudget{}, err
	}
	return budget(doc, t, c.targets), nil
}

func budget(doc statemachine.Document, t Resolved, all []Resolved) HistoryBudget {
	b := HistoryBudget{
		Path:            doc.PathEvents(),
		QueueCycle:      doc.CycleEvents("WaitingForTurn"),
		CapacityCycle:   doc.CycleEvents("WaitForCapacity"),
		MigrationCycle:  doc.CycleEvents("WaitForMigration"),
		DeploymentCycle: doc.CycleEvents("WaitForDeployment"),
		queuePoll:       time.Duration(t.QueuePollInterval),
		migrationPoll:   time.Duration(t.MigrationPollInterval),
		deploymentPoll:  time.Duration(t.DeploymentPollInterval),
	}
	for name, st := range doc.States {
		if st.Type == "Task" {
			b.Retries += doc.MaxRetryEvents(name)
		}
	}
	// A holder may also wait at pause hooks, which its deploymentTimeout
	// does not count (any service may have hooks: ECS's configuration, not
	// targets.json).
	for _, o := range all {
		if o.Cluster == t.Cluster && SharesService(o, t) {
			b.QueueWait = max(b.QueueWait, span(o)+MaxPause)
		}
	}
	// CheckTurn ends a wait that would leave too little of the work span
	// for the execution's own work (QueueTimedOut).
	b.QueueWait = max(0, min(b.QueueWait, WorkSpan-span(t)))
	// A promotion guard waits at the turn for the required environment's
	// deployment of the image, at most requiresWait, polling like the queue.
	if t.Requires != "" {
		b.QueueWait += time.Duration(t.RequiresWait)
	}
	turns := func(d, every time.Duration) int { return int((d+every-1)/every) + 1 }
	b.QueueTurns = queueChecks(b.QueueWait+time.Duration(t.QueueSettle), b.queuePoll)
	b.CapacityTurns = t.CapacityRetries
	if !t.Migration.Disabled {
		b.MigrationSpan = time.Duration(t.MigrationTimeout)
		b.MigrationTurns = turns(b.MigrationSpan, b.migrationPoll) + WakesPerWait
	}
	b.DeploymentSpan = deploymentSpan(t)
	// Each service's events wake the one wait of a target of several, and
	// rollback-others' deployments wake it again.
	b.DeploymentTurns = turns(b.DeploymentSpan, b.deploymentPoll) + WakesPerWait*len(t.AllServices())*deploymentRounds(t)
	// Waiting at pause hooks (which deploymentTimeout does not count) turns
	// the deployment loop every PausePollInterval.
	b.PauseTurns = turns(MaxPause, PausePollInterval)
	b.Total = b.Path + b.Retries + b.QueueTurns*b.QueueCycle + b.CapacityTurns*b.CapacityCycle +
		b.MigrationTurns*b.MigrationCycle + (b.DeploymentTurns+b.PauseTurns)*b.DeploymentCycle
	return b
}

// WorkSpan is how long an execution's work may last once it may begin (its
// deployment window opened, or it started): queue, approval, migration and
// deployment. The state machine's own timeout adds a week of waiting for a
// window to it.
const WorkSpan = 24 * time.Hour

// TurnSpan is the longest an execution of the target can hold its
// service's turn (see span).
func (r Resolved) TurnSpan() time.Duration { return span(r) }

// span is the longest an execution of t can hold its service's turn: the
// settle time, every capacity retry at its longest backoff, the migration
// timeout and the deployment timeout (a rollback is waited for only until
// the deployment's deadline).
func span(t Resolved) time.Duration {
	d := time.Duration(t.QueueSettle) + deploymentSpan(t)
	if t.Approval != nil {
		d += time.Duration(t.Approval.Timeout)
	}
	if !t.Migration.Disabled {
		d += time.Duration(t.CapacityRetries)*maxCapacityBackoff + time.Duration(t.MigrationTimeout)
	}
	return d
}

// deploymentRounds is how many deployments one service may go through in
// an execution: ours, and rollback-others' deployment of the previous
// revision after another service failed.
func deploymentRounds(t Resolved) int {
	if t.OnFailure == OnFailureRollbackOthers {
		return 2
	}
	return 1
}

// deploymentSpan is the longest the deployment phase may take: each round
// has its deploymentTimeout.
func deploymentSpan(t Resolved) time.Duration {
	return time.Duration(deploymentRounds(t)) * time.Duration(t.DeploymentTimeout)
}

// checkHistory refuses targets whose worst case passes Step Functions'
// history limit, with the numbers.
func checkHistory(name string, c *Config) []error {
	doc, err := statemachine.Parse()
	if err != nil {
		return []error{err}
	}
	var errs []error
	for i, t := range c.targets {
		if b := budget(doc, t, c.targets); b.Total > statemachine.HistoryLimit {
			errs = append(errs, &FieldError{name, fmt.Sprintf("targets[%d]", i), fmt.Sprintf("%s: more than Step Functions' %d-event history limit, which would fail the execution. Raise queuePollInterval, migrationPollInterval or deploymentPollInterval, or lower the timeouts", b, statemachine.HistoryLimit)})
		}
	}
	return errs
}

// SharesService says two targets deploy a service in common: their
// deployments queue behind each other.
func SharesService(a, b Resolved) bool {
	if a.Cluster != b.Cluster {
		return false
	}
	for _, x := range a.ServiceNames() {
		if slices.Contains(b.ServiceNames(), x) {
			return true
		}
	}
	return false
}
