package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Amazon DynamoDB: the tables of the account, each with a string partition
// key, read with GetItem (strongly consistent when asked, and always here:
// the stricter reading would be a stale read, which the deployer never
// makes) and written with TransactWriteItems' conditional Puts, all or
// nothing. DynamoDB speaks JSON 1.0 (X-Amz-Target DynamoDB_20120810.<Op>).
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html

var dynamodbOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"GetItem":            (*Emulator).getItem,
	"TransactWriteItems": (*Emulator).transactWriteItems,
}

// ddbTable is a table: its partition key attribute (type S) and its items
// by that key's value.
type ddbTable struct {
	name, key string
	items     map[string]map[string]any
}

// ddbToken is a TransactWriteItems ClientRequestToken seen: "valid for 10
// minutes after the first request that uses it is completed".
type ddbToken struct {
	request [32]byte
	at      time.Time
}

// AddTable creates a table whose partition key is the string attribute key.
func (e *Emulator) AddTable(name, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tables[name] = &ddbTable{name: name, key: key, items: map[string]map[string]any{}}
}

// TableItems returns a table's items (attribute name → AttributeValue).
func (e *Emulator) TableItems(name string) []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []map[string]any
	if t := e.tables[name]; t != nil {
		for _, it := range t.items {
			out = append(out, it)
		}
	}
	return out
}

// tableARN is a table's ARN from its name or ARN ("You can also provide
// the Amazon Resource Name (ARN) of the table in this parameter").
func (e *Emulator) tableARN(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return e.arn("dynamodb", "table/"+ref)
}

func (e *Emulator) table(ref string) (*ddbTable, *apiError) {
	if t := e.tables[shortName(ref)]; t != nil && (!strings.HasPrefix(ref, "arn:") || ref == e.tableARN(t.name)) {
		return t, nil
	}
	return nil, errorf("ResourceNotFoundException", "Requested resource not found")
}

// keyOf is the item's key value, checked against the table's key schema.
func (t *ddbTable) keyOf(attrs map[string]any, exact bool) (string, *apiError) {
	av, ok := attrs[t.key].(map[string]any)
	if !ok || (exact && len(attrs) != 1) {
		if exact {
			return "", errorf("ValidationException", "The provided key element does not match the schema")
		}
		return "", errorf("ValidationException", "One or more parameter values were invalid: Missing the key %s in the item", t.key)
	}
	s, isString := av["S"].(string)
	switch {
	case !isString && exact:
		return "", errorf("ValidationException", "The provided key element does not match the schema")
	case !isString:
		for typ := range av {
			return "", errorf("ValidationException", "One or more parameter values were invalid: Type mismatch for key %s expected: S actual: %s", t.key, typ)
		}
	case s == "":
		return "", errorf("ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", t.key)
	}
	return s, nil
}

