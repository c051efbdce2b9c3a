// Package chart draws the small SVG charts of deployer stats and make
// bench: a title, axes with a scale, legends, and labels at a size a person
// reads, with n/a drawn as n/a. Each chart is checked as a reader sees it
// (rendered to PNG) and kept by a golden test.
package chart

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Font sizes, in px: readable at the chart's own size.
const (
	TitleSize = 16
	LabelSize = 12
	SmallSize = 11
)

// CharWidth is the average width of a character of the sans-serif font
// per px of font size: enough to keep labels from overlapping.
const CharWidth = 0.6

// Width is the width a text takes at a font size.
func Width(s string, size int) int { return int(math.Ceil(float64(len([]rune(s))*size) * CharWidth)) }

// Ticks are the values of a scale from 0 to at least max in round steps
// (1, 2 or 5 times a power of ten) of at least a quarter of max: two to
// five steps, the last one ≥ max.
func Ticks(max float64) []float64 {
	if max <= 0 || math.IsNaN(max) {
		max = 1
	}
	raw := max / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, round(v, step))
		if v >= max-1e-9 {
			return out
		}
	}
}

// CountTicks is a scale for counts: whole steps, 0 to at least max.
func CountTicks(max int) []float64 {
	if max <= 5 {
		out := make([]float64, 0, max+1)
		for v := 0; v <= max; v++ {
			out = append(out, float64(v))
		}
		return out
	}
	return Ticks(float64(max))
}

func round(v, step float64) float64 {
	digits := math.Max(0, -math.Floor(math.Log10(step)))
	p := math.Pow(10, digits)
	return math.Round(v*p) / p
}

// Number writes a tick or a value without needless decimals.
func Number(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	if math.Abs(v) < 10 {
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
	return fmt.Sprintf("%.1f", v)
}

// Escape makes text safe inside an SVG element.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// Start opens the document with a white background and its title.
func Start(w io.Writer, width, height int, title string) {
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif" font-size="%d">`+"\n", width, height, width, height, LabelSize)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	Text(w, 20, 28, TitleSize, "start", "bold", title)
}

// End closes the document.
func End(w io.Writer) { fmt.Fprintln(w, "</svg>") }

// Text writes a text at (x, y).
func Text(w io.Writer, x, y, size int, anchor, weight, s string) {
	attrs := ""
	if anchor != "" && anchor != "start" {
		attrs += fmt.Sprintf(` text-anchor="%s"`, anchor)
	}
	if weight != "" {
		attrs += fmt.Sprintf(` font-weight="%s"`, weight)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="%d"%s>%s</text>`+"\n", x, y, size, attrs, Escape(s))
}

// Plot is a rectangle that maps values 0…Max to heights.
type Plot struct {
	X, Y, W, H int
	Max        float64
}

// YOf is the y of a value.
func (p Plot) YOf(v float64) int { return p.Y + p.H - int(math.Round(float64(p.H)*v/p.Max)) }

// Axes draws the y axis with its ticks, grid lines and unit, and the x axis.
func (p Plot) Axes(w io.Writer, ticks []float64, unit string) {
	for _, t := range ticks {
		y := p.YOf(t)
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e0e0e0"/>`+"\n", p.X, y, p.X+p.W, y)
		Text(w, p.X-6, y+4, SmallSize, "end", "", Number(t))
	}
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", p.X, p.Y, p.X, p.Y+p.H)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", p.X, p.Y+p.H, p.X+p.W, p.Y+p.H)
	if unit != "" {
		cx, cy := p.X-38, p.Y+p.H/2
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="%d" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>`+"\n", cx, cy, SmallSize, cx, cy, Escape(unit))
	}
}

// Bar draws a bar from the axis to v, with a tooltip.
func (p Plot) Bar(w io.Writer, x, width int, v float64, fill, title string) {
	y := p.YOf(v)
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s</title></rect>`+"\n", x, y, width, p.Y+p.H-y, fill, Escape(title))
}

// Lines splits a label into lines of at most width px at a font size,
// at spaces.
func Lines(s string, width, size int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && Width(line+" "+word, size) > width {
			out = append(out, line)
			line = word
			continue
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(out, line)
}

// Swatch is a legend entry: a colour square (or a dashed line) and its
// label; it returns the x after it.
func Swatch(w io.Writer, x, y int, fill, label string, dashed bool) int {
	if dashed {
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", x, y-4, x+18, y-4, fill)
	} else {
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, y-11, fill)
	}
	Text(w, x+24, y, SmallSize, "", "", label)
	return x + 24 + Width(label, SmallSize) + 18
}
