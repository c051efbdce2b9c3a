package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
)

// pushed is one push: the digest the tag moved to and the execution it started.
type pushed struct {
	digest string
	arn    string
	name   string
}

var pushSeq = struct {
	sync.Mutex
	n int
}{n: 100}

// push moves tag to a new image and starts an execution with its ECR event,
// as the rule would; the same event twice is push(t, s, tag, &p) with p set.
// waitUntil waits for an observable condition, for at most a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not after a minute: %s", what)
		}
	}
}

func push(t *testing.T, s *rig.Stack, tag string) pushed {
	t.Helper()
	pushSeq.Lock()
	pushSeq.n++
	n := pushSeq.n
	pushSeq.Unlock()
	digest := s.Emulator.PushManifest(emulator.Repository, tag, emulator.SampleManifest(n))
	return startPush(t, s, tag, digest, fmt.Sprintf("push-%d", n))
}

func startPush(t *testing.T, s *rig.Stack, tag, digest, name string) pushed {
	t.Helper()
	arn, err := s.SFN.Start(name, rig.SamplePushEvent(tag, digest))
	if err != nil {
		t.Fatal(err)
	}
	return pushed{digest: digest, arn: arn, name: name}
}

func result(t *testing.T, s *rig.Stack, p pushed) (*rig.Result, deploy.State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	r, err := s.SFN.Result(ctx, p.arn)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	var out deploy.State
	_ = json.Unmarshal(r.Output, &out)
	return r, out
}

// endState is the last state the execution entered.
func endState(r *rig.Result) string {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Type == "StateEntered" {
			return r.Events[i].State.Name
		}
	}
	return ""
}

func entered(r *rig.Result, state string) []json.RawMessage {
	var inputs []json.RawMessage
	for _, ev := range r.Events {
		if ev.Type == "StateEntered" && ev.State.Name == state {
			inputs = append(inputs, ev.State.Input)
		}
	}
	return inputs
}

// noOverlap checks that no two migration tasks or deployments (ECS's
// rollbacks included) of one service were active at the same time.
func noOverlap(t *testing.T, spans []emulator.Span) {
	t.Helper()
	byCluster := map[string][]emulator.Span{}
	for _, sp := range spans {
		byCluster[sp.Cluster] = append(byCluster[sp.Cluster], sp)
	}
	for cluster, list := range byCluster {
		sort.Slice(list, func(i, j int) bool { return list[i].Start.Before(list[j].Start) })
		for i := 1; i < len(list); i++ {
			prev, cur := list[i-1], list[i]
			if prev.End.IsZero() || cur.Start.Before(prev.End) {
				t.Errorf("%s: %s %s (%s–%s) overlaps %s %s starting %s", cluster, prev.Kind, prev.ID, prev.Start.Format("15:04:05.000"),
					prev.End.Format("15:04:05.000"), cur.Kind, cur.ID, cur.Start.Format("15:04:05.000"))
			}
		}
	}
}

