package report

import (
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestTable(t *testing.T) {
	got := Table([]string{"method", "NLL (nats)"}, [][]string{
		{"JKO-iFlow", "-1.25"},
		{"a|b", "x\ny"},
		{"short"},
	})
	want := "" +
		"| method    | NLL (nats) |\n" +
		"|-----------|------------|\n" +
		"| JKO-iFlow | -1.25      |\n" +
		"| a\\|b      | x y        |\n" +
		"| short     |            |\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := Table([]string{"a"}, [][]string{{"1", "2"}}); got != "| a   |     |\n|-----|-----|\n| 1   | 2   |\n" {
		t.Fatalf("wide row: %q", got)
	}
	if got := Table(nil, nil); got != "" {
		t.Fatalf("empty: %q", got)
	}
	// Width counts runes, not bytes.
	if got := Table([]string{"σ"}, [][]string{{"ü"}}); got != "| σ   |\n|-----|\n| ü   |\n" {
		t.Fatalf("unicode: %q", got)
	}
}

// pngSize decodes the header of a PNG file.
func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil || format != "png" {
		t.Fatalf("%s: not a PNG (%q): %v", path, format, err)
	}
	return cfg.Width, cfg.Height
}

func gaussianCloud(n, d int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func TestScatterPNG(t *testing.T) {
	dir := t.TempDir()
	x := gaussianCloud(500, 3, 1)
	panels := []ScatterPanel{
		{Title: "data", X: x, N: 500, D: 3, I: 0, J: 1},
		{Title: "samples", X: x, N: 500, D: 3, I: 1, J: 2},
	}
	for _, tc := range []struct {
		title string
		w, h  int
	}{{"", 768, 384}, {"two moons", 768, 432}} {
		path := filepath.Join(dir, "s.png")
		if err := ScatterPNG(path, tc.title, panels); err != nil {
			t.Fatal(err)
		}
		if w, h := pngSize(t, path); w != tc.w || h != tc.h {
			t.Fatalf("title %q: size %d×%d, want %d×%d", tc.title, w, h, tc.w, tc.h)
		}
	}
	path := filepath.Join(dir, "bad.png")
	for _, tc := range []struct {
		panels []ScatterPanel
		want   string
	}{
		{nil, "scatter " + path + ": no panels"},
		{[]ScatterPanel{{Title: "a", X: x[:10], N: 5, D: 3}}, "scatter " + path + `: panel 0 ("a"): len(X) = 10, want N·D = 5·3 = 15`},
		{[]ScatterPanel{panels[0], {Title: "b", X: x, N: 500, D: 3, I: 0, J: 3}}, "scatter " + path + `: panel 1 ("b"): columns I=0, J=3 out of range [0, 3)`},
		{[]ScatterPanel{{X: []float64{1, math.NaN()}, N: 1, D: 2, I: 0, J: 1}}, "scatter " + path + `: panel 0 (""): row 0 holds a non-finite value (1, NaN)`},
	} {
		if err := ScatterPNG(path, "", tc.panels); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("failed call created %s", path)
	}
}

func TestImageGridPNG(t *testing.T) {
	dir := t.TempDir()
	// 10 8×8 images: image k is constant k (0..9), shown with [0, 9].
	x := make([]float64, 10*64)
	for i := range x {
		x[i] = float64(i / 64)
	}
	path := filepath.Join(dir, "g.png")
	if err := ImageGridPNG(path, "digits", x, 10, 8, 8, 4, 0, 9); err != nil {
		t.Fatal(err)
	}
	// scale 8 → 64 px tiles; 4 columns, 3 rows, 2 px gaps, 4 px margins, 18 px title.
	wantW, wantH := 4*64+3*2+8, 3*64+2*2+8+18
	if w, h := pngSize(t, path); w != wantW || h != wantH {
		t.Fatalf("size %d×%d, want %d×%d", w, h, wantW, wantH)
	}
	// Pixel values: tile 0 black, tile 9 (row 2, column 1) white, tile 3 = 255·3/9.
	img := decodePNG(t, path)
	gray := func(px, py int) uint8 {
		r, _, _, _ := img.At(px, py).RGBA()
		return uint8(r >> 8)
	}
	top := 4 + 18
	if g := gray(4+10, top+10); g != 0 {
		t.Errorf("tile 0 gray %d, want 0", g)
	}
	if g := gray(4+66+10, top+2*66+10); g != 255 {
		t.Errorf("tile 9 gray %d, want 255", g)
	}
	if g := gray(4+3*66+10, top+10); g != uint8(math.Round(255*3.0/9)) {
		t.Errorf("tile 3 gray %d, want %d", g, uint8(math.Round(255*3.0/9)))
	}
	if g := gray(1, wantH-1); g != 255 {
		t.Errorf("margin gray %d, want white", g)
	}
	// 28×28 images: scale 2.
	if err := ImageGridPNG(path, "", make([]float64, 3*784), 3, 28, 28, 5, 0, 1); err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, path); w != 3*56+2*2+8 || h != 56+8 {
		t.Fatalf("28×28 size %d×%d", w, h)
	}
	for _, tc := range []struct {
		x      []float64
		n      int
		lo, hi float64
		want   string
	}{
		{x[:100], 10, 0, 9, "image grid " + path + ": len(x) = 100, want n·h·w = 10·8·8 = 640"},
		{x, 10, 1, 1, "image grid " + path + ": need finite lo < hi, got [1, 1]"},
		{x, 0, 0, 1, "image grid " + path + ": need n, h, w, cols ≥ 1, got n=0 h=8 w=8 cols=4"},
		{append(append([]float64(nil), x[:639]...), math.NaN()), 10, 0, 9, "image grid " + path + ": NaN in image 9 at pixel 63"},
	} {
		if err := ImageGridPNG(path, "", tc.x, tc.n, 8, 8, 4, tc.lo, tc.hi); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestSideBySideImagesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pair.png")
	left := make([]float64, 16*64)
	right := make([]float64, 6*64)
	if err := SideBySideImagesPNG(path, left, right, 16, 6, 8, 8, 4, 0, 16, "samples", "data"); err != nil {
		t.Fatal(err)
	}
	lw, lh := 4*64+3*2, 4*64+3*2
	rw := 4*64 + 3*2
	if w, h := pngSize(t, path); w != lw+16+rw+8 || h != lh+8+18 {
		t.Fatalf("size %d×%d, want %d×%d", w, h, lw+16+rw+8, lh+8+18)
	}
	if err := SideBySideImagesPNG(path, left, right[:10], 16, 6, 8, 8, 4, 0, 16, "", ""); err == nil ||
		err.Error() != "side by side "+path+": right: len(x) = 10, want n·h·w = 6·8·8 = 384" {
		t.Fatalf("error = %v", err)
	}
}

func TestLinesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	s := []Series{
		{Name: "block 1", X: []float64{0, 1, 2, 3}, Y: []float64{3, 2, 1.5, 1.4}},
		{Name: "block 2", X: []float64{0, 1, 2}, Y: []float64{1.4, 1.2, 1.1}},
	}
	if err := LinesPNG(path, "training loss", "step", "loss", s); err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, path); w != 576 || h != 384 {
		t.Fatalf("size %d×%d, want 576×384", w, h)
	}
	for _, tc := range []struct {
		s    []Series
		want string
	}{
		{nil, "lines " + path + ": no series"},
		{[]Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1}}}, "lines " + path + `: series 0 ("a"): len(X) = 2, len(Y) = 1`},
		{[]Series{s[0], {Name: "b"}}, "lines " + path + `: series 1 ("b"): no points`},
		{[]Series{{Name: "c", X: []float64{1}, Y: []float64{math.Inf(1)}}}, "lines " + path + `: series 0 ("c"): point 0 = (1, +Inf) is not finite`},
	} {
		if err := LinesPNG(path, "", "", "", tc.s); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
}

func TestHistogramsPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hist.png")
	data := gaussianCloud(400, 6, 2)
	samples := gaussianCloud(300, 6, 3)
	if err := HistogramsPNG(path, "marginals", data, samples, 400, 300, 6, 6, nil); err != nil {
		t.Fatal(err)
	}
	// 6 panels → 4 per row, 2 rows of 240 px, plus the 48 px title.
	if w, h := pngSize(t, path); w != 960 || h != 528 {
		t.Fatalf("size %d×%d, want 960×528", w, h)
	}
	if err := HistogramsPNG(path, "", data, samples, 400, 300, 6, 2, []string{"a", "b", "c", "d", "e", "f"}); err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, path); w != 480 || h != 240 {
		t.Fatalf("size %d×%d, want 480×240", w, h)
	}
	for _, tc := range []struct {
		k, nS int
		want  string
	}{
		{7, 300, "histograms " + path + ": need 1 ≤ k ≤ d, got k=7, d=6"},
		{2, 299, "histograms " + path + ": len(samples) = 1800, want nSamples·d = 299·6 = 1794"},
	} {
		if err := HistogramsPNG(path, "", data, samples, 400, tc.nS, 6, tc.k, nil); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
}

// TestStepDensityIntegratesToOne checks the histogram outline is a density.
func TestStepDensityIntegratesToOne(t *testing.T) {
	x := gaussianCloud(1000, 1, 4)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	pts := stepDensity(x, 1000, 1, 0, lo, hi, 30)
	var area float64
	for k := 1; k+1 < len(pts); k += 2 {
		area += (pts[k+1].X - pts[k].X) * pts[k].Y
	}
	if math.Abs(area-1) > 1e-12 {
		t.Fatalf("area %v, want 1", area)
	}
}

