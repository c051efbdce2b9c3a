package soak

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/rig"
	"github.com/ecr-deployer/ecr-deployer/statemachine"
)

// Step Functions' limits: "25,000 events" of history, 256 KiB of state.
const (
	maxHistoryEvents = 25_000
	maxStateBytes    = 256 << 10
)

// check judges one seed's executions against the emulator's ground truth;
// outcomes is filled with how each ended.
func check(s *rig.Stack, cfg *config.Config, pushes []pushed, results []*rig.Result, spans []emulator.Span, outcomes, behaviours map[string]int) []string {
	var v []string
	named := namedFailures()
	for _, r := range results {
		outcome, bad := outcomeOf(r, named)
		outcomes[outcome]++
		if bad {
			v = append(v, fmt.Sprintf("%s ended %s: %s", r.Name, outcome, clip(r.Cause)))
		}
		if n := s.SFN.HistoryLength(r.ExecutionARN); n > maxHistoryEvents {
			v = append(v, fmt.Sprintf("%s: %d history events", r.Name, n))
		}
		if n := stateSize(r); n > maxStateBytes {
			v = append(v, fmt.Sprintf("%s: a state of %d bytes", r.Name, n))
		}
		if outcome == "Deployed" {
			v = append(v, checkDeployed(s, r, spans)...)
		}
	}
	for _, p := range pushes {
		if startedFor(results, p.digest) {
			continue
		}
		if behaviours[emulator.AdvEventLost] > 0 {
			outcomes["push lost by EventBridge"]++
			continue
		}
		v = append(v, fmt.Sprintf("the push of %s started no execution, and EventBridge lost no event", p.digest))
	}
	return append(v, overlaps(cfg, spans)...)
}

// namedFailures are the error names of the state machine's own Fail states
// but InternalError (a failure of ours).
func namedFailures() map[string]bool {
	doc, err := statemachine.Parse()
	out := map[string]bool{}
	if err != nil {
		return out
	}
	for _, st := range doc.States {
		if st.Type == "Fail" && st.Error != "" && st.Error != "InternalError" {
			out[st.Error] = true
		}
	}
	return out
}

// outcomeOf is how an execution ended: its Succeed state, or its error;
// bad when that is not one of the workflow's named outcomes.
func outcomeOf(r *rig.Result, named map[string]bool) (string, bool) {
	switch r.Status {
	case "SUCCEEDED":
		for i := len(r.Events) - 1; i >= 0; i-- {
			if ev := r.Events[i]; ev.State != nil && ev.Type == "StateEntered" {
				return ev.State.Name, !slices.Contains([]string{"Deployed", "Superseded", "Duplicate"}, ev.State.Name)
			}
		}
		return "SUCCEEDED", true
	case "FAILED":
		return r.Error, !named[r.Error]
	}
	return r.Status, true
}

// checkDeployed holds a Deployed execution to ECS's records: each service
// deployment it reports is SUCCESSFUL, finished before the execution
// ended, and runs the digest the execution reports.
func checkDeployed(s *rig.Stack, r *rig.Result, spans []emulator.Span) []string {
	var out deploy.State
	if !unmarshal(r.Output, &out) {
		return []string{r.Name + ": Deployed without a readable output"}
	}
	end := time.UnixMilli(r.Events[len(r.Events)-1].Timestamp)
	type claim struct{ service, id, arn, digest string }
	claims := []claim{{out.Service, out.Deployment.ID, out.Deployment.ServiceDeploymentARN, out.Image.DeployedDigest}}
	if len(out.Services) > 0 {
		claims = nil
		for _, sr := range out.Services {
			claims = append(claims, claim{sr.Service, sr.Deployment.ID, sr.Deployment.ServiceDeploymentARN, sr.DeployedDigest})
		}
	}
	var v []string
	for _, c := range claims {
		if c.arn == "" {
			v = append(v, checkBySpan(r.Name, c.service, c.id, c.digest, end, spans)...)
			continue
		}
		rec, ok := s.Emulator.ServiceDeploymentOf(c.arn)
		switch {
		case !ok:
			v = append(v, fmt.Sprintf("%s: Deployed %s by service deployment %s, which ECS has no record of", r.Name, c.service, c.arn))
		case rec.Status != "SUCCESSFUL":
			v = append(v, fmt.Sprintf("%s: Deployed %s, but ECS's record %s is %s", r.Name, c.service, c.arn, rec.Status))
		case rec.FinishedAt.After(end):
			v = append(v, fmt.Sprintf("%s: Deployed %s at %s, before ECS's record finished (%s)", r.Name, c.service, end.Format(time.StampMilli), rec.FinishedAt.Format(time.StampMilli)))
		case rec.Digest != c.digest:
			v = append(v, fmt.Sprintf("%s: reports %s deployed %s, ECS's record runs %s", r.Name, c.service, c.digest, rec.Digest))
		}
	}
	return v
}

