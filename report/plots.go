package report

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/iterflow/iterflow/internal/atomicfile"
)

// Figure geometry: panels are panelInches square at plotDPI, so one panel is
// 384×384 pixels; a figure title adds a strip of figTitleInches (48 pixels).
const (
	plotDPI        = 96
	panelInches    = 4
	figTitleInches = 0.5
	lineWInches    = 6 // LinesPNG is 6×4 inches (576×384 pixels)
	histInches     = 2.5
)

// ScatterPanel is one panel of ScatterPNG: a scatter plot of columns I and J
// (0-based) of the n×d row-major matrix X. XName and YName label the axes
// (the names of columns I and J); empty ones read "x[I]" and "x[J]".
type ScatterPanel struct {
	Title        string
	X            []float64
	N, D         int
	I, J         int
	XName, YName string
}

// Series is one curve of LinesPNG: points (X[k], Y[k]) joined in order.
type Series struct {
	Name string
	X, Y []float64
}

// ScatterPNG writes the panels side by side, one row, into a PNG at path:
// each panel is 384×384 pixels (4 inches at 96 dpi) and a non-empty title adds
// a 48-pixel strip on top, so the image is 384·len(panels) wide. Points are
// small translucent dots; axis labels name the columns (XName and YName, or
// "x[I]" and "x[J]").
//
// It returns an error naming path and the panel if there are no panels, len(X)
// != N·D, I or J is outside [0, D), a plotted value is NaN or ±Inf, or the file
// cannot be written.
func ScatterPNG(path, title string, panels []ScatterPanel) error {
	if len(panels) == 0 {
		return fmt.Errorf("scatter %s: no panels", path)
	}
	row := make([]*plot.Plot, len(panels))
	for k, pn := range panels {
		p, err := scatterPlot(pn)
		if err != nil {
			return fmt.Errorf("scatter %s: panel %d (%q): %w", path, k, pn.Title, err)
		}
		row[k] = p
	}
	// Panels of the same columns share their axis ranges, so that they can be
	// compared by eye (data beside samples).
	shareAxes(row, panels)
	return drawFigure(path, title, [][]*plot.Plot{row}, panelInches*vg.Inch*vg.Length(len(panels)), panelInches*vg.Inch)
}

func scatterPlot(pn ScatterPanel) (*plot.Plot, error) {
	if pn.N < 0 || pn.D < 1 || len(pn.X) != pn.N*pn.D {
		return nil, fmt.Errorf("len(X) = %d, want N·D = %d·%d = %d", len(pn.X), pn.N, pn.D, pn.N*pn.D)
	}
	if pn.I < 0 || pn.I >= pn.D || pn.J < 0 || pn.J >= pn.D {
		return nil, fmt.Errorf("columns I=%d, J=%d out of range [0, %d)", pn.I, pn.J, pn.D)
	}
	xys := make(plotter.XYs, pn.N)
	for i := range xys {
		xys[i].X, xys[i].Y = pn.X[i*pn.D+pn.I], pn.X[i*pn.D+pn.J]
		if !finite(xys[i].X) || !finite(xys[i].Y) {
			return nil, fmt.Errorf("row %d holds a non-finite value (%v, %v)", i, xys[i].X, xys[i].Y)
		}
	}
	p := plot.New()
	p.Title.Text = pn.Title
	p.X.Label.Text, p.Y.Label.Text = pn.XName, pn.YName
	if pn.XName == "" {
		p.X.Label.Text = fmt.Sprintf("x[%d]", pn.I)
	}
	if pn.YName == "" {
		p.Y.Label.Text = fmt.Sprintf("x[%d]", pn.J)
	}
	if pn.N > 0 {
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Radius = vg.Points(1)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		alpha := uint8(max(60, min(255, 40000/max(pn.N, 1))))
		s.GlyphStyle.Color = color.NRGBA{R: 31, G: 119, B: 180, A: alpha}
		p.Add(s)
	}
	return p, nil
}

