package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

// fakeTurns is a turns table: items by service, and the two conditions
// takeTurns writes with (the emulator's wire tests check the real ones).
type fakeTurns struct {
	items  map[string]map[string]ddbtypes.AttributeValue
	writes int
	// fail are the answers of the next writes, in order, before any is
	// applied: DynamoDB's cancellations that are not a failed condition.
	fail []error
}

func (f *fakeTurns) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.items[str(in.Key[turnService])]}, nil
}

func (f *fakeTurns) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, err
	}
	var reasons []ddbtypes.CancellationReason
	failed := false
	for _, x := range in.TransactItems {
		cur := f.items[str(x.Put.Item[turnService])]
		ok := cur == nil
		if aws.ToString(x.Put.ConditionExpression) == "#execution = :holder" {
			ok = cur != nil && str(cur[turnExecution]) == str(x.Put.ExpressionAttributeValues[":holder"])
		}
		code := "None"
		if !ok {
			code, failed = "ConditionalCheckFailed", true
		}
		reasons = append(reasons, ddbtypes.CancellationReason{Code: aws.String(code)})
	}
	if failed {
		return nil, &ddbtypes.TransactionCanceledException{CancellationReasons: reasons}
	}
	if f.items == nil {
		f.items = map[string]map[string]ddbtypes.AttributeValue{}
	}
	for _, x := range in.TransactItems {
		f.items[str(x.Put.Item[turnService])] = x.Put.Item
	}
	f.writes++
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (f *fakeTurns) holder(service string) string {
	return testName(str(f.items[service][turnExecution]))
}

