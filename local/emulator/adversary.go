package emulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The adversarial mode: the local stack does, at random from a seed, what
// AWS documents that it may do and a kind emulator never does. Every
// behaviour is named, cites the sentence that allows it, and is counted
// each time it happens, so that a run says what it survived and a failing
// seed replays the same choices (as far as the goroutines' timing lets it:
// the draws are made in the order the calls arrive).

// AdversaryScript turns the adversarial mode on.
type AdversaryScript struct {
	// Seed makes the choices reproducible.
	Seed uint64 `json:"seed"`
	// Rate is the chance that a call or a delivery which may misbehave
	// does (default 0.1).
	Rate float64 `json:"rate,omitempty"`
	// Rates overrides Rate for some behaviours, by name.
	Rates map[string]float64 `json:"rates,omitempty"`
	// Only, when set, limits the behaviours to these names (Behaviours).
	Only []string `json:"only,omitempty"`
	// Except leaves these behaviours out.
	Except []string `json:"except,omitempty"`
}

// Behaviour is one thing AWS documents as possible.
type Behaviour struct {
	Name string
	// Where is the component that does it.
	Where string
	// Cite is the documentation sentence that allows it.
	Cite string
}

// The behaviours, by name.
const (
	AdvThrottle            = "throttle"
	AdvTransactConflict    = "dynamodb-transaction-conflict"
	AdvTransactThrottled   = "dynamodb-transaction-throttled"
	AdvReadThrottled       = "dynamodb-read-throttled"
	AdvLogsEmptyPage       = "logs-empty-page"
	AdvStaleCurrent        = "ecs-stale-current-service-deployment"
	AdvCapacity            = "ecs-runtask-capacity"
	AdvDescribeNewMissing  = "sfn-describe-new-execution-missing"
	AdvListEmptyPage       = "sfn-list-executions-empty-page"
	AdvHistoryPartialPage  = "sfn-history-partial-page"
	AdvEventDuplicated     = "eventbridge-event-duplicated"
	AdvEventDelayed        = "eventbridge-event-delayed"
	AdvEventLost           = "eventbridge-event-lost"
	AdvLambdaResponseLost  = "lambda-response-lost"
	AdvLambdaThrottled     = "lambda-throttled"
	AdvLambdaTimedOut      = "lambda-timed-out"
	AdvECSListShortPage    = "ecs-list-service-deployments-short-page"
	AdvLogsShortPage       = "logs-describe-log-groups-short-page"
	AdvIAMShortPage        = "iam-simulate-short-page"
	defaultAdversarialRate = 0.1
)

// Behaviours lists every behaviour of the adversarial mode with its source.
var Behaviours = []Behaviour{
	{AdvThrottle, "ECS, ECR, CloudWatch Logs, DynamoDB, Step Functions; IAM SimulatePrincipalPolicy and CloudFormation ListStackResources (deployer check); STS AssumeRole (targets in other accounts)",
		`IAM, STS and CloudFormation answer "Throttling: Rate exceeded" past their per-account request rates (IAM and STS quotas: "requests per second per account" for STS; CloudFormation quotas); ECS, ECR and CloudWatch Logs throttle per account and Region with a token bucket and answer ThrottlingException (ECS API reference, Request throttling); DynamoDB: "The request was denied due to request throttling … The Amazon Web Services SDKs for DynamoDB automatically retry requests that receive this exception" (dynamodb types/errors.go).`},
	{AdvTransactConflict, "DynamoDB TransactWriteItems",
		`TransactionCanceledException: "There is an ongoing TransactWriteItems operation that conflicts with a concurrent TransactWriteItems request", code TransactionConflict (dynamodb types/errors.go).`},
	{AdvTransactThrottled, "DynamoDB TransactWriteItems",
		`TransactionCanceledException, "Code: ThrottlingError … This message is returned when writes get throttled on an On-Demand table as DynamoDB is automatically scaling the table" (dynamodb types/errors.go).`},
	{AdvReadThrottled, "DynamoDB GetItem",
		`GetItem's errors include ProvisionedThroughputExceededException and ThrottlingException: "The Amazon Web Services SDKs for DynamoDB automatically retry requests that receive this exception" (dynamodb types/errors.go); the turns table is on demand, which throttles too while it scales.`},
	{AdvLogsEmptyPage, "CloudWatch Logs GetLogEvents",
		`"A returned page might only be partially full, or even empty … Partially full or empty pages don't necessarily mean that pagination is finished" (GetLogEventsInput, api_op_GetLogEvents.go).`},
	{AdvStaleCurrent, "ECS UpdateService, DescribeServices",
		`"CurrentServiceDeployment may return an outdated value, causing rollback to wait on a previous deployment instead of the newly started one and exit immediately" (kayac/ecspresso #945, merged 2026-02; aws/containers-roadmap #2709 asks UpdateService for the new deployment's ARN).`},
	{AdvCapacity, "ECS RunTask",
		`RunTask answers failures[] for capacity (RESOURCE:*, "Capacity is unavailable at this time", gchq/sleeper#904), and some capacity limits with an error instead (aws/aws-sdk-ruby#3047).`},
	{AdvDescribeNewMissing, "Step Functions DescribeExecution",
		`"This operation is eventually consistent. The results are best effort and may not reflect very recent updates and changes" (sfn api_op_DescribeExecution.go): a just-started execution may not be found yet (ExecutionDoesNotExist).`},
	{AdvListEmptyPage, "Step Functions ListExecutions",
		`"This is only an upper limit. The actual number of results returned per call might be fewer than the specified maximum"; "If nextToken is returned, there are more results available" (sfn ListExecutionsInput.MaxResults, NextToken): a page may be empty and still carry a nextToken.`},
	{AdvHistoryPartialPage, "Step Functions GetExecutionHistory",
		`"This is only an upper limit. The actual number of results returned per call might be fewer than the specified maximum" (sfn GetExecutionHistoryInput.MaxResults).`},
	{AdvEventDuplicated, "EventBridge",
		`EventBridge retries a delivery that did not succeed ("Retrying event delivery", EventBridge user guide), so a target may receive an event more than once; the ECR and ECS documentation this project relies on says the same ("can arrive more than once", shared/AWS-FACTS.md).`},
	{AdvEventDelayed, "EventBridge",
		`"Amazon EventBridge does not guarantee the order of the events" (AWS expert answer, re:Post QUDxAa0fS4TNus4mLxZpUjEw); a retried delivery arrives after later events.`},
	{AdvEventLost, "EventBridge",
		`"Best effort delivery means that the service attempts to send all events to EventBridge, but in some rare cases an event might not be delivered" (EventBridge user guide, Event delivery from AWS services; ECS and ECR are best effort).`},
	{AdvECSListShortPage, "ECS ListServiceDeployments",
		`"If you provided maxResults, it's possible the number of results is fewer than maxResults" (ecs ListServiceDeploymentsInput.NextToken): a page may be short, or empty, and carry a nextToken.`},
	{AdvLogsShortPage, "CloudWatch Logs DescribeLogGroups",
		`"limit: The maximum number of items returned" and "nextToken: The token for the next set of items to return" (DescribeLogGroupsInput): a maximum, not a count, so the stricter reading is that a page may be short, or empty, and carry a nextToken, as ListServiceDeployments' may.`},
	{AdvIAMShortPage, "IAM SimulatePrincipalPolicy",
		`"Note that IAM might return fewer results, even when there are more results available. In that case, the IsTruncated response element returns true, and Marker contains a value to include in the subsequent call" (iam SimulatePrincipalPolicyInput.MaxItems).`},
	{AdvLambdaResponseLost, "Lambda (Step Functions Task)",
		`Step Functions "Lambda.ServiceException" and the retry best practice: "Handle transient Lambda service exceptions" (Step Functions developer guide, bp-lambda-serviceexception); the function may have run.`},
	{AdvLambdaThrottled, "Lambda (Step Functions Task)",
		`"Lambda.TooManyRequestsException": the account's concurrency is exceeded (Lambda developer guide, Lambda quotas; Step Functions error names).`},
	{AdvLambdaTimedOut, "Lambda (Step Functions Task)",
		`A function that runs past its timeout ends "Task timed out after N seconds", which Step Functions reports as Lambda.Unknown (Step Functions developer guide, Handling errors).`},
}

