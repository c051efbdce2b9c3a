package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Request is what a start asks for, from either kind of input.
type Request struct {
	// From an ECR event: the repository, tag and digest pushed, and when.
	Repository string
	Tag        string
	Registry   string
	PushedAt   time.Time
	// From a manual start: the environment.
	Environment string
	// Digest is the event's digest, or the one a person asked for (optional).
	Digest        string
	SkipMigration bool
	Trigger       Trigger
	// Rollback is set when the start redeploys an earlier digest.
	Rollback *RollbackRequest
	// OverrideGuard deploys although the promotion guard would not.
	OverrideGuard bool
	// OverrideWindow deploys although no deployment window is open.
	OverrideWindow bool
}

// ManualInput is the input a person (or the CLI) gives StartExecution.
type ManualInput struct {
	Environment   string `json:"environment"`
	Digest        string `json:"digest,omitempty"`
	SkipMigration bool   `json:"skipMigration,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// Rollback redeploys Digest, an image that deployed before, in place of
	// the one the environment runs (deployer rollback): without the
	// migration, and with the environment's tag moved back to Digest.
	Rollback *RollbackRequest `json:"rollback,omitempty"`
	// OverrideGuard deploys without the promotion guard's check ("requires");
	// it needs a reason, which the output and the history keep.
	OverrideGuard bool `json:"overrideGuard,omitempty"`
	// OverrideWindow deploys now although the target's deployment windows
	// are closed; it needs a reason, which the output and the history keep.
	OverrideWindow bool `json:"overrideWindow,omitempty"`
	// By is who starts it, for the output, the notification and the
	// approval's separation of duties. The deployer API writes the caller
	// IAM authenticated, and Verified says so; whoever may call
	// StartExecution directly (the stack's administrators: no people's
	// policy grants it) can write anything here.
	By       string `json:"by,omitempty"`
	Verified string `json:"verified,omitempty"`
}

// RollbackRequest says what a rollback undoes.
type RollbackRequest struct {
	// Of is the digest the environment runs, which the rollback replaces.
	Of string `json:"of"`
	// By is who asked for it (the deployer API: as IAM authenticated them).
	By string `json:"by,omitempty"`
}

const acceptedInputs = `Start an execution with either the "ECR Image Action" event EventBridge delivers, or {"environment":"staging"} with optional "digest":"sha256:…", "skipMigration":true, "reason":"…", "by":"…", "overrideGuard":true, "overrideWindow":true (each with a reason) and "rollback":{"of":"sha256:…"} (with "digest": redeploy that earlier image).`

// digestPattern accepts an OCI digest (algorithm:hex). It is not pinned to 64
// hex digits: AWS's own documented sample event carries a shortened one.
var digestPattern = regexp.MustCompile(`^sha(256|384|512):[0-9a-f]{32,128}$`)

// ParseInput reads the execution input: an ECR Image Action event as EventBridge
// delivers it (the whole event), or a ManualInput. Anything else is InvalidInput.
func ParseInput(raw json.RawMessage) (Request, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Request{}, invalid("the input is not a JSON object")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return Request{}, invalid("the input is not valid JSON: " + err.Error())
	}
	_, hasSource := probe["source"]
	_, hasDetailType := probe["detail-type"]
	if hasSource || hasDetailType {
		return parseEvent(trimmed)
	}
	return parseManual(trimmed)
}

func invalid(why string) error {
	return invalidInput(why)
}

func parseEvent(b []byte) (Request, error) {
	var ev events.ECRImageActionEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return Request{}, invalid("the event could not be read: " + err.Error())
	}
	d := ev.Detail
	switch {
	case ev.Source != "aws.ecr" || ev.DetailType != "ECR Image Action":
		return Request{}, invalid(fmt.Sprintf("the event is %q from %q, not \"ECR Image Action\" from \"aws.ecr\"", ev.DetailType, ev.Source))
	case d.ActionType != "PUSH":
		return Request{}, invalid(fmt.Sprintf("the ECR event's action-type is %q; only PUSH deploys", d.ActionType))
	case d.Result != "SUCCESS":
		return Request{}, invalid(fmt.Sprintf("the ECR event's result is %q; only a SUCCESS push deploys", d.Result))
	case d.ImageTag == "":
		return Request{}, invalid("the ECR push has no image-tag (a push by digest): nothing says which environment it is for")
	case d.RepositoryName == "":
		return Request{}, invalid("the ECR event has no repository-name")
	case !digestPattern.MatchString(d.ImageDigest):
		return Request{}, invalid(fmt.Sprintf("the ECR event's image-digest %q is not a sha256 digest", d.ImageDigest))
	}
	return Request{
		Repository: d.RepositoryName,
		Tag:        d.ImageTag,
		Registry:   ev.Account,
		PushedAt:   ev.Time,
		Digest:     d.ImageDigest,
		Trigger:    Trigger{Type: "push", EventID: ev.ID},
	}, nil
}

func parseManual(b []byte) (Request, error) {
	var in ManualInput
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Request{}, invalid(strings.TrimPrefix(err.Error(), "json: "))
	}
	if in.Environment == "" {
		return Request{}, invalid(`"environment" is missing`)
	}
	if in.Digest != "" && !digestPattern.MatchString(in.Digest) {
		return Request{}, invalid(fmt.Sprintf(`"digest" %q is not of the form sha256:<hex digits>`, in.Digest))
	}
	if len(in.By) > 2048 {
		return Request{}, invalid(`"by" is longer than 2048 characters (an IAM ARN is at most 2048)`)
	}
	if len(in.Verified) > 256 {
		return Request{}, invalid(`"verified" is longer than 256 characters (it names how "by" was established)`)
	}
	if n := utf8.RuneCountInString(in.Reason); n > MaxReasonRunes {
		return Request{}, invalid(fmt.Sprintf(`"reason" is %d characters long; at most %d fit (the execution's state carries it)`, n, MaxReasonRunes))
	}
	if in.OverrideWindow && strings.TrimSpace(in.Reason) == "" {
		return Request{}, invalid(`"overrideWindow" needs a "reason": say why this deployment cannot wait for the target's deployment window`)
	}
	if in.OverrideGuard && strings.TrimSpace(in.Reason) == "" {
		return Request{}, invalid(`"overrideGuard" needs a "reason": say why this image skips the environment it requires`)
	}
	req := Request{
		Environment:    in.Environment,
		Digest:         in.Digest,
		SkipMigration:  in.SkipMigration,
		Trigger:        Trigger{Type: "manual", Reason: in.Reason, By: in.By, Verified: in.Verified},
		OverrideGuard:  in.OverrideGuard,
		OverrideWindow: in.OverrideWindow,
	}
	if rb := in.Rollback; rb != nil {
		switch {
		case in.Digest == "":
			return Request{}, invalid(`"rollback" needs "digest": the earlier image to deploy again`)
		case !digestPattern.MatchString(rb.Of):
			return Request{}, invalid(fmt.Sprintf(`"rollback.of" %q is not of the form sha256:<hex digits>`, rb.Of))
		case rb.Of == in.Digest:
			return Request{}, invalid(`"rollback.of" and "digest" are the same image: nothing to roll back`)
		}
		// A rollback returns to code whose schema the migration has already
		// moved past: it never runs the migration.
		req.SkipMigration, req.Trigger.Type, req.Rollback = true, "rollback", rb
	}
	return req, nil
}
