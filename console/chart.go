package console

import (
	"fmt"

	"dmarcgate/console/verdicts"
)

// The week chart is an inline SVG drawn here: one stacked bar per hour,
// coloured by outcome through CSS classes (no inline style, no script).
const (
	chartW    = 840
	chartH    = 180
	chartTop  = 12
	chartBase = 160 // y of the x axis
)

type chart struct {
	W, H   int
	Base   int
	TickTo int // y where a day tick ends, under the axis
	Max    int64
	Bars   []bar
	Ticks  []tick
	Legend []string
}

type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type tick struct {
	X    float64
	Text string
}

func weekChart(hours []verdicts.Hour) *chart {
	c := &chart{W: chartW, H: chartH, Base: chartBase, TickTo: chartBase + 5, Legend: verdicts.Outcomes}
	for _, h := range hours {
		c.Max = max(c.Max, h.Counts.Total())
	}
	if len(hours) == 0 {
		return c
	}
	step := float64(chartW) / float64(len(hours))
	scale := 0.0
	if c.Max > 0 {
		scale = float64(chartBase-chartTop) / float64(c.Max)
	}
	for i, h := range hours {
		x := float64(i) * step
		y := float64(chartBase)
		for _, o := range verdicts.Outcomes {
			n := h.Counts[o]
			if n == 0 {
				continue
			}
			ht := float64(n) * scale
			y -= ht
			c.Bars = append(c.Bars, bar{X: x, Y: y, W: max(step-0.5, 0.5), H: ht, Class: "o-" + o,
				Title: fmt.Sprintf("%s %s: %d %s", h.Start.Format("Jan 2"), h.Start.Format("15:04"), n, o)})
		}
		if h.Start.Hour() == 0 {
			c.Ticks = append(c.Ticks, tick{X: x, Text: h.Start.Format("Mon 2")})
		}
	}
	return c
}
