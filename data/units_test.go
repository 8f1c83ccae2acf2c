package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eightBitImages returns n dequantized "images" of d pixels: integers
// 0..255 plus U[0, 1) noise, so every value lies in [0, 256).
func eightBitImages(n, d int, rng *rand.Rand) []float64 {
	x := make([]float64, n*d)
	for k := range x {
		x[k] = float64(rng.IntN(256))
	}
	cols := make([]bool, d)
	for j := range cols {
		cols[j] = true
	}
	Dequantize(x, n, d, cols, rng)
	return x
}

func TestBitsPerDimUniform8Bit(t *testing.T) {
	const n, d = 50, 64
	x := eightBitImages(n, d, rand.New(rand.NewPCG(5, 6)))

	// 1. A uniform density on [0, 256)^d in the data's own units:
	// log p = −d ln 256 for every sample, 8 bits/dim.
	var nll float64
	for _, v := range x {
		if v < 0 || v >= 256 {
			t.Fatalf("dequantized value %v outside [0, 256)", v)
		}
	}
	for i := 0; i < n; i++ {
		nll -= -float64(d) * math.Log(256)
	}
	nll /= n
	if got := BitsPerDim(nll, d); math.Abs(got-8) > 1e-12 {
		t.Fatalf("uniform on [0,256)^d: %v bits/dim, want 8", got)
	}

	// 2. The same model seen on x/256 ∈ [0, 1): density 1 (NLL 0) plus the
	// scaling's log-det. As an affine preprocessing step (Standardizer with
	// mean 0, std 256): log p_x = log p_y + LogDet = 0 − d ln 256.
	s := &Standardizer{Mean: make([]float64, d), Std: make([]float64, d)}
	for j := range s.Std {
		s.Std[j] = 256
	}
	y := append([]float64(nil), x...)
	s.Forward(y, n)
	for _, v := range y {
		if v < 0 || v >= 1 {
			t.Fatalf("scaled value %v outside [0, 1)", v)
		}
	}
	nllScaled := 0.0 // −log 1 per sample
	if got := BitsPerDim(nllScaled-s.LogDet(), d); math.Abs(got-8) > 1e-12 {
		t.Fatalf("scaled with log-det: %v bits/dim, want 8", got)
	}
	if got := BitsPerDimScaled(nllScaled, d, 256); math.Abs(got-8) > 1e-12 {
		t.Fatalf("BitsPerDimScaled: %v bits/dim, want 8", got)
	}

	// 3. The same uniform model on the logit scale (Lo 0, Hi 256, Alpha 0):
	// y = logit(x/256) has density Π σ(y)(1−σ(y)); adding Logit.LogDet
	// must give back log p_x = −d ln 256 for every sample.
	l := &Logit{Lo: make([]float64, d), Hi: s.Std}
	ld := make([]float64, n)
	z := append([]float64(nil), x...)
	if err := l.ForwardLogDet(z, n, ld); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		logp := ld[i]
		for _, v := range z[i*d : (i+1)*d] {
			// log σ(v) + log σ(−v) = −softplus(−v) − softplus(v).
			logp -= softplus(v) + softplus(-v)
		}
		if math.Abs(logp+float64(d)*math.Log(256)) > 1e-9 {
			t.Fatalf("row %d: log p through logit = %v, want %v", i, logp, -float64(d)*math.Log(256))
		}
	}
}

func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

func TestBitsPerDimClosedForms(t *testing.T) {
	for _, tc := range []struct {
		nll   float64
		d     int
		scale float64
		want  float64
	}{
		{0, 1, 2, 1},
		{math.Ln2, 1, 1, 1},
		{784 * math.Ln2, 784, 1, 1},
		{-784 * math.Log(256), 784, 256, 0},
	} {
		if got := BitsPerDimScaled(tc.nll, tc.d, tc.scale); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("BitsPerDimScaled(%v, %d, %v) = %v, want %v", tc.nll, tc.d, tc.scale, got, tc.want)
		}
	}
}

func TestStandardizerScaleInvariance(t *testing.T) {
	// Fit on x and on 100·x; a fixed density on the standardized scale
	// (standard normal) gives log p_x values that differ by exactly d ln 100.
	const n, d = 300, 3
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, n*d)
	for k := range x {
		x[k] = rng.NormFloat64()*float64(k%d+1) + float64(k%d)
	}
	x100 := make([]float64, len(x))
	for k, v := range x {
		x100[k] = 100 * v
	}
	logpx := func(x []float64) []float64 {
		tab, err := NewTable(append([]float64(nil), x...), n, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := FitStandardizer(tab)
		if err != nil {
			t.Fatal(err)
		}
		s.Forward(tab.X, n)
		out := make([]float64, n)
		for i := range out {
			var lp float64
			for _, v := range tab.X[i*d : (i+1)*d] {
				lp += -0.5*v*v - 0.5*math.Log(2*math.Pi)
			}
			out[i] = lp + s.LogDet()
		}
		return out
	}
	a, b := logpx(x), logpx(x100)
	for i := range a {
		if diff := a[i] - b[i]; math.Abs(diff-d*math.Log(100)) > 1e-12 {
			t.Fatalf("row %d: log p_x(x) − log p_x(100x) = %.15f, want d ln 100 = %.15f", i, diff, d*math.Log(100))
		}
	}
}
