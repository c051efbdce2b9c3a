package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// The turns table holds, per service, the execution that took its turn
// last. ListExecutions, which the queue reads, is eventually consistent
// with no documented bound, so two executions that start together may each
// list no other and both decide GO. Taking the turn is therefore a
// conditional write, all the services of an execution at once: the item is
// absent, or still held by the execution read a moment before. Of two
// executions that both decided GO one write succeeds; the other answers
// WAIT and checks again. The turn is never given back: the next execution
// takes it over once Step Functions says its holder has ended, however it
// ended (an execution stopped by hand runs no last step).
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html

// ItemsAPI is the part of DynamoDB the stack's tables are read and written
// with: GetItem, and TransactWriteItems for conditional Puts (authorized as
// dynamodb:PutItem). CheckTurn holds turns with it, Notify claims ends,
// the promoter API records promotions and ResolveTarget reads them.
type ItemsAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ ItemsAPI = (*dynamodb.Client)(nil)

// The turns table's attributes: the partition key, then the holder.
const (
	turnService   = "service"   // "cluster/service"
	turnExecution = "execution" // the holder's execution ARN
	turnName      = "name"      // its name, for people reading the table
	turnSince     = "since"     // when it took the turn, RFC 3339
)

// held is a service's turn as the table says: its holder ("" for none).
type held struct {
	service, execution, name string
	since                    time.Time
}

// readTurns reads each service's turn with strongly consistent reads.
func (d *Deployer) readTurns(ctx context.Context, services []string) ([]held, error) {
	out := make([]held, 0, len(services))
	for _, svc := range services {
		got, err := d.Turns.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.TurnsTable), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{turnService: &ddbtypes.AttributeValueMemberS{Value: svc}}})
		if err != nil {
			return nil, fmt.Errorf("read the turn of %s: %w", svc, err)
		}
		h := held{service: svc, execution: str(got.Item[turnExecution]), name: str(got.Item[turnName])}
		h.since, _ = time.Parse(time.RFC3339, str(got.Item[turnSince]))
		out = append(out, h)
	}
	return out, nil
}

