package method

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Defaults of JKOConfig, used where a field is left 0.
const (
	// DefaultJKOMaxBlocks caps the geometric schedule.
	DefaultJKOMaxBlocks = 8
	// DefaultJKORK4Steps is the number of rk4 steps per block in training
	// (the official JKO-iFlow setting).
	DefaultJKORK4Steps = 3
	// DefaultJKOEta is the damping η of the time reparametrization.
	DefaultJKOEta = 0.5
	// DefaultJKOStopTol is the stopping threshold of JKO-iFlow
	// (E|x − T(x)|² / E|T(x)|² < 0.01); StopTol = 0 disables the rule, so set
	// it explicitly (DefaultJKOConfig does).
	DefaultJKOStopTol = 0.01
)

// JKOConfig holds the settings of JKO-iFlow (Xu, Cheng, Xie, "Normalizing
// flow neural networks by JKO scheme", NeurIPS 2023, arXiv 2212.14424;
// methods.md §2).
//
// Time convention: every block integrates its velocity field over t in
// [0, 1]; the step size h_k enters only the weight 1/(2h_k) of the W2 term of
// the loss (as the official code does). methods.md §2 notes that this is
// equivalent to integrating over an interval of length h_k, up to rescaling f.
type JKOConfig struct {
	// Steps is an explicit list of JKO step sizes h_k > 0, one block each. If
	// empty, the geometric schedule h_k = min(H0·Rho^(k−1), HMax) for
	// k = 1..MaxBlocks is used (HMax = 0: no cap; Rho = 0 means 1).
	Steps         []float64
	H0, Rho, HMax float64
	// MaxBlocks caps the geometric schedule (0 selects DefaultJKOMaxBlocks).
	MaxBlocks int
	// StopTol stops adding blocks in the first pass once a block's relative
	// movement E|x − T_k(x)|² / E|T_k(x)|² is below it (JKO-iFlow's rule,
	// official value 0.01); 0 disables the rule. The block that triggers the
	// rule is kept.
	StopTol float64
	// FreeBlock adds one more block at the end with no W2 term (loss
	// V − ∫div f only).
	FreeBlock bool
	// Linear selects linear blocks f(x) = A x + b (nn.Linear, initialized at
	// zero, the identity map) instead of the MLP.
	Linear bool
	// Net is the MLP of every block (ignored with Linear); Net.Dim is set by
	// the trainer. JKO-iFlow's 2D setting: Hidden 128×3, Softplus β = 20, no
	// time input.
	Net nn.Spec
	// RK4Steps is the number of rk4 steps over [0, 1] of the training solve
	// (0 selects DefaultJKORK4Steps).
	RK4Steps int
	// Sigma0 sets the finite-difference step σ = Sigma0/√d of the training
	// divergence estimator (0 selects flow.DefaultSigma0 = 0.01).
	Sigma0 float64
	// Probe is the distribution of the one Hutchinson probe per sample, drawn
	// anew at every training step and held fixed over that step's solve.
	Probe flow.Probe
	// ExactTrace asks for the exact divergence in training. It is not
	// implemented: Validate rejects it.
	ExactTrace bool
	// Push is the solver that pushes the training and validation pools
	// through each trained block and computes the inversion error. The zero
	// value selects rk4 with RK4Steps steps: exactly the discrete map the loss
	// optimized, so the next block's pool is the pool the loss saw. The block's
	// model map is the exact time-1 flow of its ODE; set Push to rk4 with more
	// steps (or dopri5) to push along that flow instead.
	Push ode.Options
	// Reparam adds a pass with adaptively re-assigned step sizes after the
	// first pass (see JKOReparam), each block retrained from its first-pass
	// weights on re-pushed pools (arXiv 2212.14424 Sec. 4.2).
	Reparam bool
	// Eta is the damping η of the reparametrization (0 selects DefaultJKOEta).
	Eta float64
	// Refine adds a final pass that splits every interval h_k into two blocks
	// of h_k/2, both warm-started from block k, and retrains them (after the
	// reparametrized pass if Reparam is set, else after the first).
	Refine bool
	// Optim holds the optimizer settings (Iters and BatchSize per block,
	// Adam's learning rate and its schedule, clipping, EMA, WarmStart,
	// validation and loss-curve cadence, Seed). The validation loss is the
	// block loss on the validation pool with fixed probes; LossEvery = 0
	// selects 50.
	Optim
}

