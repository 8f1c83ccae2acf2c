package method

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/iterflow/iterflow/data/toy"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

func smallFM(iters int) FMConfig {
	return FMConfig{
		Coupling: interp.Independent, Interpolant: interp.Linear, Time: interp.Uniform,
		Net: nn.Spec{Hidden: []int{64, 64}, Act: nn.Softplus, Beta: 1},
		Optim: Optim{
			Iters: iters, BatchSize: 256, LR: 3e-3, LRDecay: 0.3, LRDecayEvery: iters / 2,
			Clip: 1, EMA: 0.99, Seed: 11,
		},
	}
}

// diagGaussian draws n rows of N(mu, diag(s²)) in 2D.
func diagGaussian(rng *rand.Rand, n int, mu, s [2]float64) []float64 {
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x[2*i] = mu[0] + s[0]*rng.NormFloat64()
		x[2*i+1] = mu[1] + s[1]*rng.NormFloat64()
	}
	return x
}

// twoBlobs draws n rows of an equal mixture of N((±2, 1), 0.3² I).
func twoBlobs(rng *rand.Rand, n int) []float64 {
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		c := 2.0
		if rng.IntN(2) == 0 {
			c = -2
		}
		x[2*i] = c + 0.3*rng.NormFloat64()
		x[2*i+1] = 1 + 0.3*rng.NormFloat64()
	}
	return x
}

// slicedW2 returns the mean over k random directions of the 1-D W2 distance
// between the projections of the n×2 sets a and b (sorted projections).
func slicedW2(a, b []float64, n, k int, rng *rand.Rand) float64 {
	pa, pb := make([]float64, n), make([]float64, n)
	var sum float64
	for j := 0; j < k; j++ {
		th := 2 * math.Pi * rng.Float64()
		c, s := math.Cos(th), math.Sin(th)
		for i := 0; i < n; i++ {
			pa[i] = c*a[2*i] + s*a[2*i+1]
			pb[i] = c*b[2*i] + s*b[2*i+1]
		}
		slices.Sort(pa)
		slices.Sort(pb)
		var w float64
		for i := range pa {
			w += (pa[i] - pb[i]) * (pa[i] - pb[i])
		}
		sum += math.Sqrt(w / float64(n))
	}
	return sum / float64(k)
}

func TestSlicedW2(t *testing.T) {
	// A shift by (3, 4) gives 1-D W2 = |3 cos θ + 4 sin θ|, mean 5·2/π.
	rng := rand.New(rand.NewPCG(1, 2))
	a := diagGaussian(rng, 1000, [2]float64{0, 0}, [2]float64{1, 1})
	b := make([]float64, len(a))
	for i := range a {
		b[i] = a[i] + []float64{3, 4}[i%2]
	}
	got := slicedW2(a, b, 1000, 1000, rng)
	if want := 10 / math.Pi; math.Abs(got-want) > 0.15 {
		t.Errorf("sliced W2 of a shift = %.4f, want %.4f", got, want)
	}
}

// The exact marginal velocity of independent linear flow matching from
// N(0, 1) to N(μ, s²), per coordinate: x_t = (1−t)x0 + t x1 has mean tμ,
// variance (1−t)² + t²s², and Cov(x1 − x0, x_t) = t s² − (1−t), so
// v*(x, t) = E[x1 − x0 | x_t = x] = μ + (t s² − (1−t))/((1−t)² + t² s²)·(x − tμ).
func exactRFVelocity(x, t, mu, s float64) float64 {
	v := (1-t)*(1-t) + t*t*s*s
	return mu + (t*s*s-(1-t))/v*(x-t*mu)
}

func TestExactRFVelocityMonteCarlo(t *testing.T) {
	// Check the closed form against a binned Monte-Carlo conditional mean.
	rng := rand.New(rand.NewPCG(3, 3))
	const mu, s, tt, x, w = 2.0, 0.5, 0.6, 1.3, 0.02
	var sum float64
	var cnt int
	for i := 0; i < 2_000_000; i++ {
		x0, x1 := rng.NormFloat64(), mu+s*rng.NormFloat64()
		if xt := (1-tt)*x0 + tt*x1; math.Abs(xt-x) < w {
			sum += x1 - x0
			cnt++
		}
	}
	got, want := sum/float64(cnt), exactRFVelocity(x, tt, mu, s)
	if math.Abs(got-want) > 0.03 {
		t.Errorf("Monte-Carlo E[x1−x0 | x_t = %g] = %.4f (%d samples), closed form %.4f", x, got, cnt, want)
	}
}