func TestHeatmapPNG(t *testing.T) {
	dir := t.TempDir()
	const nx, ny = 30, 20
	z := make([]float64, nx*ny)
	for r := 0; r < ny; r++ {
		for c := 0; c < nx; c++ {
			z[r*nx+c] = float64(r * c)
		}
	}
	p := filepath.Join(dir, "h.png")
	if err := HeatmapPNG(p, "density", z, nx, ny, -1, 1, -2, 2); err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, p); w != 384 || h != 432 {
		t.Errorf("heatmap size %d×%d, want 384×432", w, h)
	}
	if err := HeatmapPNG(p, "", z[:5], nx, ny, -1, 1, -2, 2); err == nil || err.Error() != "heatmap "+p+": 5 values for a 30×20 grid" {
		t.Errorf("short grid: %v", err)
	}
	z[3] = math.NaN()
	if err := HeatmapPNG(p, "", z, nx, ny, -1, 1, -2, 2); err == nil || err.Error() != "heatmap "+p+": value 3 is NaN" {
		t.Errorf("NaN: %v", err)
	}
}

// Axis labels name the columns when names are given, else x[I] and x[J].
func TestScatterAxisNames(t *testing.T) {
	pn := ScatterPanel{X: []float64{0, 1, 2, 3, 4, 5}, N: 2, D: 3, I: 2, J: 0}
	for _, tc := range []struct{ xn, yn, wantX, wantY string }{
		{"", "", "x[2]", "x[0]"},
		{"alcohol", "pH", "alcohol", "pH"},
	} {
		pn.XName, pn.YName = tc.xn, tc.yn
		p, err := scatterPlot(pn)
		if err != nil {
			t.Fatal(err)
		}
		if p.X.Label.Text != tc.wantX || p.Y.Label.Text != tc.wantY {
			t.Errorf("names %q, %q: labels %q, %q; want %q, %q", tc.xn, tc.yn, p.X.Label.Text, p.Y.Label.Text, tc.wantX, tc.wantY)
		}
	}
}
