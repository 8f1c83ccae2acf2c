package method

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// The gradient of the whole-chain MLE loss (2 blocks, both RNODE penalties
// on) matches central differences of the loss in float64 with the batch and
// the probes fixed, for MLP blocks (with and without time input) and linear
// blocks; and the loss terms add up.
func TestMLELossGradientFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	mlp := func(timeInput bool) jkoField[float64] {
		m, err := nn.NewMLP[float64](nn.Spec{Dim: 2, Hidden: []int{8, 8}, Act: nn.Softplus, Beta: 2, TimeInput: timeInput}, rng)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	lin := func() jkoField[float64] {
		l := nn.NewLinear[float64](2)
		for i := range l.Params() {
			l.Params()[i] = 0.3 * rng.NormFloat64()
		}
		return l
	}
	cases := []struct {
		name       string
		fields     []jkoField[float64]
		lamK, lamJ float64
		probe      flow.Probe
	}{
		{"mlp-time-2-blocks", []jkoField[float64]{mlp(true), mlp(true)}, 0.3, 0.2, flow.Gaussian},
		{"mlp-2-blocks-rademacher", []jkoField[float64]{mlp(false), mlp(true)}, 1, 0.05, flow.Rademacher},
		{"mlp-no-penalties", []jkoField[float64]{mlp(true), mlp(false)}, 0, 0, flow.Gaussian},
		{"linear-2-blocks", []jkoField[float64]{lin(), lin()}, 0.5, 0.5, flow.Gaussian},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const m = 5
			l := newMLELoss(c.fields, m, 0.01/math.Sqrt2, c.lamK, c.lamJ, ode.Options{Method: ode.RK4, Steps: 3})
			for i := range l.x0 {
				l.x0[i] = 1.5 * rng.NormFloat64()
			}
			for _, e := range l.eps {
				drawProbe(c.probe, rng, e)
			}
			p := make([]float64, l.numParams())
			l.gather(p)
			grad := make([]float64, len(p))
			base, err := l.eval(context.Background(), grad)
			if err != nil {
				t.Fatal(err)
			}
			if d := base.Loss - (base.NLL + c.lamK*base.Kinetic + c.lamJ*base.Jacobian); math.Abs(d) > 1e-12 {
				t.Fatalf("terms %+v do not add up (off by %g)", base, d)
			}
			if base.Kinetic <= 0 || base.Jacobian <= 0 {
				t.Fatalf("penalty terms %+v, want > 0", base)
			}
			const h = 1e-5
			loss := func(k int, v float64) float64 {
				old := p[k]
				p[k] = v
				l.scatter(p)
				tt, err := l.eval(context.Background(), nil)
				p[k] = old
				l.scatter(p)
				if err != nil {
					t.Fatal(err)
				}
				return tt.Loss
			}
			var worst float64
			for k := range p {
				fd := (loss(k, p[k]+h) - loss(k, p[k]-h)) / (2 * h)
				if e := math.Abs(grad[k]-fd) / (1e-3 + math.Abs(fd)); e > worst {
					worst = e
				}
				if math.Abs(grad[k]-fd) > 1e-6+1e-5*math.Abs(fd) {
					t.Errorf("grad[%d] (block %d) = %.9g, central difference %.9g", k, blockOf(l.off, k), grad[k], fd)
				}
			}
			t.Logf("%d parameters, worst relative gradient error %.2g, terms %+v", len(p), worst, base)
		})
	}
}

func blockOf(off []int, k int) int {
	for b := range off[1:] {
		if k < off[b+1] {
			return b
		}
	}
	return -1
}

