package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

const testTable = "EcrDeployer-turns"

// dynamodbClient is a real DynamoDB client of a new emulator holding
// testTable (partition key "service"), over JSON 1.0.
func dynamodbClient(t *testing.T) (*Emulator, *dynamodb.Client) {
	t.Helper()
	e := New(Account, Region)
	e.AddTable(testTable, "service")
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, dynamodb.New(dynamodb.Options{Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "LOCALCheckTurn", SecretAccessKey: "y"}, nil
		}),
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1)})
}

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

// takeTurn is the conditional Put CheckTurn makes: the item is absent or
// still held by prev.
func takeTurn(service, holder, prev string) ddbtypes.TransactWriteItem {
	put := &ddbtypes.Put{TableName: aws.String(testTable), Item: map[string]ddbtypes.AttributeValue{"service": s(service), "execution": s(holder)},
		ConditionExpression: aws.String("attribute_not_exists(#s)"), ExpressionAttributeNames: map[string]string{"#s": "service"}}
	if prev != "" {
		put.ConditionExpression = aws.String("#e = :prev")
		put.ExpressionAttributeNames = map[string]string{"#e": "execution"}
		put.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":prev": s(prev)}
	}
	return ddbtypes.TransactWriteItem{Put: put}
}

func holderOf(t *testing.T, c *dynamodb.Client, service string) string {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": s(service)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.Item["execution"].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func TestTransactWriteItemsIsConditionalAndAllOrNothing(t *testing.T) {
	_, c := dynamodbClient(t)
	ctx := t.Context()
	write := func(items ...ddbtypes.TransactWriteItem) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
	if err := write(takeTurn("suite/web", "a", ""), takeTurn("suite/worker", "a", "")); err != nil {
		t.Fatal(err)
	}
	// b read the items as free too: its transaction is cancelled, whole.
	err := write(takeTurn("suite/web", "b", ""), takeTurn("suite/other", "b", ""))
	var cancelled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &cancelled) || len(cancelled.CancellationReasons) != 2 ||
		aws.ToString(cancelled.CancellationReasons[0].Code) != "ConditionalCheckFailed" || aws.ToString(cancelled.CancellationReasons[1].Code) != "None" {
		t.Fatalf("err = %v; want TransactionCanceledException [ConditionalCheckFailed, None]", err)
	}
	if got := holderOf(t, c, "suite/other"); got != "" {
		t.Fatalf("suite/other is held by %q after a cancelled transaction", got)
	}
	// Taking over from the holder read: only if it is still that holder.
	if err := write(takeTurn("suite/web", "c", "a")); err != nil {
		t.Fatal(err)
	}
	if err := write(takeTurn("suite/web", "d", "a")); !errors.As(err, &cancelled) {
		t.Fatalf("a take-over from a holder that changed: err = %v", err)
	}
	if got := holderOf(t, c, "suite/web"); got != "c" {
		t.Fatalf("suite/web held by %q, want c", got)
	}
}

func TestTransactWriteItemsClientRequestToken(t *testing.T) {
	_, c := dynamodbClient(t)
	in := &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String("token-1"), TransactItems: []ddbtypes.TransactWriteItem{takeTurn("x/y", "a", "")}}
	for i := range 2 {
		if _, err := c.TransactWriteItems(t.Context(), in); err != nil {
			t.Fatalf("call %d with the same token: %v", i+1, err)
		}
	}
	in.TransactItems = []ddbtypes.TransactWriteItem{takeTurn("x/y", "b", "a")}
	_, err := c.TransactWriteItems(t.Context(), in)
	var mismatch *ddbtypes.IdempotentParameterMismatchException
	if !errors.As(err, &mismatch) {
		t.Fatalf("same token, other parameters: err = %v", err)
	}
}