// DefaultJKOConfig returns JKO-iFlow's official 2D settings (methods.md §2):
// h_k = 0.25·1.4^(k−1) for up to 8 blocks, stopping rule 0.01, MLP
// 128×128×128 with Softplus β = 20 and no time input, 3 rk4 steps, σ0 = 0.01,
// Gaussian probes, Adam lr 1e-4, clip 1, batch 2000, 10,000 steps per block,
// warm start.
func DefaultJKOConfig() JKOConfig {
	return JKOConfig{
		H0: 0.25, Rho: 1.4, MaxBlocks: 8, StopTol: DefaultJKOStopTol,
		Net:      nn.Spec{Hidden: []int{128, 128, 128}, Act: nn.Softplus, Beta: 20},
		RK4Steps: DefaultJKORK4Steps, Sigma0: flow.DefaultSigma0, Probe: flow.Gaussian, Eta: DefaultJKOEta,
		Optim: Optim{Iters: 10000, BatchSize: 2000, LR: 1e-4, Clip: 1, WarmStart: true},
	}
}

// Validate checks the settings; errors name the field.
func (c *JKOConfig) Validate() error {
	for i, h := range c.Steps {
		if !finitePos(h) {
			return fmt.Errorf("jko: steps[%d] = %g, want a finite value > 0", i, h)
		}
	}
	if len(c.Steps) == 0 {
		switch {
		case !finitePos(c.H0):
			return fmt.Errorf("jko: no step list and h0 = %g, want a finite value > 0", c.H0)
		case !(c.Rho >= 0) || math.IsInf(c.Rho, 0):
			return fmt.Errorf("jko: rho must be finite and >= 0 (0 means 1), got %g", c.Rho)
		case !(c.HMax >= 0) || math.IsInf(c.HMax, 0):
			return fmt.Errorf("jko: hmax must be finite and >= 0 (0: no cap), got %g", c.HMax)
		case c.MaxBlocks < 0:
			return fmt.Errorf("jko: max blocks must be >= 0 (0 selects %d), got %d", DefaultJKOMaxBlocks, c.MaxBlocks)
		}
	}
	switch {
	case c.ExactTrace:
		return errors.New("jko: the exact trace in training is not implemented (the trainer uses the finite-difference Hutchinson estimator)")
	case !(c.StopTol >= 0) || math.IsInf(c.StopTol, 0):
		return fmt.Errorf("jko: stop tolerance must be finite and >= 0, got %g", c.StopTol)
	case c.RK4Steps < 0:
		return fmt.Errorf("jko: rk4 steps must be >= 0 (0 selects %d), got %d", DefaultJKORK4Steps, c.RK4Steps)
	case !(c.Sigma0 >= 0) || math.IsInf(c.Sigma0, 0):
		return fmt.Errorf("jko: sigma0 must be finite and >= 0 (0 selects %g), got %g", flow.DefaultSigma0, c.Sigma0)
	case c.Probe != flow.Gaussian && c.Probe != flow.Rademacher:
		return fmt.Errorf("jko: unknown probe distribution %v", c.Probe)
	}
	if err := c.Optim.validate("jko"); err != nil {
		return err
	}
	if !(c.Eta >= 0 && c.Eta <= 1) {
		return fmt.Errorf("jko: eta must be in [0, 1] (0 selects %g), got %g", DefaultJKOEta, c.Eta)
	}
	if c.Push != (ode.Options{}) {
		if err := c.Push.Validate(); err != nil {
			return fmt.Errorf("jko: push solver: %w", err)
		}
	}
	return nil
}

// withDefaults returns c with the 0-means-default fields filled in.
func (c JKOConfig) withDefaults() JKOConfig {
	if c.MaxBlocks == 0 {
		c.MaxBlocks = DefaultJKOMaxBlocks
	}
	if c.Rho == 0 {
		c.Rho = 1
	}
	if c.RK4Steps == 0 {
		c.RK4Steps = DefaultJKORK4Steps
	}
	if c.Sigma0 == 0 {
		c.Sigma0 = flow.DefaultSigma0
	}
	if c.Eta == 0 {
		c.Eta = DefaultJKOEta
	}
	if c.Push == (ode.Options{}) {
		c.Push = ode.Options{Method: ode.RK4, Steps: c.RK4Steps}
	}
	if c.LossEvery <= 0 {
		c.LossEvery = 50
	}
	return c
}

