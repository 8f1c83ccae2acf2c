package method

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// gaussKL returns KL(N(m, S) ‖ N(0, I)) in 2D: ½(tr S + |m|² − 2 − log det S).
func gaussKL(m [2]float64, s [2][2]float64) float64 {
	det := s[0][0]*s[1][1] - s[0][1]*s[1][0]
	return 0.5 * (s[0][0] + s[1][1] + m[0]*m[0] + m[1]*m[1] - 2 - math.Log(det))
}

// exactMoments returns n samples whose sample mean is exactly m and whose
// sample covariance (n − 1 normalization, as moments) is exactly cov: then the
// JKO loss of a linear block, which depends on the pool only through its first
// two moments, has the population optimum.
func exactMoments(rng *rand.Rand, n int, m [2]float64, cov [2][2]float64) []float64 {
	x := gaussianSamples(rng, n, [2]float64{}, [2][2]float64{{1, 0}, {0, 1}})
	mu, s := moments(x, n)
	// Whiten with the Cholesky factor of s, colour with that of cov.
	chol := func(c [2][2]float64) (a, b, d float64) {
		a = math.Sqrt(c[0][0])
		b = c[1][0] / a
		return a, b, math.Sqrt(c[1][1] - b*b)
	}
	sa, sb, sd := chol(s)
	ca, cb, cd := chol(cov)
	for i := 0; i < n; i++ {
		u := (x[2*i] - mu[0]) / sa
		v := (x[2*i+1] - mu[1] - sb*u) / sd
		x[2*i] = m[0] + ca*u
		x[2*i+1] = m[1] + cb*u + cd*v
	}
	return x
}

func linearJKO(steps []float64, iters int, seed uint64) JKOConfig {
	return JKOConfig{
		Steps: steps, Linear: true, Probe: flow.Rademacher,
		Optim: Optim{
			Iters: iters, BatchSize: 2000, LR: 0.02, LRDecay: 0.3, LRDecayEvery: iters / 3,
			WarmStart: true, Seed: seed,
		},
	}
}

// The gradient of the per-block loss (discrete adjoint through rk4 on the
// augmented state, VJPFunc from two field VJPs) matches central differences
// of the loss with the batch and the probes fixed, in float64, for an MLP
// (with and without time input) and a linear field, with and without the W2
// term.
func TestJKOLossGradientFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	mlp := func(timeInput bool) jkoField[float64] {
		m, err := nn.NewMLP[float64](nn.Spec{Dim: 2, Hidden: []int{8, 8}, Act: nn.Softplus, Beta: 2, TimeInput: timeInput}, rng)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	lin := nn.NewLinear[float64](2)
	for i := range lin.Params() {
		lin.Params()[i] = 0.3 * rng.NormFloat64()
	}
	cases := []struct {
		name  string
		f     jkoField[float64]
		invH  float64
		probe flow.Probe
	}{
		{"mlp", mlp(false), 1 / 0.5, flow.Gaussian},
		{"mlp-time", mlp(true), 1 / 2.0, flow.Rademacher},
		{"mlp-free", mlp(false), 0, flow.Gaussian},
		{"linear", lin, 1 / 0.25, flow.Rademacher},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const m = 6
			l := newJKOLoss(c.f, m, 0.01/math.Sqrt2, c.invH, ode.Options{Method: ode.RK4, Steps: 3})
			for i := range l.x0 {
				l.x0[i] = 1.5 * rng.NormFloat64()
			}
			drawProbe(c.probe, rng, l.eps)
			p := c.f.Params()
			grad := make([]float64, len(p))
			base, err := l.eval(context.Background(), grad)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(base.Loss-(base.V-base.Div+base.W2)) > 1e-12 || (c.invH == 0) != (base.W2 == 0) {
				t.Fatalf("terms %+v do not add up", base)
			}
			const h = 1e-5
			var worst float64
			for k := range p {
				old := p[k]
				p[k] = old + h
				lp, err := l.eval(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				p[k] = old - h
				lm, _ := l.eval(context.Background(), nil)
				p[k] = old
				fd := (lp.Loss - lm.Loss) / (2 * h)
				if e := math.Abs(grad[k]-fd) / (1e-3 + math.Abs(fd)); e > worst {
					worst = e
				}
				if math.Abs(grad[k]-fd) > 1e-6+1e-5*math.Abs(fd) {
					t.Errorf("grad[%d] = %.9g, central difference %.9g", k, grad[k], fd)
				}
			}
			t.Logf("%d parameters, worst relative gradient error %.2g", len(p), worst)
		})
	}
}

