package baseline

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

var cov75 = []float64{7, 5, 5, 7}

func TestLogProbClosedForm(t *testing.T) {
	g := &Gaussian{Mean: []float64{1, -2}, Cov: cov75}
	// Σ⁻¹ = [[7, −5], [−5, 7]]/24, det Σ = 24. At x = (2, 0): x − μ = (1, 2),
	// (x−μ)ᵀΣ⁻¹(x−μ) = (7 − 20 + 28)/24 = 15/24.
	x := []float64{2, 0, 1, -2}
	out := make([]float64, 2)
	if err := g.LogProb(x, 2, out); err != nil {
		t.Fatal(err)
	}
	want := []float64{
		-math.Log(2*math.Pi) - 0.5*math.Log(24) - 0.5*15.0/24,
		-math.Log(2*math.Pi) - 0.5*math.Log(24),
	}
	for i := range want {
		if math.Abs(out[i]-want[i]) > 1e-13 {
			t.Errorf("LogProb[%d] = %.15g, want %.15g", i, out[i], want[i])
		}
	}
	// 1-D and 3-D diagonal against the product of univariate densities.
	g3 := &Gaussian{Mean: []float64{0, 1, 2}, Cov: []float64{4, 0, 0, 0, 1, 0, 0, 0, 0.25}}
	out3 := make([]float64, 1)
	if err := g3.LogProb([]float64{2, 1, 1.5}, 1, out3); err != nil {
		t.Fatal(err)
	}
	uni := func(x, m, s float64) float64 { return -0.5*math.Log(2*math.Pi) - math.Log(s) - 0.5*(x-m)*(x-m)/(s*s) }
	if w := uni(2, 0, 2) + uni(1, 1, 1) + uni(1.5, 2, 0.5); math.Abs(out3[0]-w) > 1e-13 {
		t.Errorf("diagonal LogProb = %v, want %v", out3[0], w)
	}
}

func TestNLLAtTrueParametersIsEntropy(t *testing.T) {
	const n = 200000
	g := &Gaussian{Mean: []float64{0, 0}, Cov: cov75}
	x := g.Sample(n, rand.New(rand.NewPCG(11, 12)))
	lp := make([]float64, n)
	if err := g.LogProb(x, n, lp); err != nil {
		t.Fatal(err)
	}
	var mean, sq float64
	for _, v := range lp {
		mean -= v
		sq += v * v
	}
	mean /= n
	variance := sq/n - mean*mean
	se := math.Sqrt(variance / n)
	// Entropy of N(0, Σ): ½ log det(2πe Σ) = 1 + log 2π + ½ log 24 = 4.426904.
	const entropy = 4.426904
	if math.Abs(mean-entropy) > 4*se+1e-6 {
		t.Fatalf("mean NLL %v, want entropy %v ± %v (4 standard errors)", mean, entropy, 4*se)
	}
	// The NLL of a d-dim Gaussian has variance d/2.
	if math.Abs(variance-1) > 0.05 {
		t.Fatalf("NLL variance %v, want d/2 = 1", variance)
	}
}

