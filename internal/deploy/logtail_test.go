package deploy

import (
	"context"
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

func TestLogTail(t *testing.T) {
	awslogs := Migration{Container: "app", LogGroup: "/ecs/app", LogStream: "app/app/abc", LogRegion: "us-west-2"}
	ev := func(ts int64, msg string) cwltypes.OutputLogEvent {
		return cwltypes.OutputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	cases := map[string]struct {
		m    Migration
		logs fakeLogs
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
