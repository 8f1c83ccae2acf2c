package method

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Defaults of MLEConfig, used where a field is left 0.
const (
	// DefaultMLEBlocks is the number of jointly trained blocks.
	DefaultMLEBlocks = 1
	// DefaultMLERK4Steps is the number of rk4 steps per block in training.
	DefaultMLERK4Steps = 4
)

// MLEConfig holds the settings of maximum-likelihood training of a
// continuous normalizing flow in the manner of FFJORD (Grathwohl et al.,
// arXiv 1810.01367), optionally regularized by the RNODE penalties (Finlay et
// al., "How to train your neural ODE", arXiv 2002.02798 §3): the kinetic
// energy ∫|f|² dt and a finite-difference Jacobian Frobenius penalty
// (methods.md §1, §4).
//
// Every block integrates its velocity field over t in [0, 1], carrying data
// (t = 0) towards the latent side (t = 1); blocks are applied in order
// (Fields[0] first) and are trained jointly through the whole chain.
type MLEConfig struct {
	// Optim holds the optimizer settings (Iters and BatchSize of the joint
	// run, Adam's learning rate and its schedule, clipping, EMA, validation
	// and loss-curve cadence, Seed); WarmStart is ignored (one joint run).
	// The optimizer acts on the concatenated parameters of all blocks.
	Optim
	// Blocks is the number of blocks trained jointly by the NLL through the
	// whole chain (0 selects DefaultMLEBlocks).
	Blocks int
	// Linear selects linear blocks f(x) = A x + b (nn.Linear, initialized at
	// zero, the identity map) instead of the MLP.
	Linear bool
	// Net is the MLP of every block (ignored with Linear); Net.Dim is set by
	// the trainer. TimeInput is recommended (FFJORD's fields depend on t).
	Net nn.Spec
	// RK4Steps is the number of rk4 steps over [0, 1] per block in training
	// (0 selects DefaultMLERK4Steps).
	RK4Steps int
	// Sigma0 sets the finite-difference step σ = Sigma0/√d of the training
	// divergence estimator and of the Jacobian penalty (0 selects
	// flow.DefaultSigma0 = 0.01).
	Sigma0 float64
	// Probe is the distribution of the Hutchinson probes: one per sample and
	// block, drawn anew at every training step and held fixed over that
	// step's solve.
	Probe flow.Probe
	// KineticWeight is λ_K ≥ 0 of the RNODE kinetic penalty
	// λ_K · E Σ_blocks ∫₀¹ |f(x(t), t)|² dt (0: off).
	KineticWeight float64
	// JacobianWeight is λ_J ≥ 0 of the RNODE Jacobian penalty
	// λ_J · E Σ_blocks ∫₀¹ |∂f/∂x ε|² dt, with ∂f/∂x ε estimated by the finite
	// difference (f(x + σε) − f(x))/σ with the divergence's probe ε (0: off).
	JacobianWeight float64
}

// DefaultMLEConfig returns small FFJORD-like settings for 2D and tabular
// data: one block, MLP 64×64×64 with Softplus β = 1 and time input, 4 rk4
// steps, σ0 = 0.01, Gaussian probes, no penalties, Adam lr 1e-3, clip 1,
// batch 512, 2000 steps.
func DefaultMLEConfig() MLEConfig {
	return MLEConfig{
		Blocks:   DefaultMLEBlocks,
		Net:      nn.Spec{Hidden: []int{64, 64, 64}, Act: nn.Softplus, Beta: 1, TimeInput: true},
		RK4Steps: DefaultMLERK4Steps, Sigma0: flow.DefaultSigma0, Probe: flow.Gaussian,
		Optim: Optim{Iters: 2000, BatchSize: 512, LR: 1e-3, Clip: 1},
	}
}