func TestQueue(t *testing.T) {
	// Digest mode (the default), so that each push deploys its own image
	// (in tag mode a push overtaken by the next ends DigestMismatch: below).
	t.Run("two pushes one second apart: the second waits, then deploys the newer digest", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		a := push(t, s, "pinned")
		time.Sleep(time.Second)
		b := push(t, s, "pinned")
		ra, oa := result(t, s, a)
		rb, ob := result(t, s, b)
		if ra.Status != "SUCCEEDED" || endState(ra) != "Deployed" || rb.Status != "SUCCEEDED" || endState(rb) != "Deployed" {
			t.Fatalf("a %s %s, b %s %s (%s)", ra.Status, endState(ra), rb.Status, endState(rb), rb.Cause)
		}
		waits := entered(rb, "WaitingForTurn")
		if len(waits) == 0 || !strings.Contains(string(waits[0]), `"waitingFor":"`+a.name+`"`) {
			t.Errorf("b did not wait for a in WaitingForTurn: %d waits, first %s", len(waits), firstOr(waits))
		}
		if got := s.Emulator.RunningDigest("pinned", "pinned-service", "app"); got != b.digest || ob.Image.DeployedDigest != b.digest {
			t.Errorf("the service runs %s (b reports %s), want b's %s", got, ob.Image.DeployedDigest, b.digest)
		}
		_ = oa
		noOverlap(t, s.Emulator.Spans())
	})

	// ListExecutions lags (rig.DefaultListLag), so two executions
	// started together list no other at their first check and both decide
	// GO from the list: the turns table's conditional write lets one go.
	t.Run("two pushes at once, neither listed to the other: one at a time, the newer ends deployed", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		a := push(t, s, "pinned")
		b := push(t, s, "pinned")
		ra, oa := result(t, s, a)
		rb, ob := result(t, s, b)
		if rb.Status != "SUCCEEDED" || endState(rb) != "Deployed" || ra.Status != "SUCCEEDED" || (endState(ra) != "Deployed" && endState(ra) != "Superseded") {
			t.Fatalf("a %s %s (%+v), b %s %s (%+v)", ra.Status, endState(ra), oa.Turn, rb.Status, endState(rb), ob.Turn)
		}
		if got := s.Emulator.RunningDigest("pinned", "pinned-service", "app"); got != b.digest {
			t.Errorf("the service runs %s, want the newer push's %s", got, b.digest)
		}
		noOverlap(t, s.Emulator.Spans())
		items := s.Emulator.TableItems(s.TurnsTable())
		if len(items) != 1 || !strings.Contains(fmt.Sprint(items[0]["execution"]), b.name) {
			t.Errorf("turns table %v; want pinned/pinned-service held by %s", items, b.name)
		}
		// The list showed neither to the other at their first checks: the
		// one that did not go first was held back by the table's holder.
		t.Logf("a: %s, %+v; b: %s, %+v", endState(ra), oa.Turn, endState(rb), ob.Turn)
		held := false
		for _, in := range append(entered(ra, "WaitingForTurn"), entered(rb, "WaitingForTurn")...) {
			held = held || strings.Contains(string(in), `"waitingFor":"`) || strings.Contains(string(in), "took the turn")
		}
		if !held && endState(ra) != "Superseded" {
			t.Errorf("neither execution was held back by the other: a %+v, b %+v", oa.Turn, ob.Turn)
		}
	})

	t.Run("three pushes: the middle one is superseded", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		// a runs long enough for b's and c's checks to list each other.
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 2 * rig.DefaultListLag.Seconds()}})
		a := push(t, s, "pinned")
		// a has taken the turn (its migration runs) before b starts; b and c
		// start together (pushes closer than ListExecutions' lag: see "two
		// pushes at once").
		waitUntil(t, "a's migration started", func() bool { return len(s.Emulator.Calls("RunTask")) >= 1 })
		b := push(t, s, "pinned")
		time.Sleep(300 * time.Millisecond)
		c := push(t, s, "pinned")
		ra, _ := result(t, s, a)
		rb, ob := result(t, s, b)
		rc, _ := result(t, s, c)
		if endState(ra) != "Deployed" || endState(rb) != "Superseded" || rb.Status != "SUCCEEDED" || endState(rc) != "Deployed" {
			t.Fatalf("ends: a %s, b %s (%s), c %s", endState(ra), endState(rb), rb.Status, endState(rc))
		}
		if ob.Turn.SupersededBy != c.name || !strings.Contains(ob.Turn.Reason, "only the newest waits") {
			t.Errorf("b's output does not say it was superseded by c: %+v", ob.Turn)
		}
		if got := s.Emulator.DeploymentCount("pinned", "pinned-service") - 1; got != 2 {
			t.Errorf("deployments = %d, want 2 (a and c)", got)
		}
		if got := s.Emulator.RunningDigest("pinned", "pinned-service", "app"); got != c.digest {
			t.Errorf("the service runs %s, want c's %s", got, c.digest)
		}
		noOverlap(t, s.Emulator.Spans())
	})

	t.Run("the same event delivered twice deploys once", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		a := push(t, s, "staging")
		dup := startPush(t, s, "staging", a.digest, a.name+"-again")
		ra, oa := result(t, s, a)
		rd, od := result(t, s, dup)
		t.Logf("a: %+v", oa.Turn)
		// Started together, neither is listed to the other at first: the one
		// that takes the turn deploys, the other is its duplicate.
		if endState(ra) == "Duplicate" {
			ra, oa, rd, od, a, dup = rd, od, ra, oa, dup, a
		}
		if endState(ra) != "Deployed" || endState(rd) != "Duplicate" || rd.Status != "SUCCEEDED" || od.Turn.DuplicateOf != a.name {
			t.Fatalf("%s %s, %s %s %s %+v", a.name, endState(ra), dup.name, rd.Status, endState(rd), od.Turn)
		}
		if s.Emulator.TaskCount() != 1 || s.Emulator.DeploymentCount("staging", "staging-service")-1 != 1 {
			t.Errorf("tasks %d, deployments %d, want 1 and 1", s.Emulator.TaskCount(), s.Emulator.DeploymentCount("staging", "staging-service")-1)
		}
		// And once more after it succeeded, within the duplicate window.
		late := startPush(t, s, "staging", a.digest, a.name+"-late")
		rl, _ := result(t, s, late)
		if endState(rl) != "Duplicate" {
			t.Errorf("a redelivery after success ended %s, want Duplicate", endState(rl))
		}
	})

	// Tag mode: ECS resolves the tag at RunTask and again at the deployment.
	// A tag that moved in between ends DigestMismatch before anything is
	// deployed; the moved-to image's own push migrates and deploys it.
	t.Run("the tag moves during the migration, image mode tag", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 2}})
		before := s.Emulator.DeploymentCount("staging", "staging-service")
		a := push(t, s, "staging")
		waitUntil(t, "the migration started", func() bool { return len(s.Emulator.Calls("RunTask")) >= 1 })
		newer := s.Emulator.PushManifest(emulator.Repository, "staging", emulator.SampleManifest(999)) // its own execution is not the point here
		r, _ := result(t, s, a)
		if r.Status != "FAILED" || r.Error != "DigestMismatch" || !strings.Contains(r.Cause, newer) || !strings.Contains(r.Cause, "Nothing was deployed") {
			t.Fatalf("%s %s (%s), want FAILED DigestMismatch naming %s", r.Status, r.Error, r.Cause, newer)
		}
		if got := s.Emulator.DeploymentCount("staging", "staging-service"); got != before {
			t.Errorf("%d deployments, want %d: nothing deployed", got, before)
		}
		if got := s.Emulator.RunningDigest("staging", "staging-service", "app"); got == newer {
			t.Errorf("the service runs %s, the image whose migration never ran", got)
		}
	})

	t.Run("the tag moves before the migration's image is pulled, image mode tag", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		s.SetScenario(emulator.Scenario{CapacityFailures: 1, Migration: emulator.MigrationScript{Seconds: 2}})
		before := s.Emulator.DeploymentCount("staging", "staging-service")
		a := push(t, s, "staging")
		waitUntil(t, "the first RunTask found no capacity", func() bool { return len(s.Emulator.Calls("RunTask")) >= 1 })
		newer := s.Emulator.PushManifest(emulator.Repository, "staging", emulator.SampleManifest(998))
		r, _ := result(t, s, a)
		if r.Status != "FAILED" || r.Error != "DigestMismatch" || !strings.Contains(r.Cause, "migration task") || !strings.Contains(r.Cause, "runs "+newer) {
			t.Fatalf("%s %s (%s), want FAILED DigestMismatch: the migration ran %s", r.Status, r.Error, r.Cause, newer)
		}
		if got := s.Emulator.DeploymentCount("staging", "staging-service"); got != before {
			t.Errorf("%d deployments, want %d: nothing deployed", got, before)
		}
	})

	t.Run("the tag moves during the migration, image mode digest", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		s.SetScenario(emulator.Scenario{Migration: emulator.MigrationScript{Seconds: 2}})
		a := push(t, s, "pinned")
		waitUntil(t, "the migration started", func() bool { return len(s.Emulator.Calls("RunTask")) >= 1 })
		s.Emulator.PushManifest(emulator.Repository, "pinned", emulator.SampleManifest(999))
		r, out := result(t, s, a)
		if r.Status != "SUCCEEDED" {
			t.Fatalf("%s %s: %s", r.Status, r.Error, r.Cause)
		}
		// Exactly the pushed digest, whatever the tag says.
		if running := s.Emulator.RunningDigest("pinned", "pinned-service", "app"); running != a.digest || out.Image.DeployedDigest != a.digest || out.Image.Note != "" || out.Image.PinnedTaskDefinition == "" {
			t.Errorf("running %s, output %+v; want the pushed %s", running, out.Image, a.digest)
		}
		regs := s.Emulator.RegisteredTaskDefinitions()
		if len(regs) != 1 || !strings.Contains(string(regs[0]), "app@"+a.digest) || !strings.Contains(string(regs[0]), "arn:aws:iam::123456789012:role/app-task") ||
			!strings.Contains(string(regs[0]), `"awslogs-group":"/ecs/app"`) || !strings.Contains(string(regs[0]), "aws-for-fluent-bit:stable") {
			t.Errorf("registered %d revisions: %.600s", len(regs), firstOr(regs))
		}
		rt := lastRequest(t, s, "RunTask")
		if rt["taskDefinition"] != out.Image.PinnedTaskDefinition {
			t.Errorf("the migration ran %v, not the pinned %s", rt["taskDefinition"], out.Image.PinnedTaskDefinition)
		}
	})

	t.Run("Lambdas retried after UpdateService and RegisterTaskDefinition succeeded", func(t *testing.T) {
		t.Parallel()
		s := startStack(t)
		s.SetScenario(emulator.Scenario{LambdaFaults: map[string]int{"StartDeployment": 1, "PinImage": 1}})
		a := push(t, s, "pinned")
		r, _ := result(t, s, a)
		if r.Status != "SUCCEEDED" {
			t.Fatalf("%s %s: %s", r.Status, r.Error, r.Cause)
		}
		if n := len(s.Emulator.Calls("UpdateService")); n != 1 {
			t.Errorf("UpdateService calls = %d, want 1 (the retry adopts the deployment)", n)
		}
		if n := len(s.Emulator.RegisteredTaskDefinitions()); n != 1 {
			t.Errorf("revisions registered = %d, want 1 (the retry reuses it)", n)
		}
		if s.Invocations("start-deployment") != 2 || s.Invocations("pin-image") != 2 {
			t.Errorf("invocations: start-deployment %d, pin-image %d; want 2 each (the faults were not injected)", s.Invocations("start-deployment"), s.Invocations("pin-image"))
		}
	})
}