func TestHeldTurn(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	me := Candidate{Name: "me", Start: t0, Status: "RUNNING", Services: []string{"c/a", "c/b"}, Key: "app:t@sha256:1"}
	h := func(name string, start int, status string, deployed bool, services ...string) Candidate {
		return Candidate{Name: name, Start: t0.Add(time.Duration(start) * time.Second), Status: status, Deployed: deployed, Services: services}
	}
	goDec := TurnDecision{Kind: TurnGo}
	cases := []struct {
		name    string
		dec     TurnDecision
		holders []Candidate
		want    TurnDecision
	}{
		{"no holder", goDec, nil, goDec},
		{"me", goDec, []Candidate{h("me", 0, "RUNNING", false, "c/a", "c/b")}, goDec},
		{"an older holder still running: wait", goDec, []Candidate{h("old", -5, "RUNNING", false, "c/a")}, TurnDecision{TurnWait, "old"}},
		{"a newer holder running that covers me: superseded", goDec, []Candidate{h("new", 5, "RUNNING", false, "c/a", "c/b")}, TurnDecision{TurnSuperseded, "new"}},
		{"a newer holder running that covers part: wait", goDec, []Candidate{h("new", 5, "RUNNING", false, "c/a")}, TurnDecision{TurnWait, "new"}},
		{"a newer holder that deployed all of mine: superseded", goDec, []Candidate{h("new", 5, "SUCCEEDED", true, "c/a", "c/b")}, TurnDecision{TurnSuperseded, "new"}},
		{"a newer holder that failed: go", goDec, []Candidate{h("new", 5, "FAILED", false, "c/a", "c/b")}, goDec},
		{"a newer holder that deployed nothing: go", goDec, []Candidate{h("new", 5, "SUCCEEDED", false, "c/a", "c/b")}, goDec},
		{"an older holder that ended: go", goDec, []Candidate{h("old", -5, "SUCCEEDED", true, "c/a", "c/b")}, goDec},
		{"a holder of the same push, newer: a duplicate", goDec, []Candidate{{Name: "again", Start: t0.Add(time.Second), Status: "RUNNING", Services: []string{"c/a", "c/b"}, Key: "app:t@sha256:1"}},
			TurnDecision{TurnDuplicate, "again"}},
		{"a WAIT stands", TurnDecision{TurnWait, "x"}, []Candidate{h("new", 5, "RUNNING", false, "c/a", "c/b")}, TurnDecision{TurnWait, "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := HeldTurn(tc.dec, me, tc.holders); got != tc.want {
				t.Fatalf("HeldTurn = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// statusSFN is fakeSFN that also tells each execution's name, status and
// stop, as DescribeExecution does, and that some do not exist.
type statusSFN struct {
	fakeSFN
	status  map[string]sfntypes.ExecutionStatus
	missing map[string]bool
	denied  map[string]bool
}

func (f *statusSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, o ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	arn := testName(aws.ToString(in.ExecutionArn))
	in = &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}
	if f.denied[arn] {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: states:DescribeExecution on resource: " + arn}
	}
	if f.missing[arn] {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + arn + "'")}
	}
	out, err := f.fakeSFN.DescribeExecution(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	out.ExecutionArn, out.Name, out.Status = in.ExecutionArn, in.ExecutionArn, f.status[arn]
	if out.Status != sfntypes.ExecutionStatusRunning {
		out.StopDate = aws.Time(f.starts[arn].Add(time.Minute))
	}
	return out, nil
}

// Two executions of a service that start together, neither listed to the
// other (ListExecutions is eventually consistent): both decide GO from the
// list, and the turns table lets one of them go. Then the table's holder
// decides what the list cannot see.
func TestCheckTurnTakesTheTurnOnce(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	push := func(digest string) string {
		return `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"app","image-tag":"staging","image-digest":"sha256:` + strings.Repeat(digest, 64) + `"}}`
	}
	state := func(name, digest string) State {
		return State{Execution: Execution{ID: testExecution(name), Name: name, StartTime: now, StateMachine: testSM}, Environment: "staging", Cluster: "staging", Service: "staging-service",
			Trigger: Trigger{Type: "push"}, Image: Image{Repository: "app", Tag: "staging", Digest: "sha256:" + strings.Repeat(digest, 64)}, Turn: Turn{PollSeconds: 15}}
	}
	type step struct {
		who, digest string
		status      map[string]sfntypes.ExecutionStatus // others', as DescribeExecution tells
		missing     string
		want        string
		other       string
		holder      string // the table's holder after the check
	}
	cases := map[string][]step{
		"both decide GO from the list; one takes the turn": {
			{who: "first", digest: "a", want: TurnGo, holder: "first"},
			{who: "second", digest: "b", status: map[string]sfntypes.ExecutionStatus{"first": "RUNNING"}, want: TurnWait, other: "first", holder: "first"},
			{who: "second", digest: "b", status: map[string]sfntypes.ExecutionStatus{"first": "SUCCEEDED"}, want: TurnGo, holder: "second"},
		},
		"the holder the list misses is newer: the older is superseded": {
			{who: "z-newer", digest: "b", want: TurnGo, holder: "z-newer"},
			{who: "a-older", digest: "a", status: map[string]sfntypes.ExecutionStatus{"z-newer": "RUNNING"}, want: TurnSuperseded, other: "z-newer", holder: "z-newer"},
		},
		"a newer holder that deployed supersedes an older one after it ended": {
			{who: "z-newer", digest: "b", want: TurnGo, holder: "z-newer"},
			{who: "a-older", digest: "a", status: map[string]sfntypes.ExecutionStatus{"z-newer": "SUCCEEDED"}, want: TurnSuperseded, other: "z-newer", holder: "z-newer"},
		},
		"the same image after the holder deployed it: a duplicate": {
			{who: "first", digest: "a", want: TurnGo, holder: "first"},
			{who: "second", digest: "a", status: map[string]sfntypes.ExecutionStatus{"first": "SUCCEEDED"}, want: TurnDuplicate, other: "first", holder: "first"},
		},
		"a holder Step Functions cannot read yet is waited for": {
			{who: "first", digest: "a", want: TurnGo, holder: "first"},
			{who: "second", digest: "b", missing: "first", want: TurnWait, holder: "first"},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			turns := &fakeTurns{}
			for i, st := range steps {
				fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{}, starts: map[string]time.Time{}}, status: st.status, missing: map[string]bool{st.missing: st.missing != ""}}
				for _, x := range steps {
					fake.input[x.who], fake.starts[x.who] = push(x.digest), now
				}
				if fake.status == nil {
					fake.status = map[string]sfntypes.ExecutionStatus{}
				}
				fake.status[st.who] = sfntypes.ExecutionStatusRunning
				// z-newer started a second after a-older.
				fake.starts["z-newer"] = now.Add(time.Second)
				d := &Deployer{ECS: &rolloutsECS{}, SFN: &deployedSFN{fake}, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now.Add(2*time.Second + time.Duration(i)*time.Minute) }}
				s := state(st.who, st.digest)
				s.Execution.StartTime = fake.starts[st.who]
				s.Turn.DuplicateWindowSeconds = 3600
				out, err := d.CheckTurn(context.Background(), s)
				if err != nil {
					t.Fatalf("step %d (%s): %v", i+1, st.who, err)
				}
				tr := out.Turn
				other := tr.WaitingFor + tr.SupersededBy + tr.DuplicateOf
				if tr.Decision != st.want || (st.other != "" && other != st.other) || turns.holder("staging/staging-service") != st.holder {
					t.Fatalf("step %d (%s): %s (other %q, %s), holder %q; want %s (other %q), holder %q", i+1, st.who, tr.Decision, other, tr.Reason, turns.holder("staging/staging-service"), st.want, st.other, st.holder)
				}
			}
		})
	}
}