func TestFitRecoversParameters(t *testing.T) {
	const n = 100000
	truth := &Gaussian{Mean: []float64{3, -1, 0.5}, Cov: []float64{
		2, 0.6, -0.3,
		0.6, 1, 0.2,
		-0.3, 0.2, 0.5,
	}}
	x := truth.Sample(n, rand.New(rand.NewPCG(5, 6)))
	g, err := FitGaussian(x, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	if g.Jitter != 0 {
		t.Fatalf("jitter %v on a well-conditioned fit", g.Jitter)
	}
	for j := 0; j < 3; j++ {
		// Standard error of the mean: sqrt(Σ_jj/n).
		if se := math.Sqrt(truth.Cov[j*3+j] / n); math.Abs(g.Mean[j]-truth.Mean[j]) > 5*se {
			t.Errorf("mean[%d] = %v, want %v ± %v", j, g.Mean[j], truth.Mean[j], 5*se)
		}
		for k := 0; k < 3; k++ {
			// Standard error of a sample covariance: sqrt((Σ_jj Σ_kk + Σ_jk²)/n).
			sjk := truth.Cov[j*3+k]
			se := math.Sqrt((truth.Cov[j*3+j]*truth.Cov[k*3+k] + sjk*sjk) / n)
			if math.Abs(g.Cov[j*3+k]-sjk) > 5*se {
				t.Errorf("cov[%d,%d] = %v, want %v ± %v", j, k, g.Cov[j*3+k], sjk, 5*se)
			}
		}
	}
	// The ML covariance divides by n: two points ±1 give variance 1.
	g2, err := FitGaussian([]float64{-1, 1}, 2, 1)
	if err != nil || g2.Mean[0] != 0 || g2.Cov[0] != 1 {
		t.Fatalf("fit of {−1, 1}: %+v, %v", g2, err)
	}
}

func TestFitJitter(t *testing.T) {
	// Two identical columns: singular covariance.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 50
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		v := rng.NormFloat64()
		x[2*i], x[2*i+1] = v, v
	}
	g, err := FitGaussian(x, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if g.Jitter != 1e-10 {
		t.Fatalf("Jitter = %v, want 1e-10", g.Jitter)
	}
	out := make([]float64, n)
	if err := g.LogProb(x, n, out); err != nil {
		t.Fatal(err)
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite log-density %v", v)
		}
	}
	// A single sample: zero covariance, fixed by jitter.
	g1, err := FitGaussian([]float64{1, 2, 3}, 1, 3)
	if err != nil || g1.Jitter != 1e-10 || g1.Cov[0] != 1e-10 {
		t.Fatalf("one sample: %+v, %v", g1, err)
	}
	// Large-scale data needs a larger jitter when a column is constant.
	xs := []float64{1e6, 5, -1e6, 5, 3e6, 5}
	gs, err := FitGaussian(xs, 3, 2)
	if err != nil || gs.Jitter != 1e-10 {
		t.Fatalf("constant column: %+v, %v", gs, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		x    []float64
		n, d int
		want string
	}{
		{[]float64{1, 2, 3}, 2, 2, "fit gaussian: len(x) = 3, want n·d = 2·2 = 4"},
		{nil, 0, 2, "fit gaussian: need n ≥ 1 and d ≥ 1, got 0×2"},
		{[]float64{1, math.NaN()}, 1, 2, "fit gaussian: x holds NaN at row 0, column 1 (0-based)"},
	} {
		if _, err := FitGaussian(tc.x, tc.n, tc.d); err == nil || err.Error() != tc.want {
			t.Errorf("FitGaussian error = %v, want %s", err, tc.want)
		}
	}
	g := &Gaussian{Mean: []float64{0, 0}, Cov: cov75}
	out := make([]float64, 2)
	for _, tc := range []struct {
		g    *Gaussian
		x    []float64
		n    int
		out  []float64
		want string
	}{
		{g, []float64{1, 2, 3}, 2, out, "logprob: len(x) = 3, want n·d = 2·2 = 4"},
		{g, []float64{1, 2, 3, 4}, 2, out[:1], "logprob: len(out) = 1, want n = 2"},
		{g, []float64{1, 2, math.Inf(1), 4}, 2, out, "logprob: x holds +Inf at row 1, column 0 (0-based)"},
		{&Gaussian{Mean: []float64{0, 0}, Cov: []float64{1, 2, 2, 1}}, []float64{0, 0}, 1, out[:1], "logprob: gaussian: Cov is not positive definite"},
		{&Gaussian{Mean: []float64{0, 0}, Cov: []float64{1, 0.5, 0, 1}}, []float64{0, 0}, 1, out[:1], "logprob: gaussian: Cov is not symmetric: Cov[1,0] = 0, Cov[0,1] = 0.5"},
		{&Gaussian{Mean: []float64{0, 0}, Cov: []float64{1}}, []float64{0, 0}, 1, out[:1], "logprob: gaussian: len(Cov) = 1, want d² = 4"},
	} {
		if err := tc.g.LogProb(tc.x, tc.n, tc.out); err == nil || err.Error() != tc.want {
			t.Errorf("LogProb error = %v, want %s", err, tc.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not positive definite") {
			t.Fatalf("Sample with invalid Cov: recover() = %v", r)
		}
	}()
	(&Gaussian{Mean: []float64{0, 0}, Cov: []float64{1, 2, 2, 1}}).Sample(1, rand.New(rand.NewPCG(1, 1)))
}

func BenchmarkLogProb(b *testing.B) {
	const n, d = 4096, 16
	cov := make([]float64, d*d)
	for j := 0; j < d; j++ {
		cov[j*d+j] = 1 + float64(j)
	}
	g := &Gaussian{Mean: make([]float64, d), Cov: cov}
	x := g.Sample(n, rand.New(rand.NewPCG(1, 1)))
	out := make([]float64, n)
	for b.Loop() {
		if err := g.LogProb(x, n, out); err != nil {
			b.Fatal(err)
		}
	}
}