// LinesPNG writes a line chart of the series (e.g. a training loss per step,
// one series per block) to a PNG at path, 576×384 pixels (6×4 inches at 96
// dpi), with a legend of the series names. It returns an error naming path
// and the series if there are no series, a series has len(X) != len(Y) or no
// points, a value is NaN or ±Inf, or the file cannot be written.
func LinesPNG(path, title, xlabel, ylabel string, series []Series) error {
	p, err := linesPlot(title, xlabel, ylabel, series, false)
	if err != nil {
		return fmt.Errorf("lines %s: %w", path, err)
	}
	return drawFigure(path, "", [][]*plot.Plot{{p}}, lineWInches*vg.Inch, panelInches*vg.Inch)
}

// linesPlot builds the plot of LinesPNG. With implicitX a series with nil X
// is drawn against 0, 1, …, len(Y)−1.
func linesPlot(title, xlabel, ylabel string, series []Series, implicitX bool) (*plot.Plot, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("no series")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	for k, s := range series {
		xs := s.X
		if implicitX && xs == nil {
			xs = make([]float64, len(s.Y))
			for i := range xs {
				xs[i] = float64(i)
			}
		}
		if len(xs) != len(s.Y) {
			return nil, fmt.Errorf("series %d (%q): len(X) = %d, len(Y) = %d", k, s.Name, len(xs), len(s.Y))
		}
		if len(xs) == 0 {
			return nil, fmt.Errorf("series %d (%q): no points", k, s.Name)
		}
		xys := make(plotter.XYs, len(xs))
		for i := range xys {
			if !finite(xs[i]) || !finite(s.Y[i]) {
				return nil, fmt.Errorf("series %d (%q): point %d = (%v, %v) is not finite", k, s.Name, i, xs[i], s.Y[i])
			}
			xys[i].X, xys[i].Y = xs[i], s.Y[i]
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("series %d (%q): %w", k, s.Name, err)
		}
		l.LineStyle.Color = plotutil.Color(k)
		l.LineStyle.Width = vg.Points(1.5)
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	return p, nil
}

// HistogramsPNG writes a grid of marginal histograms, one panel per column
// for the first k columns, comparing data (nData×d, black) with samples
// (nSamples×d, coloured), both as densities on the same 30 bins spanning the
// data's range in that column (samples outside it are not drawn). Panels are
// 240×240 pixels (2.5 inches at 96 dpi), 4 per row; names (length d, or nil
// for "x[j]") title the panels; a non-empty title adds a 48-pixel strip.
//
// It returns an error naming path if k is outside [1, d], a length does not
// match, a value is NaN or ±Inf, or the file cannot be written.
func HistogramsPNG(path, title string, data, samples []float64, nData, nSamples, d, k int, names []string) error {
	if d < 1 || k < 1 || k > d {
		return fmt.Errorf("histograms %s: need 1 ≤ k ≤ d, got k=%d, d=%d", path, k, d)
	}
	if err := checkDataSamples("histograms", path, data, samples, nData, nSamples, d, names); err != nil {
		return err
	}
	const perRow, bins = 4, 30
	cols := min(k, perRow)
	rows := (k + perRow - 1) / perRow
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for j := 0; j < rows*cols; j++ {
		p := plot.New()
		grid[j/cols][j%cols] = p
		if j >= k {
			p.HideAxes()
			continue
		}
		p.Title.Text = fmt.Sprintf("x[%d]", j)
		if names != nil {
			p.Title.Text = names[j]
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < nData; i++ {
			lo, hi = math.Min(lo, data[i*d+j]), math.Max(hi, data[i*d+j])
		}
		if hi == lo {
			lo, hi = lo-0.5, hi+0.5
		}
		for _, h := range []struct {
			x   []float64
			n   int
			clr color.Color
		}{{data, nData, color.Black}, {samples, nSamples, plotutil.Color(0)}} {
			if h.n == 0 {
				continue
			}
			l, err := plotter.NewLine(stepDensity(h.x, h.n, d, j, lo, hi, bins))
			if err != nil {
				return fmt.Errorf("histograms %s: column %d: %w", path, j, err)
			}
			l.LineStyle.Color = h.clr
			l.LineStyle.Width = vg.Points(1.2)
			p.Add(l)
		}
	}
	w := histInches * vg.Inch * vg.Length(cols)
	hgt := histInches * vg.Inch * vg.Length(rows)
	return drawFigure(path, title, grid, w, hgt)
}

// stepDensity returns the outline of a density histogram of column j of the
// n×d matrix x on bins equal bins over [lo, hi].
func stepDensity(x []float64, n, d, j int, lo, hi float64, bins int) plotter.XYs {
	counts := make([]float64, bins)
	width := (hi - lo) / float64(bins)
	for i := 0; i < n; i++ {
		v := x[i*d+j]
		if v < lo || v > hi {
			continue
		}
		b := min(int((v-lo)/width), bins-1)
		counts[b]++
	}
	pts := make(plotter.XYs, 0, 2*bins+2)
	pts = append(pts, plotter.XY{X: lo, Y: 0})
	for b, c := range counts {
		dens := c / (float64(n) * width)
		pts = append(pts, plotter.XY{X: lo + float64(b)*width, Y: dens}, plotter.XY{X: lo + float64(b+1)*width, Y: dens})
	}
	return append(pts, plotter.XY{X: hi, Y: 0})
}

// drawFigure draws a grid of plots of total size w×h (plus a title strip when
// title is not empty) and writes it as a PNG to path, atomically.
func drawFigure(path, title string, grid [][]*plot.Plot, w, h vg.Length) error {
	total := h
	if title != "" {
		total += figTitleInches * vg.Inch
	}
	img := vgimg.NewWith(vgimg.UseWH(w, total), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	if title != "" {
		sty := plot.New().Title.TextStyle
		sty.Font.Size = vg.Points(14)
		sty.YAlign = draw.YCenter
		dc.FillText(sty, vg.Point{X: w / 2, Y: total - figTitleInches*vg.Inch/2}, title)
		dc = draw.Crop(dc, 0, 0, 0, -figTitleInches*vg.Inch)
	}
	tiles := draw.Tiles{
		Rows: len(grid), Cols: len(grid[0]),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8),
		PadX: vg.Points(16), PadY: vg.Points(16),
	}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for c := range grid[r] {
			grid[r][c].Draw(canvases[r][c])
		}
	}
	return atomicfile.WriteFile(path, func(wr io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(wr)
		return err
	})
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// shareAxes gives panels that plot the same pair of columns common axis
// ranges (the union of their data ranges).
func shareAxes(row []*plot.Plot, panels []ScatterPanel) {
	for a := range row {
		if row[a] == nil {
			continue
		}
		xmin, xmax, ymin, ymax := row[a].X.Min, row[a].X.Max, row[a].Y.Min, row[a].Y.Max
		for b := range row {
			if row[b] != nil && panels[b].I == panels[a].I && panels[b].J == panels[a].J && panels[b].N > 0 {
				xmin, xmax = math.Min(xmin, row[b].X.Min), math.Max(xmax, row[b].X.Max)
				ymin, ymax = math.Min(ymin, row[b].Y.Min), math.Max(ymax, row[b].Y.Max)
			}
		}
		if panels[a].N > 0 {
			row[a].X.Min, row[a].X.Max, row[a].Y.Min, row[a].Y.Max = xmin, xmax, ymin, ymax
		}
	}
}

// checkDataSamples checks the shapes, the names and that every value is
// finite for a plot of data (nData×d) beside samples (nSamples×d); what names
// the plot kind in errors.
func checkDataSamples(what, path string, data, samples []float64, nData, nSamples, d int, names []string) error {
	if nData < 1 || len(data) != nData*d {
		return fmt.Errorf("%s %s: len(data) = %d, want nData·d = %d·%d = %d (nData ≥ 1)", what, path, len(data), nData, d, nData*d)
	}
	if nSamples < 0 || len(samples) != nSamples*d {
		return fmt.Errorf("%s %s: len(samples) = %d, want nSamples·d = %d·%d = %d", what, path, len(samples), nSamples, d, nSamples*d)
	}
	if names != nil && len(names) != d {
		return fmt.Errorf("%s %s: %d names for %d columns", what, path, len(names), d)
	}
	for _, m := range []struct {
		what string
		x    []float64
	}{{"data", data}, {"samples", samples}} {
		for i, v := range m.x {
			if !finite(v) {
				return fmt.Errorf("%s %s: %s row %d, column %d is %v", what, path, m.what, i/d, i%d, v)
			}
		}
	}
	return nil
}
