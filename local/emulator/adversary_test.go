package emulator

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
)

// adversarial sets an emulator's adversarial mode to always do one behaviour.
func adversarial(t *testing.T, e *Emulator, behaviour string) {
	t.Helper()
	sc := Scenario{Adversary: &AdversaryScript{Seed: 7, Rate: 1, Only: []string{behaviour}}}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	e.SetScenario(sc)
}

func TestAdversaryNamesEveryBehaviourWithASource(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Behaviours {
		if b.Name == "" || b.Where == "" || len(b.Cite) < 40 || seen[b.Name] {
			t.Errorf("behaviour %+v: each needs a unique name, where it happens and the sentence that allows it", b)
		}
		seen[b.Name] = true
	}
	if _, err := NewAdversary(AdversaryScript{Only: []string{"no-such-behaviour"}}); err == nil {
		t.Error("an unknown behaviour was accepted")
	}
	if _, err := NewAdversary(AdversaryScript{Rate: 1.5}); err == nil {
		t.Error("a rate above 1 was accepted")
	}
}

func TestAdversaryIsReproducibleBySeed(t *testing.T) {
	draws := func(seed uint64) []bool {
		a, err := NewAdversary(AdversaryScript{Seed: seed, Rate: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for range 64 {
			out = append(out, a.Roll(AdvThrottle))
		}
		return out
	}
	a, b, c := draws(3), draws(3), draws(4)
	if !equalBools(a, b) {
		t.Fatal("the same seed drew differently")
	}
	if equalBools(a, c) {
		t.Fatal("two seeds drew the same 64 choices")
	}
	var off *Adversary
	if off.Roll(AdvThrottle) {
		t.Fatal("a nil adversary misbehaved")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The DynamoDB behaviours through the real SDK: each cancels or throttles
// as DynamoDB documents, nothing is written, and the deployer's judge
// takes a cancellation as a lost race, not a failure.
func TestAdversaryDynamoDB(t *testing.T) {
	cases := map[string]struct {
		behaviour string
		call      func(c *dynamodb.Client) error
		code      string
		reason    string
	}{
		"transaction conflict": {AdvTransactConflict, func(c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{takeTurn("suite/web", "a", ""), takeTurn("suite/worker", "a", "")}})
			return err
		}, "TransactionCanceledException", "TransactionConflict"},
		"transaction throttled": {AdvTransactThrottled, func(c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{takeTurn("suite/web", "a", "")}})
			return err
		}, "TransactionCanceledException", "ThrottlingError"},
		"read throttled": {AdvReadThrottled, func(c *dynamodb.Client) error {
			_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": s("suite/web")}})
			return err
		}, "ProvisionedThroughputExceededException", ""},
		"any call throttled": {AdvThrottle, func(c *dynamodb.Client) error {
			_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": s("suite/web")}})
			return err
		}, "ThrottlingException", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, c := dynamodbClient(t)
			adversarial(t, e, tc.behaviour)
			err := tc.call(c)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if tc.reason != "" {
				var cancelled *ddbtypes.TransactionCanceledException
				if !errors.As(err, &cancelled) || !hasReason(cancelled, tc.reason) {
					t.Fatalf("err = %v, want a cancellation reason %s", err, tc.reason)
				}
				if !deploy.LostTurnRace(err) {
					t.Fatalf("LostTurnRace(%v) = false: CheckTurn would fail on what DynamoDB documents as a race", err)
				}
			}
			if n := len(e.TableItems(testTable)); n != 0 {
				t.Fatalf("%d items written by a call that failed", n)
			}
			if e.Adversary().Counts()[tc.behaviour] != 1 {
				t.Fatalf("counts = %v, want one %s", e.Adversary().Counts(), tc.behaviour)
			}
		})
	}
}

func hasReason(c *ddbtypes.TransactionCanceledException, code string) bool {
	for _, r := range c.CancellationReasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}