func firstOr[T any](xs []T) any {
	if len(xs) == 0 {
		return "none"
	}
	return xs[0]
}

// 20 executions over 5 services with random arrival times, durations and
// failures (seeded, so a failure replays): never two migrations or
// deployments of a service at once, every execution ends in a documented
// state, and each service ends on the newest digest that was migrated and
// deployed.
func TestQueueRandomized(t *testing.T) {
	const seed = 20261125
	s := startStack(t)
	s.SetScenario(emulator.Scenario{Random: &emulator.RandomScript{Seed: seed, MinSeconds: 0.2, MaxSeconds: 1.2,
		MigrationFailureRate: 0.2, RolloutFailureRate: 0.1}})
	rng := rand.New(rand.NewPCG(seed, 1))
	type started struct {
		pushed
		service int
	}
	var runs []started
	for i := range 20 {
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		n := 1 + rng.IntN(emulator.FleetSize)
		p := push(t, s, emulator.FleetTag(n))
		runs = append(runs, started{p, n})
		if rng.IntN(6) == 0 && i < 19 { // EventBridge delivers twice now and then
			runs = append(runs, started{startPush(t, s, emulator.FleetTag(n), p.digest, p.name+"-again"), n})
		}
	}
	documented := map[string]bool{"Deployed": true, "Superseded": true, "Duplicate": true, "MigrationFailed": true, "DeploymentRolledBack": true}
	newestDeployed := map[int]string{}
	ends := map[string]int{}
	for _, r := range runs {
		res, out := result(t, s, r.pushed)
		end := endState(res)
		ends[end]++
		if !documented[end] || (res.Status == "SUCCEEDED") != slices.Contains([]string{"Deployed", "Superseded", "Duplicate"}, end) {
			t.Errorf("%s ended %s in %s (%s)", r.name, res.Status, end, res.Cause)
		}
		if end == "Deployed" {
			if out.Migration.ExitCode == nil || *out.Migration.ExitCode != 0 {
				t.Errorf("%s deployed without a successful migration: %+v", r.name, out.Migration)
			}
			newestDeployed[r.service] = r.digest // runs are in start order
		}
	}
	for n := 1; n <= emulator.FleetSize; n++ {
		want, ok := newestDeployed[n]
		if !ok {
			want = emulator.Digest
		}
		if got := s.Emulator.RunningDigest(emulator.FleetTag(n), emulator.FleetTag(n)+"-service", "app"); got != want {
			t.Errorf("%s runs %s, want the newest deployed %s", emulator.FleetTag(n), got, want)
		}
	}
	spans := s.Emulator.Spans()
	noOverlap(t, spans)
	migrations := 0
	for _, sp := range spans {
		if sp.Kind == "migration" {
			migrations++
		}
	}
	t.Logf("%d executions, %d migrations, %d spans; ends: %v", len(runs), migrations, len(spans), ends)
}

