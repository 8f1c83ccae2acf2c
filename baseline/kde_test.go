package baseline

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func normalCloud(n, d int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func TestKDEOnePointIsGaussian(t *testing.T) {
	x0 := []float64{0.3, -1.2}
	const h = 0.7
	k, err := FitKDE(x0, 1, 2, h)
	if err != nil {
		t.Fatal(err)
	}
	q := []float64{0.3, -1.2, 1, 1, -4, 2.5}
	out := make([]float64, 3)
	if err := k.LogProb(q, 3, out); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r := (q[2*i]-x0[0])*(q[2*i]-x0[0]) + (q[2*i+1]-x0[1])*(q[2*i+1]-x0[1])
		want := -r/(2*h*h) - 2*math.Log(h) - math.Log(2*math.Pi)
		if math.Abs(out[i]-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d: LogProb %.17g, want N(x0, h²I) = %.17g", i, out[i], want)
		}
	}
}

func TestKDEBruteForce(t *testing.T) {
	// 1300 training rows span three blocks of kdeBlock; 700 query rows span
	// three row chunks.
	const nt, nq, d, h = 1300, 700, 3, 0.45
	train, query := normalCloud(nt, d, 1), normalCloud(nq, d, 2)
	for i := range query {
		query[i] *= 1.5
	}
	k, err := FitKDE(train, nt, d, h)
	if err != nil {
		t.Fatal(err)
	}
	check := func(procs int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		out := make([]float64, nq)
		if err := k.LogProb(query, nq, out); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < nq; j++ {
			var s float64
			for i := 0; i < nt; i++ {
				var r float64
				for a := 0; a < d; a++ {
					t := query[j*d+a] - train[i*d+a]
					r += t * t
				}
				s += math.Exp(-r/(2*h*h)) / math.Pow(2*math.Pi*h*h, d/2.0)
			}
			want := math.Log(s / nt)
			if math.Abs(out[j]-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("GOMAXPROCS %d, row %d: LogProb %.17g, brute force %.17g", procs, j, out[j], want)
			}
		}
	}
	check(1)
	check(3)
}

