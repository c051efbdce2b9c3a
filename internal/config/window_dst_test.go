package config

import (
	"testing"
	"time"
)

// Windows on both of 2026's daylight saving changeover days, in two time
// zones: a window keeps its wall-clock hours on the day itself; a from or
// to in the skipped hour is the change itself (03:00); in the repeated hour
// a window opens at the later occurrence and closes at the earlier one, so
// it never lasts longer than its hours. Expected instants are written in UTC, worked out by hand from
// the zones' offsets (CET +1 / CEST +2; EST −5 / EDT −4).
func TestWindowsAcrossDaylightSaving(t *testing.T) {
	z := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	berlin := func(days, from, to string) Windows {
		return Windows{{Days: days, From: from, To: to, TimeZone: "Europe/Berlin"}}
	}
	newYork := func(days, from, to string) Windows {
		return Windows{{Days: days, From: from, To: to, TimeZone: "America/New_York"}}
	}
	cases := []struct {
		name string
		ws   Windows
		now  string
		open bool
		at   string
	}{
		// Berlin springs forward on Sunday 29 March (02:00 CET → 03:00 CEST).
		{"Berlin spring day: a Sunday 09:00 window opens at 09:00 CEST", berlin("Sun", "09:00", "17:00"), "2026-03-29T06:00:00Z", false, "2026-03-29T07:00:00Z"},
		{"Berlin spring day: inside, until 17:00 CEST", berlin("Sun", "09:00", "17:00"), "2026-03-29T08:00:00Z", true, "2026-03-29T15:00:00Z"},
		{"Berlin spring day: from in the skipped hour opens at the change, 03:00 CEST", berlin("Sun", "02:30", "04:00"), "2026-03-29T00:15:00Z", false, "2026-03-29T01:00:00Z"},
		{"Berlin spring day: to in the skipped hour closes at the change", berlin("Sun", "01:00", "02:30"), "2026-03-29T00:30:00Z", true, "2026-03-29T01:00:00Z"},
		// Berlin falls back on Sunday 25 October (03:00 CEST → 02:00 CET).
		{"Berlin fall day: a Sunday 09:00 window opens at 09:00 CET", berlin("Sun", "09:00", "17:00"), "2026-10-25T07:00:00Z", false, "2026-10-25T08:00:00Z"},
		{"Berlin fall day: a window over midnight closes at the first 02:00 (CEST)", berlin("Sat", "22:00", "02:00"), "2026-10-24T23:00:00Z", true, "2026-10-25T00:00:00Z"},
		{"Berlin fall day: from in the repeated hour opens at the second 02:30 (CET)", berlin("Sun", "02:30", "04:00"), "2026-10-24T23:30:00Z", false, "2026-10-25T01:30:00Z"},
		// New York springs forward on Sunday 8 March (02:00 EST → 03:00 EDT).
		{"New York spring day: 09:00 EDT", newYork("Sun", "09:00", "17:00"), "2026-03-08T12:00:00Z", false, "2026-03-08T13:00:00Z"},
		{"New York spring day: from in the skipped hour opens at the change, 03:00 EDT (not 01:30 EST)", newYork("Sun", "02:30", "04:00"), "2026-03-08T06:00:00Z", false, "2026-03-08T07:00:00Z"},
		// New York falls back on Sunday 1 November (02:00 EDT → 01:00 EST).
		{"New York fall day: 09:00 EST", newYork("Sun", "09:00", "17:00"), "2026-11-01T13:00:00Z", false, "2026-11-01T14:00:00Z"},
		{"New York fall day: from in the repeated hour opens at the second 01:30 (EST)", newYork("Sun", "01:30", "03:00"), "2026-11-01T04:00:00Z", false, "2026-11-01T06:30:00Z"},
		{"New York fall day: to in the repeated hour closes at the first 01:30 (EDT)", newYork("Sat", "23:00", "01:30"), "2026-11-01T04:00:00Z", true, "2026-11-01T05:30:00Z"},
		// Minutes count: a 09:30 window is not a 09:00 or a 10:00 one.
		{"half past: opens at 09:30", berlin("Mon", "09:30", "10:15"), "2026-11-30T08:00:00Z", false, "2026-11-30T08:30:00Z"},
		{"half past: closes at 10:15", berlin("Mon", "09:30", "10:15"), "2026-11-30T09:00:00Z", true, "2026-11-30T09:15:00Z"},
		// A week ahead is the furthest a weekly window can be.
		{"next week's: seven days on", berlin("Mon", "09:00", "10:00"), "2026-11-30T09:30:00Z", false, "2026-12-07T08:00:00Z"},
	}
	for _, tc := range cases {
		open, at := tc.ws.Open(z(tc.now))
		if open != tc.open || !at.Equal(z(tc.at)) {
			t.Errorf("%s: Open(%s) = %v, %s; want %v, %s", tc.name, tc.now, open, at.UTC().Format(time.RFC3339), tc.open, tc.at)
		}
	}
}