// checkBySpan is checkDeployed for a deployment judged by deployments[]:
// ECS's span of that deployment ended before the execution and ran the
// reported digest.
func checkBySpan(name, service, id, digest string, end time.Time, spans []emulator.Span) []string {
	for _, sp := range spans {
		if sp.Kind == "deployment" && sp.ID == id && sp.Service == service {
			if sp.End.IsZero() || sp.End.After(end) || sp.Digest != digest {
				return []string{fmt.Sprintf("%s: Deployed %s (%s) with %s; ECS's deployment ended %s running %s", name, service, id, digest, sp.End.Format(time.StampMilli), sp.Digest)}
			}
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: Deployed %s by deployment %s, which ECS never started", name, service, id)}
}

// startedFor says an execution started for the push of digest: its input
// (the first state's) is that push's event.
func startedFor(results []*rig.Result, digest string) bool {
	for _, r := range results {
		for _, ev := range r.Events {
			if ev.State == nil || ev.Type != "StateEntered" {
				continue
			}
			req, err := deploy.ParseInput(ev.State.Input)
			if err == nil && req.Trigger.Type == "push" && req.Digest == digest {
				return true
			}
			break
		}
	}
	return false
}

// overlaps finds two migrations, or two deployments, of one service that
// ran at once: deployments (and ECS's rollbacks) by their service; a
// migration by the services of the execution that started it.
func overlaps(cfg *config.Config, spans []emulator.Span) []string {
	now := time.Now()
	endOf := func(sp emulator.Span) time.Time {
		if sp.End.IsZero() {
			return now
		}
		return sp.End
	}
	services := func(sp emulator.Span) []string {
		if sp.Kind != "migration" {
			return []string{sp.Cluster + "/" + sp.Service}
		}
		name, _ := strings.CutPrefix(sp.StartedBy, "ecr-deployer/")
		env, ok := executions.EnvironmentOfName(name)
		t, found := cfg.ByEnvironment(env)
		if !ok || !found {
			return []string{sp.Cluster + "/?"}
		}
		var out []string
		for _, svc := range t.ServiceNames() {
			out = append(out, t.Cluster+"/"+svc)
		}
		return out
	}
	var v []string
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if !a.Start.Before(endOf(b)) || !b.Start.Before(endOf(a)) {
				continue // one ended before the other began
			}
			if a.Kind != "migration" && b.Kind != "migration" && a.Cluster+"/"+a.Service != b.Cluster+"/"+b.Service {
				continue
			}
			if shared := intersect(services(a), services(b)); shared != "" {
				v = append(v, fmt.Sprintf("%s %s and %s %s of %s ran at once (%s–%s, %s–%s)", a.Kind, short(a.ID), b.Kind, short(b.ID), shared,
					a.Start.Format("15:04:05.000"), endOf(a).Format("15:04:05.000"), b.Start.Format("15:04:05.000"), endOf(b).Format("15:04:05.000")))
			}
		}
	}
	return v
}

func intersect(a, b []string) string {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return x
			}
		}
	}
	return ""
}

func short(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
