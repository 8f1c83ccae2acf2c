package metrics

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestNLL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		logp     []float64
		mean, se float64
	}{
		// −log p = {1, 2, 3}: mean 2, s = 1, se = 1/√3.
		{"three", []float64{-1, -2, -3}, 2, 1 / math.Sqrt(3)},
		{"constant", []float64{0.5, 0.5, 0.5, 0.5}, -0.5, 0},
		{"one", []float64{-4}, 4, math.Inf(1)},
		{"zero density", []float64{-1, math.Inf(-1)}, math.Inf(1), math.NaN()},
	} {
		mean, se := NLL(tc.logp)
		if mean != tc.mean && math.Abs(mean-tc.mean) > 1e-15 {
			t.Errorf("%s: mean NLL %g, want %g", tc.name, mean, tc.mean)
		}
		if !(se == tc.se || math.Abs(se-tc.se) < 1e-15 || math.IsNaN(se) && math.IsNaN(tc.se)) {
			t.Errorf("%s: standard error %g, want %g", tc.name, se, tc.se)
		}
	}
	if m, s := NLL(nil); !math.IsNaN(m) || !math.IsNaN(s) {
		t.Errorf("NLL of no values = %g ± %g, want NaN", m, s)
	}
}

func TestBitsPerDim(t *testing.T) {
	// Uniform on [0, 256)^d: log p = −d ln 256, 8 bits/dim.
	const d = 784
	if got := BitsPerDim(d*math.Log(256), d); math.Abs(got-8) > 1e-12 {
		t.Errorf("uniform 8-bit model: %g bits/dim, want 8", got)
	}
	// The same model seen at scale 1/256 (uniform on [0, 1)^d): NLL 0,
	// corrected by d·ln 256.
	if got := BitsPerDim(0+d*math.Log(256), d); math.Abs(got-8) > 1e-12 {
		t.Errorf("scaled uniform model: %g bits/dim, want 8", got)
	}
	if got := BitsPerDim(math.Ln2, 1); got != 1 {
		t.Errorf("ln 2 nats in 1 dimension: %g bits, want 1", got)
	}
	if !math.IsNaN(BitsPerDim(1, 0)) {
		t.Errorf("d = 0 should give NaN")
	}
}

func TestInversionError(t *testing.T) {
	x := []float64{0, 0, 1, 1}
	xr := []float64{0, 0.1, 1, 0.7}
	maxAbs, rms, err := InversionError(x, xr, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Errors {0, 0.1, 0, 0.3}: max 0.3, rms = sqrt((0.01 + 0.09)/4).
	if math.Abs(maxAbs-0.3) > 1e-15 || math.Abs(rms-math.Sqrt(0.025)) > 1e-15 {
		t.Errorf("inversion error max %g, rms %g; want 0.3, %g", maxAbs, rms, math.Sqrt(0.025))
	}
	maxAbs, rms, _ = InversionError(x, []float64{0, math.NaN(), 1, 1}, 2, 2)
	if !math.IsInf(maxAbs, 1) || !math.IsInf(rms, 1) {
		t.Errorf("NaN reconstruction: max %g, rms %g; want +Inf, +Inf", maxAbs, rms)
	}
	if _, _, err := InversionError(x, xr[:3], 2, 2); err == nil || err.Error() != "metrics: inversion error: got 4 and 3 values for two 2×2 matrices" {
		t.Errorf("shape error: %v", err)
	}
}

func TestCost(t *testing.T) {
	c := Cost{NFE: 120, Seconds: 1.5, Rows: 4096}
	if got := c.PointsPerSecond(); math.Abs(got-4096/1.5) > 1e-9 {
		t.Errorf("PointsPerSecond = %g, want %g", got, 4096/1.5)
	}
	if got := (Cost{Rows: 10}).PointsPerSecond(); got != 0 {
		t.Errorf("PointsPerSecond with no time = %g, want 0", got)
	}
	if got := c.Add(Cost{NFE: 30, Seconds: 0.5, Rows: 4}); got != (Cost{NFE: 150, Seconds: 2, Rows: 4100}) {
		t.Errorf("Add = %+v", got)
	}
	if got, want := c.String(), "NFE 120, 1.5 s, 4096 rows (2731 rows/s)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// Results must not depend on the number of threads: fixed row chunks,
// partial sums added in chunk order.
func TestDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	x := gauss(rng, 150, 2, 0)
	y := gauss(rng, 120, 2, 0.3)
	run := func() [3]float64 {
		mmd, _ := MMD2Multi(x, y, 150, 120, 2, []float64{0.5, 1})
		e, _ := EnergyDistance(x, y, 150, 120, 2)
		r, _ := MMDTest(x, y, 150, 120, 2, []float64{1}, 20, 0.1, rand.New(rand.NewPCG(1, 1)))
		return [3]float64{mmd, e, r.Threshold}
	}
	prev := runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(4)
	four := run()
	runtime.GOMAXPROCS(prev)
	if one != four {
		t.Errorf("GOMAXPROCS 1: %v, GOMAXPROCS 4: %v", one, four)
	}
}
