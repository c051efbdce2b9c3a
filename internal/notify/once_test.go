package notify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeOnce is the notified table: items by execution, and the one
// condition claim writes with (the e2e tests run the real one against the
// emulator's DynamoDB).
type fakeOnce struct {
	items map[string]string // execution → state
	// failWrites fails that many writes before any is applied.
	failWrites int
}

func (f *fakeOnce) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	k := in.Key[onceExecution].(*ddbtypes.AttributeValueMemberS).Value
	if st, ok := f.items[k]; ok {
		return &dynamodb.GetItemOutput{Item: map[string]ddbtypes.AttributeValue{onceState: &ddbtypes.AttributeValueMemberS{Value: st}}}, nil
	}
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fakeOnce) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.failWrites > 0 {
		f.failWrites--
		return nil, errors.New("connection reset")
	}
	p := in.TransactItems[0].Put
	k := p.Item[onceExecution].(*ddbtypes.AttributeValueMemberS).Value
	st, held := f.items[k]
	if aws.ToString(p.ConditionExpression) == "attribute_not_exists(#execution) OR #state = :failed" && held && st != onceFailed {
		return nil, &ddbtypes.TransactionCanceledException{CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("ConditionalCheckFailed")}}}
	}
	if f.items == nil {
		f.items = map[string]string{}
	}
	f.items[k] = p.Item[onceState].(*ddbtypes.AttributeValueMemberS).Value
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// One execution's end delivered twice, and again after a failed publish:
// one message, one set of metrics.
func TestNotifyOnce(t *testing.T) {
	const arn = failedARN
	type delivery struct {
		publishFails bool
		writeFails   int
		wantErr      error // nil, ErrBeingNotified, or any (errAny)
		wantSent     int   // messages sent so far
	}
	errAny := errors.New("any")
	cases := map[string]struct {
		before     map[string]string
		deliveries []delivery
	}{
		"delivered twice":                   {deliveries: []delivery{{wantSent: 1}, {wantSent: 1}}},
		"publish fails, the retry sends it": {deliveries: []delivery{{publishFails: true, wantErr: errAny}, {wantSent: 1}, {wantSent: 1}}},
		"a delivery while another publishes": {before: map[string]string{arn: oncePublishing},
			deliveries: []delivery{{wantErr: ErrBeingNotified}}},
		"the claim cannot be written: nothing sent, retried": {deliveries: []delivery{{writeFails: 1, wantErr: errAny}, {wantSent: 1}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pub := &fakeSNS{}
			once := &fakeOnce{items: tc.before}
			var out strings.Builder
			n, ev := failedEnd(t, pub, once, &out)
			for i, dl := range tc.deliveries {
				if dl.publishFails {
					pub.fail = 1
				}
				once.failWrites = dl.writeFails
				_, err := n.Handle(t.Context(), ev)
				switch {
				case dl.wantErr == nil && err != nil, dl.wantErr == errAny && err == nil,
					dl.wantErr != nil && dl.wantErr != errAny && !errors.Is(err, dl.wantErr):
					t.Fatalf("delivery %d: %v, want %v", i+1, err, dl.wantErr)
				}
				if len(pub.got) != dl.wantSent || strings.Count(out.String(), "\n") != 2*dl.wantSent {
					t.Fatalf("after delivery %d: %d sent, metrics:\n%s; want %d and their metrics", i+1, len(pub.got), out.String(), dl.wantSent)
				}
			}
		})
	}
}
