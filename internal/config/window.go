package config

import (
	"fmt"
	"strings"
	"time"

	// The Lambda runtime (provided.al2023) has no zoneinfo of its own for Go
	// to find: the time zone database is compiled in.
	_ "time/tzdata"
)

// Window is a deployment window: on the given days, from one local time to
// another in a time zone. A window whose "to" is not after its "from"
// crosses midnight: it opens on a listed day and closes the next.
//
//	{"days": "Mon-Fri", "from": "09:00", "to": "17:00", "timeZone": "Europe/Berlin"}
type Window struct {
	Days     string `json:"days"`
	From     string `json:"from"`
	To       string `json:"to"`
	TimeZone string `json:"timeZone"`
}

// Windows are a target's deployment windows: a deployment starts only
// inside one of them (or with a person's override).
type Windows []Window

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parsed is a window read: its days, times (minutes after midnight) and zone.
type parsed struct {
	days     [7]bool
	from, to int
	loc      *time.Location
}

func (w Window) parse() (parsed, []string) {
	var p parsed
	var problems []string
	for _, part := range strings.Split(w.Days, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, okA := weekdays[strings.ToLower(strings.TrimSpace(lo))]
		b := a
		okB := true
		if isRange {
			b, okB = weekdays[strings.ToLower(strings.TrimSpace(hi))]
		}
		if !okA || !okB {
			problems = append(problems, fmt.Sprintf("days: %q is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun; Mon-Fri; Sat,Sun)", part))
			continue
		}
		for d := a; ; d = (d + 1) % 7 {
			p.days[d] = true
			if d == b {
				break
			}
		}
	}
	clock := func(field, v string) int {
		t, err := time.Parse("15:04", v)
		if err != nil || len(v) != 5 {
			problems = append(problems, fmt.Sprintf("%s: %q is not a time of day as HH:MM (00:00 to 23:59)", field, v))
			return 0
		}
		return t.Hour()*60 + t.Minute()
	}
	p.from, p.to = clock("from", w.From), clock("to", w.To)
	if w.From == w.To && w.From != "" {
		problems = append(problems, fmt.Sprintf("to: %q is the same as from: the window would last no time (for all day, use 00:00 to 23:59)", w.To))
	}
	loc, err := time.LoadLocation(w.TimeZone)
	switch {
	case w.TimeZone == "":
		problems = append(problems, `timeZone: required, an IANA time zone ("Europe/Berlin", "UTC")`)
	case err != nil:
		problems = append(problems, fmt.Sprintf("timeZone: %q is not an IANA time zone (\"Europe/Berlin\", \"America/New_York\", \"UTC\")", w.TimeZone))
	}
	p.loc = loc
	return p, problems
}

func (w Window) String() string {
	return fmt.Sprintf("%s %s-%s %s", w.Days, w.From, w.To, w.TimeZone)
}

// String names the windows for people.
func (ws Windows) String() string {
	var s []string
	for _, w := range ws {
		s = append(s, w.String())
	}
	return strings.Join(s, ", ")
}

// Open says whether t is inside one of the windows; if it is, until when
// (the latest close of the windows it is in), else when the next one opens.
// Local times are taken in each window's zone on each day, so a window keeps
// its wall-clock hours across daylight saving changes (wallClock says how a
// skipped or repeated from or to is read).
func (ws Windows) Open(t time.Time) (open bool, at time.Time) {
	for _, w := range ws {
		p, problems := w.parse()
		if len(problems) > 0 {
			continue // validation refuses such a configuration
		}
		local := t.In(p.loc)
		// A window that crosses midnight may have opened yesterday; one opening
		// a week from today is the furthest a weekly schedule can be.
		for off := -1; off <= 7; off++ {
			day := time.Date(local.Year(), local.Month(), local.Day()+off, 0, 0, 0, 0, p.loc)
			if !p.days[day.Weekday()] {
				continue
			}
			start := wallClock(day, p.from, p.loc, false)
			endDay := day
			if p.to <= p.from {
				endDay = day.AddDate(0, 0, 1)
			}
			end := wallClock(endDay, p.to, p.loc, true)
			switch {
			case !t.Before(start) && t.Before(end):
				if !open || end.After(at) {
					open, at = true, end
				}
			case start.After(t) && !open:
				if at.IsZero() || start.Before(at) {
					at = start
				}
			}
		}
	}
	return open, at
}

// wallClock is the instant loc's clock reads minutes past midnight on day.
// time.Date leaves a time a daylight saving change skips or repeats to
// either offset ("it does not guarantee which"), and it does pick
// differently by zone (02:30 on the spring-forward day is 03:30 CEST in
// Berlin but 01:30 EST in New York), so this reads them one way, the way
// that never widens a window:
//   - a skipped time (spring forward) is the change itself, the first
//     instant whose clock reads later (02:30 → 03:00);
//   - a repeated time (fall back) is its later occurrence for an opening
//     and its earlier one for a close.
func wallClock(day time.Time, minutes int, loc *time.Location, earliest bool) time.Time {
	y, m, d, hh, mm := day.Year(), day.Month(), day.Day(), minutes/60, minutes%60
	t := time.Date(y, m, d, hh, mm, 0, 0, loc)
	reads := func(c time.Time) bool {
		l := c.In(loc)
		return l.Year() == y && l.Month() == m && l.Day() == d && l.Hour() == hh && l.Minute() == mm
	}
	var found []time.Time
	for _, c := range []time.Time{t.Add(-time.Hour), t, t.Add(time.Hour)} {
		if reads(c) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0:
		// Skipped: the zone that ends within the hour before t ends at the change.
		if _, change := t.Add(-time.Hour).ZoneBounds(); !change.IsZero() && !change.After(t.Add(time.Hour)) {
			return change
		}
		return t
	case earliest:
		return found[0]
	}
	return found[len(found)-1]
}

// validateWindows reports every problem of a target's windows, by field.
func validateWindows(file, field string, ws Windows) []error {
	var errs []error
	for i, w := range ws {
		_, problems := w.parse()
		for _, p := range problems {
			name, msg, _ := strings.Cut(p, ": ")
			errs = append(errs, &FieldError{file, fmt.Sprintf("%s.windows[%d].%s", field, i, name), msg})
		}
	}
	return errs
}