// Each documented constraint, sent through the real SDK.
func TestDynamoDBConstraintsOverTheWire(t *testing.T) {
	key := map[string]ddbtypes.AttributeValue{"service": s("x/y")}
	names := map[string]string{"#s": "service"}
	put := func(p ddbtypes.Put) *dynamodb.TransactWriteItemsInput {
		if p.TableName == nil {
			p.TableName = aws.String(testTable)
		}
		if p.Item == nil {
			p.Item = map[string]ddbtypes.AttributeValue{"service": s("x/y")}
		}
		return &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{Put: &p}}}
	}
	cases := []struct {
		name string
		call func(context.Context, *dynamodb.Client) error
		code string
		msg  string
	}{
		{"GetItem without the key", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"other": s("x")}})
			return err
		}, "ValidationException", "The provided key element does not match the schema"},
		{"GetItem with a key of another type", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberN{Value: "1"}}})
			return err
		}, "ValidationException", "does not match the schema"},
		{"GetItem of a table that does not exist", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key})
			return err
		}, "ResourceNotFoundException", "Requested resource not found"},
		{"GetItem with a table name too short (3 to 255)", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("ab"), Key: key})
			return err
		}, "ValidationException", "have length between 3 and 255"},
		{"GetItem with a projection the emulator does not serve", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(testTable), Key: key, ProjectionExpression: aws.String("#s"), ExpressionAttributeNames: names})
			return err
		}, "ValidationException", "ProjectionExpression"},
		{"no TransactItems (model: required, 1–100)", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{}})
			return err
		}, "ValidationException", "TransactItems"},
		{"an item without the key", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{Item: map[string]ddbtypes.AttributeValue{"execution": s("a")}}))
			return err
		}, "ValidationException", "Missing the key service in the item"},
		{"an empty key value", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{Item: map[string]ddbtypes.AttributeValue{"service": s("")}}))
			return err
		}, "ValidationException", "cannot contain an empty string value"},
		{"two actions on one item", func(ctx context.Context, c *dynamodb.Client) error {
			in := put(ddbtypes.Put{})
			in.TransactItems = append(in.TransactItems, in.TransactItems[0])
			_, err := c.TransactWriteItems(ctx, in)
			return err
		}, "ValidationException", "cannot include multiple operations on one item"},
		{"a value placeholder given but not used", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{ConditionExpression: aws.String("attribute_not_exists(#s)"), ExpressionAttributeNames: names,
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("a")}}))
			return err
		}, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"},
		{"a name placeholder used but not given", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{ConditionExpression: aws.String("attribute_not_exists(#k)"), ExpressionAttributeNames: names}))
			return err
		}, "ValidationException", "attribute name: #k"},
		{"placeholders without an expression", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("a")}}))
			return err
		}, "ValidationException", "ExpressionAttributeValues can only be specified when using expressions"},
		{"a syntax error", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{ConditionExpression: aws.String("attribute_not_exists(#s"), ExpressionAttributeNames: names}))
			return err
		}, "ValidationException", "Invalid ConditionExpression: Syntax error"},
		{"a bare attribute name", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, put(ddbtypes.Put{ConditionExpression: aws.String("attribute_not_exists(service)")}))
			return err
		}, "ValidationException", "attribute name: service"},
		{"an Update, which the emulator does not serve", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{Update: &ddbtypes.Update{TableName: aws.String(testTable), Key: key, UpdateExpression: aws.String("SET #s = :v")}}}})
			return err
		}, "ValidationException", "serves only Put"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := dynamodbClient(t)
			err := tc.call(t.Context(), c)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code || !strings.Contains(api.ErrorMessage(), tc.msg) {
				t.Fatalf("err = %v; want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
}

func TestDynamoDBAuthorizesEachPutAsPutItem(t *testing.T) {
	e, c := dynamodbClient(t)
	var asked []iam.Request
	e.SetAuthorizer(func(_ string, reqs []iam.Request) error {
		asked = append(asked, reqs...)
		for _, r := range reqs {
			if r.Action != "dynamodb:GetItem" {
				return fmt.Errorf("not authorized to perform: %s on resource: %s", r.Action, r.Resource)
			}
		}
		return nil
	})
	holderOf(t, c, "x/y")
	_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{takeTurn("x/y", "a", "")}})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !strings.Contains(api.ErrorMessage(), "dynamodb:PutItem") {
		t.Fatalf("err = %v", err)
	}
	arn := "arn:aws:dynamodb:" + Region + ":" + Account + ":table/" + testTable
	if len(asked) != 2 || asked[0].Resource != arn || asked[1].Resource != arn {
		t.Fatalf("asked %+v", asked)
	}
}

// The condition grammar served, evaluated against one item.
func TestConditionExpressions(t *testing.T) {
	item := map[string]any{"service": map[string]any{"S": "c/s"}, "execution": map[string]any{"S": "a"}}
	names := map[string]string{"#s": "service", "#e": "execution", "#x": "missing"}
	values := map[string]any{":a": map[string]any{"S": "a"}, ":b": map[string]any{"S": "b"}}
	cases := map[string]bool{
		"attribute_exists(#s)":                          true,
		"attribute_not_exists(#s)":                      false,
		"attribute_not_exists(#x)":                      true,
		"#e = :a":                                       true,
		"#e = :b":                                       false,
		"#e <> :b":                                      true,
		"#x = :a":                                       false, // a missing attribute equals nothing
		"#x <> :a":                                      true,
		"attribute_not_exists(#s) OR #e = :a":           true,
		"attribute_exists(#s) AND #e = :b":              false,
		"NOT (#e = :b) and attribute_exists(#s)":        true,
		"#e = :b OR #e = :b OR attribute_exists(#x)":    false,
		"(attribute_exists(#x) OR #e = :a) AND #e = :a": true,
	}
	for expr, want := range cases {
		c, msg := parseCondition(expr)
		if msg != "" {
			t.Fatalf("%s: %s", expr, msg)
		}
		if got := c.expr.eval(item, names, values); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}
	for _, bad := range []string{"", "#e =", "#e = :a AND", "(#e = :a", "#e < :a", "size(#e) = :a", "#e = :a :b"} {
		if _, msg := parseCondition(bad); !strings.HasPrefix(msg, "Invalid ConditionExpression") {
			t.Errorf("%q parsed (%q)", bad, msg)
		}
	}
}
