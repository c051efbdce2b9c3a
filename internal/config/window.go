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
// its wall-clock hours across daylight saving changes; a from or to that a
// change skips (02:30 on the spring-forward night) is the instant Go
// normalizes it to (an hour later).
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
			start := time.Date(day.Year(), day.Month(), day.Day(), p.from/60, p.from%60, 0, 0, p.loc)
			endDay := day
			if p.to <= p.from {
				endDay = day.AddDate(0, 0, 1)
			}
			end := time.Date(endDay.Year(), endDay.Month(), endDay.Day(), p.to/60, p.to%60, 0, 0, p.loc)
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
