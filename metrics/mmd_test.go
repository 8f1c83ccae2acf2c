package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteMMD2 is the U-statistic of Gretton et al. (2012) eq. 3 by plain double
// loops over ordered pairs, with the kernel averaged over bws.
func bruteMMD2(x, y []float64, n, m, d int, bws []float64) float64 {
	k := func(a, b []float64) float64 {
		var r2 float64
		for i := range a {
			r2 += (a[i] - b[i]) * (a[i] - b[i])
		}
		var s float64
		for _, bw := range bws {
			s += math.Exp(-r2 / (2 * bw * bw))
		}
		return s / float64(len(bws))
	}
	var sxx, syy, sxy float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				sxx += k(x[i*d:(i+1)*d], x[j*d:(j+1)*d])
			}
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if i != j {
				syy += k(y[i*d:(i+1)*d], y[j*d:(j+1)*d])
			}
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			sxy += k(x[i*d:(i+1)*d], y[j*d:(j+1)*d])
		}
	}
	return sxx/float64(n*(n-1)) + syy/float64(m*(m-1)) - 2*sxy/float64(n*m)
}

func TestMMD2UnbiasedMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// n = 70 spans three row chunks, so the parallel reduction is exercised.
	for _, tc := range []struct{ n, m, d int }{{7, 5, 3}, {70, 41, 2}, {2, 2, 1}} {
		x := gauss(rng, tc.n, tc.d, 0)
		y := gauss(rng, tc.m, tc.d, 0.3)
		got, err := MMD2Unbiased(x, y, tc.n, tc.m, tc.d, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteMMD2(x, y, tc.n, tc.m, tc.d, []float64{0.8}); math.Abs(got-want) > 1e-12 {
			t.Errorf("n=%d m=%d d=%d: MMD²_u = %.15g, brute force %.15g", tc.n, tc.m, tc.d, got, want)
		}
		bws := []float64{0.4, 0.8, 1.6}
		multi, err := MMD2Multi(x, y, tc.n, tc.m, tc.d, bws)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteMMD2(x, y, tc.n, tc.m, tc.d, bws); math.Abs(multi-want) > 1e-12 {
			t.Errorf("n=%d m=%d d=%d: multi-bandwidth MMD²_u = %.15g, brute force %.15g", tc.n, tc.m, tc.d, multi, want)
		}
		var mean float64
		for _, bw := range bws {
			v, _ := MMD2Unbiased(x, y, tc.n, tc.m, tc.d, bw)
			mean += v / 3
		}
		if math.Abs(multi-mean) > 1e-12 {
			t.Errorf("MMD2Multi = %.15g, mean over bandwidths of MMD2Unbiased = %.15g", multi, mean)
		}
	}
}

// For y = x the U-statistic is −(2/n)(1 − k̄), k̄ the mean off-diagonal
// kernel value: the cross term includes the n diagonal ones.
func TestMMD2OfIdenticalSamples(t *testing.T) {
	// x = {0, 1}, bw = 1: k̄ = e^{−1/2}.
	got, err := MMD2Unbiased([]float64{0, 1}, []float64{0, 1}, 2, 2, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := -(1 - math.Exp(-0.5)); math.Abs(got-want) > 1e-15 {
		t.Errorf("MMD²_u({0,1}, {0,1}) = %.17g, want −(1 − e^{−1/2}) = %.17g", got, want)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const n, d = 100, 2
	x := gauss(rng, n, d, 0)
	var kbar float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				kbar += math.Exp(-sqDist(x[i*d:(i+1)*d], x[j*d:(j+1)*d]) / 2)
			}
		}
	}
	kbar /= n * (n - 1)
	got, _ = MMD2Unbiased(x, x, n, n, d, 1)
	if want := -2.0 / n * (1 - kbar); math.Abs(got-want) > 1e-13 {
		t.Errorf("MMD²_u(x, x) = %.15g, want −(2/n)(1 − k̄) = %.15g", got, want)
	}
}

