package config

import (
	"strings"
	"testing"
	"time"
)

func TestWindowsOpen(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04 Mon", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	office := Windows{{Days: "Mon-Fri", From: "09:00", To: "17:00", TimeZone: "Europe/Berlin"}}
	night := Windows{{Days: "Sat", From: "22:00", To: "02:00", TimeZone: "Europe/Berlin"}}
	cases := map[string]struct {
		ws   Windows
		now  string
		open bool
		at   string
	}{
		"inside, until the close":                    {office, "2026-11-26 10:00 Thu", true, "2026-11-26 17:00 Thu"},
		"at the opening minute":                      {office, "2026-11-26 09:00 Thu", true, "2026-11-26 17:00 Thu"},
		"at the closing minute: closed":              {office, "2026-11-26 17:00 Thu", false, "2026-11-27 09:00 Fri"},
		"before it opens":                            {office, "2026-11-26 07:30 Thu", false, "2026-11-26 09:00 Thu"},
		"Friday evening waits for Monday":            {office, "2026-11-27 18:00 Fri", false, "2026-11-30 09:00 Mon"},
		"Sunday waits for Monday":                    {office, "2026-11-29 12:00 Sun", false, "2026-11-30 09:00 Mon"},
		"overnight, after midnight still open":       {night, "2026-11-29 01:00 Sun", true, "2026-11-29 02:00 Sun"},
		"overnight, Saturday evening open":           {night, "2026-11-28 23:00 Sat", true, "2026-11-29 02:00 Sun"},
		"overnight, Sunday night closed":             {night, "2026-11-29 23:00 Sun", false, "2026-12-05 22:00 Sat"},
		"spring forward: 09:00 CEST after the night": {office, "2026-03-27 18:00 Fri", false, "2026-03-30 09:00 Mon"},
		"fall back keeps the wall clock":             {office, "2026-10-23 18:00 Fri", false, "2026-10-26 09:00 Mon"},
		"wrapping range Fri-Mon":                     {Windows{{Days: "Fri-Mon", From: "10:00", To: "11:00", TimeZone: "Europe/Berlin"}}, "2026-11-29 10:30 Sun", true, "2026-11-29 11:00 Sun"},
		"two windows: the earliest opening": {Windows{{Days: "Tue", From: "09:00", To: "10:00", TimeZone: "Europe/Berlin"}, {Days: "Mon", From: "20:00", To: "21:00", TimeZone: "UTC"}},
			"2026-11-30 08:00 Mon", false, "2026-11-30 21:00 Mon"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			open, when := tc.ws.Open(at(tc.now))
			if open != tc.open || !when.Equal(at(tc.at)) {
				t.Fatalf("Open(%s) = %v, %s; want %v, %s", tc.now, open, when.In(berlin).Format("2006-01-02 15:04 Mon MST"), tc.open, tc.at)
			}
		})
	}
	// The spring-forward Monday opens at 09:00 CEST, UTC+2: 07:00Z.
	if _, when := office.Open(at("2026-03-27 18:00 Fri")); when.UTC().Hour() != 7 {
		t.Errorf("after the change the window opens at %s UTC, want 07:00", when.UTC())
	}
}

func TestWindowValidation(t *testing.T) {
	cases := map[string]struct {
		window string
		says   []string
	}{
		"a day that is not one":  {`{"days":"Mon-Fry","from":"09:00","to":"17:00","timeZone":"UTC"}`, []string{`targets[0].windows[0].days: "Mon-Fry" is not a day`}},
		"a time that is not one": {`{"days":"Mon","from":"9am","to":"25:00","timeZone":"UTC"}`, []string{`windows[0].from: "9am" is not a time of day`, `windows[0].to: "25:00"`}},
		"no time zone":           {`{"days":"Mon","from":"09:00","to":"17:00"}`, []string{"windows[0].timeZone: required"}},
		"an unknown time zone":   {`{"days":"Mon","from":"09:00","to":"17:00","timeZone":"Europe/Berlni"}`, []string{`"Europe/Berlni" is not an IANA time zone`}},
		"a window of no time":    {`{"days":"Mon","from":"09:00","to":"09:00","timeZone":"UTC"}`, []string{"windows[0].to: \"09:00\" is the same as from"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("targets.json", []byte(`{"targets":[{"repository":"app","tag":"prod","windows":[`+tc.window+`]}]}`))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	c, err := Parse("targets.json", []byte(`{"defaults":{"windows":[{"days":"Mon-Fri","from":"09:00","to":"17:00","timeZone":"Europe/Berlin"}]},
		"targets":[{"repository":"app","tag":"prod"},{"repository":"app","tag":"staging","windows":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.ByEnvironment("prod")
	staging, _ := c.ByEnvironment("staging")
	if len(prod.Windows) != 1 || len(staging.Windows) != 0 {
		t.Errorf("windows: prod %v (want the default's), staging %v (want none: [] overrides)", prod.Windows, staging.Windows)
	}
}
