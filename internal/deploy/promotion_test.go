package deploy

import (
	"testing"
	"time"
)

// A record names the promoter of a push written shortly before it only.
func TestPromotionFits(t *testing.T) {
	push := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		at   time.Time
		want bool
	}{
		"just before the push":                  {push.Add(-2 * time.Second), true},
		"at the window's edge":                  {push.Add(-PromotionWindow), true},
		"before the window: an older promotion": {push.Add(-PromotionWindow - time.Second), false},
		"after the push, within the skew":       {push.Add(PromotionSkew), true},
		"after the push, past the skew":         {push.Add(PromotionSkew + time.Second), false},
		"no push time (a zero event time)":      {push, false},
	}
	for name, tc := range cases {
		pushedAt := push
		if name == "no push time (a zero event time)" {
			pushedAt = time.Time{}
		}
		if got := PromotionFits(tc.at, pushedAt); got != tc.want {
			t.Errorf("%s: PromotionFits = %v, want %v", name, got, tc.want)
		}
	}
}