func str(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// holders describes the executions other than me that hold a turn of mine,
// as the queue sees candidates, with their status as Step Functions tells
// it now. An execution it does not know yet counts as RUNNING. A holder it
// may not read (an execution of another state machine, such as a replaced
// stack's, or one its policy does not let it describe) is set aside with a
// note: the turn is free as far as this deployer knows, and ECS's own
// record of the service (waitForECS) still stops a deployment over a
// rollout under way.
func (d *Deployer) holders(ctx context.Context, r *executions.Reader, me string, turns []held, now time.Time) ([]Candidate, []string, error) {
	var out []Candidate
	var notes []string
	seen := map[string]bool{}
	for _, h := range turns {
		if h.execution == "" || h.execution == me || seen[h.execution] {
			continue
		}
		seen[h.execution] = true
		if !executions.OfStateMachine(h.execution, r.StateMachine) {
			notes = append(notes, foreignHolderNote(h, "is an execution of another state machine (a renamed or replaced stack)"))
			continue
		}
		e, _, err := d.reread(ctx, r, aws.String(h.execution))
		switch {
		case executions.Gone(err) && now.Sub(h.since) < unseenHolder:
			// Its start is not known: taken as the oldest, it is waited
			// for, never taken to supersede.
			out = append(out, Candidate{Name: h.name, Status: "RUNNING", Services: []string{h.service}})
			continue
		case executions.Gone(err):
			continue
		case executions.Denied(err):
			notes = append(notes, foreignHolderNote(h, "may not be described (DescribeExecution was denied)"))
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("read execution %s, which holds the turn of %s: %w", h.name, h.service, err)
		}
		c, err := d.heldBy(ctx, r, h, e)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	return out, notes, nil
}

// heldBy is a holder as the queue sees a candidate. reread cached what it
// deploys, so candidate does not read it again.
func (d *Deployer) heldBy(ctx context.Context, r *executions.Reader, h held, e executions.Execution) (Candidate, error) {
	item := sfntypes.ExecutionListItem{ExecutionArn: aws.String(e.ARN), Name: aws.String(e.Name), Status: e.Status, StartDate: aws.Time(e.Start), StopDate: stopDate(e)}
	c, ok, err := d.candidate(ctx, r, item)
	if err != nil {
		return Candidate{}, err
	}
	if !ok { // its input names no target now: it holds the turn as long as it runs
		c = Candidate{Name: e.Name, Start: e.Start, Status: string(e.Status), Services: []string{h.service}}
		c.Ready = c.Start
	}
	return c, nil
}

// foreignHolderNote says which holder was set aside, and why.
func foreignHolderNote(h held, why string) string {
	return fmt.Sprintf("the turn of %s was held by %s, which %s: set aside as ended (ECS is asked whether a rollout of it is still under way)", h.service, h.execution, why)
}

// stopDate is an ended execution's stop, as ListExecutions gives it.
func stopDate(e executions.Execution) *time.Time {
	if e.Stop.IsZero() {
		return nil
	}
	return aws.Time(e.Stop)
}

// turnRead is what decideHeld read and decided.
type turnRead struct {
	dec   TurnDecision
	turns []held
	// note says which holders it set aside (holders).
	note string
}

// decideHeld reads the turns of me's services and decides as the queue's
// list and the turns' holders say together (decide, then HeldTurn).
func (d *Deployer) decideHeld(ctx context.Context, ex Execution, me Candidate, now time.Time, window time.Duration, since time.Time) (turnRead, error) {
	turns, err := d.readTurns(ctx, me.Services)
	if err != nil {
		return turnRead{}, err
	}
	r := d.executions(ex.StateMachine)
	holders, notes, err := d.holders(ctx, r, ex.ID, turns, now)
	if err != nil {
		return turnRead{}, err
	}
	dec, err := d.decide(ctx, r, me, now, window, since, holders)
	if err != nil {
		return turnRead{}, err
	}
	return turnRead{dec: HeldTurn(dec, me, holders), turns: turns, note: strings.Join(notes, "; ")}, nil
}

// takeTurns writes me as the holder of every service's turn, on condition
// that each is still held as read (or still free). It reports false when
// another execution took one first: nothing was written.
func (d *Deployer) takeTurns(ctx context.Context, me Execution, turns []held, now time.Time) (bool, error) {
	var items []ddbtypes.TransactWriteItem
	for _, h := range turns {
		if h.execution == me.ID {
			continue
		}
		put := &ddbtypes.Put{TableName: aws.String(d.TurnsTable), Item: map[string]ddbtypes.AttributeValue{
			turnService:   &ddbtypes.AttributeValueMemberS{Value: h.service},
			turnExecution: &ddbtypes.AttributeValueMemberS{Value: me.ID},
			turnName:      &ddbtypes.AttributeValueMemberS{Value: me.Name},
			turnSince:     &ddbtypes.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339)},
		}}
		if h.execution == "" {
			put.ConditionExpression = aws.String("attribute_not_exists(#service)")
			put.ExpressionAttributeNames = map[string]string{"#service": turnService}
		} else {
			put.ConditionExpression = aws.String("#execution = :holder")
			put.ExpressionAttributeNames = map[string]string{"#execution": turnExecution}
			put.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":holder": &ddbtypes.AttributeValueMemberS{Value: h.execution}}
		}
		items = append(items, ddbtypes.TransactWriteItem{Put: put})
	}
	if len(items) == 0 {
		return true, nil
	}
	_, err := d.Turns.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil && LostTurnRace(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take the turn: %w", err)
	}
	return true, nil
}

// raceReasons are the cancellation reasons of a TransactWriteItems that
// another writer, or DynamoDB's own load, made fail: none is ours to fix, so
// the turn is not taken this time and the check runs again. DynamoDB's
// TransactionCanceledException: "ConditionalCheckFailed", "TransactionConflict"
// ("an ongoing TransactWriteItems operation that conflicts with a concurrent
// TransactWriteItems request"), "ProvisionedThroughputExceeded",
// "ThrottlingError"; "None" is an item that did not fail.
// ValidationError and ItemCollectionSizeLimitExceeded are ours (a request
// DynamoDB refuses whatever the timing), and stay errors.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
var raceReasons = []string{"None", "ConditionalCheckFailed", "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"}

// LostTurnRace says a failed TransactWriteItems lost to another writer or to
// DynamoDB's load rather than being refused: a cancellation all of whose
// reasons are races, or a transaction still in progress on one of its items
// after the SDK's own retries (TransactionInProgressException). A
// cancellation without reasons, which DynamoDB does not document, is taken
// as a race too: waiting is safe, and QueueTimedOut bounds it.
func LostTurnRace(err error) bool {
	var inProgress *ddbtypes.TransactionInProgressException
	if errors.As(err, &inProgress) {
		return true
	}
	var cancelled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false
	}
	for _, r := range cancelled.CancellationReasons {
		if !slices.Contains(raceReasons, aws.ToString(r.Code)) {
			return false
		}
	}
	return true
}
