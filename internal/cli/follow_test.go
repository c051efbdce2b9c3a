package cli

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// historySFN serves an execution's history newest first in pages, and
// counts the pages read.
type historySFN struct {
	SFNAPI
	events []sfntypes.HistoryEvent
	pages  int
}

func (h *historySFN) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	h.pages++
	if !in.ReverseOrder {
		panic("want newest first")
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	var out sfn.GetExecutionHistoryOutput
	for i := len(h.events) - 1 - start; i >= 0 && len(out.Events) < int(in.MaxResults); i-- {
		out.Events = append(out.Events, h.events[i])
	}
	if next := start + len(out.Events); next < len(h.events) {
		out.NextToken = aws.String(strconv.Itoa(next))
	}
	return &out, nil
}

func (h *historySFN) add(n int) {
	for range n {
		h.events = append(h.events, sfntypes.HistoryEvent{Id: int64(len(h.events) + 1)})
	}
}

// --follow reads only what the history gained: one page a look, not the
// whole history again (GetExecutionHistory shares its quota with Wake).
func TestNewEventsReadsOnlyWhatIsNew(t *testing.T) {
	h := &historySFN{}
	h.add(250)
	a := &App{sfn: h}
	got, err := a.newEvents(t.Context(), "arn", nil)
	if err != nil || len(got) != 250 || h.pages != 3 {
		t.Fatalf("first look: %d events in %d pages (%v), want 250 in 3", len(got), h.pages, err)
	}
	h.add(5)
	h.pages = 0
	got, err = a.newEvents(t.Context(), "arn", got)
	if err != nil || len(got) != 255 || h.pages != 1 {
		t.Fatalf("next look: %d events in %d pages (%v), want 255 in 1", len(got), h.pages, err)
	}
	for i, ev := range got {
		if ev.Id != int64(i+1) {
			t.Fatalf("event %d has id %d: out of order", i, ev.Id)
		}
	}
}