// For linear blocks f(x) = Cx the FD Hutchinson estimate is exact per probe
// (εᵀCε), and ∫|Cε|² dt is constant; with a zero field the NLL is that of
// N(0, I) on the data, and with C the chain's log-det is Σ_b E εᵀC_bε.
func TestMLELossClosedFormsLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const m, d = 4, 2
	f0, f1 := nn.NewLinear[float64](d), nn.NewLinear[float64](d)
	l := newMLELoss([]jkoField[float64]{f0, f1}, m, 0.01/math.Sqrt2, 0, 0, ode.Options{Method: ode.RK4, Steps: 4})
	for i := range l.x0 {
		l.x0[i] = rng.NormFloat64()
	}
	for _, e := range l.eps {
		drawProbe(flow.Rademacher, rng, e)
	}
	tt, err := l.eval(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, v := range l.x0 {
		want += v * v / 2
	}
	want = want/m + math.Log(2*math.Pi)
	if math.Abs(tt.NLL-want) > 1e-12 || tt.Div != 0 || tt.Kinetic != 0 || tt.Jacobian != 0 {
		t.Errorf("zero field: terms %+v, want NLL %.12g and zero others", tt, want)
	}
	// f0: A = [[1,2],[3,4]] (b = 0); f1 zero. Probes ±1: εᵀAε = 5 + 5ε1ε2.
	copy(f0.Params(), []float64{1, 2, 3, 4})
	if _, err := l.eval(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var div, jac float64
	for i := 0; i < m; i++ {
		e1, e2 := l.eps[0][2*i], l.eps[0][2*i+1]
		div += 5 + 5*e1*e2
		a, b := e1+2*e2, 3*e1+4*e2
		jac += a*a + b*b
	}
	bt := l.blockTerms[0]
	if math.Abs(bt.Div-div/m) > 1e-9 || math.Abs(bt.Jacobian-jac/m) > 1e-6 || l.blockTerms[1] != (mleBlockTerms{}) {
		t.Errorf("linear block terms %+v / %+v, want Div %.9g Jacobian %.9g", bt, l.blockTerms[1], div/m, jac/m)
	}
}

// normalNLL returns the mean −log N(x; m, Σ) of 2D rows.
func normalNLL(x []float64, n int, m [2]float64, s [2][2]float64) float64 {
	det := s[0][0]*s[1][1] - s[0][1]*s[1][0]
	var q float64
	for i := 0; i < n; i++ {
		a, b := x[2*i]-m[0], x[2*i+1]-m[1]
		q += (s[1][1]*a*a - 2*s[0][1]*a*b + s[0][0]*b*b) / det
	}
	return q/2/float64(n) + math.Log(2*math.Pi) + math.Log(det)/2
}

func gaussMLE(iters int, lamK float64) MLEConfig {
	return MLEConfig{
		Blocks: 1, Net: nn.Spec{Hidden: []int{16, 16}, Act: nn.Softplus, Beta: 1, TimeInput: true},
		RK4Steps: 4, Probe: flow.Rademacher, KineticWeight: lamK,
		Optim: Optim{Iters: iters, BatchSize: 128, LR: 1e-2, LRDecay: 0.3, LRDecayEvery: iters / 2, Clip: 5, ValEvery: 50, Seed: 7},
	}
}

// A short MLE run on N((1, −2), [[7,5],[5,7]]) reaches a test NLL (exact
// trace, rk4 with 32 steps) within 0.1 nats of the true Gaussian's NLL on the
// same test sample (≈ the entropy 4.4269).
func TestMLEGaussianReachesEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	m := [2]float64{1, -2}
	s := [2][2]float64{{7, 5}, {5, 7}}
	const n, nv, nt = 2000, 500, 2000
	x := gaussianSamples(rng, n, m, s)
	val := gaussianSamples(rng, nv, m, s)
	test := gaussianSamples(rng, nt, m, s)
	res, err := TrainMLE(context.Background(), x, n, val, nv, 2, gaussMLE(300, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	lp, st, err := res.Chain().LogProb(context.Background(), test, nt,
		flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 32}, Trace: flow.Exact})
	if err != nil {
		t.Fatal(err)
	}
	var nll float64
	for _, v := range lp {
		nll -= v / nt
	}
	truth := normalNLL(test, nt, m, s)
	t.Logf("test NLL %.4f (rk4 32 steps, exact trace, NFE %d), true Gaussian %.4f, entropy 4.4269; train %+v, val NLL %.4f at step %d, %.1f s",
		nll, st.NFE, truth, res.Train, res.ValNLL, res.BestStep, res.Seconds)
	if math.Abs(nll-truth) > 0.1 {
		t.Errorf("test NLL %.4f, want within 0.1 of the true Gaussian's %.4f", nll, truth)
	}
	if len(res.Fields) != 1 || len(res.Blocks) != 1 || res.BestStep < 0 || math.IsNaN(res.ValNLL) || len(res.LossCurve) == 0 {
		t.Errorf("result %+v", res)
	}
	if math.Abs(res.Blocks[0].Div-res.Train.Div) > 1e-12 || math.Abs(res.Train.NLL-nll) > 0.2 {
		t.Errorf("train terms %+v vs block %+v and test NLL %.4f", res.Train, res.Blocks[0], nll)
	}
}

