// Package executions reads the state machine's executions: the one place
// that calls ListExecutions and DescribeExecution, for the queue
// (CheckTurn), the promotion guard, Wake and every CLI command. It lists
// with the name pre-filter (names say the environment, names.go), describes
// through a cache (an execution's input never changes, nor its output once
// it ended), decodes a State from input, output or history events in one
// way (state.go), finds an image's latest attempt in an environment, and
// holds the one table of what each error name means (errors.go).
package executions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

// Lister is ListExecutions alone.
type Lister interface {
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

// API is the part of Step Functions that reads executions.
type API interface {
	Lister
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var _ API = (*sfn.Client)(nil)

// Execution is what DescribeExecution tells about one execution.
type Execution struct {
	ARN, Name     string
	Status        sfntypes.ExecutionStatus
	Start, Stop   time.Time
	Input, Output string
	Error, Cause  string
}

// Ended says the execution has stopped: its status and output are final.
func (e Execution) Ended() bool { return e.Status != sfntypes.ExecutionStatusRunning && e.Status != "" }

func fromSDK(d *sfn.DescribeExecutionOutput) Execution {
	return Execution{ARN: aws.ToString(d.ExecutionArn), Name: aws.ToString(d.Name), Status: d.Status,
		Start: aws.ToTime(d.StartDate), Stop: aws.ToTime(d.StopDate), Input: aws.ToString(d.Input), Output: aws.ToString(d.Output),
		Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause)}
}

// Reader reads one state machine's executions. A warm Lambda keeps its
// Reader, and with it what it described: DescribeExecution is throttled at
// 15 a second per account and Region, and a check of a queue of N would
// otherwise make N calls.
type Reader struct {
	API          API
	StateMachine string
	// Cache keeps what was described; readers of several state machines
	// may share one (ARNs are unique). nil: none.
	Cache *Memo[Execution]
}

// Query says which executions List reads, newest first by start.
type Query struct {
	// Status lists only executions of that status; empty: every status.
	Status sfntypes.ExecutionStatus
	// PageSize is ListExecutions' maxResults ("1 through 1000"); 0: 100.
	PageSize int32
	// Limit bounds how many are listed; 0: no bound.
	Limit int
}

// List visits the executions the query selects until visit says stop. A page
// may be shorter than asked for, even empty with a nextToken ("The actual
// number of results returned per call might be fewer than the specified
// maximum"): it reads on until the listing or the limit ends.
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
func (r *Reader) List(ctx context.Context, q Query, visit func(sfntypes.ExecutionListItem) (stop bool, err error)) error {
	return List(ctx, r.API, r.StateMachine, q, visit)
}

// List is Reader.List for a reader that only lists (Wake).
func List(ctx context.Context, api Lister, stateMachine string, q Query, visit func(sfntypes.ExecutionListItem) (stop bool, err error)) error {
	size := q.PageSize
	if size == 0 {
		size = 100
	}
	// Every execution of the state machine, however it was started: an
	// alias or version ARN would list only the executions started through
	// it ("You can also return a list of executions associated with a
	// specific alias or version", ListExecutionsInput.StateMachineArn), and
	// $$.StateMachine.Id may be the ARN an execution was started with.
	pages := sfn.NewListExecutionsPaginator(api, &sfn.ListExecutionsInput{StateMachineArn: aws.String(Unqualified(stateMachine)), StatusFilter: q.Status, MaxResults: size})
	read := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s executions: %w", statusWord(q.Status), err)
		}
		for _, ex := range page.Executions {
			if q.Limit > 0 && read >= q.Limit {
				return nil
			}
			read++
			if stop, err := visit(ex); stop || err != nil {
				return err
			}
		}
	}
	return nil
}

func statusWord(s sfntypes.ExecutionStatus) string {
	if s == "" {
		return "the"
	}
	return string(s)
}

// Describe describes an execution, from the cache once it has ended.
func (r *Reader) Describe(ctx context.Context, arn string) (Execution, error) {
	if e, ok := r.Cache.Get(arn); ok && e.Ended() {
		return e, nil
	}
	return r.Reread(ctx, arn)
}

// Input describes an execution for what never changes (its name, start and
// input), from the cache whatever its status was then; Status and Output
// are as they were when it was read.
func (r *Reader) Input(ctx context.Context, arn string) (Execution, error) {
	if e, ok := r.Cache.Get(arn); ok {
		return e, nil
	}
	return r.Reread(ctx, arn)
}

// Reread describes an execution now, whatever the cache holds (a RUNNING
// one may have ended), and keeps the answer.
func (r *Reader) Reread(ctx context.Context, arn string) (Execution, error) {
	d, err := r.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return Execution{}, fmt.Errorf("describe execution %s: %w", lastPart(arn), err)
	}
	e := fromSDK(d)
	r.Cache.Put(arn, e)
	return e, nil
}

// Scan lists the query's executions and describes each whose name keep
// accepts (nil: all), until visit says stop. keep is the name pre-filter:
// an execution ecr-deployer started says its environment in its name
// (EnvironmentOfName), so a reader that wants one environment describes
// only the executions that may be of it.
func (r *Reader) Scan(ctx context.Context, q Query, keep func(name string) bool, visit func(Execution) (stop bool, err error)) error {
	return r.List(ctx, q, func(ex sfntypes.ExecutionListItem) (bool, error) {
		if keep != nil && !keep(aws.ToString(ex.Name)) {
			return false, nil
		}
		e, err := r.Describe(ctx, aws.ToString(ex.ExecutionArn))
		if Gone(err) {
			return false, nil // listed a moment ago, not readable (yet, or any more)
		}
		if err != nil {
			return true, err
		}
		return visit(e)
	})
}

// MayBe is the name pre-filter for one environment: a name that says
// another environment is not of it; one that says none may be.
func MayBe(env string) func(name string) bool {
	return func(name string) bool {
		e, ok := EnvironmentOfName(name)
		return !ok || e == env
	}
}

// Gone says Step Functions has no such execution: "ExecutionDoesNotExist",
// for one it never had, does not know yet (its reads are eventually
// consistent), or no longer keeps (90 days after it closed).
func Gone(err error) bool {
	var missing *sfntypes.ExecutionDoesNotExist
	return errors.As(err, &missing)
}

// Denied says the caller may not read the execution ("AccessDeniedException"):
// one of a state machine its policy does not name, such as a replaced
// stack's.
func Denied(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException"
}

func lastPart(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}
