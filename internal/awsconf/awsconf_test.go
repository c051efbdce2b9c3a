package awsconf

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

// A throttling burst longer than the standard retry quota (500 tokens, 5 per
// retry: 100 retries) must not make the retryer give up on its own.
func TestRetryerHasNoClientSideQuota(t *testing.T) {
	t.Setenv("AWS_REGION", "us-west-2")
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
	if r.MaxAttempts() != MaxAttempts {
		t.Errorf("max attempts = %d, want %d", r.MaxAttempts(), MaxAttempts)
	}
	throttle := errors.New("ThrottlingException")
	for i := range 500 {
		if _, err := r.GetRetryToken(context.Background(), throttle); err != nil {
			t.Fatalf("retry %d refused: %v", i, err)
		}
	}
}

// Each service's throttling code is retried: SNS's "Throttled" too, which
// the standard retryer does not know.
func TestRetryerRetriesEveryServicesThrottling(t *testing.T) {
	t.Setenv("AWS_REGION", "us-west-2")
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
	for _, code := range []string{"ThrottlingException", "Throttled", "ProvisionedThroughputExceededException", "TooManyRequestsException"} {
		if !r.IsErrorRetryable(&smithy.GenericAPIError{Code: code, Message: "Rate exceeded"}) {
			t.Errorf("%s is not retried", code)
		}
	}
	if r.IsErrorRetryable(&smithy.GenericAPIError{Code: "AccessDeniedException"}) {
		t.Error("AccessDeniedException is retried")
	}
}
