package deploy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Who promoted. ECR's push event names no one, so a promotion through the
// deployer API (deployer promote) records who asked, as IAM authenticated
// them, in the promotions table before it moves the tag; ResolveTarget
// reads the record of the push it deploys (same repository, tag and
// digest, written shortly before the push) and the execution carries the
// promoter as its starter: they cannot approve it. A push by other means
// has no record, and its starter stays unknown.

// Promotion is one promotion's record.
type Promotion struct {
	Repository, Tag, Digest string
	By, Verified, Reason    string
	At                      time.Time
}

// The promotions table's attributes.
const (
	promotionKey = "promotion" // the partition key: repository:tag@digest
	promotionTTL = 24 * time.Hour
	// PromotionWindow is how long before its push event a record names the
	// push's promoter (the API writes it just before PutImage; ECR's event
	// follows within seconds), and PromotionSkew how far after it, for the
	// clocks of the API and of ECR's event.
	PromotionWindow = 15 * time.Minute
	PromotionSkew   = time.Minute
)

func promotionID(repo, tag, digest string) string { return repo + ":" + tag + "@" + digest }

// RecordPromotion writes a promotion's record (a TransactWriteItems Put,
// authorized as dynamodb:PutItem, as the turns and the notified tables are
// written). A record of the same image and tag is replaced: the latest
// promotion names the promoter.
func RecordPromotion(ctx context.Context, db ItemsAPI, table string, p Promotion) error {
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	item := map[string]ddbtypes.AttributeValue{
		promotionKey: s(promotionID(p.Repository, p.Tag, p.Digest)),
		"by":         s(p.By),
		"at":         s(p.At.UTC().Format(time.RFC3339Nano)),
		"expires":    &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(p.At.Add(promotionTTL).Unix(), 10)},
	}
	if p.Verified != "" {
		item["verified"] = s(p.Verified)
	}
	if p.Reason != "" {
		item["reason"] = s(p.Reason)
	}
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: aws.String(table), Item: item}},
	}})
	if err != nil {
		return fmt.Errorf("record the promotion of %s: %w", promotionID(p.Repository, p.Tag, p.Digest), err)
	}
	return nil
}

// LookupPromotion reads the record of the promotion a push of
// repository:tag@digest at pushedAt was, if there is one that fits it.
func LookupPromotion(ctx context.Context, db ItemsAPI, table, repo, tag, digest string, pushedAt time.Time) (*Promotion, error) {
	id := promotionID(repo, tag, digest)
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{promotionKey: &ddbtypes.AttributeValueMemberS{Value: id}}})
	if err != nil {
		return nil, fmt.Errorf("read the promotion of %s: %w", id, err)
	}
	str := func(k string) string {
		v, _ := got.Item[k].(*ddbtypes.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	at, err := time.Parse(time.RFC3339Nano, str("at"))
	if len(got.Item) == 0 || err != nil || str("by") == "" || !PromotionFits(at, pushedAt) {
		return nil, nil
	}
	return &Promotion{Repository: repo, Tag: tag, Digest: digest, By: str("by"), Verified: str("verified"), Reason: str("reason"), At: at}, nil
}

// PromotionFits says a record written at at names the promoter of a push
// at pushedAt: shortly before it (a later push of the same image to the
// same tag, by anyone, is not that promotion).
func PromotionFits(at, pushedAt time.Time) bool {
	return !at.After(pushedAt.Add(PromotionSkew)) && pushedAt.Sub(at) <= PromotionWindow
}