// schedule returns the step sizes of the first pass.
func (c JKOConfig) schedule() []float64 {
	if len(c.Steps) > 0 {
		return append([]float64(nil), c.Steps...)
	}
	hs := make([]float64, c.MaxBlocks)
	for k := range hs {
		h := c.H0 * math.Pow(c.Rho, float64(k))
		if c.HMax > 0 {
			h = min(h, c.HMax)
		}
		hs[k] = h
	}
	return hs
}

// JKOBlockResult describes one trained block.
type JKOBlockResult struct {
	// Index is the 0-based block index within its pass; Kind is "jko" or
	// "free".
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	// H is the block's JKO step size (0 for the free block).
	H float64 `json:"h"`
	// LossCurve holds the training loss averaged over LossEvery steps.
	LossCurve []float64 `json:"loss_curve"`
	// FinalLoss is the mean training loss of the last LossEvery steps.
	FinalLoss float64 `json:"final_loss"`
	// ValLoss is the validation loss of the kept weights and BestStep the
	// step they come from (NaN and −1 without validation data).
	ValLoss  float64 `json:"val_loss"`
	BestStep int     `json:"best_step"`
	// Steps is the number of training steps taken: the configured count,
	// or fewer when a time budget stopped the block.
	Steps int `json:"steps"`
	// V, Div and W2 are the three loss terms of the kept weights on the whole
	// training pool, means over samples in nats: V = E|x(1)|²/2,
	// Div = E ∫₀¹ div f dt (FD Hutchinson, fixed probes; the log-det of the
	// block) and W2 = E|x(1) − x(0)|²/(2h) (0 for the free block), so the
	// loss is V − Div + W2.
	V   float64 `json:"v"`
	Div float64 `json:"div"`
	W2  float64 `json:"w2"`
	// Movement is E|x − T(x)|² over the training pool pushed with the Push
	// solver, and RelMovement that divided by E|T(x)|².
	Movement    float64 `json:"movement"`
	RelMovement float64 `json:"rel_movement"`
	// InversionError is the mean over up to 256 pool points of
	// |T^{-1}(T(x)) − x|², both directions solved with the Push solver in
	// float64.
	InversionError float64 `json:"inversion_error"`
	// PushNFE is the number of velocity evaluations of one pool push.
	PushNFE int `json:"push_nfe"`
	// Seconds is the wall time of training and pushing this block.
	Seconds float64 `json:"seconds"`
}

// JKOPass summarizes one pass of block training: "first", "reparametrized" or
// "refined".
type JKOPass struct {
	Name string `json:"name"`
	// H lists the step sizes of the pass's JKO blocks (the free block
	// excluded) and Movement their E|x − T(x)|².
	H        []float64 `json:"h"`
	Movement []float64 `json:"movement"`
	// MovementRatio is max/min of Movement: 1 when the blocks move evenly.
	MovementRatio float64 `json:"movement_ratio"`
	// Blocks are the block reports of the pass, free block included.
	Blocks []JKOBlockResult
}

// JKOResult is a trained JKO-iFlow model: one field per block of the last
// pass, Fields[0] applied first to data, mapping data towards N(0, I) as t
// goes 0 → 1.
type JKOResult struct {
	Fields []TrainableField
	// Blocks are the reports of the last pass's blocks (one per field).
	Blocks []JKOBlockResult
	// Passes lists every pass in order (first, then reparametrized and
	// refined when enabled).
	Passes []JKOPass
}

// Chain returns the float64 chain of blocks of a trained model, for
// likelihoods and sampling: MLP fields through nn.Convert, linear fields
// through nn.ConvertLinear; any other TrainableField is wrapped so that it is
// evaluated in float32.
func (r *JKOResult) Chain() *flow.Chain {
	c := &flow.Chain{Blocks: make([]flow.Block, len(r.Fields))}
	for i, f := range r.Fields {
		c.Blocks[i] = flow.Block{Field: float64Field(f)}
	}
	return c
}

func float64Field(f TrainableField) flow.VelocityField {
	switch g := f.(type) {
	case *nn.MLP[float32]:
		return nn.Convert[float64](g)
	case *nn.Linear[float32]:
		return nn.ConvertLinear[float64](g)
	}
	return &field32{f: f}
}