// The exact JKO step of N(0, Σ), Σ = [[7,5],[5,7]], (methods.md §5.2) is
// affine, so one linear block must reproduce it: covariance and movement.
func TestJKOLinearBlockMatchesExactStep(t *testing.T) {
	cases := []struct {
		h        float64
		cov      [2][2]float64
		halfMove float64 // E½|x − Tx|², 0: not checked
	}{
		{10, [2][2]float64{{1.15161, 0.11140}, {0.11140, 1.15161}}, 2.81616},
		{1, [2][2]float64{{2.62275, 1.31374}, {1.31374, 2.62275}}, 0},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(21, uint64(c.h)))
		const n = 20000
		x := exactMoments(rng, n, [2]float64{}, [2][2]float64{{7, 5}, {5, 7}})
		res, err := TrainJKO(context.Background(), x, n, nil, 0, 2, linearJKO([]float64{c.h}, 900, 3), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Push the pool with the training discretization (the default Push).
		z, _, err := res.Chain().Forward(context.Background(), x, n, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 3}})
		if err != nil {
			t.Fatal(err)
		}
		_, got := moments(z, n)
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				if math.Abs(got[i][j]-c.cov[i][j]) > 0.03*math.Abs(c.cov[i][j]) {
					t.Errorf("h=%g: pushed cov[%d][%d] = %.5f, want %.5f ± 3%%", c.h, i, j, got[i][j], c.cov[i][j])
				}
			}
		}
		b := res.Blocks[0]
		t.Logf("h=%g: pushed cov %.5f, block %+v", c.h, got, b)
		if c.halfMove > 0 && math.Abs(b.Movement/2-c.halfMove) > 0.03*c.halfMove {
			t.Errorf("h=%g: E½|x − Tx|² = %.5f, want %.5f ± 3%%", c.h, b.Movement/2, c.halfMove)
		}
		if b.Kind != "jko" || b.H != c.h || b.PushNFE != 12 || b.InversionError > 1e-6 || len(res.Passes) != 1 {
			t.Errorf("h=%g: block report %+v", c.h, b)
		}
	}
}

// Eight linear blocks from N((1, −2), [[7,5],[5,7]]) with the official step
// sizes follow the exact JKO sequence (methods.md §5.2): the KL of the pushed
// pool's fitted Gaussian after each block, and the mean shrinking by
// 1/(1 + h_k) per block.
func TestJKOLinearChainFollowsExactKLSequence(t *testing.T) {
	hs := []float64{0.25, 0.35, 0.49, 0.69, 0.96, 1.34, 1.88, 2.64}
	wantKL := []float64{6.91097, 4.16890, 2.07622, 0.80228, 0.22762, 0.04781, 0.00749, 0.000834, 0.000061}
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 20000
	m0 := [2]float64{1, -2}
	x := exactMoments(rng, n, m0, [2][2]float64{{7, 5}, {5, 7}})
	cfg := linearJKO(hs, 400, 5)
	cfg.BatchSize = 1000
	res, err := TrainJKO(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fields) != len(hs) {
		t.Fatalf("%d blocks trained, want %d", len(res.Fields), len(hs))
	}
	chain := res.Chain()
	opt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 3}}
	pool := append([]float64(nil), x...)
	mean, cov := moments(pool, n)
	if kl := gaussKL(mean, cov); math.Abs(kl-wantKL[0]) > 1e-5 {
		t.Fatalf("KL before block 1 = %.6f, want %.6f", kl, wantKL[0])
	}
	for k, b := range chain.Blocks {
		if _, err := b.Push(context.Background(), pool, n, opt); err != nil {
			t.Fatal(err)
		}
		prev := mean
		mean, cov = moments(pool, n)
		kl := gaussKL(mean, cov)
		t.Logf("after block %d (h=%.2f): KL %.6f (exact %.6f), mean (%.5f, %.5f), movement %.4f, rel %.4f",
			k+1, hs[k], kl, wantKL[k+1], mean[0], mean[1], res.Blocks[k].Movement, res.Blocks[k].RelMovement)
		if d := math.Abs(kl - wantKL[k+1]); d > 0.05*wantKL[k+1] && d > 1e-3 {
			t.Errorf("KL after block %d = %.6f, want %.6f (5%% or 1e-3)", k+1, kl, wantKL[k+1])
		}
		for i := 0; i < 2; i++ {
			want := prev[i] / (1 + hs[k])
			if math.Abs(mean[i]-want) > 0.02*math.Abs(want)+5e-3 {
				t.Errorf("mean[%d] after block %d = %.5f, want %.5f = previous/(1+h)", i, k+1, mean[i], want)
			}
		}
	}
}