// Validate checks the settings; errors start with "mle:" and name the field.
func (c *MLEConfig) Validate() error {
	switch {
	case c.Blocks < 0:
		return fmt.Errorf("mle: blocks must be >= 0 (0 selects %d), got %d", DefaultMLEBlocks, c.Blocks)
	case c.RK4Steps < 0:
		return fmt.Errorf("mle: rk4 steps must be >= 0 (0 selects %d), got %d", DefaultMLERK4Steps, c.RK4Steps)
	case !(c.Sigma0 >= 0) || math.IsInf(c.Sigma0, 0):
		return fmt.Errorf("mle: sigma0 must be finite and >= 0 (0 selects %g), got %g", flow.DefaultSigma0, c.Sigma0)
	case c.Probe != flow.Gaussian && c.Probe != flow.Rademacher:
		return fmt.Errorf("mle: unknown probe distribution %v", c.Probe)
	case !(c.KineticWeight >= 0) || math.IsInf(c.KineticWeight, 0):
		return fmt.Errorf("mle: kinetic weight must be finite and >= 0, got %g", c.KineticWeight)
	case !(c.JacobianWeight >= 0) || math.IsInf(c.JacobianWeight, 0):
		return fmt.Errorf("mle: jacobian weight must be finite and >= 0, got %g", c.JacobianWeight)
	}
	return c.Optim.validate("mle")
}

// withDefaults returns c with the 0-means-default fields filled in.
func (c MLEConfig) withDefaults() MLEConfig {
	if c.Blocks == 0 {
		c.Blocks = DefaultMLEBlocks
	}
	if c.RK4Steps == 0 {
		c.RK4Steps = DefaultMLERK4Steps
	}
	if c.Sigma0 == 0 {
		c.Sigma0 = flow.DefaultSigma0
	}
	return c
}

// MLETerms are means over samples, in nats, of the terms of the MLE loss
// (training solver: RK4Steps rk4 steps per block, FD Hutchinson with fixed
// probes).
type MLETerms struct {
	// Loss = NLL + λ_K·Kinetic + λ_J·Jacobian.
	Loss float64
	// NLL = E[−log N(z; 0, I) − Σ_blocks ∫ div f dt], z the end of the chain.
	NLL float64
	// Div = E Σ_blocks ∫₀¹ div f dt, the log-determinant of the chain.
	Div float64
	// Kinetic = E Σ_blocks ∫₀¹ |f|² dt and Jacobian = E Σ_blocks ∫₀¹ |∂f/∂x ε|² dt
	// (FD estimate), reported whatever the weights.
	Kinetic, Jacobian float64
}

// MLEBlockResult reports one block of the trained chain on the training set
// (kept weights, training solver, fixed probes; means over samples).
type MLEBlockResult struct {
	// Index is the 0-based block index.
	Index int
	// Div is E ∫₀¹ div f dt (the block's log-determinant), Kinetic
	// E ∫₀¹ |f|² dt and Jacobian E ∫₀¹ |∂f/∂x ε|² dt.
	Div, Kinetic, Jacobian float64
	// Movement is E|x(1) − x(0)|² of the block.
	Movement float64
}

// MLEResult is a trained chain: one field per block, Fields[0] applied first
// to data, mapping data towards N(0, I) as t goes 0 → 1 in every block.
type MLEResult struct {
	Fields []TrainableField
	// Blocks are the per-block reports.
	Blocks []MLEBlockResult
	// LossCurve holds the training loss (penalties included) averaged over
	// LossEvery steps; FinalLoss is its last point.
	LossCurve []float64
	FinalLoss float64
	// ValNLL is the validation NLL of the kept weights (training solver, fixed
	// probes) and BestStep the step they come from (NaN and −1 without
	// validation data).
	ValNLL   float64
	BestStep int
	// Steps is the number of training steps taken: the configured count,
	// or fewer when a time budget stopped the training.
	Steps int
	// Train holds the loss terms of the kept weights on the training set.
	Train MLETerms
	// Seconds is the wall time of training.
	Seconds float64
}

// Chain returns the float64 chain of blocks of a trained model, for
// likelihoods and sampling (as JKOResult.Chain).
func (r *MLEResult) Chain() *flow.Chain {
	c := &flow.Chain{Blocks: make([]flow.Block, len(r.Fields))}
	for i, f := range r.Fields {
		c.Blocks[i] = flow.Block{Field: float64Field(f)}
	}
	return c
}