// kineticEnergy integrates E ∫₀¹ |f(x(t), t)|² dt over a chain with rk4 on the
// augmented state [x | κ] (float64, independent of the trainer's code).
func kineticEnergy(t *testing.T, c *flow.Chain, x []float64, n int) float64 {
	t.Helper()
	d := c.Dim()
	z := append([]float64(nil), x...)
	var total float64
	v := make([]float64, n*d)
	for _, b := range c.Blocks {
		y := make([]float64, n*d+n)
		copy(y, z)
		f := func(tm float64, y, dy []float64) error {
			b.Field.Velocity(tm, y[:n*d], n, v)
			copy(dy, v)
			for i := 0; i < n; i++ {
				var s float64
				for _, w := range v[i*d : (i+1)*d] {
					s += w * w
				}
				dy[n*d+i] = s
			}
			return nil
		}
		if _, err := ode.Solve(context.Background(), f, y, 0, 1, ode.Options{Method: ode.RK4, Steps: 16}); err != nil {
			t.Fatal(err)
		}
		copy(z, y[:n*d])
		for _, k := range y[n*d:] {
			total += k / float64(n)
		}
	}
	return total
}

// The kinetic penalty lowers the kinetic energy E∫|f|² dt of the trained
// field (integrated independently with rk4) compared with the same run
// without it, and the trainer's kinetic term matches that integral; the
// Jacobian penalty alone lowers the trainer's Jacobian term.
func TestMLEPenaltiesLowerTheirTerms(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	m := [2]float64{1, -2}
	s := [2][2]float64{{7, 5}, {5, 7}}
	const n = 1000
	x := gaussianSamples(rng, n, m, s)
	run := func(lamK, lamJ float64) *MLEResult {
		cfg := gaussMLE(100, lamK)
		cfg.JacobianWeight = lamJ
		cfg.ValEvery = 0
		res, err := TrainMLE(context.Background(), x, n, nil, 0, 2, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plain, kin, jac := run(0, 0), run(0.5, 0), run(0, 0.5)
	ke0, ke1 := kineticEnergy(t, plain.Chain(), x, n), kineticEnergy(t, kin.Chain(), x, n)
	t.Logf("kinetic energy %.4f → %.4f with λ_K = 0.5 (trainer: %.4f → %.4f); NLL %.4f → %.4f",
		ke0, ke1, plain.Train.Kinetic, kin.Train.Kinetic, plain.Train.NLL, kin.Train.NLL)
	t.Logf("jacobian term %.4f → %.4f with λ_J = 0.5; NLL %.4f", plain.Train.Jacobian, jac.Train.Jacobian, jac.Train.NLL)
	if !(ke1 < 0.8*ke0) {
		t.Errorf("kinetic energy %.4f with the penalty, %.4f without: want at least 20%% lower", ke1, ke0)
	}
	if math.Abs(ke0-plain.Train.Kinetic) > 0.05*ke0 {
		t.Errorf("trainer's kinetic term %.4f, independent rk4 integral %.4f", plain.Train.Kinetic, ke0)
	}
	if !(jac.Train.Jacobian < 0.8*plain.Train.Jacobian) {
		t.Errorf("jacobian term %.4f with the penalty, %.4f without: want at least 20%% lower", jac.Train.Jacobian, plain.Train.Jacobian)
	}
}

// Two jointly trained blocks: the reported NLL equals the chain's LogProb
// with the training discretization (rk4, RK4Steps per block) and the exact
// trace up to the noise of the one-probe FD Hutchinson estimate (0.04 nats
// measured on 1000 rows, 0.1 allowed on 500; Div is about −1.7), and the ∂L/∂x hand-over between blocks trains both.
func TestMLETwoBlocksChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	m := [2]float64{1, -2}
	s := [2][2]float64{{7, 5}, {5, 7}}
	const n = 500
	x := gaussianSamples(rng, n, m, s)
	cfg := gaussMLE(80, 0)
	cfg.Blocks = 2
	cfg.ValEvery = 0
	res, err := TrainMLE(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	lp, _, err := res.Chain().LogProb(context.Background(), x, n,
		flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: cfg.RK4Steps}, Trace: flow.Exact})
	if err != nil {
		t.Fatal(err)
	}
	var nll float64
	for _, v := range lp {
		nll -= v / n
	}
	before := normalNLL(x, n, [2]float64{}, [2][2]float64{{1, 0}, {0, 1}})
	t.Logf("NLL %.4f (N(0,I) on the data: %.4f), trainer %.4f; blocks %+v", nll, before, res.Train.NLL, res.Blocks)
	if math.Abs(nll-res.Train.NLL) > 0.1 {
		t.Errorf("chain NLL %.4f, trainer's %.4f", nll, res.Train.NLL)
	}
	if !(nll < before-3) {
		t.Errorf("NLL %.4f, want well below the untrained %.4f", nll, before)
	}
	for _, b := range res.Blocks {
		if !(b.Movement > 0.1) {
			t.Errorf("block %d barely moves: %+v", b.Index, b)
		}
	}
}

