package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestCornerPNG(t *testing.T) {
	dir := t.TempDir()
	data := gaussianCloud(600, 5, 7)
	samples := gaussianCloud(500, 5, 8)
	for i := range samples {
		samples[i] = 0.8*samples[i] + 0.3
	}
	for _, tc := range []struct {
		title   string
		maxDims int
		names   []string
		w, h    int
	}{
		{"", 3, nil, 576, 576},
		{"tabular: data vs samples", 5, []string{"a", "b", "c", "d", "e"}, 960, 1008},
		{"", 1, nil, 192, 192},
		{"", 9, nil, 960, 960}, // maxDims > d shows all d columns
	} {
		path := filepath.Join(dir, "corner.png")
		if err := CornerPNG(path, tc.title, data, samples, 600, 500, 5, tc.names, tc.maxDims); err != nil {
			t.Fatal(err)
		}
		if w, h := pngSize(t, path); w != tc.w || h != tc.h {
			t.Fatalf("maxDims %d, title %q: size %d×%d, want %d×%d", tc.maxDims, tc.title, w, h, tc.w, tc.h)
		}
	}
	// Layout of the 3×3 grid: the upper-triangle cell (0, 1) is blank, the
	// scatter cell (2, 0) is not.
	path := filepath.Join(dir, "c3.png")
	if err := CornerPNG(path, "", data, samples, 600, 500, 5, nil, 3); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	nonWhite := func(x0, y0, x1, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if r, g, b, _ := img.At(x, y).RGBA(); r&g&b < 0xffff {
					n++
				}
			}
		}
		return n
	}
	if n := nonWhite(192+20, 20, 384-20, 192-20); n != 0 {
		t.Errorf("upper-triangle cell (0, 1) has %d non-white pixels", n)
	}
	if n := nonWhite(60, 2*192+40, 192-20, 3*192-60); n < 500 {
		t.Errorf("scatter cell (2, 0) has only %d non-white pixels", n)
	}
	// No samples: data only.
	if err := CornerPNG(path, "", data, nil, 600, 0, 5, nil, 2); err != nil {
		t.Fatal(err)
	}
}

func TestCornerPNGErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corner.png")
	// A failed call leaves an existing file untouched.
	old := []byte("previous figure")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	data := gaussianCloud(10, 2, 1)
	nan := append([]float64(nil), data...)
	nan[7] = math.NaN()
	inf := append([]float64(nil), data...)
	inf[0] = math.Inf(-1)
	p := "corner " + path + ": "
	for _, tc := range []struct {
		data, samples []float64
		nD, nS, d     int
		names         []string
		maxDims       int
		want          string
	}{
		{data, data, 10, 10, 0, nil, 2, p + "need d ≥ 1 and maxDims ≥ 1, got d=0, maxDims=2"},
		{data, data, 10, 10, 2, nil, 0, p + "need d ≥ 1 and maxDims ≥ 1, got d=2, maxDims=0"},
		{data, data, 9, 10, 2, nil, 2, p + "len(data) = 20, want nData·d = 9·2 = 18 (nData ≥ 1)"},
		{nil, nil, 0, 0, 2, nil, 2, p + "len(data) = 0, want nData·d = 0·2 = 0 (nData ≥ 1)"},
		{data, data[:19], 10, 10, 2, nil, 2, p + "len(samples) = 19, want nSamples·d = 10·2 = 20"},
		{data, data, 10, 10, 2, []string{"a"}, 2, p + "1 names for 2 columns"},
		{nan, data, 10, 10, 2, nil, 2, p + "data row 3, column 1 is NaN"},
		{data, inf, 10, 10, 2, nil, 2, p + "samples row 0, column 0 is -Inf"},
	} {
		if err := CornerPNG(path, "t", tc.data, tc.samples, tc.nD, tc.nS, tc.d, tc.names, tc.maxDims); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("failed calls changed %s: %q, %v", path, got, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %d entries (%v), want only the old file", len(entries), err)
	}
}

func TestLossCurvesPNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.png")
	decay := make([]float64, 50)
	for i := range decay {
		decay[i] = 3 * math.Exp(-0.1*float64(i))
	}
	for _, s := range [][]Series{
		{{Name: "block 1", Y: decay}, {Name: "block 2", X: []float64{0, 10, 20}, Y: []float64{0.5, 0.2, 0.1}}}, // log y
		{{Name: "NLL", Y: []float64{1.2, 0.1, -0.4}}},                                                          // linear y
		{{Name: "flat", Y: []float64{0.7, 0.7, 0.7, 0.7}}},                                                     // log y, one value
	} {
		if err := LossCurvesPNG(path, "training loss", "step", s); err != nil {
			t.Fatal(err)
		}
		if w, h := pngSize(t, path); w != 576 || h != 384 {
			t.Fatalf("size %d×%d, want 576×384", w, h)
		}
	}
	p := "loss curves " + path + ": "
	for _, tc := range []struct {
		s    []Series
		want string
	}{
		{nil, p + "no series"},
		{[]Series{{Name: "a", X: []float64{1}, Y: []float64{1, 2}}}, p + `series 0 ("a"): len(X) = 1, len(Y) = 2`},
		{[]Series{{Name: "b"}}, p + `series 0 ("b"): no points`},
		{[]Series{{Name: "c", Y: []float64{1, math.NaN()}}}, p + `series 0 ("c"): point 1 = (1, NaN) is not finite`},
	} {
		if err := LossCurvesPNG(path, "", "step", tc.s); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
}

func TestMovementPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "movement.png")
	for _, m := range [][]float64{
		{2.1, 0.8, 0.3, 0.1, 0.04, 0.015, 0.006, 0.002}, // log y
		{1.5, 0.7, 0}, // linear y
		{0.5},
		make([]float64, 30), // all zero, many blocks
	} {
		if err := MovementPNG(path, "per-block movement", m); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if w, h := pngSize(t, path); w != 576 || h != 384 {
			t.Fatalf("size %d×%d, want 576×384", w, h)
		}
	}
	for _, tc := range []struct {
		m    []float64
		want string
	}{
		{nil, "movement " + path + ": no blocks"},
		{[]float64{1, -0.5}, "movement " + path + ": block 2 moved -0.5, want a finite value ≥ 0"},
		{[]float64{math.NaN()}, "movement " + path + ": block 1 moved NaN, want a finite value ≥ 0"},
		{[]float64{math.Inf(1)}, "movement " + path + ": block 1 moved +Inf, want a finite value ≥ 0"},
	} {
		if err := MovementPNG(path, "", tc.m); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", err, tc.want)
		}
	}
}
