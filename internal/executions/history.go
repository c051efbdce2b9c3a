package executions

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// HistoryReader is GetExecutionHistory alone.
type HistoryReader interface {
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// latestPages bounds the pages LatestEvents reads.
const latestPages = 5

// LatestEvents reads an execution's n newest history events, newest
// first. A page may hold fewer events than asked for ("This is only an
// upper limit. The actual number of results returned per call might be
// fewer than the specified maximum", GetExecutionHistoryInput.MaxResults),
// so it reads on with nextToken until it has n, the history ends, or
// latestPages pages were read.
func LatestEvents(ctx context.Context, api HistoryReader, arn string, n int) ([]sfntypes.HistoryEvent, error) {
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: int32(n)}
	var events []sfntypes.HistoryEvent
	for range latestPages {
		out, err := api.GetExecutionHistory(ctx, in)
		if err != nil {
			return nil, err
		}
		events = append(events, out.Events...)
		if len(events) >= n || out.NextToken == nil {
			break
		}
		in.NextToken, in.MaxResults = out.NextToken, int32(n-len(events))
	}
	return events[:min(n, len(events))], nil
}