// countingProgress records the Progress calls of a run.
type countingProgress struct {
	starts, steps, ends int
	labels              []string
}

func (p *countingProgress) StartBlock(k, total, iters int, label string) {
	p.starts++
	p.labels = append(p.labels, label)
}
func (p *countingProgress) Step(loss float64) { p.steps++ }
func (p *countingProgress) EndBlock()         { p.ends++ }

// mixtureSamples draws n points of an equal mixture of N((±2, 1), 0.5² I).
func mixtureSamples(rng *rand.Rand, n int) []float64 {
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		c := 2.0
		if i%2 == 0 {
			c = -2
		}
		x[2*i] = c + 0.5*rng.NormFloat64()
		x[2*i+1] = 1 + 0.5*rng.NormFloat64()
	}
	return x
}

// meanNLL returns the mean −log p of x (n×2) under the chain, exact trace,
// rk4 with 20 steps per block.
func meanNLL(t *testing.T, c *flow.Chain, x []float64, n int) float64 {
	t.Helper()
	lp, _, err := c.LogProb(context.Background(), x, n, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 20}})
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, v := range lp {
		s -= v
	}
	return s / float64(n)
}

// An MLP JKO-iFlow run on a 2D Gaussian mixture: the NLL drops, every block
// report is filled, the reparametrization evens out the per-block movement,
// the refined pass has twice the blocks, and the blocks invert.
func TestJKOMLPMixtureReparamRefine(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const n, nv = 2000, 500
	x := mixtureSamples(rng, n)
	val := mixtureSamples(rng, nv)
	cfg := JKOConfig{
		Steps: []float64{0.6, 0.6}, FreeBlock: true, Reparam: true, Refine: true,
		Net:  nn.Spec{Hidden: []int{16, 16}, Act: nn.Softplus, Beta: 2},
		Push: ode.Options{Method: ode.RK4, Steps: 6},
		Optim: Optim{
			Iters: 60, BatchSize: 100, LR: 1e-2, LRDecay: 0.3, LRDecayEvery: 30, Clip: 1,
			WarmStart: true, ValEvery: 30, LossEvery: 20, Seed: 9,
		},
	}
	prog := &countingProgress{}
	res, err := TrainJKO(context.Background(), x, n, val, nv, 2, cfg, prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Passes) != 3 {
		t.Fatalf("%d passes, want 3", len(res.Passes))
	}
	for _, p := range res.Passes {
		t.Logf("%s pass: h %.4f, movement %.4f, max/min %.3f", p.Name, p.H, p.Movement, p.MovementRatio)
	}
	first, rep, ref := res.Passes[0], res.Passes[1], res.Passes[2]
	if rep.MovementRatio >= first.MovementRatio {
		t.Errorf("reparametrization did not even out movement: max/min %.3f → %.3f", first.MovementRatio, rep.MovementRatio)
	}
	var s0, s1 float64
	for k := range first.H {
		s0 += first.H[k]
		s1 += rep.H[k]
	}
	if math.Abs(s0-s1) > 1e-12 || !(rep.H[0] < rep.H[1]) {
		t.Errorf("reparametrized steps %v (sum %g), want sum %g and the first step shortest", rep.H, s1, s0)
	}
	if len(ref.H) != 4 || ref.H[0] != rep.H[0]/2 || ref.H[1] != rep.H[0]/2 || ref.H[3] != rep.H[1]/2 {
		t.Errorf("refined steps %v, want each of %v halved twice", ref.H, rep.H)
	}
	wantBlocks := 3 + 3 + 5
	if prog.starts != wantBlocks || prog.ends != wantBlocks || prog.steps != wantBlocks*cfg.Iters {
		t.Errorf("progress: %d starts, %d ends, %d steps; want %d, %d, %d", prog.starts, prog.ends, prog.steps, wantBlocks, wantBlocks, wantBlocks*cfg.Iters)
	}
	if len(res.Fields) != 5 || len(res.Blocks) != 5 || res.Blocks[4].Kind != "free" || res.Blocks[4].H != 0 || res.Blocks[4].W2 != 0 {
		t.Fatalf("final pass: %d fields, blocks %+v", len(res.Fields), res.Blocks)
	}
	for _, b := range res.Blocks {
		if len(b.LossCurve) != cfg.Iters/cfg.LossEvery || b.BestStep < 0 || math.IsNaN(b.ValLoss) ||
			b.Movement <= 0 || b.RelMovement <= 0 || b.PushNFE != 24 || b.Seconds <= 0 ||
			math.Abs(b.V-b.Div+b.W2-b.FinalLoss) > 0.2 {
			t.Errorf("block report %+v", b)
		}
		if b.InversionError >= 1e-4 {
			t.Errorf("block %d: inversion error %.3g, want < 1e-4", b.Index, b.InversionError)
		}
	}
	lp := make([]float64, nv)
	flow.StdNormalLogProb(val, nv, 2, lp)
	var before float64
	for _, v := range lp {
		before -= v / nv
	}
	after := meanNLL(t, res.Chain(), val, nv)
	t.Logf("validation NLL under N(0, I) %.4f, after JKO-iFlow %.4f; inversion errors %.2g",
		before, after, []float64{res.Blocks[0].InversionError, res.Blocks[3].InversionError, res.Blocks[4].InversionError})
	if !(after < before-1) {
		t.Errorf("NLL %.4f → %.4f, want a drop of more than 1 nat", before, after)
	}
}

