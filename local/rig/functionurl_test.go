package rig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The function URLs take a request signed by the real SDK signer with the
// key's secret, and nothing else: another secret, another body, another
// service or Region, or a request older than 15 minutes.
func TestVerifySigV4(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	sign := func(secret, body, service, region string, at time.Time) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/lambda-url/ecr-deployer-approver-api/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ApproverAccessKey, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	good := SecretOf(ApproverAccessKey)
	cases := []struct {
		name string
		req  *http.Request
		body string
		ok   bool
	}{
		{"signed with the key's secret", sign(good, `{"a":1}`, "lambda", "us-west-2", now), `{"a":1}`, true},
		{"another secret", sign("local", `{"a":1}`, "lambda", "us-west-2", now), `{"a":1}`, false},
		{"the body changed after signing", sign(good, `{"a":1}`, "lambda", "us-west-2", now), `{"a":2}`, false},
		{"signed for another service", sign(good, `{"a":1}`, "states", "us-west-2", now), `{"a":1}`, false},
		{"signed for another Region", sign(good, `{"a":1}`, "lambda", "eu-west-1", now), `{"a":1}`, false},
		{"16 minutes old", sign(good, `{"a":1}`, "lambda", "us-west-2", now.Add(-16*time.Minute)), `{"a":1}`, false},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/", nil); return r }(), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := verifySigV4(tc.req, []byte(tc.body), "lambda", "us-west-2", now)
			if (err == nil) != tc.ok || (tc.ok && key != ApproverAccessKey) {
				t.Errorf("verifySigV4 = %q, %v; want ok %v", key, err, tc.ok)
			}
		})
	}
}
