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

	"github.com/ecr-deployer/ecr-deployer/internal/chart"
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
	return written((time.Duration(*s * float64(time.Second))).Round(time.Second))
}

func pct(r *float64) string {
	if r == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", *r*100)
}

// Colours of the stats chart's outcomes.
const (
	deployedColor = "#2e7d32"
	failedColor   = "#c62828"
)

// WriteStatsSVG draws each environment's deployments per UTC day, deployed
// stacked under failed, on a labelled scale with dates, and the four DORA
// figures beside its bars (n/a where there is nothing to measure).
func WriteStatsSVG(w io.Writer, ss []Stats) {
	const left, plotW, plotH, rowH, top, figuresW = 80, 540, 110, 190, 96, 360
	from, to := "", ""
	if len(ss) > 0 && len(ss[0].Days) > 0 {
		from, to = ss[0].Days[0].Date, ss[0].Days[len(ss[0].Days)-1].Date
	}
	height := top + max(1, len(ss))*rowH
	chart.Start(w, left+plotW+40+figuresW, height, fmt.Sprintf("Deployments per day by outcome, %s to %s (UTC)", from, to))
	chart.Text(w, 20, 50, chart.SmallSize, "", "", "From the workflow's execution history (deployer stats); the four DORA figures beside each environment")
	x := chart.Swatch(w, 20, 74, deployedColor, "deployed", false)
	chart.Swatch(w, x, 74, failedColor, "failed (a change failure)", false)
	if len(ss) == 0 {
		chart.Text(w, 20, top+30, chart.LabelSize, "", "", "No deployments in that period.")
	}
	for r, s := range ss {
		writeStatsRow(w, s, chart.Plot{X: left, Y: top + r*rowH + 30, W: plotW, H: plotH}, left+plotW+40)
	}
	chart.End(w)
}

// writeStatsRow draws one environment: its name, bars, scale and dates,
// and its figures at fx.
func writeStatsRow(w io.Writer, s Stats, plot chart.Plot, fx int) {
	peak := 1
	for _, d := range s.Days {
		peak = max(peak, d.Deployed+d.Failed)
	}
	ticks := chart.CountTicks(peak)
	plot.Max = ticks[len(ticks)-1]
	chart.Text(w, plot.X, plot.Y-12, chart.LabelSize, "", "bold", s.Environment)
	plot.Axes(w, ticks, "deployments")
	n := max(1, len(s.Days))
	slot := float64(plot.W) / float64(n)
	barW := max(2, int(slot*0.7))
	every := max(1, int(math.Ceil(float64(chart.Width("00-00", chart.SmallSize)+12)/slot)))
	for i, d := range s.Days {
		bx := plot.X + int(float64(i)*slot+(slot-float64(barW))/2)
		if d.Deployed > 0 {
			plot.Bar(w, bx, barW, float64(d.Deployed), deployedColor, fmt.Sprintf("%s: %d deployed", d.Date, d.Deployed))
		}
		if d.Failed > 0 {
			y0 := plot.YOf(float64(d.Deployed))
			y1 := plot.YOf(float64(d.Deployed + d.Failed))
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d failed</title></rect>`+"\n", bx, y1, barW, y0-y1, failedColor, d.Date, d.Failed)
		}
		if i%every == 0 {
			chart.Text(w, bx+barW/2, plot.Y+plot.H+16, chart.SmallSize, "middle", "", d.Date[5:])
		}
	}
	lines := [][2]string{
		{"Deployment frequency", fmt.Sprintf("%.2f a day (%d deployed, %d failed)", s.PerDay, s.Deployed, s.Failed)},
		{"Lead time p50 / p90", fmt.Sprintf("%s / %s (%s)", dur(s.LeadTimeP50Seconds), dur(s.LeadTimeP90Seconds), plural(s.LeadTimeSamples, "push"))},
		{"Change failure rate", pct(s.ChangeFailureRate)},
		{"Time to restore p50", fmt.Sprintf("%s (%s)", dur(s.TimeToRestoreP50Seconds), plural(s.Restores, "restore"))},
	}
	for i, l := range lines {
		y := plot.Y + 14 + i*26
		chart.Text(w, fx, y, chart.SmallSize, "", "bold", l[0])
		chart.Text(w, fx+150, y, chart.SmallSize, "", "", l[1])
	}
}