// 1-rectified flow from N(0, I) to N(μ, diag(s²)) learns the exact marginal
// velocity and samples with the right moments.
func TestRectifiedFlowGaussian(t *testing.T) {
	mu, s := [2]float64{2, -1}, [2]float64{0.5, 2}
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 8000
	x := diagGaussian(rng, n, mu, s)
	val := diagGaussian(rng, 2000, mu, s)
	cfg := smallFM(2500)
	cfg.BatchSize = 512
	cfg.LRDecayEvery = 1000
	cfg.ValEvery = 250
	res, err := TrainFM(context.Background(), x, n, val, 2000, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.StdNormalSource || res.Rectified != 1 || res.Block.Kind != "fm" {
		t.Errorf("result: StdNormalSource %v, Rectified %d, Kind %q", res.StdNormalSource, res.Rectified, res.Block.Kind)
	}
	c := res.Chain()
	if len(c.Blocks) != 1 || !c.Blocks[0].Reverse {
		t.Fatalf("chain: %d blocks, reverse %v; want one reverse block", len(c.Blocks), c.Blocks[0].Reverse)
	}
	// Velocity on a grid around the bulk of x_t: x = tμ ± k·sd_t.
	f := c.Blocks[0].Field
	v := make([]float64, 2)
	worst := 0.0
	for _, tt := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
		var sd [2]float64
		for j := range sd {
			sd[j] = math.Sqrt((1-tt)*(1-tt) + tt*tt*s[j]*s[j])
		}
		for _, k0 := range []float64{-1, 0, 1} {
			for _, k1 := range []float64{-1, 0, 1} {
				p := []float64{tt*mu[0] + k0*sd[0], tt*mu[1] + k1*sd[1]}
				f.Velocity(tt, p, 1, v)
				want := []float64{exactRFVelocity(p[0], tt, mu[0], s[0]), exactRFVelocity(p[1], tt, mu[1], s[1])}
				errN := math.Hypot(v[0]-want[0], v[1]-want[1])
				// The regression target x1 − x0 has conditional variance of
				// order 1 + s², so a short SGD run is accurate to about
				// 20% of |v*| + 0.1 (typically within half of that).
				tol := 0.2*math.Hypot(want[0], want[1]) + 0.1
				worst = max(worst, errN/tol)
				if errN > tol {
					t.Errorf("v(%.3v, t=%g) = %.3v, exact %.3v: error %.3g > %.3g", p, tt, v, want, errN, tol)
				}
			}
		}
	}
	t.Logf("worst velocity error / tolerance = %.3f", worst)
	// Samples: mean μ and std s within 5%.
	const ns = 20000
	xs, _, err := c.Sample(context.Background(), ns, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 8}, Rand: rand.New(rand.NewPCG(9, 9))})
	if err != nil {
		t.Fatal(err)
	}
	m, cov := moments(xs, ns)
	for j := 0; j < 2; j++ {
		sd := math.Sqrt(cov[j][j])
		if math.Abs(m[j]-mu[j]) > 0.05*math.Abs(mu[j]) || math.Abs(sd-s[j]) > 0.05*s[j] {
			t.Errorf("coordinate %d: sample mean %.4f std %.4f, want %g and %g within 5%%", j, m[j], sd, mu[j], s[j])
		}
	}
	t.Logf("sample mean %.4v, std (%.4f, %.4f)", m, math.Sqrt(cov[0][0]), math.Sqrt(cov[1][1]))
}

// blobModel is a 1-rectified flow from N(0, I) to the two-blob mixture,
// trained once and shared by the tests that need a trained model.
var blobModel = sync.OnceValues(func() (*FMResult, error) {
	rng := rand.New(rand.NewPCG(21, 21))
	const n = 6000
	x := twoBlobs(rng, n)
	return TrainFM(context.Background(), x, n, nil, 0, 2, smallFM(1000), nil)
})

var rk4x20 = ode.Options{Method: ode.RK4, Steps: 20}

