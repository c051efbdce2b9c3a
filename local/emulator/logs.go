package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CloudWatch Logs: the migration container's log, as the awslogs driver
// writes it (group and stream prefix from the task definition, stream
// <prefix>/<container>/<task id>), read back with GetLogEvents.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html

var logsOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"GetLogEvents":      (*Emulator).getLogEvents,
	"DescribeLogGroups": (*Emulator).describeLogGroups,
}

// CreateLogGroup makes an empty log group, as a team's infrastructure does
// before a task definition names it in awslogs-group.
func (e *Emulator) CreateLogGroup(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.logs[name] == nil {
		e.logs[name] = map[string][]logEvent{}
	}
}

// describeLogGroups lists the groups whose names begin with the prefix,
// "ASCII-sorted by log group name", a page of at most limit (default 50).
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html
func (e *Emulator) describeLogGroups(body json.RawMessage) (any, *apiError) {
	var in struct {
		LogGroupNamePrefix string `json:"logGroupNamePrefix"`
		Limit              int    `json:"limit"`
		NextToken          string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var names []string
	for name := range e.logs {
		if strings.HasPrefix(name, in.LogGroupNamePrefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	from, to, next, ok := Page(in.NextToken, in.Limit, 50, len(names))
	if !ok {
		return nil, errorf("InvalidParameterException", "The specified nextToken is invalid.")
	}
	to, next = e.adv.ShortPage(AdvLogsShortPage, from, to, next)
	type wGroup struct {
		LogGroupName string `json:"logGroupName"`
		ARN          string `json:"arn"`
		LogGroupARN  string `json:"logGroupArn"`
	}
	out := struct {
		LogGroups []wGroup `json:"logGroups"`
		NextToken string   `json:"nextToken,omitempty"`
	}{LogGroups: []wGroup{}, NextToken: next}
	for _, name := range names[from:to] {
		arn := e.arn("logs", "log-group:"+name)
		// arn ends in :*, logGroupArn does not ("This version of the ARN
		// doesn't include a trailing :* after the log group name", LogGroup).
		out.LogGroups = append(out.LogGroups, wGroup{LogGroupName: name, ARN: arn + ":*", LogGroupARN: arn})
	}
	return out, nil
}

type logEvent struct {
	at      time.Time
	message string
}

// writeMigrationLog writes the migration container's lines to its awslogs
// stream, spread over the task's run, if the container logs with awslogs.
func (e *Emulator) writeMigrationLog(t *task) {
	if t.plan.FailToStart != "" {
		return
	}
	lines := t.plan.LogLines
	if lines == nil {
		lines = defaultMigrationLog(t.plan.ExitCode)
	}
	dur := secs(t.plan.duration())
	e.writeTaskLog(t, e.migrationContainer(t), t.createdAt.Add(dur/5), lines)
}

// writeTaskLog writes a container's lines to its awslogs stream
// (<prefix>/<container>/<task id>), spread over the task's run from start.
func (e *Emulator) writeTaskLog(t *task, container string, start time.Time, lines []string) {
	var cd *wContainerDefinition
	for i := range t.containers {
		if t.containers[i].Name == container {
			cd = &t.containers[i]
		}
	}
	if cd == nil || cd.LogConfiguration == nil || cd.LogConfiguration.LogDriver != "awslogs" {
		return
	}
	o := cd.LogConfiguration.Options
	group, stream := o["awslogs-group"], o["awslogs-stream-prefix"]+"/"+container+"/"+t.arn[strings.LastIndex(t.arn, "/")+1:]
	if o["awslogs-stream-prefix"] == "" {
		// "If you don't specify a prefix with this option, then the log
		// stream is named after the container ID that's assigned by the
		// Docker daemon on the container instance" (ECS developer guide, awslogs).
		stream = e.id(64)
	}
	dur := secs(t.plan.duration())
	if e.logs[group] == nil {
		e.logs[group] = map[string][]logEvent{}
	}
	for i, l := range lines {
		at := start.Add(time.Duration(i+1) * (dur - dur/5) / time.Duration(len(lines)+1))
		e.logs[group][stream] = append(e.logs[group][stream], logEvent{at: at, message: l})
	}
}

// defaultMigrationLog is what goose prints, failing or not.
func defaultMigrationLog(exitCode int32) []string {
	lines := []string{
		"2026/11/26 10:00:00 goose: connecting to postgres://app@db:5432/app",
		"2026/11/26 10:00:00 OK   20261101120000_create_orders.sql (12.31ms)",
	}
	if exitCode != 0 {
		return append(lines,
			"2026/11/26 10:00:01 goose run: ERROR 20261126093000_add_email_index.sql: failed to run SQL migration: failed to execute SQL query \"CREATE UNIQUE INDEX users_email ON users (email);\": ERROR: could not create unique index \"users_email\" (SQLSTATE 23505)",
			fmt.Sprintf("exit status %d", exitCode))
	}
	return append(lines, "2026/11/26 10:00:01 goose: successfully migrated database to version: 20261126093000")
}

func (e *Emulator) getLogEvents(body json.RawMessage) (any, *apiError) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		Limit              int    `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !validLogToken(in.NextToken) {
		return nil, errorf("InvalidParameterException", "The specified nextToken is invalid.")
	}
	group := in.LogGroupName
	if group == "" {
		group = logGroupOf(in.LogGroupIdentifier)
	}
	streams, ok := e.logs[group]
	if !ok {
		return nil, errorf("ResourceNotFoundException", "The specified log group does not exist.")
	}
	events, ok := streams[in.LogStreamName]
	if !ok {
		return nil, errorf("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	now := e.now()
	var visible []logEvent
	for _, ev := range events {
		ms := ev.at.UnixMilli()
		if ev.at.After(now) || (in.StartTime != nil && ms < *in.StartTime) || (in.EndTime != nil && ms >= *in.EndTime) {
			continue
		}
		visible = append(visible, ev)
	}
	sort.SliceStable(visible, func(i, j int) bool { return visible[i].at.Before(visible[j].at) })
	limit := in.Limit
	if limit == 0 {
		limit = 10000
	}
	// "If the value is false, the latest log events are returned first":
	// the page is the latest events, in time order.
	if len(visible) > limit {
		if in.StartFromHead {
			visible = visible[:limit]
		} else {
			visible = visible[len(visible)-limit:]
		}
	}
	type wEvent struct {
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
	}
	out := struct {
		Events            []wEvent `json:"events"`
		NextForwardToken  string   `json:"nextForwardToken"`
		NextBackwardToken string   `json:"nextBackwardToken"`
	}{Events: []wEvent{}, NextForwardToken: "f/end", NextBackwardToken: "b/start"}
	switch {
	case in.NextToken == "b/start" || in.NextToken == "f/end":
		// Past the last page: the same token back ends the paging.
		out.NextBackwardToken, out.NextForwardToken = "b/start", "f/end"
		return out, nil
	case e.adv.Roll(AdvLogsEmptyPage):
		// "A returned page might only be partially full, or even empty …
		// Partially full or empty pages don't necessarily mean that
		// pagination is finished" (GetLogEventsInput): an empty page whose
		// token is not the one passed in.
		out.NextBackwardToken = fmt.Sprintf("b/empty/%d", emptyPages(in.NextToken)+1)
		return out, nil
	}
	for _, ev := range visible {
		out.Events = append(out.Events, wEvent{Timestamp: ev.at.UnixMilli(), Message: ev.message, IngestionTime: ev.at.UnixMilli() + 200})
	}
	return out, nil
}

// logGroupOf is the group name of a logGroupIdentifier: a name or an ARN
// (arn:aws:logs:region:account:log-group:NAME, optionally :* after it).
func logGroupOf(id string) string {
	if _, rest, ok := strings.Cut(id, ":log-group:"); ok {
		return strings.TrimSuffix(rest, ":*")
	}
	return id
}

// validLogToken says a GetLogEvents nextToken is one this emulator handed
// out (or none); AWS refuses any other.
func validLogToken(tok string) bool {
	return tok == "" || tok == "b/start" || tok == "f/end" || emptyPages(tok) > 0
}

// emptyPages is how many empty pages came before a "b/empty/<n>" token.
func emptyPages(tok string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(tok, "b/empty/"))
	if err != nil || !strings.HasPrefix(tok, "b/empty/") {
		return 0
	}
	return n
}
