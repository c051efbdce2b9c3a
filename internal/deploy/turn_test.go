package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

func TestDecideTurn(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	run := func(name string, start int, service, key string) Candidate {
		return Candidate{Name: name, Start: at(start), Status: "RUNNING", Services: strings.Split(service, "+"), Key: key}
	}
	done := func(name string, stop int, service, key string) Candidate {
		return Candidate{Name: name, Start: at(stop - 60), Stop: at(stop), Status: "SUCCEEDED", Services: strings.Split(service, "+"), Key: key, Deployed: true}
	}
	deployedNothing := func(c Candidate) Candidate { c.Deployed = false; return c }
	readyAt := func(c Candidate, s int) Candidate { c.Ready = at(s); return c }
	const a, b = "staging/staging-service", "prod/prod-service"
	// Targets of several services: web+worker, and one that shares worker.
	const ww, w, wk = "app/web+app/worker", "app/web", "app/worker"
	const d1, d2, d3 = "app:staging@sha256:1", "app:staging@sha256:2", "app:staging@sha256:3"
	window := 15 * time.Minute
	cases := map[string]struct {
		me     Candidate
		others []Candidate
		want   TurnDecision
	}{
		"alone":                                      {me: run("m", 10, a, d2), want: TurnDecision{Kind: TurnGo}},
		"another service is busy":                    {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, b, "")}, want: TurnDecision{Kind: TurnGo}},
		"an older one runs: wait":                    {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, a, d1)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"a newer one arrived: first keeps it":        {me: run("m", 10, a, d2), others: []Candidate{run("y", 20, a, d3)}, want: TurnDecision{Kind: TurnGo}},
		"waiting with a newer one behind":            {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, a, d1), run("y", 20, a, d3)}, want: TurnDecision{Kind: TurnSuperseded, Other: "y"}},
		"newest of three waits for the first":        {me: run("y", 20, a, d3), others: []Candidate{run("x", 0, a, d1), run("m", 10, a, d2)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"same millisecond: name decides (lower)":     {me: run("a-exec", 10, a, d2), others: []Candidate{run("b-exec", 10, a, d3)}, want: TurnDecision{Kind: TurnGo}},
		"same millisecond: name decides (higher)":    {me: run("b-exec", 10, a, d3), others: []Candidate{run("a-exec", 10, a, d2)}, want: TurnDecision{Kind: TurnWait, Other: "a-exec"}},
		"same event twice: the later is a duplicate": {me: run("m2", 11, a, d2), others: []Candidate{run("m1", 10, a, d2)}, want: TurnDecision{Kind: TurnDuplicate, Other: "m1"}},
		"same event twice: the earlier goes on":      {me: run("m1", 10, a, d2), others: []Candidate{run("m2", 11, a, d2)}, want: TurnDecision{Kind: TurnGo}},
		"duplicate of a recent success":              {me: run("m", 100, a, d2), others: []Candidate{done("p", 90, a, d2)}, want: TurnDecision{Kind: TurnDuplicate, Other: "p"}},
		// The same event twice, where the second copy got to CheckTurn first,
		// saw the first running ahead and ended Duplicate (a Succeed end): the
		// first must still deploy.
		"a success that deployed nothing is not a duplicate": {me: run("m", 100, a, d2), others: []Candidate{deployedNothing(done("m-again", 99, a, d2))}, want: TurnDecision{Kind: TurnGo}},
		// Promoting d1 back after d2 deployed is a rollback, not a duplicate.
		"a success with another deployment since is not a duplicate": {me: run("m", 100, a, d1), others: []Candidate{done("p1", 50, a, d1), done("p2", 90, a, d2)}, want: TurnDecision{Kind: TurnGo}},
		"a manual deployment since counts too":                       {me: run("m", 100, a, d1), others: []Candidate{done("p1", 50, a, d1), done("s", 90, a, "")}, want: TurnDecision{Kind: TurnGo}},
		"a deployment of another service since does not count":       {me: run("m", 100, a, d1), others: []Candidate{done("p1", 50, a, d1), done("q", 90, b, d2)}, want: TurnDecision{Kind: TurnDuplicate, Other: "p1"}},
		"a deployment before it does not count":                      {me: run("m", 100, a, d1), others: []Candidate{done("p2", 40, a, d2), done("p1", 50, a, d1)}, want: TurnDecision{Kind: TurnDuplicate, Other: "p1"}},
		"an old success is not a duplicate":                          {me: run("m", 2000, a, d2), others: []Candidate{done("p", 90, a, d2)}, want: TurnDecision{Kind: TurnGo}},
		// "succeeded less than duplicateWindow ago" (15 min here): a second inside is a duplicate, the window itself is not.
		"a success a second inside the window is a duplicate": {me: run("m", 999, a, d2), others: []Candidate{done("p", 100, a, d2)}, want: TurnDecision{Kind: TurnDuplicate, Other: "p"}},
		"a success exactly the window ago is not a duplicate": {me: run("m", 1000, a, d2), others: []Candidate{done("p", 100, a, d2)}, want: TurnDecision{Kind: TurnGo}},
		"manual starts are never duplicates":                  {me: run("m", 11, a, ""), others: []Candidate{done("p", 10, a, "")}, want: TurnDecision{Kind: TurnGo}},
		// A duplicate behind a waiting execution must not supersede it: the
		// duplicate ends, and the waiting one would deploy nothing.
		"a duplicate behind does not supersede":      {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, a, d1), run("x2", 20, a, d1)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"my own duplicate behind does not supersede": {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, a, d1), run("m2", 20, a, d2)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		// Deployment windows: w waits for its window until 1000.
		"one waiting for its window is not ahead":             {me: run("m", 10, a, d2), others: []Candidate{readyAt(run("w", 0, a, d1), 1000)}, want: TurnDecision{Kind: TurnGo}},
		"one waiting for its window does not supersede":       {me: run("m", 10, a, d2), others: []Candidate{run("x", 0, a, d1), readyAt(run("w", 20, a, d3), 1000)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"two waited for the window: only the newest deploys":  {me: readyAt(run("w", 0, a, d1), 1000), others: []Candidate{readyAt(run("w2", 5, a, d3), 1000)}, want: TurnDecision{Kind: TurnSuperseded, Other: "w2"}},
		"the window opened, my duplicate behind: go":          {me: readyAt(run("w", 0, a, d1), 1000), others: []Candidate{readyAt(run("w2", 5, a, d1), 1000)}, want: TurnDecision{Kind: TurnGo}},
		"the window opened, a newer one deploys: superseded":  {me: readyAt(run("w", 0, a, d1), 1000), others: []Candidate{run("o", 10, a, "")}, want: TurnDecision{Kind: TurnSuperseded, Other: "o"}},
		"the window opened, a newer one deployed: superseded": {me: readyAt(run("w", 0, a, d1), 1000), others: []Candidate{done("o", 500, a, d2)}, want: TurnDecision{Kind: TurnSuperseded, Other: "o"}},
		"the window opened, an older one deploys: wait":       {me: readyAt(run("w", 10, a, d2), 1000), others: []Candidate{run("x", 0, a, d1)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"the window opened, a newer one deployed elsewhere":   {me: readyAt(run("w", 0, a, d1), 1000), others: []Candidate{done("o", 500, b, "")}, want: TurnDecision{Kind: TurnGo}},
		// Several services: executions queue when they share any service; a
		// newer one supersedes only if it deploys all of mine.
		"several services: one in common queues":             {me: run("m", 10, wk, d2), others: []Candidate{run("x", 0, ww, d1)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"several services: none in common goes":              {me: run("m", 10, w, d2), others: []Candidate{run("x", 0, wk, d1)}, want: TurnDecision{Kind: TurnGo}},
		"several services: a newer one covering mine":        {me: run("m", 10, ww, d2), others: []Candidate{run("x", 0, ww, d1), run("y", 20, ww, d3)}, want: TurnDecision{Kind: TurnSuperseded, Other: "y"}},
		"several services: a newer one covering part waits":  {me: run("m", 10, ww, d2), others: []Candidate{run("x", 0, ww, d1), run("y", 20, wk, d3)}, want: TurnDecision{Kind: TurnWait, Other: "x"}},
		"several services: a deployment of one since counts": {me: run("m", 100, ww, d1), others: []Candidate{done("p1", 50, ww, d1), done("q", 90, wk, d2)}, want: TurnDecision{Kind: TurnGo}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := tc.me.Start
			if tc.me.Ready.After(now) {
				now = tc.me.Ready
			}
			if got := DecideTurn(tc.me, tc.others, now, window); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fakeSFN serves ListExecutions by status and DescribeExecution by ARN.
type fakeSFN struct {
	list      map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem
	input     map[string]string
	starts    map[string]time.Time
	described []string
}

func (f *fakeSFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return &sfn.ListExecutionsOutput{Executions: f.list[in.StatusFilter]}, nil
}

// testSM is the state machine of the fakes; an execution of it may be
// named by its ARN (testExecution) or, in the tables, by its name alone.
const testSM = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"

func testExecution(name string) string { return executions.ARN(testSM, name) }

// testName is the fakes' key of an execution: its name.
func testName(arn string) string { return strings.TrimPrefix(arn, testExecution("")) }

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	in = &sfn.DescribeExecutionInput{ExecutionArn: aws.String(testName(aws.ToString(in.ExecutionArn)))}
	f.described = append(f.described, aws.ToString(in.ExecutionArn))
	out := &sfn.DescribeExecutionOutput{Input: aws.String(f.input[aws.ToString(in.ExecutionArn)])}
	if start, ok := f.starts[aws.ToString(in.ExecutionArn)]; ok {
		out.StartDate = aws.Time(start)
	}
	if strings.HasPrefix(aws.ToString(in.ExecutionArn), "succeeded-") {
		out.Output = aws.String(`{"environment":"staging","cluster":"staging","deployment":{"done":true}}`)
	}
	// The status the list gives it (RUNNING if not listed).
	out.Status = sfntypes.ExecutionStatusRunning
	for _, items := range f.list {
		for _, it := range items {
			if aws.ToString(it.ExecutionArn) == aws.ToString(in.ExecutionArn) {
				out.Status = it.Status
			}
		}
	}
	return out, nil
}

// ListExecutions sorts by start time: a long execution that stopped a
// minute ago is listed after a short one that stopped long ago, and must
// still count for duplicates.
func TestCandidatesSeeRecentSuccessesListedAfterOldOnes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	item := func(arn string, start, stop time.Duration) sfntypes.ExecutionListItem {
		return sfntypes.ExecutionListItem{ExecutionArn: aws.String(arn), Name: aws.String(arn), Status: sfntypes.ExecutionStatusSucceeded,
			StartDate: aws.Time(now.Add(-start)), StopDate: aws.Time(now.Add(-stop))}
	}
	push := `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"sha256:` + strings.Repeat("a", 64) + `"}}`
	fake := &fakeSFN{
		list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusSucceeded: {
			item("succeeded-short-old", 50*time.Minute, 49*time.Minute),          // started last, stopped long ago
			item("succeeded-long-recent", 3*time.Hour, time.Minute),              // started earlier, stopped a minute ago
			item("succeeded-ancient", MaxExecution+30*time.Minute, MaxExecution), // past window + the longest execution: the listing stops here
			item("succeeded-never-read", MaxExecution+31*time.Minute, time.Minute),
		}},
		input: map[string]string{"succeeded-short-old": push, "succeeded-long-recent": push, "succeeded-never-read": push},
	}
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Config: cfg, Log: quiet}
	got, err := d.candidates(context.Background(), "sm", "me", now, 15*time.Minute, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "succeeded-long-recent" || !got[0].Deployed {
		t.Errorf("candidates = %+v, want only the long execution that stopped a minute ago", got)
	}
}

// A warm CheckTurn describes each execution once while it runs and once
// more when it has succeeded (for its output); inputs never change.
func TestCandidatesDescribeEachExecutionOnce(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	push := `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"sha256:` + strings.Repeat("a", 64) + `"}}`
	item := func(name string, status sfntypes.ExecutionStatus) sfntypes.ExecutionListItem {
		return sfntypes.ExecutionListItem{ExecutionArn: aws.String(name), Name: aws.String(name), Status: status,
			StartDate: aws.Time(now.Add(-time.Minute)), StopDate: aws.Time(now)}
	}
	fake := &fakeSFN{
		list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusRunning: {
			item("a", sfntypes.ExecutionStatusRunning), item("succeeded-b", sfntypes.ExecutionStatusRunning),
		}},
		input: map[string]string{"a": push, "succeeded-b": push},
	}
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Config: cfg, Log: quiet}
	for range 3 {
		if _, err := d.candidates(context.Background(), "sm", "me", now, 15*time.Minute, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.described) != 2 {
		t.Fatalf("described %v over three checks, want each running execution once", fake.described)
	}
	// b succeeds: its output is read once, and it counts as deployed.
	fake.list[sfntypes.ExecutionStatusRunning] = fake.list[sfntypes.ExecutionStatusRunning][:1]
	fake.list[sfntypes.ExecutionStatusSucceeded] = []sfntypes.ExecutionListItem{item("succeeded-b", sfntypes.ExecutionStatusSucceeded)}
	var got []Candidate
	for range 2 {
		if got, err = d.candidates(context.Background(), "sm", "me", now, 15*time.Minute, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.described) != 3 || fake.described[2] != "succeeded-b" {
		t.Fatalf("described %v, want succeeded-b once more", fake.described)
	}
	if len(got) != 2 || !got[1].Deployed || strings.Join(got[1].Services, ",") != "staging/staging-service" {
		t.Fatalf("candidates = %+v", got)
	}
}

// A queued execution gives up (QueueTimedOut) once waiting longer would
// leave its own work too little of the work span.
func TestCheckTurnQueueTimesOut(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging","queueSettle":"0s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := cfg.ByEnvironment("staging")
	left := WorkSpan - target.TurnSpan()
	push := `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"sha256:` + strings.Repeat("a", 64) + `"}}`
	cases := map[string]struct {
		waited  time.Duration
		timeout bool
	}{
		"still time left: waits":          {left - time.Minute, false},
		"past what it may wait: gives up": {left + time.Minute, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			start := now.Add(-tc.waited)
			fake := &fakeSFN{
				list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusRunning: {{ExecutionArn: aws.String("older"), Name: aws.String("older"),
					Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(start.Add(-time.Hour))}}},
				input:  map[string]string{"older": push},
				starts: map[string]time.Time{"me": start},
			}
			d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Config: cfg, Log: quiet, Turns: &fakeTurns{}, TurnsTable: "turns", Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: start, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			var qt *QueueTimedOut
			switch {
			case tc.timeout && (!errors.As(err, &qt) || !strings.Contains(err.Error(), "for execution older")):
				t.Fatalf("err = %v, want QueueTimedOut naming the execution waited for", err)
			case !tc.timeout && (err != nil || out.Turn.Decision != TurnWait):
				t.Fatalf("decision %q, err %v; want WAIT", out.Turn.Decision, err)
			}
		})
	}
}

// decide describes only what the decision needs, and decides as DecideTurn
// does with every execution described: random queues, compared.
func TestDecideDescribesLazilyAndDecidesTheSame(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"},{"repository":"app","tag":"prod"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	push := func(tag, digest string) string {
		return `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"` + tag + `","image-digest":"sha256:` + strings.Repeat(digest, 64) + `"}}`
	}
	rng := rand.New(rand.NewPCG(7, 11))
	lazier := 0
	for round := range 300 {
		fake := &fakeSFN{list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{}, input: map[string]string{}}
		n := 1 + rng.IntN(6)
		for i := range n {
			name := fmt.Sprintf("x%d", i)
			status := sfntypes.ExecutionStatusRunning
			start := now.Add(-time.Duration(rng.IntN(600)) * time.Second)
			item := sfntypes.ExecutionListItem{ExecutionArn: aws.String(name), Name: aws.String(name), Status: status, StartDate: aws.Time(start)}
			if rng.IntN(4) == 0 {
				item.Status, item.StopDate = sfntypes.ExecutionStatusSucceeded, aws.Time(now.Add(-time.Duration(rng.IntN(1200))*time.Second))
				name = "succeeded-" + name
				item.ExecutionArn, item.Name = aws.String(name), aws.String(name)
			}
			fake.list[item.Status] = append(fake.list[item.Status], item)
			tag := []string{"staging", "prod"}[rng.IntN(2)]
			fake.input[name] = push(tag, []string{"a", "b"}[rng.IntN(2)])
		}
		me := Candidate{Name: "me", Start: now.Add(-time.Duration(rng.IntN(600)) * time.Second), Status: "RUNNING", Services: []string{"staging/staging-service"},
			Key: "app:staging@sha256:" + strings.Repeat([]string{"a", "b"}[rng.IntN(2)], 64)}
		me.Ready = me.Start
		window := 15 * time.Minute
		d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Config: cfg, Log: quiet}
		got, err := d.decide(context.Background(), d.executions("sm"), me, now, window, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		lazyReads := len(fake.described)
		all, err := (&Deployer{SFN: &fakeSFN{list: fake.list, input: fake.input}, Config: cfg, Log: quiet}).candidates(context.Background(), "sm", "me", now, window, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if want := DecideTurn(me, all, now, window); got != want {
			t.Fatalf("round %d: decide = %+v, DecideTurn over all = %+v\nme %+v\nothers %+v", round, got, want, me, all)
		}
		if lazyReads < len(fake.list[sfntypes.ExecutionStatusRunning])+len(fake.list[sfntypes.ExecutionStatusSucceeded]) {
			lazier++
		}
	}
	if lazier == 0 {
		t.Error("decide never described fewer executions than all")
	}
}

// throttlingSFN refuses DescribeExecution as Step Functions does past its quota.
type throttlingSFN struct{ fakeSFN }

func (f *throttlingSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, o ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	if aws.ToString(in.ExecutionArn) == "me" {
		return f.fakeSFN.DescribeExecution(ctx, in, o...)
	}
	return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
}

// slowSFN answers DescribeExecution only when the caller gives up.
type slowSFN struct{ fakeSFN }

func (f *slowSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, o ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	if aws.ToString(in.ExecutionArn) == "me" {
		return f.fakeSFN.DescribeExecution(ctx, in, o...)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A queue CheckTurn cannot read in time (throttled past the SDK's retries,
// or past its function's time) is a WAIT, never a failed deployment.
func TestCheckTurnWaitsWhenTheQueueCannotBeRead(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging","queueSettle":"0s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	base := func() fakeSFN {
		return fakeSFN{
			list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusRunning: {{ExecutionArn: aws.String("older"), Name: aws.String("older"),
				Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(now.Add(-time.Hour))}}},
			input:  map[string]string{"older": `{"environment":"staging"}`},
			starts: map[string]time.Time{"me": now.Add(-time.Minute)},
		}
	}
	cases := map[string]struct {
		api     SFNAPI
		timeout time.Duration
	}{
		"throttled":           {&throttlingSFN{base()}, 0},
		"out of its own time": {&slowSFN{base()}, queueReadMargin + 50*time.Millisecond},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			d := &Deployer{ECS: &rolloutsECS{}, SFN: tc.api, Config: cfg, Log: quiet, Turns: &fakeTurns{}, TurnsTable: "turns", Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now.Add(-time.Minute), StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(ctx, s)
			if err != nil || out.Turn.Decision != TurnWait || out.Turn.WaitSeconds < 15 || out.Turn.WaitSeconds > 22 || out.Turn.Throttled != 1 || !strings.Contains(out.Turn.Reason, "could not read the queue in time") {
				t.Fatalf("turn %+v, err %v; want WAIT, checking again", out.Turn, err)
			}
		})
	}
}

// candidates lists and describes every candidate (the other RUNNING
// executions, and the SUCCEEDED ones listCandidates keeps): the reference
// the lazy decide is checked against, and what the listing tests read.
func (d *Deployer) candidates(ctx context.Context, stateMachine, me string, now time.Time, window time.Duration, since time.Time) ([]Candidate, error) {
	r := d.executions(stateMachine)
	running, succeeded, err := d.listCandidates(ctx, r, me, now, window, since)
	if err != nil {
		return nil, err
	}
	return d.describeCandidates(ctx, r, append(running, succeeded...))
}

// With many executions running, a check reads (DescribeExecution) only
// those whose name does not rule them out: named after an environment that
// shares none of its services, an execution is skipped; one with another
// kind of name is read.
func TestCheckReadsOnlyExecutionsThatMayShare(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging","queueSettle":"0s"},{"repository":"app","tag":"prod"},
	  {"repository":"app","tag":"dev","cluster":"staging","services":["staging-service","dev-service"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	manual := func(env string) string { return `{"environment":"` + env + `"}` }
	fake := &fakeSFN{list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{}, input: map[string]string{}, starts: map[string]time.Time{}}
	names := map[string]string{
		executions.ExecutionName("prod", "", now.Add(-3*time.Minute), "a1"):  "prod",
		executions.ExecutionName("prod", "", now.Add(-2*time.Minute), "a2"):  "prod",
		executions.ExecutionName("dev", "", now.Add(-2*time.Minute), "b1"):   "dev", // shares staging-service
		executions.ExecutionName("staging", "", now.Add(-time.Minute), "c1"): "staging",
		"12be8f07-8a48-67d1-e4a3-c6f618e5ce2d":                               "prod", // a name of another form: read
	}
	for name, env := range names {
		fake.list[sfntypes.ExecutionStatusRunning] = append(fake.list[sfntypes.ExecutionStatusRunning], sfntypes.ExecutionListItem{
			ExecutionArn: aws.String(name), Name: aws.String(name), Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(now.Add(-4 * time.Minute))})
		fake.input[name] = manual(env)
	}
	me := "staging-tag-20261125T120000Z-me"
	fake.starts[me] = now
	fake.input[me] = manual("staging")
	d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Config: cfg, Log: quiet, Turns: &fakeTurns{}, TurnsTable: "turns", Now: func() time.Time { return now }}
	s := State{Execution: Execution{ID: me, Name: me, StartTime: now, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
		Turn: Turn{PollSeconds: 15}}
	out, err := d.CheckTurn(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	// (Which are read: the one waited for is read twice, its status
	// confirmed before the wait.)
	var read []string
	for _, n := range fake.described {
		if n != me && !slices.Contains(read, n) {
			read = append(read, n)
		}
	}
	sort.Strings(read)
	want := []string{"12be8f07-8a48-67d1-e4a3-c6f618e5ce2d", executions.ExecutionName("dev", "", now.Add(-2*time.Minute), "b1"), executions.ExecutionName("staging", "", now.Add(-time.Minute), "c1")}
	sort.Strings(want)
	if !reflect.DeepEqual(read, want) {
		t.Errorf("read %v, want %v", read, want)
	}
	if out.Turn.Decision != TurnWait {
		t.Errorf("decision %+v, want WAIT behind the dev or staging execution", out.Turn)
	}
}

// ResolveTarget refuses an execution whose name says another environment
// than its input deploys: the queue would misread it.
func TestResolveRefusesAMisleadingName(t *testing.T) {
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"},{"repository":"app","tag":"prod"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployer{Config: cfg, Log: quiet}
	name := executions.ExecutionName("staging", "", time.Now(), "x1")
	_, err = d.ResolveTarget(context.Background(), ResolveInput{Input: json.RawMessage(`{"environment":"prod"}`), Execution: Execution{Name: name}})
	var invalid *InvalidInput
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "says environment staging, but its input deploys prod") {
		t.Fatalf("error %v, want InvalidInput naming both environments", err)
	}
}

// Checks throttled in a row wait longer each time, spread at random.
func TestThrottledWait(t *testing.T) {
	cases := []struct {
		poll, inARow int
		r            float64
		want         int
	}{
		{15, 1, 0, 15},
		{15, 1, 0.99, 22},
		{15, 2, 0, 30},
		{15, 3, 0.5, 75},
		{15, 5, 0, 240},
		{15, 50, 0.99, 358},
		{0, 1, 0, 1},
	}
	for _, tc := range cases {
		if got := ThrottledWait(tc.poll, tc.inARow, tc.r); got != tc.want {
			t.Errorf("ThrottledWait(%d, %d, %g) = %d, want %d", tc.poll, tc.inARow, tc.r, got, tc.want)
		}
	}
}