// Adversary draws the adversarial mode's choices; safe for concurrent use.
// A nil *Adversary never misbehaves.
type Adversary struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	rates  map[string]float64
	on     map[string]bool
	counts map[string]int
}

// NewAdversary returns the adversary a script asks for, or an error naming
// an unknown behaviour.
func NewAdversary(s AdversaryScript) (*Adversary, error) {
	a := &Adversary{rng: rand.New(rand.NewPCG(s.Seed, s.Seed^0x5851f42d4c957f2d)), rate: s.Rate, rates: s.Rates, on: map[string]bool{}, counts: map[string]int{}}
	if a.rate == 0 {
		a.rate = defaultAdversarialRate
	}
	names := make([]string, 0, len(Behaviours))
	for _, b := range Behaviours {
		names = append(names, b.Name)
	}
	overridden := make([]string, 0, len(s.Rates))
	for n, r := range s.Rates {
		overridden = append(overridden, n)
		if r < 0 || r > 1 {
			return nil, fmt.Errorf("adversary: rate %g of %s must be between 0 and 1", r, n)
		}
	}
	if a.rate < 0 || a.rate > 1 {
		return nil, fmt.Errorf("adversary: rate %g must be between 0 and 1", s.Rate)
	}
	for _, n := range append(append(slices.Clone(s.Only), s.Except...), overridden...) {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("adversary: %q is not a behaviour (%s)", n, strings.Join(names, ", "))
		}
	}
	for _, n := range names {
		a.on[n] = (len(s.Only) == 0 || slices.Contains(s.Only, n)) && !slices.Contains(s.Except, n)
	}
	return a, nil
}

// Roll says whether the behaviour happens this time, and counts it when it does.
func (a *Adversary) Roll(name string) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rate, ok := a.rates[name]
	if !ok {
		rate = a.rate
	}
	if !a.on[name] || a.rng.Float64() >= rate {
		return false
	}
	a.counts[name]++
	return true
}

// Intn draws a number in [0, n) for a behaviour's details.
func (a *Adversary) Intn(n int) int {
	if a == nil || n <= 0 {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.IntN(n)
}

// ShortPage is the adversarial mode's page [from, to) of a list (next is
// its token to the rest): when behaviour rolls, shorter than asked, maybe
// empty, with a nextToken to the rest (the lists' "This is only an upper
// limit. The actual number of results returned per call might be fewer
// than the specified maximum"). Tokens are the index of the next item.
func (a *Adversary) ShortPage(behaviour string, from, to int, next string) (int, string) {
	if to <= from || !a.Roll(behaviour) {
		return to, next
	}
	short := from + a.Intn(to-from) // from ≤ short < to: at least one left for the next page
	return short, strconv.Itoa(short)
}

// Counts is how often each behaviour happened.
func (a *Adversary) Counts() map[string]int {
	out := map[string]int{}
	if a == nil {
		return out
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range a.counts {
		out[k] = v
	}
	return out
}