// deployedSFN says a SUCCEEDED execution deployed, as its output does.
type deployedSFN struct{ *statusSFN }

func (f *deployedSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, o ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	out, err := f.statusSFN.DescribeExecution(ctx, in, o...)
	if err == nil && out.Status == sfntypes.ExecutionStatusSucceeded {
		out.Output = aws.String(`{"environment":"staging","cluster":"staging","deployment":{"done":true}}`)
	}
	return out, err
}

// ListExecutions lags: an execution that ended a moment ago may still be
// listed RUNNING. Before it waits for one, a check reads its status again;
// an ended status is never stale.
func TestCheckTurnConfirmsTheExecutionItWouldWaitFor(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for status, want := range map[sfntypes.ExecutionStatus]string{sfntypes.ExecutionStatusRunning: TurnWait, sfntypes.ExecutionStatusSucceeded: TurnGo, sfntypes.ExecutionStatusFailed: TurnGo} {
		t.Run(string(status), func(t *testing.T) {
			fake := &statusSFN{fakeSFN: fakeSFN{
				list: map[sfntypes.ExecutionStatus][]sfntypes.ExecutionListItem{sfntypes.ExecutionStatusRunning: {{ExecutionArn: aws.String("older"), Name: aws.String("older"),
					Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(now.Add(-time.Minute))}}},
				input:  map[string]string{"older": `{"environment":"staging"}`, "me": `{"environment":"staging"}`},
				starts: map[string]time.Time{"me": now, "older": now.Add(-time.Minute)},
			}, status: map[string]sfntypes.ExecutionStatus{"older": status, "me": sfntypes.ExecutionStatusRunning}}
			d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: &fakeTurns{}, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if err != nil || out.Turn.Decision != want {
				t.Fatalf("older %s: decision %s (%s), err %v; want %s", status, out.Turn.Decision, out.Turn.Reason, err, want)
			}
		})
	}
}