// TrainMLE trains a chain of cfg.Blocks CNF blocks jointly by maximum
// likelihood on the n×d training matrix x (already preprocessed), in the
// manner of FFJORD (arXiv 1810.01367) with the RNODE penalties (arXiv
// 2002.02798). The loss of a batch of m rows is
//
//	L(θ) = mean_i [ |z_i|²/2 + (d/2) log 2π − Σ_b ℓ_b,i(1)
//	                + λ_K Σ_b κ_b,i(1) + λ_J Σ_b ι_b,i(1) ],
//
// where block b solves, over t in [0, 1] by RK4Steps rk4 steps, the
// augmented state [x | ℓ | κ | ι] with dx/dt = f_b(x, t),
// dℓ/dt = εᵀu, dκ/dt = |f_b(x, t)|², dι/dt = |u|², u = (f_b(x + σε, t) −
// f_b(x, t))/σ (FD Hutchinson, σ = Sigma0/√d, one probe ε per row and block),
// from ℓ = κ = ι = 0 and x(0) the previous block's end (the data for block
// 0); z is the last block's end. The mean is over samples, not dimensions.
// Gradients are exact for the discrete solves (ode Trajectory Record and
// Backprop), propagated block by block in reverse with ∂L/∂x passed between
// blocks. Training is in float32.
//
// val (nv×d, may be empty) selects the kept weights by the validation NLL
// (penalties excluded; probes drawn once). The inputs are not modified; prog
// may be nil (one progress block for the joint run). It returns an error for
// bad settings or shapes, for a non-finite loss (naming the step), for a
// failed solve and when ctx is cancelled.
func TrainMLE(ctx context.Context, x []float64, n int, val []float64, nv, d int, cfg MLEConfig, prog Progress) (*MLEResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkData("mle", x, n, val, nv, d); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if prog == nil {
		prog = noProgress{}
	}
	spec := cfg.Net
	spec.Dim = d
	if !cfg.Linear {
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("mle: network: %w", err)
		}
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x317e))
	fields := make([]TrainableField, cfg.Blocks)
	gf := make([]jkoField[float32], cfg.Blocks)
	for k := range fields {
		if cfg.Linear {
			fields[k] = nn.NewLinear[float32](d)
		} else {
			m, err := nn.NewMLP[float32](spec, rng)
			if err != nil {
				return nil, fmt.Errorf("mle: block %d: %w", k, err)
			}
			fields[k] = m
		}
		gf[k] = fields[k]
	}
	b := cfg.BatchSize
	lb := newMLELoss(gf, b, cfg.Sigma0/math.Sqrt(float64(d)), cfg.KineticWeight, cfg.JacobianWeight,
		ode.Options{Method: ode.RK4, Steps: cfg.RK4Steps})
	params := make([]float32, lb.numParams())
	lb.gather(params)
	cfg.Optim = cfg.Optim.forBlock(0, 1)
	op := cfg.newBlockOptim(params)
	res := &MLEResult{ValNLL: math.NaN(), BestStep: -1}

	// evalPool returns the terms on a whole pool at weights w with probes
	// from a fixed seed; the loss's fields are left holding params.
	evalPool := func(xp []float64, m int, w []float32, seed uint64, blocks []MLEBlockResult) (MLETerms, error) {
		defer func() {
			lb.scatter(params)
			lb.setRows(b)
		}()
		lb.scatter(w)
		prng := rand.New(rand.NewPCG(seed, uint64(m)))
		var sum MLETerms
		for lo := 0; lo < m; lo += b {
			rows := min(b, m-lo)
			lb.setRows(rows)
			toF32(lb.x0[:rows*d], xp[lo*d:(lo+rows)*d])
			for k := range lb.eps {
				drawProbe(cfg.Probe, prng, lb.eps[k][:rows*d])
			}
			t, err := lb.eval(ctx, nil)
			if err != nil {
				return sum, err
			}
			wt := float64(rows) / float64(m)
			sum.Loss += wt * t.Loss
			sum.NLL += wt * t.NLL
			sum.Div += wt * t.Div
			sum.Kinetic += wt * t.Kinetic
			sum.Jacobian += wt * t.Jacobian
			for k := range blocks {
				bt := lb.blockTerms[k]
				blocks[k].Div += wt * bt.Div
				blocks[k].Kinetic += wt * bt.Kinetic
				blocks[k].Jacobian += wt * bt.Jacobian
				blocks[k].Movement += wt * bt.Movement
			}
		}
		return sum, nil
	}
	validate := func(step int) error {
		if nv == 0 {
			return nil
		}
		t, err := evalPool(val, nv, op.current(), cfg.Seed^0x5eed, nil)
		if err != nil {
			return fmt.Errorf("mle: validation at step %d: %w", step, err)
		}
		if op.offer(t.NLL) {
			res.BestStep = step
		}
		return nil
	}

	label := fmt.Sprintf("MLE, %d block(s)", cfg.Blocks)
	prog.StartBlock(0, 1, cfg.Iters, label)
	defer prog.EndBlock()
	batches := newEpochBatcher(n, rng)
	for step := 0; step < cfg.Iters; step++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mle: step %d: %w", step, err)
		}
		batches.fill(x, d, lb.x0, b)
		for k := range lb.eps {
			drawProbe(cfg.Probe, rng, lb.eps[k][:b*d])
		}
		clear(op.grad)
		t, err := lb.eval(ctx, op.grad)
		if err != nil {
			return nil, fmt.Errorf("mle: step %d: %w", step, err)
		}
		if err := checkLoss(step, t.Loss); err != nil {
			return nil, fmt.Errorf("mle: %w", err)
		}
		op.step(step)
		lb.scatter(params)
		stop, err := op.endStep(step, t.Loss, prog, &res.LossCurve, &res.FinalLoss, validate)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	res.Steps = op.stepsDone(0, &res.LossCurve, &res.FinalLoss)
	if err := validate(res.Steps); err != nil {
		return nil, err
	}
	res.ValNLL = op.finish(nv > 0)
	lb.scatter(params)
	res.Blocks = make([]MLEBlockResult, cfg.Blocks)
	for k := range res.Blocks {
		res.Blocks[k].Index = k
	}
	tt, err := evalPool(x, n, params, cfg.Seed^0x7e57, res.Blocks)
	if err != nil {
		return nil, fmt.Errorf("mle: final loss terms: %w", err)
	}
	res.Train = tt
	res.Fields = fields
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// mleBlockTerms are one block's batch means.
type mleBlockTerms struct {
	Div, Kinetic, Jacobian, Movement float64
}