// field32 evaluates a float32 TrainableField on float64 batches.
type field32 struct {
	f    TrainableField
	x, v []float32
}

func (a *field32) Dim() int { return a.f.Dim() }

func (a *field32) Velocity(t float64, x []float64, n int, v []float64) {
	k := n * a.f.Dim()
	if cap(a.x) < k {
		a.x, a.v = make([]float32, k), make([]float32, k)
	}
	xs, vs := a.x[:k], a.v[:k]
	for i := range xs {
		xs[i] = float32(x[i])
	}
	a.f.Velocity(float32(t), xs, n, vs)
	for i := range vs {
		v[i] = float64(vs[i])
	}
}

// JKOReparam returns re-assigned step sizes for a second pass (arXiv
// 2212.14424 Sec. 4.2; the exact update is not given there, this is the form
// of methods.md §2): with a_k = E|x_k − x_{k−1}|² the movement of block k in
// the first pass and ā their mean,
//
//	h_k ← η h_k + (1 − η) h_k ā / a_k,
//
// then all h_k are rescaled so that Σ h_k is unchanged. Blocks that moved
// more than average get shorter steps. It returns an error if the lengths
// differ, a list is empty, η is outside [0, 1], or an h_k or a_k is not
// finite and positive.
func JKOReparam(h, a []float64, eta float64) ([]float64, error) {
	if len(h) != len(a) || len(h) == 0 {
		return nil, fmt.Errorf("jko: reparametrization needs equal, non-empty step and movement lists, got %d and %d", len(h), len(a))
	}
	if !(eta >= 0 && eta <= 1) {
		return nil, fmt.Errorf("jko: reparametrization damping eta = %g, want [0, 1]", eta)
	}
	var mean, sum float64
	for k := range h {
		if !finitePos(h[k]) || !finitePos(a[k]) {
			return nil, fmt.Errorf("jko: reparametrization: block %d has step %g and movement %g, want both finite and > 0", k, h[k], a[k])
		}
		mean += a[k]
		sum += h[k]
	}
	mean /= float64(len(a))
	out := make([]float64, len(h))
	var newSum float64
	for k := range h {
		out[k] = eta*h[k] + (1-eta)*h[k]*mean/a[k]
		newSum += out[k]
	}
	for k := range out {
		out[k] *= sum / newSum
	}
	return out, nil
}

// jkoStage is one block to train in a pass.
type jkoStage struct {
	kind string
	h    float64
	init []float32 // initial weights (nil: fresh or warm start from the previous block)
}