func TestJKOReparamFormula(t *testing.T) {
	// ā = 2: h_1 = 0.5·1 + 0.5·1·2/3 = 5/6, h_2 = 0.5 + 0.5·2/1 = 1.5; the
	// sum 7/3 is rescaled to 2.
	got, err := JKOReparam([]float64{1, 1}, []float64{3, 1}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{(5.0 / 6) * 2 / (7.0 / 3), 1.5 * 2 / (7.0 / 3)}
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-12 {
			t.Errorf("h[%d] = %.12g, want %.12g", k, got[k], want[k])
		}
	}
	// η = 1 keeps the steps.
	if got, _ := JKOReparam([]float64{0.2, 0.7}, []float64{5, 1}, 1); math.Abs(got[0]-0.2) > 1e-15 || math.Abs(got[1]-0.7) > 1e-15 {
		t.Errorf("eta = 1 changed the steps: %v", got)
	}
	errs := []struct {
		h, a []float64
		eta  float64
		want string
	}{
		{[]float64{1}, []float64{1, 2}, 0.5, "jko: reparametrization needs equal, non-empty step and movement lists, got 1 and 2"},
		{[]float64{1}, []float64{0}, 0.5, "jko: reparametrization: block 0 has step 1 and movement 0, want both finite and > 0"},
		{[]float64{1}, []float64{1}, 1.5, "jko: reparametrization damping eta = 1.5, want [0, 1]"},
	}
	for _, e := range errs {
		if _, err := JKOReparam(e.h, e.a, e.eta); err == nil || err.Error() != e.want {
			t.Errorf("JKOReparam(%v, %v, %g) error %v, want %q", e.h, e.a, e.eta, err, e.want)
		}
	}
}