// mleLoss evaluates the MLE loss of a batch through a chain of blocks and
// its gradient with respect to all blocks' parameters (concatenated in block
// order). Block b's augmented state is y = [x (m·d) | ℓ (m) | κ (m) | ι (m)]
// with right-hand side, per row i (v = f(x_i), u = (f(x_i + σε_i) − v)/σ),
//
//	F_x = v,  F_ℓ = ε_iᵀu,  F_κ = |v|²,  F_ι = |u|².
//
// Its vector-Jacobian product with w = [w_x | w_ℓ | w_κ | w_ι] is, with
// c_i = (w_ℓ,i ε_i + 2 w_ι,i u_i)/σ, the field VJP at x_i with cotangent
// w_x,i + 2 w_κ,i v_i − c_i plus the field VJP at x_i + σε_i with cotangent
// c_i (for both the x part and the parameter part); the ℓ, κ, ι parts of
// ∂F/∂y are zero. Their cotangents are constant over the solve: −1/m, λ_K/m,
// λ_J/m.
type mleLoss[T nn.Float] struct {
	fields     []jkoField[T]
	off        []int // parameter offsets of the blocks in the joint vector
	d, m       int
	sigma      T
	lamK, lamJ float64
	opt        ode.Options

	x0                       []T   // capacity rows × d: the batch
	eps                      [][]T // per block, rows × d: the probes
	xs, v, f1, u, w1, w2, g2 []T   // rows × d scratch
	ys                       [][]T // per block, rows × (d+3): the end states
	gy1, gy0                 []T   // rows × (d+3)
	trajs                    []ode.Trajectory[T]
	rhs                      []ode.Func[T]
	vjps                     []ode.VJPFunc[T]
	blockTerms               []mleBlockTerms
}