// TrainJKO trains JKO-iFlow on the n×d training matrix x (already
// preprocessed), block by block (arXiv 2212.14424 Alg. 1; methods.md §2).
// Block k is trained on the pool x ~ ρ_k (the data pushed through the earlier,
// frozen blocks) to minimize
//
//	L_k(θ) = mean_i [ |x_i(1)|²/2 − ℓ_i(1) + |x_i(1) − x_i(0)|²/(2h_k) ],
//
// where x_i(t), ℓ_i(t) solve dx/dt = f(x, t; θ), dℓ/dt = εᵢᵀ(f(x + σεᵢ, t) −
// f(x, t))/σ from x_i(0) = x_i, ℓ_i(0) = 0 by RK4Steps rk4 steps over
// [0, 1] (FD Hutchinson, σ = Sigma0/√d, one probe εᵢ per sample per step).
// The mean is over samples, not dimensions. Gradients are exact for the
// discrete solve (ode.SolveRecord + Backprop). Training is in float32; after
// each block the pools are pushed through it in float64 with cfg.Push.
// val (nv×d, may be empty) selects the kept weights per block by the
// validation loss. The inputs are not modified; prog may be nil.
//
// Passes: the first pass follows cfg's schedule and stopping rule; with
// Reparam a second pass retrains every block with the steps of JKOReparam
// (warm start from its first-pass weights, pools re-pushed from the data);
// with Refine a last pass splits every step in two. The free block, if any,
// ends every pass.
//
// It returns an error for bad settings or shapes, for a non-finite loss
// (naming the pass, block and step), for a failed solve or push, and when ctx
// is cancelled.
func TrainJKO(ctx context.Context, x []float64, n int, val []float64, nv int, d int, cfg JKOConfig, prog Progress) (*JKOResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkData("jko", x, n, val, nv, d); err != nil {
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
			return nil, fmt.Errorf("jko: network: %w", err)
		}
	}
	tr := &jkoTrainer{ctx: ctx, cfg: cfg, spec: spec, x: x, n: n, val: val, nv: nv, d: d,
		prog: prog, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7c0))}

	var stages []jkoStage
	for _, h := range cfg.schedule() {
		stages = append(stages, jkoStage{kind: "jko", h: h})
	}
	if cfg.FreeBlock {
		stages = append(stages, jkoStage{kind: "free"})
	}
	res := &JKOResult{}
	fields, pass, err := tr.pass("first", stages, cfg.StopTol)
	if err != nil {
		return nil, err
	}
	res.Passes = append(res.Passes, pass)

	if cfg.Reparam {
		hs, err := JKOReparam(pass.H, pass.Movement, cfg.Eta)
		if err != nil {
			return nil, err
		}
		stages = stages[:0]
		for k, b := range pass.Blocks {
			st := jkoStage{kind: b.Kind, init: append([]float32(nil), fields[k].Params()...)}
			if b.Kind == "jko" {
				st.h = hs[k]
			}
			stages = append(stages, st)
		}
		fields, pass, err = tr.pass("reparametrized", stages, 0)
		if err != nil {
			return nil, err
		}
		res.Passes = append(res.Passes, pass)
	}
	if cfg.Refine {
		var next []jkoStage
		for k, b := range pass.Blocks {
			w := append([]float32(nil), fields[k].Params()...)
			if b.Kind == "free" {
				next = append(next, jkoStage{kind: "free", init: w})
				continue
			}
			next = append(next, jkoStage{kind: "jko", h: b.H / 2, init: w}, jkoStage{kind: "jko", h: b.H / 2, init: w})
		}
		fields, pass, err = tr.pass("refined", next, 0)
		if err != nil {
			return nil, err
		}
		res.Passes = append(res.Passes, pass)
	}
	res.Fields = fields
	res.Blocks = pass.Blocks
	return res, nil
}

// jkoTrainer holds what the passes of one TrainJKO call share.
type jkoTrainer struct {
	ctx    context.Context
	cfg    JKOConfig
	spec   nn.Spec
	x, val []float64
	n, nv  int
	d      int
	prog   Progress
	rng    *rand.Rand
}

func (tr *jkoTrainer) newField() (TrainableField, error) {
	if tr.cfg.Linear {
		return nn.NewLinear[float32](tr.d), nil
	}
	return nn.NewMLP[float32](tr.spec, tr.rng)
}

