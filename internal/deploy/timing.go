package deploy

import (
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// How long the workflow waits, reads and retries: every timing constant
// of the queue, the guard and the migration's capacity retries, in one place.

// notYetVisibleWait is how long CheckTurn waits when DescribeExecution does
// not know its own execution yet.
const notYetVisibleWait = 2

// MaxWindowWait is the longest an execution waits for a deployment window:
// windows are weekly, so the next one opens within a week.
const MaxWindowWait = 7 * 24 * time.Hour

// WorkSpan is how long an execution's work may last once it may begin (its
// window opened, or it started): queue, approval, migration and deployment.
const WorkSpan = config.WorkSpan

// MaxExecution is the state machine's overall timeout (TimeoutSeconds in
// deployer.asl.json): no execution runs longer.
const MaxExecution = MaxWindowWait + WorkSpan

// ThrottledWait is how long a check that could not read the queue waits
// before the next: the poll interval, doubled with each such check in a row
// up to maxThrottledWait, plus up to half of it again at random (r in
// [0,1)). Many executions started at once and throttled together then
// spread their next reads out instead of coming back together.
func ThrottledWait(pollSeconds, inARow int, r float64) int {
	base := max(pollSeconds, 1)
	for i := 1; i < inARow && base < maxThrottledWait; i++ {
		base *= 2
	}
	base = min(base, maxThrottledWait)
	return base + int(r*float64(base)/2)
}

// maxThrottledWait bounds ThrottledWait's doubling, in seconds.
const maxThrottledWait = 240

// queueReadMargin is the time CheckTurn keeps, before its function's
// timeout, to answer WAIT when throttled reads have not finished.
const queueReadMargin = 10 * time.Second

// queueReadBudget is how long one check reads the queue before a throttled
// read becomes a WAIT: a few of the SDK's retries (jittered, exponential).
// With 1,000 executions starting at once, checks that rode throttling out
// for the function's whole minute held up to 1,000 Lambdas at a time.
const queueReadBudget = 5 * time.Second

// listPage is ListExecutions' largest page ("maxResults … 1000"): with
// many executions running, each check reads them in a tenth of the calls.
const listPage = 1000

// guardListGrace is how long the guard waits for evidence it cannot find
// before it blocks: ListExecutions is eventually consistent, so a
// deployment to the required environment that started a moment before this
// one may not be listed yet (a pipeline that promotes to staging and then to
// prod). A block is the safe way to be wrong; this keeps it from being the
// usual one.
const guardListGrace = 10 * time.Second

// unseenHolder is how long a holder Step Functions does not know
// (ExecutionDoesNotExist) is still taken to run: DescribeExecution is
// eventually consistent too, and a holder that just started may not be
// readable yet. After that the holder is an execution Step Functions no
// longer keeps (90 days after it closed), and its turn is free.
const unseenHolder = 5 * time.Minute

// maxCapacityBackoff caps the wait between RunTask attempts that found no capacity.
const maxCapacityBackoff = 5 * time.Minute

// windowRecheck is how often, in seconds, an execution whose deployment
// window targets.json changed while it waited checks again while that
// window is closed: the queue may supersede it meanwhile, and few checks
// keep its history short (about 9 events a check).
const windowRecheck = 300
