package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

const (
	testTopic = "arn:aws:sns:us-west-2:123456789012:Notifications"
	testKey   = "arn:aws:kms:us-west-2:123456789012:key/NotificationsKey"
)

// snsClient is a real SNS client of the emulator e, over the Query protocol.
func snsClient(t *testing.T, e *Emulator) *sns.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.ServeQuery(w, r, r.PostForm)
	}))
	t.Cleanup(srv.Close)
	return sns.New(sns.Options{Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "LOCALNotify", SecretAccessKey: "y"}, nil
		}),
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1)})
}

func TestPublishRecordsWhatEachProtocolGets(t *testing.T) {
	e := New(Account, Region)
	e.AddTopic(testTopic, testKey)
	c := snsClient(t, e)
	out, err := c.Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(testTopic), Subject: aws.String("ecr-deployer: staging FAILED"),
		MessageStructure: aws.String("json"), Message: aws.String(`{"default":"{\"version\":\"1.0\"}","email":"plain text"}`)})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Published()
	if len(got) != 1 || aws.ToString(out.MessageId) != got[0].MessageID || got[0].Subject != "ecr-deployer: staging FAILED" {
		t.Fatalf("published %+v, answer %v", got, aws.ToString(out.MessageId))
	}
	for protocol, want := range map[string]string{"email": "plain text", "https": `{"version":"1.0"}`, "sqs": `{"version":"1.0"}`} {
		if m := got[0].For(protocol); m != want {
			t.Errorf("%s subscribers get %q, want %q", protocol, m, want)
		}
	}
}

// Each documented Publish constraint (sns_rules.go), broken once through
// the real SDK client.
func TestPublishConstraintsOverTheWire(t *testing.T) {
	e := New(Account, Region)
	e.AddTopic(testTopic, "")
	c := snsClient(t, e)
	pub := func(in sns.PublishInput) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if in.Message == nil {
				in.Message = aws.String("hello")
			}
			_, err := c.Publish(ctx, &in)
			return err
		}
	}
	cases := map[string]struct {
		call     func(ctx context.Context) error
		code     string
		contains string
	}{
		"no destination":                        {pub(sns.PublishInput{}), "InvalidParameter", "TopicArn or TargetArn"},
		"a topic and a phone number":            {pub(sns.PublishInput{TopicArn: aws.String(testTopic), PhoneNumber: aws.String("+15555550100")}), "InvalidParameter", "only one"},
		"an empty message":                      {pub(sns.PublishInput{TopicArn: aws.String(testTopic), Message: aws.String("")}), "InvalidParameter", "Empty message"},
		"a message of 256 KiB and one byte":     {pub(sns.PublishInput{TopicArn: aws.String(testTopic), Message: aws.String(strings.Repeat("a", 262145))}), "InvalidParameter", "Message too long"},
		"MessageStructure xml":                  {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageStructure: aws.String("xml")}), "InvalidParameter", "MessageStructure"},
		"json message that is not JSON":         {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageStructure: aws.String("json"), Message: aws.String("{")}), "InvalidParameter", "failed to parse"},
		"json message without default":          {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageStructure: aws.String("json"), Message: aws.String(`{"email":"x"}`)}), "InvalidParameter", "No default entry"},
		"json message with a default object":    {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageStructure: aws.String("json"), Message: aws.String(`{"default":{"a":1}}`)}), "InvalidParameter", "No default entry"},
		"json message with a key twice":         {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageStructure: aws.String("json"), Message: aws.String(`{"default":"a","email":"b","email":"c"}`)}), "InvalidParameter", "Duplicate key email"},
		"a subject with a line break":           {pub(sns.PublishInput{TopicArn: aws.String(testTopic), Subject: aws.String("deploy\nfailed")}), "InvalidParameter", "Subject"},
		"a subject of 100 characters":           {pub(sns.PublishInput{TopicArn: aws.String(testTopic), Subject: aws.String(strings.Repeat("s", 100))}), "InvalidParameter", "Subject"},
		"MessageDeduplicationId on a standard":  {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageDeduplicationId: aws.String("d")}), "InvalidParameter", "MessageDeduplicationId"},
		"MessageGroupId of 129 characters":      {pub(sns.PublishInput{TopicArn: aws.String(testTopic), MessageGroupId: aws.String(strings.Repeat("g", 129))}), "InvalidParameter", "MessageGroupId"},
		"a topic that does not exist":           {pub(sns.PublishInput{TopicArn: aws.String(testTopic + "-nope")}), "NotFound", "Topic does not exist"},
		"a subject of 99 characters is allowed": {pub(sns.PublishInput{TopicArn: aws.String(testTopic), Subject: aws.String(strings.Repeat("s", 99))}), "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.call(t.Context())
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if api.ErrorCode() != tc.code || !strings.Contains(api.ErrorMessage(), tc.contains) {
				t.Fatalf("got %s: %s; want %s containing %q", api.ErrorCode(), api.ErrorMessage(), tc.code, tc.contains)
			}
		})
	}
}

// A list member (MessageAttributes) is refused, not dropped: the emulator
// serves flat members only.
func TestPublishRefusesMembersItDoesNotServe(t *testing.T) {
	e := New(Account, Region)
	e.AddTopic(testTopic, "")
	rec := httptest.NewRecorder()
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {testTopic}, "Message": {"m"},
		"MessageAttributes.entry.1.Name": {"k"}}
	e.ServeQuery(rec, httptest.NewRequest(http.MethodPost, "/", nil), form)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "MessageAttributes.entry.1.Name") {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body.String())
	}
	if len(e.Published()) != 0 {
		t.Fatal("published anyway")
	}
}

// IAM: sns:Publish on the topic, then the encrypted topic's key, each
// denial with SNS's own error code.
func TestPublishNeedsTheTopicAndItsKey(t *testing.T) {
	cases := map[string]struct {
		allowed  []string
		code     string
		contains string
	}{
		"no sns:Publish":         {nil, "AuthorizationError", "sns:Publish"},
		"no kms:GenerateDataKey": {[]string{"sns:Publish", "kms:Decrypt"}, "KMSAccessDenied", "kms:GenerateDataKey"},
		"no kms:Decrypt":         {[]string{"sns:Publish", "kms:GenerateDataKey"}, "KMSAccessDenied", "kms:Decrypt"},
		"the topic and the key":  {[]string{"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}, "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := New(Account, Region)
			e.AddTopic(testTopic, testKey)
			e.SetAuthorizer(func(_ string, reqs []iam.Request) error {
				for _, r := range reqs {
					ok := false
					for _, a := range tc.allowed {
						ok = ok || a == r.Action
					}
					if !ok {
						return fmt.Errorf("not authorized to perform: %s on resource: %s", r.Action, r.Resource)
					}
				}
				return nil
			})
			_, err := snsClient(t, e).Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(testTopic), Message: aws.String("m")})
			if tc.code == "" {
				if err != nil || len(e.Published()) != 1 {
					t.Fatalf("err = %v, published %d", err, len(e.Published()))
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code || !strings.Contains(api.ErrorMessage(), tc.contains) {
				t.Fatalf("err = %v; want %s containing %q", err, tc.code, tc.contains)
			}
			if len(e.Published()) != 0 {
				t.Fatal("published anyway")
			}
		})
	}
}