// pass trains the stages in order on pools pushed from the data, stopping
// early (first pass) when a JKO block's relative movement is below stopTol.
func (tr *jkoTrainer) pass(name string, stages []jkoStage, stopTol float64) ([]TrainableField, JKOPass, error) {
	cfg, n, nv, d := tr.cfg, tr.n, tr.nv, tr.d
	p := JKOPass{Name: name}
	pool := append([]float64(nil), tr.x...)
	vpool := append([]float64(nil), tr.val...)
	var fields []TrainableField
	var prev TrainableField
	stopped := false
	for k, st := range stages {
		if stopped && st.kind == "jko" {
			continue
		}
		start := time.Now()
		f, err := tr.newField()
		if err != nil {
			return nil, p, fmt.Errorf("jko: %s pass, block %d: %w", name, k, err)
		}
		switch {
		case st.init != nil:
			copy(f.Params(), st.init)
		case cfg.WarmStart && prev != nil:
			copy(f.Params(), prev.Params())
		}
		label := fmt.Sprintf("JKO step h=%.4g (%s pass)", st.h, name)
		if st.kind == "free" {
			label = fmt.Sprintf("free block (%s pass)", name)
		}
		tr.prog.StartBlock(len(fields), len(stages), cfg.Iters, label)
		bcfg := cfg
		bcfg.Optim = cfg.Optim.forBlock(len(fields), len(stages))
		br, err := trainJKOBlock(tr.ctx, f, pool, n, vpool, nv, d, st.h, st.kind == "free", bcfg, tr.rng, tr.prog)
		tr.prog.EndBlock()
		if err != nil {
			return nil, p, fmt.Errorf("jko: %s pass, block %d: %w", name, len(fields), err)
		}
		br.Index, br.Kind, br.H = len(fields), st.kind, st.h

		blk := flow.Block{Field: float64Field(f)}
		popt := pushOptions(tr.ctx, cfg.Push)
		// Inversion error on an evenly strided subsample of the pool.
		m := min(n, 256)
		sub := make([]float64, m*d)
		for i := 0; i < m; i++ {
			r := i * n / m
			copy(sub[i*d:(i+1)*d], pool[r*d:(r+1)*d])
		}
		one := &flow.Chain{Blocks: []flow.Block{blk}}
		z, _, err := one.Forward(tr.ctx, sub, m, popt)
		if err == nil {
			var back []float64
			back, _, err = one.Inverse(tr.ctx, z, m, popt)
			var e float64
			for i := range back {
				e += (back[i] - sub[i]) * (back[i] - sub[i])
			}
			br.InversionError = e / float64(m)
		}
		if err != nil {
			return nil, p, fmt.Errorf("jko: %s pass, block %d: inversion check: %w", name, len(fields), err)
		}

		before := append([]float64(nil), pool...)
		pst, err := blk.Push(tr.ctx, pool, n, popt)
		if err != nil {
			return nil, p, pushError("jko: "+name+" pass", len(fields), "training", err)
		}
		br.PushNFE = pst.NFE
		if nv > 0 {
			if _, err := blk.Push(tr.ctx, vpool, nv, popt); err != nil {
				return nil, p, pushError("jko: "+name+" pass", len(fields), "validation", err)
			}
		}
		var mv, nrm float64
		for i := range pool {
			dl := pool[i] - before[i]
			mv += dl * dl
			nrm += pool[i] * pool[i]
		}
		br.Movement = mv / float64(n)
		br.RelMovement = mv / nrm
		br.Seconds = time.Since(start).Seconds()
		fields = append(fields, f)
		p.Blocks = append(p.Blocks, br)
		if st.kind == "jko" {
			p.H = append(p.H, st.h)
			p.Movement = append(p.Movement, br.Movement)
			if stopTol > 0 && br.RelMovement < stopTol {
				stopped = true
			}
		}
		prev = f
	}
	if len(p.Movement) > 0 {
		lo, hi := math.Inf(1), 0.0
		for _, a := range p.Movement {
			lo, hi = min(lo, a), max(hi, a)
		}
		p.MovementRatio = hi / lo
	}
	return fields, p, nil
}

// trainJKOBlock runs Adam on the per-block JKO loss of one block.
func trainJKOBlock(ctx context.Context, f TrainableField, pool []float64, n int, vpool []float64, nv, d int,
	h float64, free bool, cfg JKOConfig, rng *rand.Rand, prog Progress) (JKOBlockResult, error) {
	br := JKOBlockResult{ValLoss: math.NaN(), BestStep: -1}
	b := cfg.BatchSize
	opt := ode.Options{Method: ode.RK4, Steps: cfg.RK4Steps}
	sigma := cfg.Sigma0 / math.Sqrt(float64(d))
	invH := 0.0
	if !free {
		invH = 1 / h
	}
	lb := newJKOLoss[float32](f, b, sigma, invH, opt)
	params := f.Params()
	op := cfg.newBlockOptim(params)
	// Evaluation on a whole pool with fixed probes, at the given weights
	// (params is restored afterwards).
	saved := make([]float32, len(params))
	evalPool := func(xp []float64, m int, w []float32, seed uint64) (jkoTerms, error) {
		copy(saved, params)
		copy(params, w)
		defer func() {
			copy(params, saved)
			lb.setRows(b)
		}()
		prng := rand.New(rand.NewPCG(seed, uint64(m)))
		var sum jkoTerms
		for lo := 0; lo < m; lo += b {
			rows := min(b, m-lo)
			lb.setRows(rows)
			src := xp[lo*d : (lo+rows)*d]
			for i, v := range src {
				lb.x0[i] = float32(v)
			}
			drawProbe(cfg.Probe, prng, lb.eps[:rows*d])
			t, err := lb.eval(ctx, nil)
			if err != nil {
				return sum, err
			}
			w := float64(rows) / float64(m)
			sum.Loss += w * t.Loss
			sum.V += w * t.V
			sum.Div += w * t.Div
			sum.W2 += w * t.W2
		}
		return sum, nil
	}
	validate := func(step int) error {
		if nv == 0 {
			return nil
		}
		t, err := evalPool(vpool, nv, op.current(), cfg.Seed^0x5eed)
		if err != nil {
			return fmt.Errorf("validation at step %d: %w", step, err)
		}
		if op.offer(t.Loss) {
			br.BestStep = step
		}
		return nil
	}

	batches := newEpochBatcher(n, rng)
	for step := 0; step < cfg.Iters; step++ {
		if err := ctx.Err(); err != nil {
			return br, err
		}
		batches.fill(pool, d, lb.x0, b)
		drawProbe(cfg.Probe, rng, lb.eps[:b*d])
		clear(op.grad)
		t, err := lb.eval(ctx, op.grad)
		if err != nil {
			return br, fmt.Errorf("step %d: %w", step, err)
		}
		if err := checkLoss(step, t.Loss); err != nil {
			return br, err
		}
		op.step(step)
		stop, err := op.endStep(step, t.Loss, prog, &br.LossCurve, &br.FinalLoss, validate)
		if err != nil {
			return br, err
		}
		if stop {
			break
		}
	}
	br.Steps = op.stepsDone(0, &br.LossCurve, &br.FinalLoss)
	if err := validate(br.Steps); err != nil {
		return br, err
	}
	br.ValLoss = op.finish(nv > 0)
	t, err := evalPool(pool, n, params, cfg.Seed^0x7e57)
	if err != nil {
		return br, fmt.Errorf("final loss terms: %w", err)
	}
	br.V, br.Div, br.W2 = t.V, t.Div, t.W2
	return br, nil
}