// An execution that ends while ECS still rolls its deployment out (stopped
// by hand here; a timeout or a failure of ours ends one the same way)
// hands its turn on, but ECS has not finished: the next push waits for
// ECS's record of the rollout, says whose it waits for, then migrates and
// deploys. Before CheckTurn asked ECS, its migration ran mid-rollout.
func TestNextPushWaitsForARolloutWhoseExecutionEnded(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	s.SetScenario(emulator.Scenario{Rollout: emulator.RolloutScript{Seconds: 5}})
	a := push(t, s, "staging")
	rolling := func() bool {
		for _, sp := range s.Emulator.Spans() {
			if sp.Kind == "deployment" && sp.End.IsZero() {
				return true
			}
		}
		return false
	}
	waitUntil(t, "a's deployment is rolling out", rolling)
	if _, err := sfn.NewFromConfig(s.AdminConfig()).StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: aws.String(a.arn), Cause: aws.String("stopped by hand mid-rollout")}); err != nil {
		t.Fatal(err)
	}
	b := push(t, s, "staging")
	rb, ob := result(t, s, b)
	if rb.Status != "SUCCEEDED" || endState(rb) != "Deployed" {
		t.Fatalf("b %s %s (%s)", rb.Status, endState(rb), rb.Cause)
	}
	waited := false
	for _, in := range entered(rb, "WaitingForTurn") {
		waited = waited || strings.Contains(string(in), `"inFlight":{"service":"staging/staging-service"`)
	}
	if !waited {
		t.Errorf("b never waited in WaitingForTurn for the rollout ECS was still doing; its turn: %+v", ob.Turn)
	}
	noOverlap(t, s.Emulator.Spans())
	if got := s.Emulator.RunningDigest("staging", "staging-service", "app"); got != b.digest {
		t.Errorf("the service runs %s, want b's %s", got, b.digest)
	}
}
