package awsconf

import (
	"context"
	"errors"
	"testing"
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
