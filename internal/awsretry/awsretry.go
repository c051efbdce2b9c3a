// Package awsretry is the one retry policy of every AWS call the deployer
// makes: its Lambdas' and its CLI's.
package awsretry

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// MaxAttempts bounds the SDK's retries of one call. ECS throttles per account
// and region (ThrottlingException), and the other deploy tools of the account
// share that budget, so a burst is ridden out with jittered exponential backoff
// rather than failing the deployment after the SDK's default 3 attempts.
const MaxAttempts = 10

// New is the retryer: MaxAttempts with jittered exponential backoff of at
// most 20 s, no client-side retry quota, and SNS's "Throttled" retried.
func New() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = 20 * time.Second
		// The standard retryer's client-side retry quota (500 tokens, 5 per
		// throttled retry) is shared by every invocation of a warm instance:
		// a long throttling burst would drain it and fail deployments with
		// "retry quota exceeded" although ECS was only slow. Each invocation
		// is short and the workflow bounds the total time, so it is off.
		o.RateLimiter = ratelimit.None
		// SNS answers its throttling as "Throttled" (ThrottledException),
		// a code the standard retryer does not know: Notify's and
		// Watch's Publish would fail on it.
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: map[string]struct{}{"Throttled": {}}})
	})
}