func TestLostTurnRace(t *testing.T) {
	cancelled := func(codes ...string) error {
		var reasons []ddbtypes.CancellationReason
		for _, c := range codes {
			reasons = append(reasons, ddbtypes.CancellationReason{Code: aws.String(c)})
		}
		return fmt.Errorf("take: %w", &ddbtypes.TransactionCanceledException{CancellationReasons: reasons})
	}
	// Reasons from TransactionCanceledException's documentation.
	cases := map[string]struct {
		err  error
		lost bool
	}{
		"condition failed":                  {cancelled("ConditionalCheckFailed", "None"), true},
		"conflict with a concurrent write":  {cancelled("None", "TransactionConflict"), true},
		"throttled item":                    {cancelled("ThrottlingError"), true},
		"provisioned throughput exceeded":   {cancelled("ProvisionedThroughputExceeded", "None"), true},
		"still in progress after retries":   {&ddbtypes.TransactionInProgressException{}, true},
		"no reasons given":                  {cancelled(), true},
		"validation error is ours to fix":   {cancelled("ValidationError", "None"), false},
		"item collection too large is ours": {cancelled("ItemCollectionSizeLimitExceeded"), false},
		"a conflict beside a validation":    {cancelled("TransactionConflict", "ValidationError"), false},
		"not a cancellation":                {errors.New("connection reset"), false},
		"resource not found":                {&ddbtypes.ResourceNotFoundException{}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := LostTurnRace(tc.err); got != tc.lost {
				t.Fatalf("LostTurnRace(%v) = %v, want %v", tc.err, got, tc.lost)
			}
		})
	}
}

// A TransactWriteItems that DynamoDB cancels for a conflict with a
// concurrent transaction, or for throttling, lost the race like a failed
// condition: the check WAITs and takes the turn next time; one DynamoDB
// refuses (ValidationError) is an error.
func TestCheckTurnWaitsWhenTheWriteIsCancelled(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cancel := func(code string) error {
		return &ddbtypes.TransactionCanceledException{CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String(code)}}}
	}
	for _, tc := range []struct {
		code    string
		wantErr bool
	}{{"TransactionConflict", false}, {"ThrottlingError", false}, {"ProvisionedThroughputExceeded", false}, {"ValidationError", true}} {
		t.Run(tc.code, func(t *testing.T) {
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": now}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}}
			turns := &fakeTurns{fail: []error{cancel(tc.code)}}
			d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "ValidationError") && !strings.Contains(err.Error(), "TransactionCanceled") {
					t.Fatalf("err = %v, want the refusal", err)
				}
				return
			}
			if err != nil || out.Turn.Decision != TurnWait || turns.holder("staging/staging-service") != "" {
				t.Fatalf("first check: %s (%s), err %v, holder %q; want WAIT, no holder", out.Turn.Decision, out.Turn.Reason, err, turns.holder("staging/staging-service"))
			}
			out, err = d.CheckTurn(context.Background(), out)
			if err != nil || out.Turn.Decision != TurnGo || turns.holder("staging/staging-service") != "me" {
				t.Fatalf("second check: %s (%s), err %v; want GO holding the turn", out.Turn.Decision, out.Turn.Reason, err)
			}
		})
	}
}

