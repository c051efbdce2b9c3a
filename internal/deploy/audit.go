package deploy

import (
	"sort"
	"time"
)

// AuditEntry is one decision a person made about an execution, as the
// execution recorded it: who (as IAM authenticated them, where Verified
// says so), when, why, and the image it applied to.
type AuditEntry struct {
	Kind     string    `json:"kind"`
	By       string    `json:"by"`
	At       time.Time `json:"at,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	Digest   string    `json:"digest,omitempty"`
	Verified string    `json:"verified,omitempty"`
}

// Audit kinds.
const (
	AuditStart          = "start"
	AuditPromote        = "promote"
	AuditRollbackStart  = "rollback"
	AuditOverrideGuard  = "override-guard"
	AuditOverrideWindow = "override-window"
	AuditSkipMigration  = "skip-migration"
	AuditApproved       = "approved"
	AuditRejected       = "rejected"
)

// skipRequested is a manual start's skipped migration's reason.
const skipRequested = "skipMigration was set in the input"

// AuditOf lists the people's decisions an execution's state records, oldest
// first: its manual start and the overrides it carried, the approval
// decision and the answers at pause hooks (each verified when the deployer
// API performed it: releases before it recorded the CLI's
// sts:GetCallerIdentity, unverified).
func AuditOf(s State) []AuditEntry {
	var out []AuditEntry
	start := s.Execution.StartTime
	digest := s.Image.Digest
	if t := s.Trigger; t.Type == "push" && t.By != "" {
		out = append(out, AuditEntry{Kind: AuditPromote, By: t.By, At: t.PromotedAt, Reason: t.Reason, Digest: digest, Verified: t.Verified})
	}
	if t := s.Trigger; t.Type == "manual" || t.Type == "rollback" {
		kind := AuditStart
		if t.Type == "rollback" {
			kind = AuditRollbackStart
		}
		entry := func(kind string) AuditEntry {
			return AuditEntry{Kind: kind, By: t.By, At: start, Reason: t.Reason, Digest: digest, Verified: t.Verified}
		}
		out = append(out, entry(kind))
		if s.Turn.OverrideGuard {
			out = append(out, entry(AuditOverrideGuard))
		}
		if s.Window != nil && s.Window.Decision == WindowOverridden {
			out = append(out, entry(AuditOverrideWindow))
		}
		if s.Migration.Skipped && t.Type == "manual" && s.Migration.SkipReason == skipRequested {
			out = append(out, entry(AuditSkipMigration))
		}
	}
	if s.Approval != nil && s.Approval.Decision != nil {
		d := s.Approval.Decision
		kind := AuditApproved
		if !d.Approved {
			kind = AuditRejected
		}
		at := d.Digest
		if at == "" {
			at = digest
		}
		out = append(out, AuditEntry{Kind: kind, By: d.By, At: d.At, Reason: d.Reason, Digest: at, Verified: d.Verified})
	}
	decisions := s.Deployment.Decisions
	for _, r := range s.Services {
		decisions = append(decisions, r.Deployment.Decisions...)
	}
	for _, d := range decisions {
		out = append(out, AuditEntry{Kind: d.Action, By: d.By, At: d.At, Reason: d.Reason, Digest: digest, Verified: d.Verified})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
