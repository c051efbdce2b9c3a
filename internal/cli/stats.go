package cli

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecr-deployer/ecr-deployer/internal/deploy"
	"github.com/ecr-deployer/ecr-deployer/internal/executions"
)

// The four DORA figures, from the workflow's own execution history: how
// often each environment deploys, how long a pushed image takes to run
// there, how often a deployment fails, and how long until the next success
// after a failure. Step Functions keeps a Standard workflow's executions
// for 90 days after they end, so that is as far back as stats can see.
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html

// HistoryRetention is how long Step Functions lists an ended execution.
const HistoryRetention = 90 * 24 * time.Hour

// Attempt is one execution as stats counts it.
type Attempt struct {
	Environment string
	Start, Stop time.Time
	// PushedAt is the ECR push time (the event's time) of a push.
	PushedAt time.Time
	// Outcome is deployed, failed (a change that failed: migration or
	// deployment), or skipped (superseded, duplicate, refused before
	// anything ran, still running): skipped attempts count nowhere in the
	// DORA figures.
	Outcome string
	// Decisions are the people's decisions it recorded (deploy.AuditOf),
	// counted whatever the outcome: a rejection skips the change.
	Decisions []deploy.AuditEntry
}

// Outcomes of an attempt.
const (
	OutcomeDeployed = "deployed"
	OutcomeFailed   = "failed"
	OutcomeSkipped  = "skipped"
)

// OutcomeOf classifies an ended execution by the one table of what its
// error means (executions.Classify): a change failure is failed; a
// deployment is deployed; anything else (superseded, duplicate, refused
// before anything ran, still running) is skipped.
func OutcomeOf(status sfntypes.ExecutionStatus, errName string, deployed bool) string {
	c := executions.Classify(status, errName, deployed)
	switch {
	case status == sfntypes.ExecutionStatusSucceeded && deployed:
		return OutcomeDeployed
	case c.ChangeFailure:
		return OutcomeFailed
	}
	return OutcomeSkipped
}

// Stats are one environment's figures over the period.
type Stats struct {
	Environment string `json:"environment"`
	Deployed    int    `json:"deployed"`
	Failed      int    `json:"failed"`
	// PerDay is deployments (deployed) per day over the period.
	PerDay float64 `json:"deploymentsPerDay"`
	// LeadTime is push → deployed, over pushes that deployed.
	LeadTimeP50Seconds *float64 `json:"leadTimeP50Seconds"`
	LeadTimeP90Seconds *float64 `json:"leadTimeP90Seconds"`
	LeadTimeSamples    int      `json:"leadTimeSamples"`
	// ChangeFailureRate is failed / (deployed + failed).
	ChangeFailureRate *float64 `json:"changeFailureRate"`
	// TimeToRestore is, for each failure, the time until the environment's
	// next deployment succeeded (median); failures not yet restored are left out.
	TimeToRestoreP50Seconds *float64 `json:"timeToRestoreP50Seconds"`
	Restores                int      `json:"restores"`
	// Days are the attempts per UTC day, oldest first, for the chart.
	Days []Day `json:"days"`
	// Decisions counts the people's decisions by kind (start, approved,
	// override-guard, …: deployer audit lists them); Unverified are those
	// whose identity IAM did not establish (a raw StartExecution, or a
	// release before the deployer API).
	Decisions  map[string]int `json:"decisions,omitempty"`
	Unverified int            `json:"unverifiedDecisions"`
}

// Day is one UTC day's attempts.
type Day struct {
	Date     string `json:"date"`
	Deployed int    `json:"deployed"`
	Failed   int    `json:"failed"`
}

