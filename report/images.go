package report

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/iterflow/iterflow/internal/atomicfile"
)

// Image grid geometry, in pixels. Each image pixel is drawn as a square of
// gridScale(h, w) screen pixels; tiles are gridGap apart, with gridMargin
// around the grid and a titleHeight strip above it when there is a title.
const (
	gridGap     = 2
	gridMargin  = 4
	titleHeight = 18
	pairGap     = 16 // between the two grids of SideBySideImagesPNG
)

// gridScale is the integer magnification that makes an h×w image about 64
// pixels across (at least 1).
func gridScale(h, w int) int {
	return max(1, 64/max(h, w))
}

// gridSize returns the pixel size of a grid of n tiles in cols columns
// without margins or title.
func gridSize(n, h, w, cols int) (int, int) {
	s := gridScale(h, w)
	c := min(cols, n)
	r := (n + cols - 1) / cols
	if n == 0 {
		c, r = 0, 0
	}
	return c*w*s + max(c-1, 0)*gridGap, r*h*s + max(r-1, 0)*gridGap
}

// checkImages validates the arguments shared by the image-grid writers.
func checkImages(x []float64, n, h, w, cols int, lo, hi float64) error {
	if n < 1 || h < 1 || w < 1 || cols < 1 {
		return fmt.Errorf("need n, h, w, cols ≥ 1, got n=%d h=%d w=%d cols=%d", n, h, w, cols)
	}
	if len(x) != n*h*w {
		return fmt.Errorf("len(x) = %d, want n·h·w = %d·%d·%d = %d", len(x), n, h, w, n*h*w)
	}
	if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return fmt.Errorf("need finite lo < hi, got [%v, %v]", lo, hi)
	}
	for k, v := range x {
		if math.IsNaN(v) {
			return fmt.Errorf("NaN in image %d at pixel %d", k/(h*w), k%(h*w))
		}
	}
	return nil
}

// drawGrid paints the n h×w images of x, cols per row, with top-left corner
// (x0, y0), mapping [lo, hi] to black..white (values outside are clamped).
func drawGrid(img *image.Gray, x0, y0 int, x []float64, n, h, w, cols int, lo, hi float64) {
	s := gridScale(h, w)
	for k := 0; k < n; k++ {
		tx := x0 + (k%cols)*(w*s+gridGap)
		ty := y0 + (k/cols)*(h*s+gridGap)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				v := (x[k*h*w+r*w+c] - lo) / (hi - lo)
				g := color.Gray{Y: uint8(math.Round(255 * math.Min(1, math.Max(0, v))))}
				for dy := 0; dy < s; dy++ {
					for dx := 0; dx < s; dx++ {
						img.SetGray(tx+c*s+dx, ty+r*s+dy, g)
					}
				}
			}
		}
	}
}

// drawTitle writes txt in black, 7×13 bitmap font, centred on cx, with its
// baseline at y.
func drawTitle(img *image.Gray, cx, y int, txt string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	wid := d.MeasureString(txt).Round()
	d.Dot = fixed.P(max(0, cx-wid/2), y)
	d.DrawString(txt)
}

// writePNG encodes img to path atomically.
func writePNG(path string, img image.Image) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// ImageGridPNG writes the n images in the rows of x (n×(h·w), each an h×w
// grayscale image, row-major) to a PNG at path, cols images per row, gray
// levels mapping lo to black and hi to white (values outside are clamped),
// e.g. lo = 0, hi = 16 for the 8×8 digits. Each image pixel becomes an s×s
// square with s = max(1, 64/max(h, w)); tiles are 2 px apart, with a 4 px
// white margin and, if title is not empty, an 18 px title strip on top.
//
// It returns an error (naming path) if a size is < 1, len(x) != n·h·w, lo ≥ hi
// or either is infinite, x holds NaN, or the file cannot be written.
func ImageGridPNG(path, title string, x []float64, n, h, w, cols int, lo, hi float64) error {
	if err := checkImages(x, n, h, w, cols, lo, hi); err != nil {
		return fmt.Errorf("image grid %s: %w", path, err)
	}
	gw, gh := gridSize(n, h, w, cols)
	top := gridMargin
	if title != "" {
		top += titleHeight
	}
	img := image.NewGray(image.Rect(0, 0, gw+2*gridMargin, gh+top+gridMargin))
	fillWhite(img)
	if title != "" {
		drawTitle(img, img.Bounds().Dx()/2, gridMargin+12, title)
	}
	drawGrid(img, gridMargin, top, x, n, h, w, cols, lo, hi)
	return writePNG(path, img)
}

// SideBySideImagesPNG writes two image grids next to each other, 16 px apart,
// with leftTitle and rightTitle above them: typically model samples beside
// real data. left holds nLeft and right nRight images of h×w (rows of
// h·w values); both use cols columns and the gray map [lo, hi] of
// ImageGridPNG. Errors as for ImageGridPNG, saying which side is wrong.
func SideBySideImagesPNG(path string, left, right []float64, nLeft, nRight, h, w, cols int, lo, hi float64, leftTitle, rightTitle string) error {
	if err := checkImages(left, nLeft, h, w, cols, lo, hi); err != nil {
		return fmt.Errorf("side by side %s: left: %w", path, err)
	}
	if err := checkImages(right, nRight, h, w, cols, lo, hi); err != nil {
		return fmt.Errorf("side by side %s: right: %w", path, err)
	}
	lw, lh := gridSize(nLeft, h, w, cols)
	rw, rh := gridSize(nRight, h, w, cols)
	top := gridMargin
	if leftTitle != "" || rightTitle != "" {
		top += titleHeight
	}
	img := image.NewGray(image.Rect(0, 0, lw+pairGap+rw+2*gridMargin, max(lh, rh)+top+gridMargin))
	fillWhite(img)
	rx := gridMargin + lw + pairGap
	if leftTitle != "" {
		drawTitle(img, gridMargin+lw/2, gridMargin+12, leftTitle)
	}
	if rightTitle != "" {
		drawTitle(img, rx+rw/2, gridMargin+12, rightTitle)
	}
	drawGrid(img, gridMargin, top, left, nLeft, h, w, cols, lo, hi)
	drawGrid(img, rx, top, right, nRight, h, w, cols, lo, hi)
	return writePNG(path, img)
}

func fillWhite(img *image.Gray) {
	for i := range img.Pix {
		img.Pix[i] = 255
	}
}
