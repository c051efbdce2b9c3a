package executions

import (
	"context"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Subject is what an execution deploys: the environment, the image's digest
// (the one it resolved once it has an output, else the one its input names)
// and, once it succeeded, whether it deployed.
type Subject struct {
	Environment, Digest string
	Deployed            bool
}

// SubjectOf reads an execution's subject from its input and output (the
// deploy package's reading: the input parsed, its target looked up); ok is
// false for one whose input names no configured target.
type SubjectOf func(Execution) (s Subject, ok bool)

// AttemptScan bounds how many executions LatestAttempt lists, newest first.
const AttemptScan = 500

// LatestAttempt finds the newest execution that deploys or tried to deploy
// the digest to the environment, skipping those that deployed nothing
// (superseded in the queue, duplicates, and failures that Classify says do
// not block a promotion: refused before anything ran). nil: none among the
// AttemptScan newest.
func (r *Reader) LatestAttempt(ctx context.Context, env, digest string, subjectOf SubjectOf) (*Execution, error) {
	var found *Execution
	err := r.Scan(ctx, Query{Limit: AttemptScan}, MayBe(env), func(e Execution) (bool, error) {
		s, ok := subjectOf(e)
		if !ok || s.Environment != env || s.Digest != digest {
			return false, nil
		}
		switch {
		case e.Status == sfntypes.ExecutionStatusSucceeded && !s.Deployed:
			return false, nil // superseded in the queue, or a duplicate
		case e.Status != sfntypes.ExecutionStatusSucceeded && e.Ended() && !Classify(e.Status, e.Error, false).BlocksPromotion:
			return false, nil // refused before anything ran
		}
		found = &e
		return true, nil
	})
	return found, err
}
