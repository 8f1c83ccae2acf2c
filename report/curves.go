package report

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LossCurvesPNG writes training-loss curves, one series per block (e.g.
// "block 1", "block 2", …), to a 576×384-pixel PNG at path (6×4 inches at 96
// dpi), atomically. A series with nil X is drawn against steps 0, 1, …,
// len(Y)−1. The y axis is logarithmic when every Y value of every series is
// > 0 (losses that decay over decades stay visible) and linear otherwise
// (e.g. an NLL that goes negative); the x axis is labelled xlabel.
//
// It returns an error naming path and the series if there are no series, a
// series has len(X) != len(Y) or no points, a value is NaN or ±Inf, or the
// file cannot be written.
func LossCurvesPNG(path, title, xlabel string, series []Series) error {
	p, err := linesPlot(title, xlabel, "loss", series, true)
	if err != nil {
		return fmt.Errorf("loss curves %s: %w", path, err)
	}
	positive := true
	for _, s := range series {
		for _, v := range s.Y {
			positive = positive && v > 0
		}
	}
	if positive {
		logY(p)
	}
	return drawFigure(path, "", [][]*plot.Plot{{p}}, lineWInches*vg.Inch, panelInches*vg.Inch)
}

// MovementPNG writes the per-block movement of a chain of blocks, the mean
// squared displacement movement[b] = (1/n) Σ_i ‖x_i^{b+1} − x_i^b‖² of block
// b+1 (data units squared), as points joined by a line against the block
// number 1…B (y label "mean ‖Δx‖²"), to a 576×384-pixel PNG at path, atomically. The y axis is
// logarithmic when every value is > 0 (JKO-type chains move geometrically
// less per block) and linear when a value is 0.
//
// It returns an error naming path if movement is empty, a value is negative,
// NaN or ±Inf, or the file cannot be written.
func MovementPNG(path, title string, movement []float64) error {
	if len(movement) == 0 {
		return fmt.Errorf("movement %s: no blocks", path)
	}
	positive := true
	xys := make(plotter.XYs, len(movement))
	for b, v := range movement {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("movement %s: block %d moved %v, want a finite value ≥ 0", path, b+1, v)
		}
		positive = positive && v > 0
		xys[b] = plotter.XY{X: float64(b + 1), Y: v}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "block"
	// A short label: gonum centres the y label at the data-space midpoint,
	// which on a log axis pushes a long label past the top and shrinks the
	// plot.
	p.Y.Label.Text = "mean ‖Δx‖²"
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("movement %s: %w", path, err)
	}
	l.LineStyle.Width = vg.Points(1.5)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	s.GlyphStyle.Radius = vg.Points(3)
	p.Add(l, s)
	p.X.Min, p.X.Max = 0.5, float64(len(movement))+0.5
	p.X.Tick.Marker = blockTicks{n: len(movement)}
	if positive {
		logY(p)
		p.Y.Min, p.Y.Max = p.Y.Min/1.5, p.Y.Max*1.5 // markers off the frame
	} else {
		p.Y.Min = 0
	}
	return drawFigure(path, "", [][]*plot.Plot{{p}}, lineWInches*vg.Inch, panelInches*vg.Inch)
}

// logY switches the y axis of p (whose data are all > 0) to a log scale
// with decade ticks, widening a flat range to a factor 4 (gonum would widen
// it by ±1, below zero).
func logY(p *plot.Plot) {
	if p.Y.Max < 1.01*p.Y.Min {
		p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
}

// decadeTicks marks a log axis: labelled ticks at the powers of 10 inside
// [lo, hi], unlabelled ones at 2…9 times them; when the range holds no
// power of 10 it labels lo and hi instead. Unlike plot.LogTicks it never
// returns ticks outside the range (which would pad the figure).
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labelled := false
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo*(1-1e-12) || v > hi*(1+1e-12) {
				continue
			}
			tk := plot.Tick{Value: v}
			if m == 1 {
				tk.Label = strconv.FormatFloat(v, 'g', -1, 64)
				labelled = true
			}
			ticks = append(ticks, tk)
		}
	}
	if !labelled {
		ticks = append(ticks,
			plot.Tick{Value: lo, Label: strconv.FormatFloat(lo, 'g', 3, 64)},
			plot.Tick{Value: hi, Label: strconv.FormatFloat(hi, 'g', 3, 64)})
	}
	return ticks
}

// blockTicks labels integer block numbers 1…n (at most about 12 labels).
type blockTicks struct{ n int }

// Ticks implements plot.Ticker.
func (t blockTicks) Ticks(_, _ float64) []plot.Tick {
	step := max(1, (t.n+11)/12)
	var ticks []plot.Tick
	for b := 1; b <= t.n; b++ {
		tk := plot.Tick{Value: float64(b)}
		if (b-1)%step == 0 {
			tk.Label = fmt.Sprint(b)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}
