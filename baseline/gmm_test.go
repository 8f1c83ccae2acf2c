package baseline

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
)

// mixtureSample draws n rows from the mixture g (weights, means, covs) with
// a fixed seed.
func mixtureSample(t testing.TB, g *GMM, n int, seed uint64) []float64 {
	t.Helper()
	x, err := g.Sample(n, rand.New(rand.NewPCG(seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// byFirstMean returns the component order sorted by the first coordinate of
// the mean (EM finds components in any order).
func byFirstMean(g *GMM) []int {
	idx := make([]int, g.K())
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return g.Means[idx[a]*g.D] < g.Means[idx[b]*g.D] })
	return idx
}

func TestGMMRecovers1D(t *testing.T) {
	const n = 20000
	truth := &GMM{D: 1, Weights: []float64{0.3, 0.7}, Means: []float64{-2, 3}, Covs: []float64{0.25, 1}}
	x := mixtureSample(t, truth, n, 1)
	g, err := FitGMM(x, n, 1, DefaultGMMOptions(2))
	if err != nil {
		t.Fatal(err)
	}
	if !g.Converged {
		t.Errorf("EM did not converge in %d iterations", len(g.LogLik)-1)
	}
	o := byFirstMean(g)
	// Standard errors at n = 20000 (the components barely overlap, so EM
	// behaves like per-component ML): weight √(w(1−w)/n) ≈ 0.0032; mean
	// σ/√(n·w) ≈ 0.0065 and 0.0085; variance σ²√(2/(n·w)) ≈ 0.0046 and 0.012.
	// Tolerances are about 5 standard errors.
	for i, c := range o {
		if w := g.Weights[c]; math.Abs(w-truth.Weights[i]) > 0.016 {
			t.Errorf("weight %d = %v, want %v", i, w, truth.Weights[i])
		}
		if m := g.Means[c]; math.Abs(m-truth.Means[i]) > []float64{0.033, 0.043}[i] {
			t.Errorf("mean %d = %v, want %v", i, m, truth.Means[i])
		}
		if v := g.Covs[c]; math.Abs(v-truth.Covs[i]) > []float64{0.023, 0.06}[i] {
			t.Errorf("variance %d = %v, want %v", i, v, truth.Covs[i])
		}
	}
}

func TestGMMRecovers2D(t *testing.T) {
	const n = 20000
	truth := &GMM{D: 2, Weights: []float64{0.4, 0.6},
		Means: []float64{-3, 0, 3, 1},
		Covs:  []float64{1, 0.6, 0.6, 1, 0.5, -0.2, -0.2, 2}}
	x := mixtureSample(t, truth, n, 2)
	opt := DefaultGMMOptions(2)
	opt.Inits = 2
	g, err := FitGMM(x, n, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Standard errors are at most √(2/(0.4·20000))·2 ≈ 0.032 (covariance
	// entries) and √(2/8000) ≈ 0.016 (means); tolerances are 5 of them.
	for i, c := range byFirstMean(g) {
		if w := g.Weights[c]; math.Abs(w-truth.Weights[i]) > 0.02 {
			t.Errorf("weight %d = %v, want %v", i, w, truth.Weights[i])
		}
		for a := 0; a < 2; a++ {
			if m := g.Means[c*2+a]; math.Abs(m-truth.Means[i*2+a]) > 0.08 {
				t.Errorf("mean %d[%d] = %v, want %v", i, a, m, truth.Means[i*2+a])
			}
		}
		for a := 0; a < 4; a++ {
			if v := g.Covs[c*4+a]; math.Abs(v-truth.Covs[i*4+a]) > 0.16 {
				t.Errorf("cov %d[%d] = %v, want %v", i, a, v, truth.Covs[i*4+a])
			}
		}
	}
	// The fitted model is about as good as the truth on fresh data.
	test := mixtureSample(t, truth, 5000, 3)
	fit, _, err := g.NLL(test, 5000)
	if err != nil {
		t.Fatal(err)
	}
	ref, se, err := truth.NLL(test, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fit-ref) > se {
		t.Errorf("test NLL %v, truth %v ± %v", fit, ref, se)
	}
}

func TestGMMOneComponentIsGaussian(t *testing.T) {
	const n = 3000
	g0 := &Gaussian{Mean: []float64{1, -2, 0.5}, Cov: []float64{2, 0.5, 0.1, 0.5, 1, -0.3, 0.1, -0.3, 0.7}}
	x := g0.Sample(n, rand.New(rand.NewPCG(3, 4)))
	gauss, err := FitGaussian(x, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultGMMOptions(1)
	opt.Reg = 0
	gmm, err := FitGMM(x, n, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	lp := make([]float64, n)
	if err := gauss.LogProb(x, n, lp); err != nil {
		t.Fatal(err)
	}
	want, wantSE, err := nllFromLogProb(lp)
	if err != nil {
		t.Fatal(err)
	}
	got, gotSE, err := gmm.NLL(x, n)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-9 || math.Abs(gotSE-wantSE) > 1e-9 {
		t.Fatalf("one-component GMM NLL %.15g ± %.3g, Gaussian %.15g ± %.3g", got, gotSE, want, wantSE)
	}
	// EM with one component converges after one M-step: ℓ equals −NLL.
	if ll := gmm.LogLik[len(gmm.LogLik)-1]; math.Abs(ll+want) > 1e-9 || !gmm.Converged {
		t.Fatalf("final log-likelihood %v, want %v (converged %v)", ll, -want, gmm.Converged)
	}
}

func TestGMMLogProbClosedForm(t *testing.T) {
	g := &GMM{D: 1, Weights: []float64{0.25, 0.75}, Means: []float64{0, 2}, Covs: []float64{1, 4}}
	x := []float64{0.5, -1, 10}
	out := make([]float64, 3)
	if err := g.LogProb(x, 3, out); err != nil {
		t.Fatal(err)
	}
	norm := func(x, m, v float64) float64 { return math.Exp(-0.5*(x-m)*(x-m)/v) / math.Sqrt(2*math.Pi*v) }
	for i, v := range x {
		want := math.Log(0.25*norm(v, 0, 1) + 0.75*norm(v, 2, 4))
		if math.Abs(out[i]-want) > 1e-13 {
			t.Errorf("LogProb(%v) = %.15g, want %.15g", v, out[i], want)
		}
	}
	// Far in the tail the log-sum-exp stays finite where the sum underflows.
	if err := g.LogProb([]float64{1e4}, 1, out[:1]); err != nil {
		t.Fatal(err)
	}
	if want := math.Log(0.75) - 0.5*math.Log(2*math.Pi*4) - 0.5*(1e4-2)*(1e4-2)/4; math.Abs(out[0]-want) > 1e-9*math.Abs(want) {
		t.Errorf("tail LogProb = %v, want %v", out[0], want)
	}
}

func TestEMLogLikelihoodNonDecreasing(t *testing.T) {
	const n = 4000
	truth := &GMM{D: 2, Weights: []float64{0.2, 0.3, 0.5},
		Means: []float64{-2, 0, 0, 2, 2, -1},
		Covs:  []float64{1, 0.3, 0.3, 0.5, 0.6, 0, 0, 0.6, 1, -0.5, -0.5, 1}}
	x := mixtureSample(t, truth, n, 5)
	opt := DefaultGMMOptions(4) // one more component than the truth: slow EM
	opt.Reg, opt.Tol, opt.MaxIter = 0, 0, 60
	g, err := FitGMM(x, n, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.LogLik) < 10 {
		t.Fatalf("only %d iterations", len(g.LogLik))
	}
	for i := 1; i < len(g.LogLik); i++ {
		if g.LogLik[i] < g.LogLik[i-1]-1e-12*math.Abs(g.LogLik[i-1]) {
			t.Fatalf("log-likelihood decreased at iteration %d: %.15g → %.15g", i, g.LogLik[i-1], g.LogLik[i])
		}
	}
	if g.LogLik[len(g.LogLik)-1] <= g.LogLik[0] {
		t.Fatalf("EM did not improve on its initialization: %v → %v", g.LogLik[0], g.LogLik[len(g.LogLik)-1])
	}
}

func TestGMMDeterministicAcrossThreads(t *testing.T) {
	const n = 3000 // several row chunks
	truth := &GMM{D: 1, Weights: []float64{0.5, 0.5}, Means: []float64{-1, 1}, Covs: []float64{0.5, 0.5}}
	x := mixtureSample(t, truth, n, 9)
	fit := func(procs int) *GMM {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		g, err := FitGMM(x, n, 1, DefaultGMMOptions(3))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := fit(1), fit(4)
	if len(a.LogLik) != len(b.LogLik) {
		t.Fatalf("iterations differ: %d vs %d", len(a.LogLik), len(b.LogLik))
	}
	for i := range a.LogLik {
		if a.LogLik[i] != b.LogLik[i] {
			t.Fatalf("LogLik[%d]: %v with 1 thread, %v with 4", i, a.LogLik[i], b.LogLik[i])
		}
	}
}

func TestSelectGMM(t *testing.T) {
	truth := &GMM{D: 2, Weights: []float64{0.5, 0.5}, Means: []float64{-3, 0, 3, 0}, Covs: []float64{1, 0, 0, 1, 1, 0.8, 0.8, 1}}
	train := mixtureSample(t, truth, 3000, 11)
	val := mixtureSample(t, truth, 2000, 12)
	g, scores, err := SelectGMM(train, val, 3000, 2000, 2, []int{1, 2, 3, 2000}, DefaultGMMOptions(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 4 || scores[0].K != 1 || scores[1].K != 2 || scores[2].K != 3 {
		t.Fatalf("scores %+v", scores)
	}
	if want := "fit gmm: 3000 rows are too few for K = 2000 components in d = 2 (need n ≥ K·(d+1) = 6000)"; scores[3].Err != want {
		t.Fatalf("K = 2000: Err %q, want %q", scores[3].Err, want)
	}
	// K = 1 misses the two modes by far more than the standard error.
	if scores[0].ValNLL-scores[1].ValNLL < 10*scores[1].ValSE {
		t.Fatalf("K = 1 NLL %v is not clearly worse than K = 2 NLL %v ± %v", scores[0].ValNLL, scores[1].ValNLL, scores[1].ValSE)
	}
	best := math.Min(scores[1].ValNLL, scores[2].ValNLL)
	got, _, err := g.NLL(val, 2000)
	if err != nil || got != best || g.K() == 1 {
		t.Fatalf("selected K = %d with NLL %v (%v), want the best %v", g.K(), got, err, best)
	}
}

func TestGMMErrors(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	opt := DefaultGMMOptions(1)
	with := func(f func(*GMMOptions)) GMMOptions { o := opt; f(&o); return o }
	for _, tc := range []struct {
		x    []float64
		n, d int
		opt  GMMOptions
		want string
	}{
		{x, 4, 2, DefaultGMMOptions(0), "fit gmm: need K ≥ 1 components, got 0"},
		{x, 4, 2, with(func(o *GMMOptions) { o.MaxIter = 0 }), "fit gmm: need MaxIter ≥ 1, got 0"},
		{x, 4, 2, with(func(o *GMMOptions) { o.Inits = 0 }), "fit gmm: need Inits ≥ 1, got 0"},
		{x, 4, 2, with(func(o *GMMOptions) { o.Reg = -1 }), "fit gmm: need a finite Reg ≥ 0, got -1"},
		{x, 4, 2, with(func(o *GMMOptions) { o.Tol = math.NaN() }), "fit gmm: need a finite Tol ≥ 0, got NaN"},
		{x, 3, 2, opt, "fit gmm: x: len = 8, want n·d = 3·2 = 6"},
		{x, 0, 2, opt, "fit gmm: x: need n ≥ 1 and d ≥ 1, got 0×2"},
		{[]float64{0, 1, math.NaN(), 3, 4, 5}, 3, 2, opt, "fit gmm: x: x holds NaN at row 1, column 0 (0-based)"},
		{x[:4], 2, 2, opt, "fit gmm: 2 rows are too few for K = 1 components in d = 2 (need n ≥ K·(d+1) = 3)"},
		{x, 4, 2, DefaultGMMOptions(2), "fit gmm: 4 rows are too few for K = 2 components in d = 2 (need n ≥ K·(d+1) = 6)"},
		// Collinear rows and no regularization: singular covariance.
		{[]float64{0, 0, 1, 1, 2, 2, 3, 3}, 4, 2, with(func(o *GMMOptions) { o.Reg = 0 }),
			"fit gmm: K = 1, start 0: initialization: covariance of component 0 (effective count 4) is not positive definite; increase Reg"},
	} {
		if _, err := FitGMM(tc.x, tc.n, tc.d, tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("FitGMM error = %v\nwant %s", err, tc.want)
		}
	}
	// The same collinear data fit with the default Reg.
	if _, err := FitGMM([]float64{0, 0, 1, 1, 2, 2, 3, 3}, 4, 2, opt); err != nil {
		t.Errorf("collinear data with Reg = 1e-6: %v", err)
	}
	good := &GMM{D: 1, Weights: []float64{1}, Means: []float64{0}, Covs: []float64{1}}
	out := make([]float64, 2)
	for _, tc := range []struct {
		g    *GMM
		x    []float64
		n    int
		want string
	}{
		{good, []float64{1, 2, 3}, 2, "logprob: x: len = 3, want n·d = 2·1 = 2"},
		{good, []float64{1, math.Inf(-1)}, 2, "logprob: x: x holds -Inf at row 1, column 0 (0-based)"},
		{good, []float64{1}, 1, "logprob: len(out) = 2, want n = 1"},
		{&GMM{D: 1, Weights: []float64{0.5}, Means: []float64{0}, Covs: []float64{1}}, []float64{1, 2}, 2, "logprob: gmm: weights sum to 0.5, want 1"},
		{&GMM{D: 1, Weights: []float64{1}, Means: []float64{0}, Covs: []float64{-1}}, []float64{1, 2}, 2, "logprob: gmm: covariance 0 is not positive definite"},
		{&GMM{D: 2, Weights: []float64{1}, Means: []float64{0, 0}, Covs: []float64{1, 0}}, []float64{1, 2, 3, 4}, 2, "logprob: gmm: len(Covs) = 2, want K·D² = 1·2² = 4"},
		{&GMM{D: 0}, nil, 0, "logprob: gmm: need D ≥ 1 and K ≥ 1, got D = 0, K = 0"},
	} {
		if err := tc.g.LogProb(tc.x, tc.n, out); err == nil || err.Error() != tc.want {
			t.Errorf("LogProb error = %v\nwant %s", err, tc.want)
		}
	}
	if _, _, err := SelectGMM(x, x, 4, 4, 2, nil, opt); err == nil || err.Error() != "select gmm: no candidate K" {
		t.Errorf("SelectGMM without K: %v", err)
	}
	if _, err := good.Sample(-1, rand.New(rand.NewPCG(1, 1))); err == nil || err.Error() != "sample: negative count -1" {
		t.Errorf("Sample(-1): %v", err)
	}
}

func BenchmarkFitGMM(b *testing.B) {
	truth := &GMM{D: 2, Weights: []float64{0.5, 0.5}, Means: []float64{-3, 0, 3, 0}, Covs: []float64{1, 0, 0, 1, 1, 0.8, 0.8, 1}}
	x := mixtureSample(b, truth, 10000, 1)
	opt := DefaultGMMOptions(5)
	opt.MaxIter = 20
	for b.Loop() {
		if _, err := FitGMM(x, 10000, 2, opt); err != nil {
			b.Fatal(err)
		}
	}
}
