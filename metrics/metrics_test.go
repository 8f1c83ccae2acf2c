package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func gauss(rng *rand.Rand, n, d int, shift float64) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64() + shift
	}
	return x
}

// For a shift by c in every coordinate the sliced W2² of two identical
// shapes is the mean of (θᵀc)² over unit θ: |c|²/d.
func TestSlicedW2OfAShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := gauss(rng, 4000, 2, 0)
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] + 3
	}
	got, err := SlicedW2(x, y, 4000, 4000, 2, 2000, rng)
	if err != nil {
		t.Fatal(err)
	}
	// |c|² = 18, d = 2: sliced W2 = 3.
	if math.Abs(got-3) > 0.05 {
		t.Errorf("sliced W2 of a shift by (3, 3) = %.4f, want 3", got)
	}
	same, _ := SlicedW2(x, x, 4000, 4000, 2, 50, rng)
	if same != 0 {
		t.Errorf("sliced W2 of identical samples = %g, want 0", same)
	}
	if _, err := SlicedW2(x, y[:3], 4000, 4000, 2, 5, rng); err == nil || err.Error() != "metrics: sliced W2: got 8000 and 3 values for 4000×2 and 4000×2 samples" {
		t.Errorf("shape error: %v", err)
	}
}

func TestMMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := gauss(rng, 500, 2, 0)
	y := gauss(rng, 500, 2, 0)
	z := gauss(rng, 500, 2, 1)
	bw := MedianBandwidth(x, y, 500, 500, 2)
	// For a, b ~ N(0, I) in 2D, |a − b|² ~ 2χ²₂ with median 4 ln 2: median distance ≈ 1.665.
	if math.Abs(bw-1.665) > 0.1 {
		t.Errorf("median bandwidth %.3f, want about 1.665", bw)
	}
	same, _ := MMD2(x, y, 500, 500, 2, bw)
	diff, _ := MMD2(x, z, 500, 500, 2, bw)
	if math.Abs(same) > 0.005 || diff < 0.05 {
		t.Errorf("MMD² same %.5f (want ≈ 0), shifted %.5f (want > 0.05)", same, diff)
	}
	// Two copies of 0 against two copies of 1 (d = 1, bw = 1): MMD² = 1 + 1 − 2e^{−1/2}.
	a := []float64{0, 0}
	b := []float64{1, 1}
	got, _ := MMD2(a, b, 2, 2, 1, 1)
	want := 1 + 1 - 2*math.Exp(-0.5)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("MMD² of {0,0} vs {1,1} = %g, want %g", got, want)
	}
	if _, err := MMD2(a, b, 2, 2, 1, 0); err == nil || err.Error() != "metrics: MMD: bandwidth must be positive, got 0" {
		t.Errorf("bandwidth error: %v", err)
	}
}
