package web

import (
	"math"
	"strconv"
)

// chart is a bar chart as the "barchart" template draws it in SVG: the
// geometry is computed here, the template only writes it out.
type chart struct {
	// Label names the chart for screen readers; Caption is shown below.
	Label, Caption string
	// Class is the svg element's class ("chart-days", "chart-cadence").
	Class string
	W, H  int
	// X0 and X1 bound the plot area horizontally, Base is its bottom.
	X0, X1, Base float64
	// LabelY is the baseline of the x labels.
	LabelY  float64
	Bars    []bar
	Ticks   []tick
	XLabels []xlabel
	// Values repeats the numbers as a table, for reading without the
	// picture.
	Values []chartValue
}

type bar struct {
	X, Y, W, H float64
	Title      string
	Class      string
}

type tick struct {
	Y     float64
	Label string
}

type xlabel struct {
	X     float64
	Label string
}

// chartValue is one bar's data.
type chartValue struct {
	// Label names the bar (a day, a gap range); Tick, when set, is
	// written under it on the axis.
	Label string
	Tick  string
	Count int64
	// Class adds to the bar's class ("after" marks the bar of returns
	// just after a block).
	Class string
}

// Chart geometry, in SVG user units.
const (
	chartW      = 960
	chartH      = 220
	chartLeft   = 56
	chartRight  = 8
	chartTop    = 10
	chartBottom = 24
)

// barChart lays out one bar per value, zero bars included (with no
// height), so that the number of bars is the number of buckets.
func barChart(class, label, caption string, values []chartValue) chart {
	c := chart{Label: label, Caption: caption, Class: class, W: chartW, H: chartH,
		X0: chartLeft, X1: chartW - chartRight, Base: chartH - chartBottom, LabelY: chartH - 6, Values: values}
	var peak int64
	for _, v := range values {
		peak = max(peak, v.Count)
	}
	// Grid lines at multiples of a round step, at most four above zero.
	step := niceCeil((peak + 3) / 4)
	top := step * max(1, (peak+step-1)/step)
	plotH := c.Base - chartTop
	for v := int64(0); v <= top; v += step {
		c.Ticks = append(c.Ticks, tick{Y: c.Base - plotH*float64(v)/float64(top), Label: shortNum(v)})
	}
	if len(values) == 0 {
		return c
	}
	// A few bars stay narrow rather than fill the width.
	slot := min((c.X1-c.X0)/float64(len(values)), maxSlot)
	gap := math.Min(2, slot*0.2)
	for i, v := range values {
		h := plotH * float64(v.Count) / float64(top)
		x := c.X0 + slot*float64(i)
		c.Bars = append(c.Bars, bar{X: x + gap/2, Y: c.Base - h, W: math.Max(slot-gap, 0.5), H: h,
			Title: v.Label + ": " + fmtInt(v.Count), Class: v.Class})
		if v.Tick != "" {
			c.XLabels = append(c.XLabels, xlabel{X: x + slot/2, Label: v.Tick})
		}
	}
	return c
}

// maxSlot is the widest a bar's slot gets.
const maxSlot = 120

// niceCeil rounds n up to 1, 2 or 5 times a power of ten.
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
	return n
}

// shortNum writes axis labels: 950, 12k, 1.5M.
func shortNum(n int64) string {
	switch {
	case n >= 1_000_000:
		return trimZero(float64(n)/1e6) + "M"
	case n >= 1000:
		return trimZero(float64(n)/1e3) + "k"
	default:
		return strconv.FormatInt(n, 10)
	}
}

func trimZero(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}

// fmtInt writes n with thousands separators: 3,000,000.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := false
	if n < 0 {
		neg, s = true, s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
