package method

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// gaussianSamples draws n samples of N(m, Σ) in 2D with Σ = L Lᵀ.
func gaussianSamples(rng *rand.Rand, n int, m [2]float64, cov [2][2]float64) []float64 {
	l11 := math.Sqrt(cov[0][0])
	l21 := cov[1][0] / l11
	l22 := math.Sqrt(cov[1][1] - l21*l21)
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x[2*i] = m[0] + l11*a
		x[2*i+1] = m[1] + l21*a + l22*b
	}
	return x
}

func moments(x []float64, n int) (mean [2]float64, cov [2][2]float64) {
	for i := 0; i < n; i++ {
		mean[0] += x[2*i]
		mean[1] += x[2*i+1]
	}
	mean[0] /= float64(n)
	mean[1] /= float64(n)
	for i := 0; i < n; i++ {
		a, b := x[2*i]-mean[0], x[2*i+1]-mean[1]
		cov[0][0] += a * a
		cov[0][1] += a * b
		cov[1][1] += b * b
	}
	cov[0][0] /= float64(n - 1)
	cov[0][1] /= float64(n - 1)
	cov[1][1] /= float64(n - 1)
	cov[1][0] = cov[0][1]
	return mean, cov
}

func smallLFM(gammas []float64, free bool, iters int) LFMConfig {
	return LFMConfig{
		Gammas: gammas, FreeBlock: free,
		Net:         nn.Spec{Hidden: []int{64, 64}, Act: nn.Softplus, Beta: 1},
		Interpolant: interp.Trig, Time: interp.Uniform,
		Push: ode.Options{Method: ode.RK4, Steps: 10},
		Optim: Optim{
			Iters: iters, BatchSize: 256, LR: 3e-3, LRDecay: 0.3, LRDecayEvery: iters / 2,
			Clip: 1, EMA: 0.99, WarmStart: true, ValEvery: 200, Seed: 7,
		},
	}
}

// The OU step of LFM maps N(m, Σ) to N(e^{−γ}m, e^{−2γ}Σ + (1 − e^{−2γ})I)
// (methods.md §5.1); a trained block must reproduce it.
func TestLFMBlockPushesGaussianToOUMarginal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := [2]float64{1, -2}
	cov := [2][2]float64{{7, 5}, {5, 7}}
	const n = 4000
	x := gaussianSamples(rng, n, m, cov)
	val := gaussianSamples(rng, 1000, m, cov)
	gamma := 0.25
	res, err := TrainLFM(context.Background(), x, n, val, 1000, 2, smallLFM([]float64{gamma}, false, 800), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Push fresh samples through the trained block.
	fresh := gaussianSamples(rng, 20000, m, cov)
	if _, err := res.Chain().Blocks[0].Push(context.Background(), fresh, 20000, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 20}}); err != nil {
		t.Fatal(err)
	}
	gotM, gotC := moments(fresh, 20000)
	a := math.Exp(-gamma)
	wantM := [2]float64{a * m[0], a * m[1]}
	var wantC [2][2]float64
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			wantC[i][j] = a * a * cov[i][j]
			if i == j {
				wantC[i][j] += 1 - a*a
			}
		}
	}
	for i := 0; i < 2; i++ {
		if math.Abs(gotM[i]-wantM[i]) > 0.05*math.Abs(wantM[i]) {
			t.Errorf("pushed mean[%d] = %.4f, want %.4f ± 5%%", i, gotM[i], wantM[i])
		}
		for j := 0; j < 2; j++ {
			if math.Abs(gotC[i][j]-wantC[i][j]) > 0.05*math.Abs(wantC[i][j]) {
				t.Errorf("pushed cov[%d][%d] = %.4f, want %.4f ± 5%%", i, j, gotC[i][j], wantC[i][j])
			}
		}
	}
	if b := res.Blocks[0]; b.Kind != "ou" || b.Gamma != gamma || b.BestStep < 0 || math.IsNaN(b.ValLoss) || b.PushNFE != 40 {
		t.Errorf("block report %+v", b)
	}
}

// A trained 2D chain must be invertible and its density must integrate to 1.
func TestLFMChainInverseAndNormalization(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 4000
	// A bent two-blob density: not Gaussian, so the blocks are nonlinear.
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		c := 1.5
		if i%2 == 0 {
			c = -1.5
		}
		u := rng.NormFloat64() * 0.6
		x[2*i] = c + u
		x[2*i+1] = 0.5*u*u + 0.4*rng.NormFloat64()
	}
	cfg := smallLFM([]float64{0.3, 0.6}, true, 400)
	res, err := TrainLFM(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blocks) != 3 || res.Blocks[2].Kind != "free" || !math.IsNaN(res.Blocks[0].ValLoss) {
		t.Fatalf("blocks %+v", res.Blocks)
	}
	chain := res.Chain()
	tight := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-9, ATol: 1e-9}}
	pts := x[:2*200]
	z, _, err := chain.Forward(context.Background(), pts, 200, tight)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := chain.Inverse(context.Background(), z, 200, tight)
	if err != nil {
		t.Fatal(err)
	}
	var maxErr float64
	for i := range back {
		maxErr = math.Max(maxErr, math.Abs(back[i]-pts[i]))
	}
	if maxErr > 1e-5 {
		t.Errorf("max |Inverse(Forward(x)) − x| = %.3g, want ≤ 1e-5", maxErr)
	}

	// ∫ p = 1 on a grid covering the mass.
	const lo, hi, step = -6.0, 6.0, 0.12
	var grid []float64
	for gx := lo + step/2; gx < hi; gx += step {
		for gy := lo + step/2; gy < hi; gy += step {
			grid = append(grid, gx, gy)
		}
	}
	ng := len(grid) / 2
	lp, _, err := chain.LogProb(context.Background(), grid, ng, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 8}, Trace: flow.Exact})
	if err != nil {
		t.Fatal(err)
	}
	var mass float64
	for _, v := range lp {
		mass += math.Exp(v) * step * step
	}
	if math.Abs(mass-1) > 0.02 {
		t.Errorf("density integrates to %.4f on the grid, want 1 ± 0.02", mass)
	}
}

