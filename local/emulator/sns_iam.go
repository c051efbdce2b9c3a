package emulator

import (
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// snsAuthz is what IAM evaluates for each SNS operation served: Publish is
// authorized on the topic.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
var snsAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"Publish": func(e *Emulator, r request) []iam.Request {
		arn := r.str("TopicArn")
		if arn == "" {
			arn = r.str("TargetArn")
		}
		return []iam.Request{{Action: "sns:Publish", Resource: arn}}
	},
}

// snsKMSAuthz is what a publisher needs of an encrypted topic's key: "the
// publisher must have the kms:GenerateDataKey* and kms:Decrypt permissions"
// on it. SNS calls KMS as the publisher, so a denial is KMSAccessDenied.
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
var snsKMSAuthz = map[string]func(e *Emulator, r request) []iam.Request{
	"Publish": func(e *Emulator, r request) []iam.Request {
		t := e.topics[r.str("TopicArn")]
		if t == nil || t.kmsKey == "" {
			return nil
		}
		return []iam.Request{{Action: "kms:GenerateDataKey", Resource: t.kmsKey}, {Action: "kms:Decrypt", Resource: t.kmsKey}}
	},
}
