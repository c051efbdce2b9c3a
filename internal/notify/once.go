package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// Notify once. EventBridge delivers an event at least once, and Lambda
// retries an asynchronous invocation that failed: the same execution's end
// can reach Notify twice, at once or minutes apart. Each end is claimed
// first, with a conditional write to the notified table keyed by the
// execution's ARN; only the claimant publishes and counts the metrics, then
// marks the item done. A publish that fails marks it failed, so that the
// retry claims it again. An invocation that dies between its claim and
// "done" (a timeout) leaves the item "publishing": the deliveries that find
// it so fail, Lambda retries them, and after its retries the event is in
// the dead-letter queue and NotifyErrorsAlarm fires. So a message is sent at
// most once, and one that may not have been sent is alarmed, never silent.
// Items expire after onceTTL (DynamoDB's TTL; it deletes them within days,
// and no later delivery of an execution's end can come that late).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html

// Once holds the claims: the table (NOTIFIED_TABLE) and its client.
type Once struct {
	DB    deploy.ItemsAPI
	Table string
	Now   func() time.Time
}

// The notified table's attributes and an item's states.
const (
	onceExecution                        = "execution" // the partition key: the execution's ARN
	onceState                            = "state"
	onceExpires                          = "expires" // epoch seconds, the table's TTL attribute
	oncePublishing, onceDone, onceFailed = "publishing", "done", "failed"
	onceTTL                              = 30 * 24 * time.Hour
)

// ErrBeingNotified says another delivery of the same end holds its claim
// (or died holding it): the invocation fails, and Lambda retries it.
var ErrBeingNotified = errors.New("another delivery of this execution's end is being notified (or its invocation died while it was): retried; after Lambda's retries it is in the dead-letter queue")

// claim takes the execution's end for this delivery: false when it was
// notified already.
func (o *Once) claim(ctx context.Context, execution string) (bool, error) {
	err := o.put(ctx, execution, oncePublishing, true)
	if err == nil {
		return true, nil
	}
	var cancelled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false, fmt.Errorf("claim the notification of %s: %w", execution, err)
	}
	got, gerr := o.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(o.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{onceExecution: &ddbtypes.AttributeValueMemberS{Value: execution}}})
	if gerr != nil {
		return false, fmt.Errorf("read the notification of %s: %w", execution, gerr)
	}
	if s, ok := got.Item[onceState].(*ddbtypes.AttributeValueMemberS); ok && s.Value == onceDone {
		return false, nil
	}
	// Publishing (or failed a moment ago, or the write lost a race):
	// the retry decides.
	return false, ErrBeingNotified
}

// put writes the item in a state; claiming, on condition that nobody
// holds it (no item, or one whose publish failed).
func (o *Once) put(ctx context.Context, execution, state string, claiming bool) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	p := &ddbtypes.Put{TableName: aws.String(o.Table), Item: map[string]ddbtypes.AttributeValue{
		onceExecution: &ddbtypes.AttributeValueMemberS{Value: execution},
		onceState:     &ddbtypes.AttributeValueMemberS{Value: state},
		onceExpires:   &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now().Add(onceTTL).Unix(), 10)},
	}}
	if claiming {
		p.ConditionExpression = aws.String("attribute_not_exists(#execution) OR #state = :failed")
		p.ExpressionAttributeNames = map[string]string{"#execution": onceExecution, "#state": onceState}
		p.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":failed": &ddbtypes.AttributeValueMemberS{Value: onceFailed}}
	}
	_, err := o.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{Put: p}}})
	return err
}
