package deploy

import (
	"testing"
	"time"
)

// The audit trail lists each decision a person made, oldest first, with who,
// when, why and the digest, and whether IAM verified who.
func TestAuditOf(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	const digest = "sha256:aaaa"
	manual := State{Execution: Execution{StartTime: start}, Image: Image{Digest: digest},
		Trigger: Trigger{Type: "manual", By: "arn:aws:iam::1:user/alice", Reason: "hotfix"},
		Turn:    Turn{OverrideGuard: true}, Window: &Window{Decision: WindowOverridden},
		Migration:  Migration{Skipped: true, SkipReason: skipRequested},
		Approval:   &Approval{Decision: &ApprovalDecision{Approved: true, By: "arn:aws:iam::1:user/bob", At: start.Add(time.Hour), Reason: "ok", Digest: digest, Verified: "IAM"}},
		Deployment: Deployment{Decisions: []Decision{{Action: "CONTINUE", By: "arn:aws:iam::1:user/bob", At: start.Add(2 * time.Hour), Verified: "IAM"}}},
	}
	got := AuditOf(manual)
	want := []string{AuditStart, AuditOverrideGuard, AuditOverrideWindow, AuditSkipMigration, AuditApproved, "CONTINUE"}
	if len(got) != len(want) {
		t.Fatalf("AuditOf = %+v, want kinds %v", got, want)
	}
	for i, k := range want {
		if got[i].Kind != k || got[i].Digest != digest {
			t.Errorf("entry %d = %+v, want kind %s for %s", i, got[i], k, digest)
		}
	}
	if got[0].Verified != "" || got[4].Verified == "" || got[4].By != "arn:aws:iam::1:user/bob" || got[0].By != "arn:aws:iam::1:user/alice" {
		t.Errorf("who: %+v", got)
	}
	// A push records no person's start; a rejection of it does.
	push := State{Trigger: Trigger{Type: "push"}, Image: Image{Digest: digest},
		Approval: &Approval{Decision: &ApprovalDecision{Approved: false, By: "arn:aws:iam::1:user/bob", At: start}}}
	if got := AuditOf(push); len(got) != 1 || got[0].Kind != AuditRejected || got[0].Digest != digest {
		t.Errorf("AuditOf(push) = %+v", got)
	}
	// A rollback start, and a pause decision in one of several services.
	rb := State{Trigger: Trigger{Type: "rollback", By: "arn:aws:iam::1:user/carol"},
		Services: []ServiceRollout{{Service: "web", Deployment: Deployment{Decisions: []Decision{{Action: "ROLLBACK", By: "arn:aws:iam::1:user/carol", At: start.Add(time.Minute)}}}}}}
	if got := AuditOf(rb); len(got) != 2 || got[0].Kind != AuditRollbackStart || got[1].Kind != "ROLLBACK" {
		t.Errorf("AuditOf(rollback) = %+v", got)
	}
}
