package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// gridXYZ adapts a row-major ny×nx grid of cell values over
// [x0, x1]×[y0, y1] to plotter.GridXYZ (row 0 at y0).
type gridXYZ struct {
	z              []float64
	nx, ny         int
	x0, x1, y0, y1 float64
}

func (g gridXYZ) Dims() (c, r int)   { return g.nx, g.ny }
func (g gridXYZ) Z(c, r int) float64 { return g.z[r*g.nx+c] }
func (g gridXYZ) X(c int) float64    { return g.x0 + (float64(c)+0.5)*(g.x1-g.x0)/float64(g.nx) }
func (g gridXYZ) Y(r int) float64    { return g.y0 + (float64(r)+0.5)*(g.y1-g.y0)/float64(g.ny) }

// HeatmapPNG writes a heat map of the values z (row-major ny×nx: z[r·nx + c]
// is the cell centred at x = x0 + (c + ½)(x1 − x0)/nx, y = y0 + (r + ½)(y1 − y0)/ny)
// as a 384×384-pixel panel (plus a 48-pixel title strip) to path, atomically;
// used for 2D model densities. It returns an error naming path when
// len(z) != nx·ny, nx or ny < 2, the box is empty, a value is NaN or ±Inf, or
// the file cannot be written.
func HeatmapPNG(path, title string, z []float64, nx, ny int, x0, x1, y0, y1 float64) error {
	if nx < 2 || ny < 2 || len(z) != nx*ny {
		return fmt.Errorf("heatmap %s: %d values for a %d×%d grid", path, len(z), nx, ny)
	}
	if !(x1 > x0) || !(y1 > y0) {
		return fmt.Errorf("heatmap %s: empty box [%g, %g]×[%g, %g]", path, x0, x1, y0, y1)
	}
	lo, hi := z[0], z[0]
	for i, v := range z {
		if !finite(v) {
			return fmt.Errorf("heatmap %s: value %d is %g", path, i, v)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi == lo {
		hi = lo + 1
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = "x[0]", "x[1]"
	hm := plotter.NewHeatMap(gridXYZ{z: z, nx: nx, ny: ny, x0: x0, x1: x1, y0: y0, y1: y1}, pal.Palette(255))
	hm.Min, hm.Max = lo, hi
	p.Add(hm)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = x0, x1, y0, y1
	side := panelInches * vg.Inch
	return drawFigure(path, title, [][]*plot.Plot{{p}}, side, side)
}
