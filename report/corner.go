package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Corner plot geometry and drawing limits.
const (
	cornerInches = 2    // one cell is 192×192 pixels at 96 dpi
	cornerPoints = 2000 // at most this many points of each set per scatter cell
	cornerBins   = 30
)

// CornerPNG writes a corner plot comparing data (nData×d) with samples
// (nSamples×d), both row-major, to a PNG at path, atomically. It shows the
// first k = min(d, maxDims) columns (pass a column subset to show others):
// cell (r, c) with r > c is a scatter of column c (x) against column r (y),
// data in black and samples in blue, translucent; diagonal cell (j, j)
// overlays the density histograms of column j (30 bins); the upper triangle
// is empty except for a legend in the top-right cell. Cells are 192×192
// pixels (2 inches at 96 dpi), so the image is 192·k square, plus a 48-pixel
// strip when title is non-empty; it stays readable up to k = 8.
//
// Each column's axis spans the data's range widened by a quarter of its
// width on either side; sample points outside it are not drawn (so a few
// wild samples cannot squash the picture). Histogram bins span the data's
// range, both sets normalized by their full row counts (as HistogramsPNG),
// so sample mass outside it shows as a lower curve. At most 2000 rows of each set are drawn per
// scatter cell (every ⌈n/2000⌉-th row); histograms use all rows. names
// (length d, or nil for "x[j]") label the outer axes.
//
// It returns an error naming path if d < 1 or maxDims < 1, nData < 1,
// nSamples < 0, a length does not match, names has the wrong length, a value
// is NaN or ±Inf, or the file cannot be written; on error no file is
// created or changed.
func CornerPNG(path, title string, data, samples []float64, nData, nSamples, d int, names []string, maxDims int) error {
	if d < 1 || maxDims < 1 {
		return fmt.Errorf("corner %s: need d ≥ 1 and maxDims ≥ 1, got d=%d, maxDims=%d", path, d, maxDims)
	}
	if err := checkDataSamples("corner", path, data, samples, nData, nSamples, d, names); err != nil {
		return err
	}
	k := min(d, maxDims)
	name := func(j int) string {
		if names != nil {
			return names[j]
		}
		return fmt.Sprintf("x[%d]", j)
	}
	// Per column: the data range [dlo, dhi] and the axis range [lo, hi],
	// widened by a quarter of its width on either side.
	dlo, dhi := make([]float64, k), make([]float64, k)
	lo, hi := make([]float64, k), make([]float64, k)
	for j := 0; j < k; j++ {
		a, b := math.Inf(1), math.Inf(-1)
		for i := 0; i < nData; i++ {
			a, b = math.Min(a, data[i*d+j]), math.Max(b, data[i*d+j])
		}
		if a == b {
			a, b = a-0.5, b+0.5
		}
		wd := b - a
		dlo[j], dhi[j] = a, b
		lo[j], hi[j] = a-wd/4, b+wd/4
	}
	dataColor := color.NRGBA{A: 255}
	sampleColor := plotutil.Color(0)
	sets := []struct {
		label string
		x     []float64
		n     int
		clr   color.Color
	}{{"data", data, nData, dataColor}, {"samples", samples, nSamples, sampleColor}}

	grid := make([][]*plot.Plot, k)
	var legendLines []*plotter.Line
	for r := 0; r < k; r++ {
		grid[r] = make([]*plot.Plot, k)
		for c := 0; c < k; c++ {
			p := plot.New()
			grid[r][c] = p
			switch {
			case c > r:
				p.HideAxes()
				continue
			case r == c:
				for _, s := range sets {
					if s.n == 0 {
						continue
					}
					l, err := plotter.NewLine(stepDensity(s.x, s.n, d, c, dlo[c], dhi[c], cornerBins))
					if err != nil {
						return fmt.Errorf("corner %s: column %d: %w", path, c, err)
					}
					l.LineStyle.Color = s.clr
					l.LineStyle.Width = vg.Points(1.2)
					p.Add(l)
					if r == 0 {
						legendLines = append(legendLines, l)
					}
				}
				p.Y.Min = 0
				p.Y.Tick.Marker = plot.ConstantTicks(nil)
			default:
				for _, s := range sets {
					if s.n == 0 {
						continue
					}
					sc, err := plotter.NewScatter(cornerPoints2D(s.x, s.n, d, c, r, lo, hi))
					if err != nil {
						return fmt.Errorf("corner %s: columns %d, %d: %w", path, c, r, err)
					}
					sc.GlyphStyle.Radius = vg.Points(0.8)
					sc.GlyphStyle.Shape = draw.CircleGlyph{}
					cr, cg, cb, _ := s.clr.RGBA()
					sc.GlyphStyle.Color = color.NRGBA{R: uint8(cr >> 8), G: uint8(cg >> 8), B: uint8(cb >> 8), A: 70}
					p.Add(sc)
				}
				p.Y.Min, p.Y.Max = lo[r], hi[r]
				if c == 0 {
					p.Y.Label.Text = name(r)
				}
			}
			p.X.Min, p.X.Max = lo[c], hi[c]
			if r == k-1 {
				p.X.Label.Text = name(c)
			}
		}
	}
	// The legend goes into the top-right cell (the diagonal one when k = 1).
	lp := grid[0][k-1]
	lp.Legend.Top = true
	for i, l := range legendLines {
		lp.Legend.Add([]string{"data", "samples"}[i], l)
	}
	side := cornerInches * vg.Inch * vg.Length(k)
	return drawFigure(path, title, grid, side, side)
}

// cornerPoints2D returns the points (x[c], x[r]) of at most cornerPoints
// evenly strided rows of the n×d matrix x that fall inside the axis box.
func cornerPoints2D(x []float64, n, d, c, r int, lo, hi []float64) plotter.XYs {
	stride := (n + cornerPoints - 1) / cornerPoints
	xys := make(plotter.XYs, 0, min(n, cornerPoints))
	for i := 0; i < n; i += stride {
		u, v := x[i*d+c], x[i*d+r]
		if u < lo[c] || u > hi[c] || v < lo[r] || v > hi[r] {
			continue
		}
		xys = append(xys, plotter.XY{X: u, Y: v})
	}
	return xys
}
