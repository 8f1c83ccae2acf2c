package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortedW2 is the exact 1D W2 between equal-size samples: the monotone
// (sorted) matching is optimal for a convex cost on the line.
func sortedW2(x, y []float64) float64 {
	a, b := slices.Clone(x), slices.Clone(y)
	slices.Sort(a)
	slices.Sort(b)
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s / float64(len(a)))
}

func TestW2ExactIn1DIsSortedMatching(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// N(0, 1) against N(1, 2²): W2² = (0 − 1)² + (1 − 2)² = 2 for the
	// distributions (1D Gaussian closed form).
	const n = 600
	x := gauss(rng, n, 1, 0)
	y := make([]float64, n)
	for i := range y {
		y[i] = 1 + 2*rng.NormFloat64()
	}
	got, err := W2Exact(x, y, n, 1, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := sortedW2(x, y); math.Abs(got-want) > 1e-12 {
		t.Errorf("exact W2 = %.15g, sorted matching %.15g", got, want)
	}
	if math.Abs(got-math.Sqrt2) > 0.1 {
		t.Errorf("exact W2 between samples of N(0,1) and N(1,4) = %.4f, want about √2", got)
	}
	// Hand case: {0, 3} against {1, 2}: sorted pairs (0,1), (3,2), W2² = 1.
	if got, _ := W2Exact([]float64{3, 0}, []float64{1, 2}, 2, 1, 10, nil); math.Abs(got-1) > 1e-15 {
		t.Errorf("W2({0,3}, {1,2}) = %g, want 1", got)
	}
}

// A sample and its translate by μ: for any permutation σ,
// Σ|x_i − x_σ(i) − μ|² = Σ|x_i − x_σ(i)|² + n|μ|² (the cross term sums to 0),
// so the identity is optimal and W2 = |μ| exactly.
func TestW2ExactOfATranslate(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const n, d = 300, 3
	mu := []float64{1, -2, 0.5}
	x := gauss(rng, n, d, 0)
	y := make([]float64, n*d)
	for i := range y {
		y[i] = x[i] + mu[i%d]
	}
	got, err := W2Exact(x, y, n, d, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt(1 + 4 + 0.25); math.Abs(got-want) > 1e-12 {
		t.Errorf("W2 of a translate by μ = %.15g, want |μ| = %.15g", got, want)
	}
	same, _ := W2Exact(x, x, n, d, n, nil)
	if same != 0 {
		t.Errorf("W2(x, x) = %g, want 0", same)
	}
}

// Independent samples of N(0, I) and N(μ, I) in 2D: W2 = |μ| for the
// distributions, plus a finite-sample term.
func TestW2ExactGaussianShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const n, d = 500, 2
	x := gauss(rng, n, d, 0)
	y := gauss(rng, n, d, 2) // μ = (2, 2), |μ| = 2√2
	got, err := W2Exact(x, y, n, d, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-2*math.Sqrt2) > 0.15 {
		t.Errorf("W2 between N(0,I) and N((2,2),I) samples = %.4f, want about 2√2 = 2.828", got)
	}
}

func TestW2ExactSubsample(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	const n, d, k = 500, 2, 100
	x := gauss(rng, n, d, 0)
	y := gauss(rng, n, d, 3)
	a, err := W2Exact(x, y, n, d, k, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := W2Exact(x, y, n, d, k, rand.New(rand.NewPCG(1, 1)))
	if a != b {
		t.Errorf("same seed, different results: %g and %g", a, b)
	}
	// Recompute from the same subsample drawn by hand.
	r := rand.New(rand.NewPCG(1, 1))
	xs := subsampleRows(x, n, d, k, r)
	ys := subsampleRows(y, n, d, k, r)
	want, _ := W2Exact(xs, ys, k, d, k, nil)
	if a != want {
		t.Errorf("subsampled W2 = %g, W2 of the drawn rows = %g", a, want)
	}
	if math.Abs(a-3*math.Sqrt2) > 0.5 {
		t.Errorf("subsampled W2 = %.3f, want about 3√2", a)
	}
	if _, err := W2Exact(x, y, n, d, k, nil); err == nil || err.Error() != "metrics: exact W2: nil random source, needed to subsample 100 of 500 rows" {
		t.Errorf("nil rng: %v", err)
	}
	if _, err := W2Exact(x, y, n, d, 0, nil); err == nil || err.Error() != "metrics: exact W2: maxN = 0, want ≥ 1" {
		t.Errorf("maxN 0: %v", err)
	}
	if _, err := W2Exact(x, y[:4], n, d, k, nil); err == nil || err.Error() != "metrics: exact W2: got 1000 and 4 values for 500×2 and 500×2 samples (need at least 1 rows each)" {
		t.Errorf("shape: %v", err)
	}
}

func BenchmarkW2Exact(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d = 1024, 2
	x := gauss(rng, n, d, 0)
	y := gauss(rng, n, d, 0.5)
	for b.Loop() {
		if _, err := W2Exact(x, y, n, d, n, nil); err != nil {
			b.Fatal(err)
		}
	}
}