func (e *Emulator) getItem(body json.RawMessage) (any, *apiError) {
	var in struct {
		TableName string         `json:"TableName"`
		Key       map[string]any `json:"Key"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, aerr := e.table(in.TableName)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := t.keyOf(in.Key, true)
	if aerr != nil {
		return nil, aerr
	}
	if it := t.items[k]; it != nil {
		return map[string]any{"Item": it}, nil
	}
	return map[string]any{}, nil
}

// ddbPut is one Put of a transaction.
type ddbPut struct {
	TableName                 string            `json:"TableName"`
	Item                      map[string]any    `json:"Item"`
	ConditionExpression       string            `json:"ConditionExpression"`
	ExpressionAttributeNames  map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues map[string]any    `json:"ExpressionAttributeValues"`
}

// adverseTransaction cancels a transaction as DynamoDB may for reasons
// that are not its conditions: a concurrent transaction on one of its items
// (TransactionConflict) or throttling (ThrottlingError), on one item, the
// others None. Nothing is written. (AdvTransactConflict, AdvTransactThrottled)
func (e *Emulator) adverseTransaction(items int) *apiError {
	code, msg := "", ""
	switch {
	case e.adv.Roll(AdvTransactConflict):
		code, msg = "TransactionConflict", "Transaction is ongoing for the item"
	case e.adv.Roll(AdvTransactThrottled):
		code, msg = "ThrottlingError", "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly."
	default:
		return nil
	}
	which := e.adv.Intn(items)
	reasons := make([]map[string]any, items)
	codes := make([]string, items)
	for i := range reasons {
		reasons[i], codes[i] = map[string]any{"Code": "None"}, "None"
		if i == which {
			reasons[i], codes[i] = map[string]any{"Code": code, "Message": msg}, code
		}
	}
	return &apiError{status: http.StatusBadRequest, code: "TransactionCanceledException",
		msg:   "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		extra: map[string]any{"CancellationReasons": reasons}}
}

func (e *Emulator) transactWriteItems(body json.RawMessage) (any, *apiError) {
	var in struct {
		TransactItems []struct {
			Put *ddbPut `json:"Put"`
		} `json:"TransactItems"`
		ClientRequestToken string `json:"ClientRequestToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	now := e.now()
	// The same request may come with its members in another order (the SDK
	// writes maps in Go's random order): compare it canonically.
	var canonical any
	_ = json.Unmarshal(body, &canonical)
	sorted, _ := json.Marshal(canonical)
	if in.ClientRequestToken != "" {
		sum := sha256.Sum256(sorted)
		if seen, ok := e.ddbTokens[in.ClientRequestToken]; ok && now.Sub(seen.at) < 10*time.Minute {
			if seen.request != sum {
				return nil, errorf("IdempotentParameterMismatchException", "Idempotent parameters mismatch: the ClientRequestToken was used with other parameters")
			}
			return map[string]any{}, nil // "multiple identical calls have the same effect as one single call"
		}
	}
	type write struct {
		t   *ddbTable
		key string
		put *ddbPut
	}
	var writes []write
	seen := map[string]bool{}
	for _, x := range in.TransactItems {
		t, aerr := e.table(x.Put.TableName)
		if aerr != nil {
			return nil, aerr
		}
		k, aerr := t.keyOf(x.Put.Item, false)
		if aerr != nil {
			return nil, aerr
		}
		if seen[t.name+"\x00"+k] {
			return nil, errorf("ValidationException", "Transaction request cannot include multiple operations on one item")
		}
		seen[t.name+"\x00"+k] = true
		writes = append(writes, write{t, k, x.Put})
	}
	if aerr := e.adverseTransaction(len(writes)); aerr != nil {
		return nil, aerr
	}
	// Every condition is evaluated against the items as they are before
	// any write: all of the Puts happen, or none.
	var reasons []map[string]any
	failed := false
	var codes []string
	for _, w := range writes {
		ok := true
		if w.put.ConditionExpression != "" {
			c, _ := parseCondition(w.put.ConditionExpression) // Validate parsed it
			ok = c.expr.eval(w.t.items[w.key], w.put.ExpressionAttributeNames, w.put.ExpressionAttributeValues)
		}
		if ok {
			reasons = append(reasons, map[string]any{"Code": "None"})
			codes = append(codes, "None")
			continue
		}
		failed = true
		reasons = append(reasons, map[string]any{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"})
		codes = append(codes, "ConditionalCheckFailed")
	}
	if failed {
		return nil, &apiError{status: http.StatusBadRequest, code: "TransactionCanceledException",
			msg:   "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
			extra: map[string]any{"CancellationReasons": reasons}}
	}
	for _, w := range writes {
		w.t.items[w.key] = w.put.Item
	}
	if in.ClientRequestToken != "" {
		e.ddbTokens[in.ClientRequestToken] = ddbToken{request: sha256.Sum256(sorted), at: now}
	}
	return map[string]any{}, nil
}