func TestMLEConfigErrors(t *testing.T) {
	ok := MLEConfig{Linear: true, Optim: Optim{Iters: 2, BatchSize: 2, LR: 1e-3}}
	cases := []struct {
		edit func(c *MLEConfig)
		want string
	}{
		{func(c *MLEConfig) { c.Blocks = -1 }, "mle: blocks must be >= 0 (0 selects 1), got -1"},
		{func(c *MLEConfig) { c.RK4Steps = -2 }, "mle: rk4 steps must be >= 0 (0 selects 4), got -2"},
		{func(c *MLEConfig) { c.Sigma0 = math.Inf(1) }, "mle: sigma0 must be finite and >= 0 (0 selects 0.01), got +Inf"},
		{func(c *MLEConfig) { c.Probe = flow.Probe(9) }, "mle: unknown probe distribution Probe(9)"},
		{func(c *MLEConfig) { c.KineticWeight = -0.1 }, "mle: kinetic weight must be finite and >= 0, got -0.1"},
		{func(c *MLEConfig) { c.JacobianWeight = math.NaN() }, "mle: jacobian weight must be finite and >= 0, got NaN"},
		{func(c *MLEConfig) { c.Iters = 0 }, "mle: iters must be at least 1, got 0"},
		{func(c *MLEConfig) { c.Clip = -1 }, "mle: clip must be non-negative, got -1"},
	}
	x := []float64{0, 1, 1, 0}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		if _, err := TrainMLE(context.Background(), x, 2, nil, 0, 2, cfg, nil); err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	if _, err := TrainMLE(context.Background(), x, 3, nil, 0, 2, ok, nil); err == nil || err.Error() != "mle: training data has 4 values, want n×d = 3×2" {
		t.Errorf("shape error %v", err)
	}
	if _, err := TrainMLE(context.Background(), x, 2, []float64{1}, 1, 2, ok, nil); err == nil || err.Error() != "mle: validation data has 1 values, want 1×2" {
		t.Errorf("validation shape error %v", err)
	}
	mlp := ok
	mlp.Linear = false
	if _, err := TrainMLE(context.Background(), x, 2, nil, 0, 2, mlp, nil); err == nil || err.Error()[:14] != "mle: network: " {
		t.Errorf("network error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainMLE(ctx, x, 2, nil, 0, 2, ok, nil); err == nil || err.Error() != "mle: step 0: context canceled" {
		t.Errorf("cancelled run: error %v", err)
	}
	// A huge learning rate on a linear field makes the loss blow up: the
	// trainer names the step instead of returning NaN weights.
	bad := ok
	bad.LR, bad.Iters = 1e6, 50
	if _, err := TrainMLE(context.Background(), []float64{3, 1, -2, 4}, 2, nil, 0, 2, bad, nil); err == nil || !strings.HasPrefix(err.Error(), "mle: step ") {
		t.Errorf("diverging run: error %v, want one naming the step", err)
	} else {
		t.Logf("diverging run: %v", err)
	}
}

// One training step's loss and gradient: 1 block, MLP 32×32 with time input,
// batch 256, 4 rk4 steps, kinetic and Jacobian penalties on.
func BenchmarkMLELossGrad(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	f, err := nn.NewMLP[float32](nn.Spec{Dim: 2, Hidden: []int{32, 32}, Act: nn.Softplus, Beta: 1, TimeInput: true}, rng)
	if err != nil {
		b.Fatal(err)
	}
	const m = 256
	l := newMLELoss([]jkoField[float32]{f}, m, 0.01/math.Sqrt2, 0.1, 0.1, ode.Options{Method: ode.RK4, Steps: 4})
	for i := range l.x0 {
		l.x0[i] = float32(rng.NormFloat64())
	}
	drawProbe(flow.Rademacher, rng, l.eps[0])
	grad := make([]float32, l.numParams())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.eval(context.Background(), grad); err != nil {
			b.Fatal(err)
		}
	}
}
