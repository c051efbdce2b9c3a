package chart

import (
	"fmt"
	"strings"
	"testing"
)

func TestTicks(t *testing.T) {
	cases := map[float64]string{
		43.4: "[0 20 40 60]", 7.88: "[0 2 4 6 8]", 124: "[0 50 100 150]", 5: "[0 2 4 6]",
		0: "[0 0.5 1]", 0.9: "[0 0.5 1]", 1000: "[0 500 1000]",
	}
	for max, want := range cases {
		if got := fmt.Sprint(Ticks(max)); got != want {
			t.Errorf("Ticks(%g) = %s, want %s", max, got, want)
		}
	}
	for max, want := range map[int]string{1: "[0 1]", 3: "[0 1 2 3]", 5: "[0 1 2 3 4 5]", 7: "[0 2 4 6 8]", 23: "[0 10 20 30]"} {
		if got := fmt.Sprint(CountTicks(max)); got != want {
			t.Errorf("CountTicks(%d) = %s, want %s", max, got, want)
		}
	}
}

// Labels are split at spaces so that no line is wider than its room.
func TestLines(t *testing.T) {
	cases := []struct {
		s     string
		width int
		want  string
	}{
		{"no events, 15s poll", 80, "no events,|15s poll"},
		{"script (waiters)", 80, "script|(waiters)"},
		{"events + 1m poll", 200, "events + 1m poll"},
		{"averyveryverylongword", 20, "averyveryverylongword"},
	}
	for _, tc := range cases {
		got := Lines(tc.s, tc.width, SmallSize)
		if strings.Join(got, "|") != tc.want {
			t.Errorf("Lines(%q, %d) = %q, want %s", tc.s, tc.width, got, tc.want)
		}
		for _, l := range got {
			if Width(l, SmallSize) > tc.width && len(got) > 1 && l != tc.s {
				t.Errorf("line %q is %d px, wider than %d", l, Width(l, SmallSize), tc.width)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{4.86: "4.86", 44: "44", 0.5: "0.5", 124: "124", 12.34: "12.3"} {
		if got := Number(v); got != want {
			t.Errorf("Number(%g) = %q, want %q", v, got, want)
		}
	}
}