func TestJKOConfigErrors(t *testing.T) {
	ok := linearJKO([]float64{1}, 10, 1)
	cases := []struct {
		edit func(c *JKOConfig)
		want string
	}{
		{func(c *JKOConfig) { c.Steps = []float64{1, -1} }, "jko: steps[1] = -1, want a finite value > 0"},
		{func(c *JKOConfig) { c.Steps = nil }, "jko: no step list and h0 = 0, want a finite value > 0"},
		{func(c *JKOConfig) { c.Steps, c.H0, c.Rho = nil, 1, -1 }, "jko: rho must be finite and >= 0 (0 means 1), got -1"},
		{func(c *JKOConfig) { c.ExactTrace = true }, "jko: the exact trace in training is not implemented (the trainer uses the finite-difference Hutchinson estimator)"},
		{func(c *JKOConfig) { c.Iters = 0 }, "jko: iters must be at least 1, got 0"},
		{func(c *JKOConfig) { c.LR = math.NaN() }, "jko: learning rate must be positive and finite, got NaN"},
		{func(c *JKOConfig) { c.Eta = 2 }, "jko: eta must be in [0, 1] (0 selects 0.5), got 2"},
		{func(c *JKOConfig) { c.Probe = flow.Probe(7) }, "jko: unknown probe distribution Probe(7)"},
		{func(c *JKOConfig) { c.Push = ode.Options{Method: ode.RK4} }, "jko: push solver: ode: rk4 needs Options.Steps >= 1, got 0"},
	}
	x := []float64{0, 1, 1, 0}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		if _, err := TrainJKO(context.Background(), x, 2, nil, 0, 2, cfg, nil); err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	if _, err := TrainJKO(context.Background(), x, 3, nil, 0, 2, ok, nil); err == nil || err.Error() != "jko: training data has 4 values, want n×d = 3×2" {
		t.Errorf("shape error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainJKO(ctx, x, 2, nil, 0, 2, ok, nil); err == nil || err.Error() != "jko: first pass, block 0: context canceled" {
		t.Errorf("cancelled run: error %v", err)
	}
}

// The stopping rule ends the geometric schedule once a block barely moves:
// from N(0, 1.2 I) the first JKO step (h = 1) moves E|x − Tx|²/E|Tx|² ≈ 0.004.
func TestJKOStopRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const n = 4000
	x := exactMoments(rng, n, [2]float64{}, [2][2]float64{{1.2, 0}, {0, 1.2}})
	cfg := linearJKO(nil, 150, 3)
	cfg.H0, cfg.Rho, cfg.MaxBlocks, cfg.StopTol, cfg.FreeBlock = 1, 2, 5, DefaultJKOStopTol, true
	res, err := TrainJKO(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blocks) != 2 || res.Blocks[0].Kind != "jko" || res.Blocks[1].Kind != "free" || res.Blocks[0].RelMovement >= 0.01 {
		t.Errorf("blocks %+v, want one JKO block (stopped) and the free block", res.Blocks)
	}
	t.Logf("relative movement of block 1: %.5f", res.Blocks[0].RelMovement)
}

func TestJKOSchedule(t *testing.T) {
	c := JKOConfig{H0: 0.25, Rho: 1.4, HMax: 1, MaxBlocks: 6}.withDefaults()
	got := c.schedule()
	want := []float64{0.25, 0.35, 0.49, 0.686, 0.9604, 1}
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-12 {
			t.Errorf("h[%d] = %g, want %g", k, got[k], want[k])
		}
	}
	if d := DefaultJKOConfig(); d.Validate() != nil || len(d.withDefaults().schedule()) != 8 {
		t.Errorf("DefaultJKOConfig invalid or not 8 blocks: %v", d.Validate())
	}
}

// wrapped is a TrainableField of a type Chain does not know, so that Chain
// evaluates it through its float32 adapter.
type wrapped struct{ *nn.Linear[float32] }

func TestJKOChainAdapter(t *testing.T) {
	l := nn.NewLinear[float32](2)
	copy(l.Params(), []float32{1, 2, 3, 4, 0.5, -1})
	r := &JKOResult{Fields: []TrainableField{wrapped{l}, l}}
	c := r.Chain()
	if _, ok := c.Blocks[1].Field.(*nn.Linear[float64]); !ok {
		t.Errorf("linear field converted to %T, want *nn.Linear[float64]", c.Blocks[1].Field)
	}
	v := make([]float64, 4)
	c.Blocks[0].Field.Velocity(0, []float64{1, 1, 2, -1}, 2, v)
	want := []float64{3.5, 6, 0.5, 1}
	for i := range want {
		if v[i] != want[i] {
			t.Errorf("adapter velocity[%d] = %g, want %g", i, v[i], want[i])
		}
	}
}

// BenchmarkJKOLossGrad measures one training step's loss and gradient
// (3 rk4 steps, FD Hutchinson) of a 2D MLP block in float32.
func BenchmarkJKOLossGrad(b *testing.B) {
	for _, c := range []struct {
		name   string
		hidden []int
		rows   int
	}{{"16x2/250", []int{16, 16}, 250}, {"128x3/2000", []int{128, 128, 128}, 2000}} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := nn.NewMLP[float32](nn.Spec{Dim: 2, Hidden: c.hidden, Act: nn.Softplus, Beta: 20}, rng)
			if err != nil {
				b.Fatal(err)
			}
			l := newJKOLoss[float32](m, c.rows, 0.01/1.4142, 1/0.25, ode.Options{Method: ode.RK4, Steps: 3})
			for i := range l.x0 {
				l.x0[i] = float32(rng.NormFloat64())
			}
			grad := make([]float32, m.NumParams())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				drawProbe(flow.Gaussian, rng, l.eps)
				clear(grad)
				if _, err := l.eval(context.Background(), grad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