func newMLELoss[T nn.Float](fields []jkoField[T], rows int, sigma, lamK, lamJ float64, opt ode.Options) *mleLoss[T] {
	d := fields[0].Dim()
	mk := func(k int) []T { return make([]T, k) }
	nb := len(fields)
	l := &mleLoss[T]{fields: fields, d: d, m: rows, sigma: T(sigma), lamK: lamK, lamJ: lamJ, opt: opt,
		x0: mk(rows * d), xs: mk(rows * d), v: mk(rows * d), f1: mk(rows * d), u: mk(rows * d),
		w1: mk(rows * d), w2: mk(rows * d), g2: mk(rows * d),
		gy1: mk(rows * (d + 3)), gy0: mk(rows * (d + 3)),
		eps: make([][]T, nb), ys: make([][]T, nb), trajs: make([]ode.Trajectory[T], nb),
		rhs: make([]ode.Func[T], nb), vjps: make([]ode.VJPFunc[T], nb), blockTerms: make([]mleBlockTerms, nb),
		off: make([]int, nb+1)}
	for k, f := range fields {
		l.eps[k] = mk(rows * d)
		l.ys[k] = mk(rows * (d + 3))
		l.off[k+1] = l.off[k] + f.NumParams()
		l.rhs[k] = func(t T, y, dy []T) error { return l.augmented(k, t, y, dy) }
		l.vjps[k] = func(t T, y, w, gy, gp []T) error { return l.augmentedVJP(k, t, y, w, gy, gp) }
	}
	return l
}

// numParams returns the length of the joint parameter vector.
func (l *mleLoss[T]) numParams() int { return l.off[len(l.fields)] }

// gather copies every block's parameters into the joint vector p.
func (l *mleLoss[T]) gather(p []T) {
	for k, f := range l.fields {
		copy(p[l.off[k]:l.off[k+1]], f.Params())
	}
}

// scatter copies the joint vector p into the blocks' parameters.
func (l *mleLoss[T]) scatter(p []T) {
	for k, f := range l.fields {
		copy(f.Params(), p[l.off[k]:l.off[k+1]])
	}
}

// setRows sets the batch size m (at most the capacity given at creation).
func (l *mleLoss[T]) setRows(m int) { l.m = m }

// fieldTerms evaluates v = f_k(x), f1 = f_k(x + σε) and u = (f1 − v)/σ for
// the current m rows.
func (l *mleLoss[T]) fieldTerms(k int, t T, x []T) (v, u []T) {
	nd := l.m * l.d
	eps, xs := l.eps[k][:nd], l.xs[:nd]
	for i, xv := range x[:nd] {
		xs[i] = xv + l.sigma*eps[i]
	}
	f1 := l.f1[:nd]
	v, u = l.v[:nd], l.u[:nd]
	l.fields[k].Velocity(t, x[:nd], l.m, v)
	l.fields[k].Velocity(t, xs, l.m, f1)
	for i := range u {
		u[i] = (f1[i] - v[i]) / l.sigma
	}
	return v, u
}

func (l *mleLoss[T]) augmented(k int, t T, y, dy []T) error {
	m, d := l.m, l.d
	nd := m * d
	v, u := l.fieldTerms(k, t, y[:nd])
	copy(dy[:nd], v)
	eps := l.eps[k][:nd]
	for i := 0; i < m; i++ {
		var sl, sk, sj T
		for j := i * d; j < (i+1)*d; j++ {
			sl += eps[j] * u[j]
			sk += v[j] * v[j]
			sj += u[j] * u[j]
		}
		dy[nd+i], dy[nd+m+i], dy[nd+2*m+i] = sl, sk, sj
	}
	return nil
}