func TestLFMConfigErrors(t *testing.T) {
	base := smallLFM([]float64{0.1}, true, 10)
	for _, tc := range []struct {
		mut  func(*LFMConfig)
		want string
	}{
		{func(c *LFMConfig) { c.Iters = 0 }, "lfm: iters must be at least 1, got 0"},
		{func(c *LFMConfig) { c.BatchSize = -1 }, "lfm: batch size must be at least 1, got -1"},
		{func(c *LFMConfig) { c.LR = math.NaN() }, "lfm: learning rate must be positive and finite, got NaN"},
		{func(c *LFMConfig) { c.EMA = 1 }, "lfm: ema must be in [0, 1), got 1"},
		{func(c *LFMConfig) { c.Gammas = []float64{0.1, -1} }, "lfm: gammas: schedule: step 2 is -1; step sizes must be positive and finite"},
	} {
		c := base
		tc.mut(&c)
		_, err := TrainLFM(context.Background(), make([]float64, 20), 10, nil, 0, 2, c, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	_, err := TrainLFM(context.Background(), make([]float64, 21), 10, nil, 0, 2, base, nil)
	if err == nil || err.Error() != "lfm: training data has 21 values, want n×d = 10×2" {
		t.Errorf("shape error: %v", err)
	}
	// A learning rate that makes training diverge stops at the first non-finite loss.
	c := base
	c.LR, c.Clip, c.Iters = 1e30, 0, 50
	x := make([]float64, 200)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	if _, err := TrainLFM(context.Background(), x, 100, nil, 0, 2, c, nil); err == nil {
		t.Errorf("a learning rate of 1e30 trained without error")
	}
}

// A time budget per block ends training early for every trainer, and the
// result says so: Steps is the number of steps taken (not the configured
// count), the kept weights' step is at most that, and the final loss is the
// mean of the last steps even when they fill no whole loss-curve window
// (LossEvery here is larger than any block gets to).
func TestBlockSecondsStopsTraining(t *testing.T) {
	x := make([]float64, 400)
	for i := range x {
		x[i] = float64(i%17)/8 - 1
	}
	val := x[:100]
	const iters = 1 << 30
	o := Optim{Iters: iters, BatchSize: 32, LR: 1e-3, BlockSeconds: 0.2, Seed: 1, LossEvery: 1 << 29, ValEvery: 1 << 29}
	net := nn.Spec{Hidden: []int{8}, Act: nn.Tanh, Beta: 1}
	check := func(name string, steps, best int, final float64, curve []float64) {
		t.Helper()
		if steps < 1 || steps >= iters {
			t.Errorf("%s: Steps = %d, want between 1 and the budget's stop", name, steps)
		}
		if best != steps {
			t.Errorf("%s: kept step %d, want the last step taken %d (validated once, at the end)", name, best, steps)
		}
		if len(curve) != 1 || final == 0 || math.IsNaN(final) || final != curve[0] {
			t.Errorf("%s: final loss %g, curve %v: want one point, the mean loss of the %d steps", name, final, curve, steps)
		}
	}
	start := time.Now()
	lfm, err := TrainLFM(context.Background(), x, 200, val, 50, 2, LFMConfig{Optim: o, Gammas: []float64{0.1}, Net: net, Push: ode.Options{Method: ode.Euler, Steps: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := lfm.Blocks[0]
	check("lfm", b.Steps, b.BestStep, b.FinalLoss, b.LossCurve)
	mle, err := TrainMLE(context.Background(), x, 200, val, 50, 2, MLEConfig{Optim: o, Blocks: 1, Net: net, RK4Steps: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("mle", mle.Steps, mle.BestStep, mle.FinalLoss, mle.LossCurve)
	fm, err := TrainFM(context.Background(), x, 200, val, 50, 2, FMConfig{Optim: o, Net: net}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("cfm", fm.Block.Steps, fm.Block.BestStep, fm.Block.FinalLoss, fm.Block.LossCurve)
	jko, err := TrainJKO(context.Background(), x, 200, val, 50, 2, JKOConfig{Optim: o, Steps: []float64{0.5}, Net: net, Push: ode.Options{Method: ode.RK4, Steps: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jb := jko.Blocks[0]
	check("jko", jb.Steps, jb.BestStep, jb.FinalLoss, jb.LossCurve)
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("four trainers with a 0.2 s budget took %v", el)
	}
}
