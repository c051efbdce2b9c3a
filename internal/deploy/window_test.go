package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/ecr-deployer/ecr-deployer/internal/config"
)

func TestDecideWindow(t *testing.T) {
	ws := config.Windows{{Days: "Mon-Fri", From: "09:00", To: "17:00", TimeZone: "Europe/Berlin"}}
	friday := time.Date(2026, 11, 27, 17, 30, 0, 0, time.UTC) // 18:30 in Berlin
	cases := map[string]struct {
		now       time.Time
		req       Request
		decision  string
		waitUntil string
		says      string
	}{
		"inside":            {time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Request{}, WindowOpen, "", "inside the deployment window (Mon-Fri 09:00-17:00 Europe/Berlin) until 2026-11-26T16:00:00Z"},
		"Friday evening":    {friday, Request{}, WindowWaiting, "2026-11-30T08:00:00Z", "waits until it opens at 2026-11-30T08:00:00Z (in 62h30m0s)"},
		"overridden":        {friday, Request{OverrideWindow: true, Trigger: Trigger{Type: "manual", Reason: "INC-42"}}, WindowOverridden, "", "overridden by a manual start: INC-42"},
		"override, inside ": {time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Request{OverrideWindow: true}, WindowOpen, "", "inside"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := decideWindow(ws, tc.req, tc.now)
			if w.Decision != tc.decision || !strings.Contains(w.Reason, tc.says) {
				t.Errorf("window = %+v, want %s saying %q", w, tc.decision, tc.says)
			}
			got := ""
			if w.WaitUntil != nil {
				got = w.WaitUntil.Format(time.RFC3339)
			}
			if got != tc.waitUntil {
				t.Errorf("waitUntil = %q, want %q", got, tc.waitUntil)
			}
			s := State{Execution: Execution{StartTime: tc.now}, Window: w}
			if want := tc.now; w.WaitUntil != nil {
				want = *w.WaitUntil
				if !s.workStart().Equal(want) {
					t.Errorf("work starts %s, want the window's opening %s", s.workStart(), want)
				}
			} else if !s.workStart().Equal(want) {
				t.Errorf("work starts %s, want the start %s", s.workStart(), want)
			}
		})
	}
}