// DescribeExecution is eventually consistent: a moment after its start an
// execution may not be able to describe itself. That is a short WAIT, not
// InternalError; the next check goes on.
func TestCheckTurnWaitsWhileItsOwnExecutionIsNotDescribedYet(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": now}},
		status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}, missing: map[string]bool{"me": true}}
	turns := &fakeTurns{}
	d := &Deployer{ECS: &rolloutsECS{}, SFN: fake, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
	s := State{Execution: Execution{ID: "me", Name: "me", StartTime: now, StateMachine: "sm"}, Environment: "staging", Cluster: "staging", Service: "staging-service",
		Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
	out, err := d.CheckTurn(context.Background(), s)
	if err != nil || out.Turn.Decision != TurnWait || out.Turn.WaitSeconds < 1 || turns.writes != 0 {
		t.Fatalf("not described yet: %s (%s, %d s), err %v, %d writes; want a short WAIT, nothing written", out.Turn.Decision, out.Turn.Reason, out.Turn.WaitSeconds, err, turns.writes)
	}
	fake.missing = nil
	if out, err = d.CheckTurn(context.Background(), out); err != nil || out.Turn.Decision != TurnGo {
		t.Fatalf("described: %s (%s), %v; want GO", out.Turn.Decision, out.Turn.Reason, err)
	}
}

// A turn held by an execution this deployer may not read (one of another
// state machine, such as a renamed stack's, or one DescribeExecution is
// denied on) is set aside with a note, never an InternalError that stops
// every deployment of the service; ECS's record still holds a deployment
// back while a rollout is under way.
func TestCheckTurnSetsAsideHoldersItCannotRead(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("t.json", []byte(`{"targets":[{"repository":"app","tag":"staging"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	foreign := "arn:aws:states:us-east-1:123456789012:execution:OldStack-sm:staging-tag-20261120T000000Z-x"
	inFlight := map[string][]ecstypes.ServiceDeploymentBrief{"staging-service": {{ServiceDeploymentArn: aws.String("arn:aws:ecs:r:1:service-deployment/staging/old"), Status: "IN_PROGRESS"}}}
	cases := []struct {
		name, holder string
		denied       bool
		rollouts     map[string][]ecstypes.ServiceDeploymentBrief
		want, note   string
	}{
		{"another state machine's execution", foreign, false, nil, TurnGo, "another state machine"},
		{"an execution it may not describe", testExecution("hidden"), true, nil, TurnGo, "DescribeExecution was denied"},
		{"another state machine's, with its rollout under way", foreign, false, inFlight, TurnWait, "another state machine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &statusSFN{fakeSFN: fakeSFN{input: map[string]string{"me": `{"environment":"staging"}`}, starts: map[string]time.Time{"me": now}},
				status: map[string]sfntypes.ExecutionStatus{"me": sfntypes.ExecutionStatusRunning}, denied: map[string]bool{"hidden": tc.denied}}
			turns := &fakeTurns{items: map[string]map[string]ddbtypes.AttributeValue{"staging/staging-service": {
				turnService: &ddbtypes.AttributeValueMemberS{Value: "staging/staging-service"}, turnExecution: &ddbtypes.AttributeValueMemberS{Value: tc.holder},
				turnName: &ddbtypes.AttributeValueMemberS{Value: "x"}, turnSince: &ddbtypes.AttributeValueMemberS{Value: now.Add(-time.Hour).Format(time.RFC3339)}}}}
			d := &Deployer{ECS: &rolloutsECS{rollouts: tc.rollouts}, SFN: fake, Turns: turns, TurnsTable: "turns", Config: cfg, Log: quiet, Now: func() time.Time { return now }}
			s := State{Execution: Execution{ID: testExecution("me"), Name: "me", StartTime: now, StateMachine: testSM}, Environment: "staging", Cluster: "staging", Service: "staging-service",
				Trigger: Trigger{Type: "manual"}, Turn: Turn{PollSeconds: 15}}
			out, err := d.CheckTurn(context.Background(), s)
			if err != nil || out.Turn.Decision != tc.want || !strings.Contains(out.Turn.Note, tc.note) || !strings.Contains(out.Turn.Note, tc.holder) {
				t.Fatalf("decision %s (%s; note %q), err %v; want %s with a note naming %s", out.Turn.Decision, out.Turn.Reason, out.Turn.Note, err, tc.want, tc.holder)
			}
			wantHolder := "me"
			if tc.want == TurnWait {
				wantHolder = testName(tc.holder)
			} else if !strings.Contains(out.Turn.Reason, tc.note) {
				t.Fatalf("GO's reason %q does not say what it set aside", out.Turn.Reason)
			}
			if got := turns.holder("staging/staging-service"); got != wantHolder {
				t.Fatalf("holder %q, want %q", got, wantHolder)
			}
		})
	}
}