// ComputeStats computes each environment's figures from the attempts that
// ended within [since, now).
func ComputeStats(attempts []Attempt, since, now time.Time) []Stats {
	byEnv := map[string][]Attempt{}
	decided := map[string][]deploy.AuditEntry{}
	for _, a := range attempts {
		if a.Stop.Before(since) || !a.Stop.Before(now) {
			continue
		}
		if len(a.Decisions) > 0 {
			decided[a.Environment] = append(decided[a.Environment], a.Decisions...)
			if byEnv[a.Environment] == nil {
				byEnv[a.Environment] = []Attempt{}
			}
		}
		if a.Outcome != OutcomeSkipped {
			byEnv[a.Environment] = append(byEnv[a.Environment], a)
		}
	}
	days := math.Max(1, now.Sub(since).Hours()/24)
	var out []Stats
	for env, as := range byEnv {
		sort.Slice(as, func(i, j int) bool { return as[i].Stop.Before(as[j].Stop) })
		s := Stats{Environment: env}
		for _, d := range decided[env] {
			if s.Decisions == nil {
				s.Decisions = map[string]int{}
			}
			s.Decisions[d.Kind]++
			if d.Verified == "" {
				s.Unverified++
			}
		}
		var lead, restore []float64
		perDay := map[string]*Day{}
		for i, a := range as {
			key := a.Stop.UTC().Format("2006-01-02")
			if perDay[key] == nil {
				perDay[key] = &Day{Date: key}
			}
			if a.Outcome == OutcomeDeployed {
				s.Deployed++
				perDay[key].Deployed++
				if !a.PushedAt.IsZero() {
					lead = append(lead, a.Stop.Sub(a.PushedAt).Seconds())
				}
				continue
			}
			s.Failed++
			perDay[key].Failed++
			for _, next := range as[i+1:] {
				if next.Outcome == OutcomeDeployed {
					restore = append(restore, next.Stop.Sub(a.Stop).Seconds())
					break
				}
			}
		}
		s.PerDay = float64(s.Deployed) / days
		s.LeadTimeSamples, s.Restores = len(lead), len(restore)
		s.LeadTimeP50Seconds, s.LeadTimeP90Seconds = percentile(lead, 50), percentile(lead, 90)
		s.TimeToRestoreP50Seconds = percentile(restore, 50)
		if n := s.Deployed + s.Failed; n > 0 {
			r := float64(s.Failed) / float64(n)
			s.ChangeFailureRate = &r
		}
		for d := since.UTC().Truncate(24 * time.Hour); d.Before(now); d = d.Add(24 * time.Hour) {
			key := d.Format("2006-01-02")
			if p := perDay[key]; p != nil {
				s.Days = append(s.Days, *p)
			} else {
				s.Days = append(s.Days, Day{Date: key})
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Environment < out[j].Environment })
	return out
}

// percentile is the nearest-rank percentile, nil without samples.
func percentile(xs []float64, p float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	v := s[max(0, min(i, len(s)-1))]
	return &v
}

// RenderStats writes the figures as a table.
func RenderStats(w io.Writer, ss []Stats, since, now time.Time) {
	fmt.Fprintf(w, "DORA figures from %s to %s (Step Functions lists executions for 90 days after they end).\n\n",
		since.UTC().Format("2006-01-02"), now.UTC().Format("2006-01-02"))
	if len(ss) == 0 {
		fmt.Fprintln(w, "No deployments in that period.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tDEPLOYED\tFAILED\tPER DAY\tLEAD TIME p50/p90\tCHANGE FAILURE RATE\tTIME TO RESTORE p50\tPEOPLE'S DECISIONS")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%s / %s (%d pushes)\t%s\t%s (%d)\t%s\n", s.Environment, s.Deployed, s.Failed, s.PerDay,
			dur(s.LeadTimeP50Seconds), dur(s.LeadTimeP90Seconds), s.LeadTimeSamples, pct(s.ChangeFailureRate), dur(s.TimeToRestoreP50Seconds), s.Restores, decisionsCell(s))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nPeople's decisions: who and why, by execution: deployer audit.")
}

// decisionsCell says an environment's decisions by kind, and how many
// IAM did not verify.
func decisionsCell(s Stats) string {
	if len(s.Decisions) == 0 {
		return "none"
	}
	kinds := make([]string, 0, len(s.Decisions))
	for k := range s.Decisions {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", s.Decisions[k], strings.ToLower(k))
	}
	out := strings.Join(parts, ", ")
	if s.Unverified > 0 {
		out += fmt.Sprintf(" (%d unverified)", s.Unverified)
	}
	return out
}

func dur(s *float64) string {
	if s == nil {
		return "n/a"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Second).String()
}

func pct(r *float64) string {
	if r == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", *r*100)
}

// WriteStatsSVG draws each environment's deployments per day, deployed
// (green) stacked under failed (red).
func WriteStatsSVG(w io.Writer, ss []Stats) {
	const barW, gap, chartH, rowH, left = 6, 2, 60, 90, 90
	width := left + 20
	for _, s := range ss {
		width = max(width, left+len(s.Days)*(barW+gap)+20)
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, len(ss)*rowH+20)
	for r, s := range ss {
		top := 10 + r*rowH
		peak := 1
		for _, d := range s.Days {
			peak = max(peak, d.Deployed+d.Failed)
		}
		fmt.Fprintf(w, `<text x="4" y="%d">%s</text>`+"\n", top+chartH/2, xmlEscape(s.Environment))
		for i, d := range s.Days {
			x := left + i*(barW+gap)
			hd, hf := d.Deployed*chartH/peak, d.Failed*chartH/peak
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="#2e7d32"><title>%s: %d deployed</title></rect>`+"\n", x, top+chartH-hd, barW, hd, d.Date, d.Deployed)
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="#c62828"><title>%s: %d failed</title></rect>`+"\n", x, top+chartH-hd-hf, barW, hf, d.Date, d.Failed)
		}
		if n := len(s.Days); n > 0 {
			fmt.Fprintf(w, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
				left, top+chartH+14, s.Days[0].Date, left+n*(barW+gap), top+chartH+14, s.Days[n-1].Date)
		}
	}
	fmt.Fprintln(w, "</svg>")
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