func (l *mleLoss[T]) augmentedVJP(k int, t T, y, w, gy, gp []T) error {
	m, d := l.m, l.d
	nd := m * d
	x := y[:nd]
	eps, w1, w2 := l.eps[k][:nd], l.w1[:nd], l.w2[:nd]
	wl, wk, wj := w[nd:nd+m], w[nd+m:nd+2*m], w[nd+2*m:nd+3*m]
	penal := false
	for i := 0; i < m; i++ {
		if wk[i] != 0 || wj[i] != 0 {
			penal = true
			break
		}
	}
	var v, u []T
	if penal {
		v, u = l.fieldTerms(k, t, x)
	}
	for i := 0; i < m; i++ {
		for j := i * d; j < (i+1)*d; j++ {
			c := wl[i] * eps[j]
			a := w[j]
			if penal {
				c += 2 * wj[i] * u[j]
				a += 2 * wk[i] * v[j]
			}
			c /= l.sigma
			w2[j] = c
			w1[j] = a - c
		}
	}
	// fieldTerms left x + σε in xs.
	xs := l.xs[:nd]
	if !penal {
		for j, xv := range x {
			xs[j] = xv + l.sigma*eps[j]
		}
	}
	g2 := l.g2[:nd]
	l.fields[k].VJP(t, xs, m, w2, gp, g2)
	l.fields[k].VJP(t, x, m, w1, gp, gy[:nd])
	for j := range g2 {
		gy[j] += g2[j]
	}
	clear(gy[nd : nd+3*m])
	return nil
}

// eval solves the chain for the current batch (x0 and eps filled, m rows),
// records the per-block terms in blockTerms and returns the loss terms; with
// grad non-nil (length numParams) it adds ∂L/∂θ into grad.
func (l *mleLoss[T]) eval(ctx context.Context, grad []T) (MLETerms, error) {
	m, d := l.m, l.d
	nd := m * d
	fm := float64(m)
	prev := l.x0[:nd]
	var tt MLETerms
	for k := range l.fields {
		y := l.ys[k][:nd+3*m]
		copy(y, prev)
		clear(y[nd:])
		if _, err := l.trajs[k].Record(ctx, l.rhs[k], y, 0, 1, l.opt); err != nil {
			return MLETerms{}, fmt.Errorf("block %d: %w", k, err)
		}
		var bt mleBlockTerms
		for j, v := range y[:nd] {
			dl := float64(v) - float64(prev[j])
			bt.Movement += dl * dl
		}
		for i := 0; i < m; i++ {
			bt.Div += float64(y[nd+i])
			bt.Kinetic += float64(y[nd+m+i])
			bt.Jacobian += float64(y[nd+2*m+i])
		}
		bt.Div /= fm
		bt.Kinetic /= fm
		bt.Jacobian /= fm
		bt.Movement /= fm
		l.blockTerms[k] = bt
		tt.Div += bt.Div
		tt.Kinetic += bt.Kinetic
		tt.Jacobian += bt.Jacobian
		prev = y[:nd]
	}
	var sq float64
	for _, v := range prev {
		sq += float64(v) * float64(v)
	}
	tt.NLL = sq/2/fm + float64(d)/2*math.Log(2*math.Pi) - tt.Div
	tt.Loss = tt.NLL + l.lamK*tt.Kinetic + l.lamJ*tt.Jacobian
	if grad == nil {
		return tt, nil
	}
	gy1, gy0 := l.gy1[:nd+3*m], l.gy0[:nd+3*m]
	for j, v := range prev {
		gy1[j] = T(float64(v) / fm)
	}
	for k := len(l.fields) - 1; k >= 0; k-- {
		for i := 0; i < m; i++ {
			gy1[nd+i] = T(-1 / fm)
			gy1[nd+m+i] = T(l.lamK / fm)
			gy1[nd+2*m+i] = T(l.lamJ / fm)
		}
		if err := l.trajs[k].Backprop(l.vjps[k], gy1, gy0, grad[l.off[k]:l.off[k+1]]); err != nil {
			return tt, fmt.Errorf("block %d: %w", k, err)
		}
		copy(gy1[:nd], gy0[:nd])
	}
	return tt, nil
}