func TestSelectKDENearOptimum(t *testing.T) {
	// For N(0, 1) data and a Gaussian kernel the MISE-optimal bandwidth is
	// (4/3)^(1/5)·n^(−1/5) ≈ 0.266 at n = 1000 (Silverman 1986, eq. 3.28);
	// the likelihood-optimal one is close to it. Loose check: within a
	// factor 2, and the grid's ends are clearly worse.
	const n = 1000
	train, val := normalCloud(n, 1, 5), normalCloud(n, 1, 6)
	k, scores, err := SelectKDE(train, val, n, n, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	hopt := math.Pow(4.0/3, 0.2) * math.Pow(n, -0.2)
	if k.H < hopt/2 || k.H > 2*hopt {
		t.Fatalf("selected h = %v, want near %v", k.H, hopt)
	}
	if len(scores) != 15 {
		t.Fatalf("%d scores, want 15", len(scores))
	}
	best := math.Inf(1)
	for _, s := range scores {
		if s.Err != "" {
			t.Fatalf("bandwidth %v: %s", s.Bandwidth, s.Err)
		}
		best = math.Min(best, s.ValNLL)
	}
	if got, _, _ := k.NLL(val, n); got != best {
		t.Fatalf("selected NLL %v, best score %v", got, best)
	}
	// Entropy of N(0, 1) is 1.4189; the KDE is a little worse, never better
	// by more than noise.
	if best < 1.4189-0.05 || best > 1.4189+0.1 {
		t.Fatalf("validation NLL %v far from the entropy 1.4189", best)
	}
	if scores[0].ValNLL < best+0.05 || scores[14].ValNLL < best+0.05 {
		t.Fatalf("grid ends %v, %v not worse than the optimum %v", scores[0].ValNLL, scores[14].ValNLL, best)
	}
}

func TestScottBandwidth(t *testing.T) {
	// Columns with variances 1 and 4 (population): σ̄ = √2.5; n = 4, d = 2.
	x := []float64{-1, -2, 1, 2, -1, 2, 1, -2}
	h, err := ScottBandwidth(x, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt(2.5) * math.Pow(4, -1.0/6); math.Abs(h-want) > 1e-15 {
		t.Fatalf("h = %v, want %v", h, want)
	}
	hs, err := DefaultBandwidths(x, 4, 2)
	if err != nil || len(hs) != 15 || math.Abs(hs[0]-h/10) > 1e-15 || math.Abs(hs[7]-h) > 1e-15 || math.Abs(hs[14]-10*h) > 1e-14 {
		t.Fatalf("grid %v (%v), want %v·10^[−1, 1]", hs, err, h)
	}
}

func TestKDEErrors(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	for _, tc := range []struct {
		x    []float64
		n, d int
		h    float64
		want string
	}{
		{x, 2, 2, 0, "fit kde: bandwidth must be finite and > 0, got 0"},
		{x, 2, 2, math.Inf(1), "fit kde: bandwidth must be finite and > 0, got +Inf"},
		{x, 3, 2, 1, "fit kde: x: len = 4, want n·d = 3·2 = 6"},
		{x, 4, 0, 1, "fit kde: x: need n ≥ 1 and d ≥ 1, got 4×0"},
		{[]float64{0, math.NaN()}, 1, 2, 1, "fit kde: x: x holds NaN at row 0, column 1 (0-based)"},
	} {
		if _, err := FitKDE(tc.x, tc.n, tc.d, tc.h); err == nil || err.Error() != tc.want {
			t.Errorf("FitKDE error = %v\nwant %s", err, tc.want)
		}
	}
	k := &KDE{X: x, N: 2, D: 2, H: 1}
	out := make([]float64, 1)
	for _, tc := range []struct {
		k    *KDE
		q    []float64
		n    int
		want string
	}{
		{k, []float64{1, 2, 3}, 1, "logprob: x: len = 3, want n·d = 1·2 = 2"},
		{k, []float64{1, math.NaN()}, 1, "logprob: x: x holds NaN at row 0, column 1 (0-based)"},
		{k, []float64{1, 2, 3, 4}, 2, "logprob: len(out) = 1, want n = 2"},
		{&KDE{X: x, N: 2, D: 2, H: -1}, []float64{1, 2}, 1, "logprob: kde: bandwidth must be finite and > 0, got -1"},
		{&KDE{X: x, N: 3, D: 2, H: 1}, []float64{1, 2}, 1, "logprob: kde: len(X) = 4, want N·D = 3·2 with N, D ≥ 1"},
	} {
		if err := tc.k.LogProb(tc.q, tc.n, out); err == nil || err.Error() != tc.want {
			t.Errorf("LogProb error = %v\nwant %s", err, tc.want)
		}
	}
	for _, tc := range []struct {
		hs   []float64
		want string
	}{
		{[]float64{}, "select kde: no candidate bandwidth"},
		{[]float64{1, math.NaN()}, "select kde: bandwidth 1 is NaN, want finite and > 0"},
	} {
		if _, _, err := SelectKDE(x, x, 2, 2, 2, tc.hs); err == nil || err.Error() != tc.want {
			t.Errorf("SelectKDE error = %v\nwant %s", err, tc.want)
		}
	}
	if _, _, err := SelectKDE([]float64{1, 1, 1, 1}, x, 2, 2, 2, nil); err == nil || err.Error() != "select kde: scott bandwidth: all 2 rows are equal" {
		t.Errorf("SelectKDE on constant data: %v", err)
	}
	if _, _, err := k.NLL(x, 0); err == nil || err.Error() != "nll: need n ≥ 1, got 0" {
		t.Errorf("NLL(n = 0): %v", err)
	}
}

func TestKDESampleMoments(t *testing.T) {
	// Samples of a KDE have the training mean and variance + h².
	train := []float64{-1, 1}
	k, err := FitKDE(train, 2, 1, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	s, err := k.Sample(n, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var m, v float64
	for _, x := range s {
		m += x
		v += x * x
	}
	m /= n
	v = v/n - m*m
	// Variance 1.25: SE of the mean 0.0035, of the variance ≈ 0.006.
	if math.Abs(m) > 0.018 || math.Abs(v-1.25) > 0.03 {
		t.Fatalf("sample mean %v, variance %v; want 0, 1.25", m, v)
	}
}

func BenchmarkKDELogProb(b *testing.B) {
	const nt, nq, d = 5000, 1000, 6
	k, err := FitKDE(normalCloud(nt, d, 1), nt, d, 0.3)
	if err != nil {
		b.Fatal(err)
	}
	q := normalCloud(nq, d, 2)
	out := make([]float64, nq)
	for b.Loop() {
		if err := k.LogProb(q, nq, out); err != nil {
			b.Fatal(err)
		}
	}
}