// Unbiasedness: over independent replicates with both samples from N(0, I),
// the mean of MMD²_u is 0 within a few standard errors.
func TestMMD2UnbiasedMeanZeroUnderNull(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const reps, n, d = 30, 150, 2
	vals := make([]float64, reps)
	for r := range vals {
		x := gauss(rng, n, d, 0)
		y := gauss(rng, n, d, 0)
		v, err := MMD2Unbiased(x, y, n, n, d, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		vals[r] = v
	}
	mean, se := NLL(vals) // mean and standard error of −vals
	if math.Abs(mean) > 4*se {
		t.Errorf("mean MMD²_u under the null = %.3g, standard error %.3g: more than 4 SE from 0", -mean, se)
	}
	if se == 0 || se > 0.01 {
		t.Errorf("standard error of MMD²_u = %.3g, want a small positive number", se)
	}
}

func TestDefaultBandwidths(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := gauss(rng, 50, 2, 0)
	y := gauss(rng, 40, 2, 1)
	bws, err := DefaultBandwidths(x, y, 50, 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	med := MedianBandwidth(x, y, 50, 40, 2)
	if len(bws) != 3 || bws[0] != med/2 || bws[1] != med || bws[2] != 2*med {
		t.Errorf("DefaultBandwidths = %v, want median %g × {0.5, 1, 2}", bws, med)
	}
	z := make([]float64, 8)
	if _, err := DefaultBandwidths(z, z, 4, 4, 2); err == nil || err.Error() != "metrics: default bandwidths: median pairwise distance is 0; choose bandwidths explicitly" {
		t.Errorf("coincident rows: %v", err)
	}
}

func TestMMDErrors(t *testing.T) {
	x := []float64{0, 1, 2}
	nan := []float64{0, math.NaN(), 2}
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"one row", func() error { _, err := MMD2Unbiased(x, x, 1, 3, 1, 1); return err },
			"metrics: MMD: got 3 and 3 values for 1×1 and 3×1 samples (need at least 2 rows each)"},
		{"NaN", func() error { _, err := MMD2Unbiased(x, nan, 3, 3, 1, 1); return err },
			"metrics: MMD: y row 1, column 0 is NaN"},
		{"no bandwidths", func() error { _, err := MMD2Multi(x, x, 3, 3, 1, nil); return err },
			"metrics: MMD: no bandwidths given"},
		{"bad bandwidth", func() error { _, err := MMD2Multi(x, x, 3, 3, 1, []float64{1, math.Inf(1)}); return err },
			"metrics: MMD: bandwidth 1 must be positive, got +Inf"},
		{"few permutations", func() error {
			_, err := MMDTest(x, x, 3, 3, 1, []float64{1}, 10, 0.05, rand.New(rand.NewPCG(1, 1)))
			return err
		}, "metrics: MMD test: with 10 permutations the smallest p-value is 1/11 > alpha = 0.05; use at least 19"},
		{"alpha", func() error {
			_, err := MMDTest(x, x, 3, 3, 1, []float64{1}, 100, 1, rand.New(rand.NewPCG(1, 1)))
			return err
		}, "metrics: MMD test: level alpha must be in (0, 1), got 1"},
		{"nil rng", func() error { _, err := MMDTest(x, x, 3, 3, 1, []float64{1}, 100, 0.05, nil); return err },
			"metrics: MMD test: nil random source"},
	} {
		if err := tc.err(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestMMDTestDecisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 300
	x := gauss(rng, n, 1, 0)
	y := gauss(rng, n, 1, 0)
	z := gauss(rng, n, 1, 0.5)
	bws, err := DefaultBandwidths(x, z, n, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	diff, err := MMDTest(x, z, n, n, 1, bws, 200, 0.05, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Reject || diff.PValue > 0.01 {
		t.Errorf("N(0,1) vs N(0.5,1), n = %d: %+v, want rejection with p ≤ 0.01", n, diff)
	}
	if want, _ := MMD2Multi(x, z, n, n, 1, bws); math.Abs(diff.Stat-want) > 1e-12 {
		t.Errorf("Stat = %.15g, MMD2Multi = %.15g", diff.Stat, want)
	}
	same, err := MMDTest(x, y, n, n, 1, bws, 200, 0.05, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if same.Reject || same.PValue <= 0.05 {
		t.Errorf("N(0,1) vs N(0,1), n = %d: %+v, want no rejection", n, same)
	}
	for _, r := range []MMDTestResult{diff, same} {
		if r.Reject != (r.PValue <= 0.05) || r.Reject != (r.Stat > r.Threshold) {
			t.Errorf("inconsistent decision: %+v", r)
		}
		// p-values take the values (1 + c)/201.
		if c := r.PValue*201 - 1; math.Abs(c-math.Round(c)) > 1e-9 {
			t.Errorf("p-value %g is not (1 + c)/201", r.PValue)
		}
	}
	// With 19 permutations the smallest possible p-value is 1/20 = α.
	far := gauss(rng, n, 1, 5)
	r, err := MMDTest(x, far, n, n, 1, bws, 19, 0.05, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if r.PValue != 0.05 || !r.Reject {
		t.Errorf("far-apart samples with 19 permutations: %+v, want p = 1/20 and rejection", r)
	}
}

// The stored-kernel path and the recomputing path see the same permutations
// and must give the same statistics up to rounding.
func TestMMDTestPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := gauss(rng, 60, 3, 0)
	y := gauss(rng, 45, 3, 0.2)
	bws := []float64{1, 2}
	a, err := mmdTest(x, y, 60, 45, 3, bws, 99, 0.1, rand.New(rand.NewPCG(5, 5)), matrixLimit)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mmdTest(x, y, 60, 45, 3, bws, 99, 0.1, rand.New(rand.NewPCG(5, 5)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.Stat-b.Stat) > 1e-13 || math.Abs(a.Threshold-b.Threshold) > 1e-13 || a.PValue != b.PValue || a.Reject != b.Reject {
		t.Errorf("kernel-matrix path %+v, recomputing path %+v", a, b)
	}
}

func BenchmarkMMDTest(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d = 1000, 2
	x := gauss(rng, n, d, 0)
	y := gauss(rng, n, d, 0.1)
	bws, _ := DefaultBandwidths(x, y, n, n, d)
	for b.Loop() {
		if _, err := MMDTest(x, y, n, n, d, bws, 100, 0.05, rng); err != nil {
			b.Fatal(err)
		}
	}
}
