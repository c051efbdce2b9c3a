package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

type fakeLogs struct {
	events []cwltypes.OutputLogEvent
	err    error
}

func (f fakeLogs) GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	return &cloudwatchlogs.GetLogEventsOutput{Events: f.events}, f.err
}

// pagedLogs answers pages in order: empty ones with a new backward token,
// as GetLogEvents may, then the events; tokens records what was passed.
type pagedLogs struct {
	empty  int
	events []cwltypes.OutputLogEvent
	tokens *[]string
}

func (f pagedLogs) GetLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	*f.tokens = append(*f.tokens, aws.ToString(in.NextToken))
	if n := len(*f.tokens); n <= f.empty {
		return &cloudwatchlogs.GetLogEventsOutput{NextBackwardToken: aws.String(fmt.Sprintf("b/%d", n))}, nil
	}
	if f.events == nil {
		return &cloudwatchlogs.GetLogEventsOutput{NextBackwardToken: in.NextToken}, nil // the end
	}
	return &cloudwatchlogs.GetLogEventsOutput{Events: f.events, NextBackwardToken: aws.String("b/end")}, nil
}

func TestLogTail(t *testing.T) {
	awslogs := Migration{Container: "app", LogGroup: "/ecs/app", LogStream: "app/app/abc", LogRegion: "us-west-2"}
	ev := func(ts int64, msg string) cwltypes.OutputLogEvent {
		return cwltypes.OutputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	cases := map[string]struct {
		m    Migration
		logs LogsAPI
		want []string
	}{
		"the last lines, in time order": {awslogs, fakeLogs{events: []cwltypes.OutputLogEvent{ev(2, "second\n"), ev(1, "first")}},
			[]string{"Last 2 lines of its log (/ecs/app, app/app/abc):\n  first\n  second"}},
		"access denied names the field": {awslogs, fakeLogs{err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}},
			[]string{`logs:GetLogEvents is denied on log group /ecs/app`, `Set "logGroup": "/ecs/app" on target staging`}},
		"no stream":            {awslogs, fakeLogs{err: &cwltypes.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}}, []string{"does not exist in log group /ecs/app"}},
		"another log driver":   {Migration{Container: "app", LogDriver: "fluentd"}, fakeLogs{}, []string{"fluentd driver"}},
		"no log configuration": {Migration{Container: "app"}, fakeLogs{}, []string{"no log configuration"}},
		"another Region":       {Migration{Container: "app", LogGroup: "/ecs/app", LogStream: "s", LogRegion: "eu-west-1"}, fakeLogs{}, []string{"in eu-west-1, another Region"}},
		// "If you don't specify a prefix with this option, then the log
		// stream is named after the container ID" (awslogs driver).
		"no stream prefix": {Migration{Container: "app", LogGroup: "/ecs/app"}, fakeLogs{}, []string{"no awslogs-stream-prefix", "Docker container ID", "/ecs/app"}},
		// "Partially full or empty pages don't necessarily mean that
		// pagination is finished" (GetLogEventsInput).
		"empty pages before the events": {awslogs, pagedLogs{empty: 2, events: []cwltypes.OutputLogEvent{ev(1, "goose: FAIL")}, tokens: new([]string)},
			[]string{"Last 1 lines of its log", "goose: FAIL"}},
		"empty pages to the end": {awslogs, pagedLogs{empty: 1, tokens: new([]string)}, []string{"is empty"}},
		"empty pages past the bound": {awslogs, pagedLogs{empty: 100, tokens: new([]string)},
			[]string{"returned 5 empty pages in a row and may hold more", "console.aws.amazon.com"}},
	}
	for name, tc := range cases {
		d := &Deployer{Logs: tc.logs, Region: "us-west-2"}
		got := d.logTail(t.Context(), State{Environment: "staging", Migration: tc.m})
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", name, got, w)
			}
		}
	}
}

func TestTailLinesAreBounded(t *testing.T) {
	var events []cwltypes.OutputLogEvent
	for i := range 80 {
		events = append(events, cwltypes.OutputLogEvent{Timestamp: aws.Int64(int64(i)), Message: aws.String(strings.Repeat("é", 500))})
	}
	lines := TailLines(events)
	size := 0
	for _, l := range lines {
		size += len(l)
		if n := len([]rune(l)); n > logLineMaxRunes+1 {
			t.Errorf("a line of %d characters", n)
		}
	}
	if len(lines) > LogTailLines || size > logTailMaxBytes {
		t.Errorf("%d lines, %d bytes: want at most %d and %d", len(lines), size, LogTailLines, logTailMaxBytes)
	}
}

// Each page after an empty one is asked for with the token it returned.
func TestLatestLogEventsPagesOnWithTheBackwardToken(t *testing.T) {
	var tokens []string
	d := &Deployer{Logs: pagedLogs{empty: 2, events: []cwltypes.OutputLogEvent{{Message: aws.String("x")}}, tokens: &tokens}}
	events, pages, err := d.latestLogEvents(t.Context(), "g", "s")
	if err != nil || len(events) != 1 || pages != 3 || strings.Join(tokens, ",") != ",b/1,b/2" {
		t.Fatalf("events %d, pages %d, tokens %q, err %v; want 1 event on the third page, asked with b/1 then b/2", len(events), pages, tokens, err)
	}
}