// Reflow straightens the paths: the straightness of the 2-rectified flow is
// well below that of the 1-rectified flow.
func TestReflowReducesStraightness(t *testing.T) {
	rf1, err := blobModel()
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallFM(600)
	cfg.Seed = 12
	rf2, err := Reflow(context.Background(), rf1, 4000, cfg, rk4x20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rf2.Rectified != 2 || rf2.Block.Kind != "reflow" || rf2.Block.PushNFE != 80 {
		t.Errorf("reflow result: Rectified %d, Kind %q, PushNFE %d", rf2.Rectified, rf2.Block.Kind, rf2.Block.PushNFE)
	}
	s1, err := Straightness(context.Background(), rf1.Chain(), StdNormal(2), 2000, 40, rand.New(rand.NewPCG(1, 7)))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Straightness(context.Background(), rf2.Chain(), StdNormal(2), 2000, 40, rand.New(rand.NewPCG(1, 7)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("straightness: 1-rectified %.4f, 2-rectified %.4f", s1, s2)
	if !(s2 < 0.5*s1) {
		t.Errorf("straightness after reflow %.4f, want below half of %.4f", s2, s1)
	}
	// The reflowed model still reaches the target.
	rng := rand.New(rand.NewPCG(4, 4))
	target := twoBlobs(rng, 3000)
	xs, _, err := SampleFixedNFE(context.Background(), rf2.Chain(), 3000, 20, ode.RK4, rng)
	if err != nil {
		t.Fatal(err)
	}
	if sw := slicedW2(xs, target, 3000, 200, rng); sw > 0.25 {
		t.Errorf("2-rectified flow: sliced W2 to the target %.4f > 0.25", sw)
	}
}

// curvedField and constField are closed-form fields for tests of Straightness.
type curvedField struct{}

func (curvedField) Dim() int { return 2 }

// Velocity is the rotation field (−x₂, x₁): paths are circular arcs.
func (curvedField) Velocity(t float64, x []float64, n int, v []float64) {
	for i := 0; i < n; i++ {
		v[2*i], v[2*i+1] = -x[2*i+1], x[2*i]
	}
}

type constField struct{ c [2]float64 }

func (constField) Dim() int { return 2 }
func (f constField) Velocity(t float64, x []float64, n int, v []float64) {
	for i := 0; i < n; i++ {
		v[2*i], v[2*i+1] = f.c[0], f.c[1]
	}
}

func TestStraightnessClosedForms(t *testing.T) {
	ctx := context.Background()
	// Constant velocity: straight paths, S = 0 in both time directions.
	for _, rev := range []bool{false, true} {
		c := &flow.Chain{Blocks: []flow.Block{{Field: constField{[2]float64{1, -2}}, Reverse: rev}}}
		s, err := Straightness(ctx, c, StdNormal(2), 100, 10, rand.New(rand.NewPCG(1, 1)))
		if err != nil || math.Abs(s) > 1e-12 {
			t.Errorf("constant field, reverse %v: S = %g, %v; want 0", rev, s, err)
		}
	}
	// Rotation: the exact flow turns x0 by one radian; |u| = |x| is constant
	// along the path and |x1 − x0|² = 2(1 − cos 1)|x0|², so with E|x0|² = 2,
	// S = 2 − 4(1 − cos 1). Euler steps grow |x| slightly: use many steps.
	c := &flow.Chain{Blocks: []flow.Block{{Field: curvedField{}, Reverse: true}}}
	s, err := Straightness(ctx, c, StdNormal(2), 20000, 2000, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 - 4*(1-math.Cos(1)); math.Abs(s-want) > 0.05*want {
		t.Errorf("rotation field: S = %.4f, want %.4f", s, want)
	}
	// Errors.
	for _, tc := range []struct {
		name  string
		src   Sampler
		n, st int
		want  string
	}{
		{"dim", StdNormal(3), 10, 10, "straightness: source has dimension 3, chain has 2"},
		{"n", StdNormal(2), 0, 10, "straightness: n must be at least 1, got 0"},
		{"steps", StdNormal(2), 10, 0, "straightness: steps must be at least 1, got 0"},
	} {
		_, err := Straightness(ctx, c, tc.src, tc.n, tc.st, rand.New(rand.NewPCG(1, 1)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFMProblemPaths(t *testing.T) {
	const b, d = 64, 3
	rng := rand.New(rand.NewPCG(8, 8))
	fill := func(p *fmProblem) *fmBatch {
		fb := newFMBatch(b, d)
		for i := range fb.x0 {
			fb.x0[i] = float32(rng.NormFloat64())
			fb.x1[i] = float32(rng.NormFloat64() + 3)
		}
		p.finish(fb, b, rng)
		return fb
	}
	// Linear, σ = 0: x_t = (1−t)x0 + t x1 and target x1 − x0 exactly, t per row in [0, 1).
	fb := fill(&fmProblem{d: d, interpolant: interp.Linear, time: interp.Uniform})
	distinct := map[float32]bool{}
	for i := 0; i < b; i++ {
		tt := fb.t[i]
		distinct[tt] = true
		for j := 0; j < d; j++ {
			k := i*d + j
			if want := (1-tt)*fb.x0[k] + tt*fb.x1[k]; math.Abs(float64(fb.xt[k]-want)) > 1e-5 {
				t.Fatalf("row %d: x_t %g, want %g", i, fb.xt[k], want)
			}
			if want := fb.x1[k] - fb.x0[k]; fb.target[k] != want {
				t.Fatalf("row %d: target %g, want %g", i, fb.target[k], want)
			}
		}
	}
	if len(distinct) < b {
		t.Errorf("t drawn per row: %d distinct values in %d rows", len(distinct), b)
	}
	// Distillation: t = 0, x_t = x0.
	fb = fill(&fmProblem{d: d, interpolant: interp.Linear, atZero: true})
	for i := range fb.xt {
		if fb.xt[i] != fb.x0[i] || fb.t[i/d] != 0 {
			t.Fatalf("atZero: x_t[%d] = %g, x0 %g, t %g", i, fb.xt[i], fb.x0[i], fb.t[i/d])
		}
	}
	// σ > 0: x_t − I_t has standard deviation σ; target unchanged.
	const sigma = 0.5
	var ss float64
	var cnt int
	for r := 0; r < 50; r++ {
		fb = fill(&fmProblem{d: d, interpolant: interp.Linear, time: interp.Uniform, sigma: sigma})
		for i := 0; i < b*d; i++ {
			tt := fb.t[i/d]
			dl := float64(fb.xt[i] - ((1-tt)*fb.x0[i] + tt*fb.x1[i]))
			ss += dl * dl
			cnt++
			if fb.target[i] != fb.x1[i]-fb.x0[i] {
				t.Fatalf("σ > 0 changed the target")
			}
		}
	}
	if sd := math.Sqrt(ss / float64(cnt)); math.Abs(sd-sigma) > 0.02 {
		t.Errorf("path noise std %.4f, want %g", sd, sigma)
	}
}

func TestFMConfigErrors(t *testing.T) {
	x := make([]float64, 20)
	for _, tc := range []struct {
		name string
		mod  func(*FMConfig)
		want string
	}{
		{"iters", func(c *FMConfig) { c.Iters = 0 }, "fm: iters must be at least 1, got 0"},
		{"batch", func(c *FMConfig) { c.BatchSize = -1 }, "fm: batch size must be at least 1, got -1"},
		{"lr", func(c *FMConfig) { c.LR = math.NaN() }, "fm: learning rate must be positive and finite, got NaN"},
		{"sigma", func(c *FMConfig) { c.Sigma = -1 }, "fm: sigma must be non-negative and finite, got -1"},
		{"ema", func(c *FMConfig) { c.EMA = 1 }, "fm: ema must be in [0, 1), got 1"},
		{"eps", func(c *FMConfig) { c.Coupling, c.SinkhornEps = interp.SinkhornOT, 0 }, "fm: sinkhorn eps must be positive and finite, got 0"},
		{"source", func(c *FMConfig) { c.Source = StdNormal(3) }, "fm: source has dimension 3, data has 2"},
		{"interp", func(c *FMConfig) { c.Interpolant = 7 }, "fm: unknown interpolant Interpolant(7)"},
	} {
		cfg := smallFM(10)
		tc.mod(&cfg)
		_, err := TrainFM(context.Background(), x, 10, nil, 0, 2, cfg, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	_, err := TrainFM(context.Background(), x, 11, nil, 0, 2, smallFM(10), nil)
	if want := "fm: training data has 20 values, want n×d = 11×2"; err == nil || err.Error() != want {
		t.Errorf("shape: error %v, want %q", err, want)
	}
	_, err = TrainFM(context.Background(), x, 10, nil, 0, 2, func() FMConfig { c := smallFM(10); c.Source = TableSampler([]float64{1, math.Inf(1)}, 1, 2); return c }(), nil)
	if err == nil || !strings.Contains(err.Error(), "table sampler: row 0 column 1 is +Inf") {
		t.Errorf("bad table: error %v", err)
	}
	if _, err := Reflow(context.Background(), nil, 10, smallFM(10), rk4x20, nil); err == nil || err.Error() != "reflow: no previous model" {
		t.Errorf("reflow nil: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainFM(ctx, x, 10, nil, 0, 2, smallFM(10), nil); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled: error %v", err)
	}
}

func TestSamplers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tab := []float64{1, 2, 3, 4, 5, 6}
	s := TableSampler(tab, 3, 2)
	tab[0] = 100 // the table is copied
	out := make([]float64, 2*3000)
	if err := s.Sample(3000, rng, out); err != nil {
		t.Fatal(err)
	}
	counts := map[[2]float64]int{}
	for i := 0; i < 3000; i++ {
		counts[[2]float64{out[2*i], out[2*i+1]}]++
	}
	for _, r := range [][2]float64{{1, 2}, {3, 4}, {5, 6}} {
		if c := counts[r]; c < 900 || c > 1100 {
			t.Errorf("row %v drawn %d of 3000 times", r, c)
		}
	}
	if len(counts) != 3 || s.IsStdNormal() || s.Dim() != 2 {
		t.Errorf("table sampler: %d distinct rows, std normal %v, dim %d", len(counts), s.IsStdNormal(), s.Dim())
	}
	if err := s.Sample(2, rng, out); err == nil || err.Error() != "table sampler: output has 6000 values, want n×d = 2×2" {
		t.Errorf("shape error: %v", err)
	}
	if err := TableSampler(tab, 4, 2).Sample(1, rng, out[:2]); err == nil || err.Error() != "table sampler: table has 6 values, want n×d = 4×2" {
		t.Errorf("bad table: %v", err)
	}
	g := StdNormal(2)
	if err := g.Sample(3000, rng, out); err != nil || !g.IsStdNormal() {
		t.Fatal(err)
	}
	m, cov := moments(out, 3000)
	if math.Abs(m[0]) > 0.06 || math.Abs(cov[1][1]-1) > 0.08 {
		t.Errorf("std normal moments %v %v", m, cov)
	}
}

// toySampler draws from a data/toy generator.
type toySampler struct{ name string }

func (s toySampler) Dim() int          { return 2 }
func (s toySampler) IsStdNormal() bool { return false }
func (s toySampler) Sample(n int, rng *rand.Rand, out []float64) error {
	x, err := toy.Sample(s.name, n, rng)
	if err != nil {
		return err
	}
	copy(out, x)
	return nil
}

// I-CFM and OT-CFM (exact minibatch OT) from 8 gaussians to moons (a
// non-Gaussian source), same budget: both get within a loose sliced-W2 bound
// (BenchmarkEightGaussiansToMoons runs the full budget), and OT-CFM's paths
// are straighter.
func TestCFMEightGaussiansToMoons(t *testing.T) {
	const iters = 600
	var sw, str [2]float64
	for k, c := range []interp.Coupling{interp.Independent, interp.ExactOT} {
		var res *FMResult
		sw[k], res = trainToMoons(t, c, iters)
		if res.StdNormalSource {
			t.Errorf("%v: 8 gaussians source recorded as N(0, I)", c)
		}
		var err error
		str[k], err = Straightness(context.Background(), res.Chain(), res.Source, 2000, 40, rand.New(rand.NewPCG(3, 1)))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v coupling, %d iters: sliced W2 %.4f, straightness %.4f", c, iters, sw[k], str[k])
		if sw[k] > 0.3 {
			t.Errorf("%v coupling: sliced W2 %.4f > 0.3", c, sw[k])
		}
	}
	if !(str[1] < 0.7*str[0]) {
		t.Errorf("OT-CFM straightness %.4f, want below 0.7 × I-CFM's %.4f", str[1], str[0])
	}
}

// BenchmarkEightGaussiansToMoons trains I-CFM and OT-CFM from 8 gaussians to
// moons with the full budget and reports the sliced W2 between 5000 samples
// and 5000 held-out moons points (target: below 0.1).
func BenchmarkEightGaussiansToMoons(b *testing.B) {
	for _, c := range []interp.Coupling{interp.Independent, interp.ExactOT} {
		b.Run(c.String(), func(b *testing.B) {
			for range b.N {
				sw, _ := trainToMoons(b, c, 6000)
				b.ReportMetric(sw, "sliced-W2")
			}
		})
	}
}

func trainToMoons(tb testing.TB, c interp.Coupling, iters int) (float64, *FMResult) {
	rng := rand.New(rand.NewPCG(31, 31))
	const n = 8000
	x, err := toy.Sample("moons", n, rng)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := smallFM(iters)
	cfg.Coupling = c
	cfg.Source = toySampler{"8gaussians"}
	cfg.BatchSize = 256
	res, err := TrainFM(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	const ns = 5000
	z := make([]float64, 2*ns)
	if err := res.Source.Sample(ns, rng, z); err != nil {
		tb.Fatal(err)
	}
	xs, _, err := res.Chain().Inverse(context.Background(), z, ns, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 10}})
	if err != nil {
		tb.Fatal(err)
	}
	held, err := toy.Sample("moons", ns, rng)
	if err != nil {
		tb.Fatal(err)
	}
	return slicedW2(xs, held, ns, 200, rng), res
}