// drawProbe fills eps with independent Gaussian or Rademacher entries.
func drawProbe[T nn.Float](p flow.Probe, rng *rand.Rand, eps []T) {
	if p == flow.Rademacher {
		var bits uint64
		for i := range eps {
			if i%64 == 0 {
				bits = rng.Uint64()
			}
			eps[i] = T(1 - 2*float64(bits&1))
			bits >>= 1
		}
		return
	}
	for i := range eps {
		eps[i] = T(rng.NormFloat64())
	}
}

// jkoField is TrainableField over a generic element type, so that the loss
// and its gradient can also be evaluated in float64 (tests).
type jkoField[T nn.Float] interface {
	Dim() int
	NumParams() int
	Params() []T
	Velocity(t T, x []T, n int, v []T)
	VJP(t T, x []T, n int, w []T, grad, dx []T)
}

// jkoTerms are the batch means of the per-block loss and its terms.
type jkoTerms struct {
	Loss, V, Div, W2 float64
}

// jkoLoss evaluates the per-block JKO loss of a batch and its gradient with
// respect to the field's parameters. The augmented state of the solve is
// y = [x (m·d) | ℓ (m)] with right-hand side
//
//	F_x(x) = f(x),  F_ℓ,i(x) = ε_iᵀ(f(x_i + σε_i) − f(x_i))/σ,
//
// the probes ε (m×d) held fixed for the solve. Its vector-Jacobian product
// with a cotangent w = [w_x | w_ℓ] is, per row i (writing J(z) = ∂f/∂x at z
// and c_i = w_ℓ,i/σ),
//
//	w_x,iᵀ J(x_i) + c_i ε_iᵀ (J(x_i + σε_i) − J(x_i))
//	  = (w_x,i − c_i ε_i)ᵀ J(x_i) + (c_i ε_i)ᵀ J(x_i + σε_i),
//
// and the same two cotangents give the parameter part:
// Σ_i (w_x,i − c_i ε_i)ᵀ ∂f(x_i)/∂θ + (c_i ε_i)ᵀ ∂f(x_i + σε_i)/∂θ. So one
// VJP call of the field at x with cotangent w_x − cε and one at x + σε with
// cotangent cε give the whole product; the ℓ part of ∂F/∂y is zero (F does
// not depend on ℓ).
//
// The loss gradient at the end state, for the mean over m samples, is
// ∂L/∂x_i(1) = (x_i(1) + (x_i(1) − x_i(0))/h)/m and ∂L/∂ℓ_i(1) = −1/m
// (x(0) is data: no gradient flows into it).
type jkoLoss[T nn.Float] struct {
	f     jkoField[T]
	d, m  int // dimension, rows of the current batch
	sigma T
	invH  float64 // 1/h, 0 for the free block
	opt   ode.Options

	x0, eps, xs, f1, w1, w2, g2 []T // capacity rows × d
	y, gy1, gy0                 []T // capacity rows × (d+1)
	traj                        ode.Trajectory[T]
	rhs                         ode.Func[T]
	vjp                         ode.VJPFunc[T]
}

func newJKOLoss[T nn.Float](f jkoField[T], rows int, sigma, invH float64, opt ode.Options) *jkoLoss[T] {
	d := f.Dim()
	mk := func(k int) []T { return make([]T, k) }
	l := &jkoLoss[T]{f: f, d: d, m: rows, sigma: T(sigma), invH: invH, opt: opt,
		x0: mk(rows * d), eps: mk(rows * d), xs: mk(rows * d), f1: mk(rows * d),
		w1: mk(rows * d), w2: mk(rows * d), g2: mk(rows * d),
		y: mk(rows * (d + 1)), gy1: mk(rows * (d + 1)), gy0: mk(rows * (d + 1))}
	l.rhs, l.vjp = l.augmented, l.augmentedVJP
	return l
}

// setRows sets the batch size m (at most the capacity given at creation).
func (l *jkoLoss[T]) setRows(m int) { l.m = m }

// shift writes x + σε into xs.
func (l *jkoLoss[T]) shift(x []T) []T {
	nd := l.m * l.d
	xs, eps := l.xs[:nd], l.eps[:nd]
	for k, v := range x[:nd] {
		xs[k] = v + l.sigma*eps[k]
	}
	return xs
}

func (l *jkoLoss[T]) augmented(t T, y, dy []T) error {
	m, d := l.m, l.d
	nd := m * d
	x, v := y[:nd], dy[:nd]
	l.f.Velocity(t, x, m, v)
	f1 := l.f1[:nd]
	l.f.Velocity(t, l.shift(x), m, f1)
	eps := l.eps[:nd]
	for i := 0; i < m; i++ {
		var s T
		for k := i * d; k < (i+1)*d; k++ {
			s += eps[k] * (f1[k] - v[k])
		}
		dy[nd+i] = s / l.sigma
	}
	return nil
}

func (l *jkoLoss[T]) augmentedVJP(t T, y, w, gy, gp []T) error {
	m, d := l.m, l.d
	nd := m * d
	eps, w1, w2 := l.eps[:nd], l.w1[:nd], l.w2[:nd]
	for i := 0; i < m; i++ {
		c := w[nd+i] / l.sigma
		for k := i * d; k < (i+1)*d; k++ {
			w2[k] = c * eps[k]
			w1[k] = w[k] - w2[k]
		}
	}
	x := y[:nd]
	l.f.VJP(t, x, m, w1, gp, gy[:nd])
	g2 := l.g2[:nd]
	l.f.VJP(t, l.shift(x), m, w2, gp, g2)
	for k := range g2 {
		gy[k] += g2[k]
	}
	clear(gy[nd : nd+m])
	return nil
}

// eval solves the block for the current batch (x0 and eps filled, m rows)
// and returns the loss terms; with grad non-nil it adds ∂L/∂θ into grad.
func (l *jkoLoss[T]) eval(ctx context.Context, grad []T) (jkoTerms, error) {
	m, d := l.m, l.d
	nd := m * d
	y := l.y[:nd+m]
	copy(y, l.x0[:nd])
	clear(y[nd:])
	if _, err := l.traj.Record(ctx, l.rhs, y, 0, 1, l.opt); err != nil {
		return jkoTerms{}, err
	}
	var t jkoTerms
	var w2 float64
	x0 := l.x0[:nd]
	for k, v := range y[:nd] {
		x1 := float64(v)
		dl := x1 - float64(x0[k])
		t.V += x1 * x1 / 2
		w2 += dl * dl
	}
	for _, v := range y[nd:] {
		t.Div += float64(v)
	}
	fm := float64(m)
	t.V /= fm
	t.Div /= fm
	t.W2 = w2 * l.invH / 2 / fm
	t.Loss = t.V - t.Div + t.W2
	if grad == nil {
		return t, nil
	}
	gy1 := l.gy1[:nd+m]
	for k, v := range y[:nd] {
		x1 := float64(v)
		gy1[k] = T((x1 + l.invH*(x1-float64(x0[k]))) / fm)
	}
	for i := nd; i < nd+m; i++ {
		gy1[i] = T(-1 / fm)
	}
	if err := l.traj.Backprop(l.vjp, gy1, l.gy0[:nd+m], grad); err != nil {
		return t, err
	}
	return t, nil
}
