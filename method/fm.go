package method

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// FMConfig holds the settings of global (one-block) flow matching: conditional
// flow matching with independent pairs (I-CFM; with σ = 0 and the linear
// interpolant this is 1-rectified flow), with minibatch optimal-transport pairs
// (OT-CFM), and the retraining step of rectified flow (Reflow).
//
// The path runs from a source sample x0 at t = 0 to a data sample x1 at t = 1:
// x_t = a(t)·x0 + b(t)·x1 (+ σ·ε), and the velocity regresses onto
// ∂_t x_t = a'(t)·x0 + b'(t)·x1. interp.Linear is a = 1 − t, b = t
// (rectified flow, arXiv 2209.03003; I-CFM, arXiv 2302.00482). interp.Trig is
// a = cos(πt/2), b = sin(πt/2): for independent x0 ~ N(0, I) and unit-variance
// data this is the variance-preserving cosine path (Var x_t = a² + b² = 1;
// the trigonometric interpolant of Albergo & Vanden-Eijnden, arXiv 2209.15571),
// so the VP path needs no separate option.
//
// References: Lipman et al., Flow Matching, arXiv 2210.02747; Liu, Gong, Liu,
// rectified flow, arXiv 2209.03003; Tong et al., minibatch OT-CFM,
// arXiv 2302.00482.
type FMConfig struct {
	// Coupling pairs source and data rows in each minibatch: interp.Independent
	// (I-CFM, rectified flow), interp.ExactOT (exact assignment for W2², OT-CFM) or
	// interp.SinkhornOT (entropic plan with regularization SinkhornEps).
	Coupling    interp.Coupling
	SinkhornEps float64
	// Interpolant is the path between x0 and x1 (linear or trig; see above).
	Interpolant interp.Interpolant
	// Sigma is the standard deviation of Gaussian noise added around the path,
	// x_t = a x0 + b x1 + σ ε with the target unchanged (I-CFM of
	// arXiv 2302.00482 §3.2); 0 (the default) gives deterministic paths.
	Sigma float64
	// Source draws x0; nil means N(0, I). With another source the trained
	// model maps that source to the data, sampling works from source draws,
	// but likelihoods are not defined (flow.Chain.LogProb assumes an N(0, I)
	// latent); FMResult.StdNormalSource records which case holds.
	Source Sampler
	// Net is the velocity network; Net.Dim is set to the data dimension and
	// Net.TimeInput to true by the trainer.
	Net nn.Spec
	// Time is the distribution of t, drawn per sample.
	Time interp.TimeDist
	// Checkpoint, when not nil, makes TrainFM save its state at step
	// boundaries and resume from a saved one (see Checkpointing; Block is 0
	// while training and 1 when done). Reflow ignores it.
	Checkpoint *Checkpointing
	// Comm, when it has more than one rank, trains data-parallel over its
	// ranks (nil: the communicator of the context, WithComm), as
	// LFMConfig.Comm does: every rank draws the same global batch of
	// BatchSize rows (data rows, source draws, pairing, t and noise), computes
	// the loss and gradient of its BatchSize/Size rows, the sums are
	// all-reduced, and every rank takes the same Adam step; Reflow generates
	// its pairs in shards and all-gathers them. With OTGlobal the result
	// equals the single-process one up to floating-point summation order. No
	// Checkpoint or time budget (BlockSeconds, Deadline); BatchSize ≥ Size.
	Comm dist.Comm
	// OTBatch chooses, for the OT couplings of a data-parallel run, whether
	// the plan is computed on the global batch (OTGlobal, the default) or on
	// each rank's rows (OTLocal); see OTBatch. It is ignored by a single
	// process and by independent pairs. Validation problems are always paired
	// in chunks of BatchSize rows, so validation losses compare across both.
	OTBatch OTBatch
	// OTBlocks, when above 1, makes a single process pair each training batch
	// in OTBlocks contiguous blocks of rows (the shards of OTBlocks ranks,
	// dist.Shard), each with its own random stream, exactly as an OTLocal
	// run over OTBlocks ranks pairs it: the single-process reference of a
	// local-OT data-parallel run. 0 or 1: the whole batch. It must not exceed
	// BatchSize, and a data-parallel run takes OTBatch instead.
	OTBlocks int
	// PairInline turns off pairing ahead. By default, with the ExactOT
	// coupling, TrainFM draws each training batch (data rows, source draws)
	// at the point of the random stream where it always does, but solves its
	// assignment on another goroutine while the previous step's forward,
	// backward and Adam update run, so the pairing's cost overlaps the step
	// on a multi-core machine. The batches, the trained weights, the
	// checkpoints and a resumed run are bitwise the same either way; set it
	// to keep training on one goroutine.
	PairInline bool
	// Optim holds the optimizer settings (Iters and BatchSize of the run,
	// Adam's learning rate and its schedule, clipping, EMA, validation and
	// loss-curve cadence, Seed); WarmStart is ignored.
	Optim
}

// Validate checks the settings; errors name the field.
func (c *FMConfig) Validate() error {
	switch {
	case c.Coupling < interp.Independent || c.Coupling > interp.SinkhornOT:
		return fmt.Errorf("fm: unknown coupling %d", int(c.Coupling))
	case c.Coupling == interp.SinkhornOT && !(c.SinkhornEps > 0 && !math.IsInf(c.SinkhornEps, 0)):
		return fmt.Errorf("fm: sinkhorn eps must be positive and finite, got %g", c.SinkhornEps)
	case c.Interpolant != interp.Linear && c.Interpolant != interp.Trig:
		return fmt.Errorf("fm: unknown interpolant %v", c.Interpolant)
	case !(c.Sigma >= 0) || math.IsInf(c.Sigma, 0):
		return fmt.Errorf("fm: sigma must be non-negative and finite, got %g", c.Sigma)
	case c.OTBatch != OTGlobal && c.OTBatch != OTLocal:
		return fmt.Errorf("fm: unknown OT batch %v (want global or local)", c.OTBatch)
	case c.OTBlocks < 0 || (c.OTBlocks > 1 && c.OTBlocks > c.BatchSize):
		return fmt.Errorf("fm: OT blocks must be between 0 and the batch size %d, got %d", c.BatchSize, c.OTBlocks)
	}
	return c.Optim.validate("fm")
}

// FMResult is a trained global flow-matching model: ONE block with
// Reverse = true, so that t from 0 to 1 carries the source x0 to the data x1
// and flow.Chain's data→latent direction integrates from t = 1 to t = 0.
type FMResult struct {
	// Net is the velocity network v(x, t) (float32 training weights).
	Net *nn.MLP[float32]
	// Block describes the training run (Kind "fm" or "reflow").
	Block BlockResult
	// Source is the source sampler the model was trained from; StdNormalSource
	// reports whether it is N(0, I), the only case where Chain().LogProb is a
	// likelihood.
	Source          Sampler
	StdNormalSource bool
	// Rectified is k of a k-rectified flow: 1 after TrainFM, one more per
	// Reflow (arXiv 2209.03003 §2.2).
	Rectified int
}

// Chain returns the float64 one-block chain of the model (Reverse = true),
// for sampling (Chain.Inverse of source draws, or Chain.Sample for an N(0, I)
// source) and, when StdNormalSource holds, likelihoods.
func (r *FMResult) Chain() *flow.Chain {
	return &flow.Chain{Blocks: []flow.Block{{Field: nn.Convert[float64](r.Net), Reverse: true}}}
}

// newPairer returns the minibatch re-pairing of the coupling, or nil for
// independent pairs.
func newPairer(c interp.Coupling, eps float64) pairer {
	if c == interp.Independent {
		return nil
	}
	return &interp.OTPairer{Kind: c, Eps: eps}
}

// pairer re-pairs a minibatch by permuting the rows of x1 (b0 = b1 rows of
// dimension d); labels may be nil.
type pairer interface {
	PairF32(x0, x1 []float32, b0, b1, d int, labels []int, rng *rand.Rand) error
}

// TrainFM trains one velocity block by flow matching from the source
// (cfg.Source, N(0, I) when nil) to the n×d training data x: each step draws
// BatchSize data rows x1 (epoch-wise permutation) and as many source rows x0,
// re-pairs them by the coupling, draws t per row and regresses v(x_t, t) onto
// ∂_t x_t with the mean squared error (summed over columns, averaged over rows).
// val (nv×d, may be empty) holds validation data: its problems (source draws,
// pairing, t and noise) are drawn once, and the weights with the lowest
// validation loss are kept. The inputs are not modified; prog may be nil.
//
// Errors: bad settings or shapes, a source of the wrong dimension or failing to
// sample, a failed pairing, a non-finite loss (naming the step), ctx
// cancellation.
//
// References: Lipman et al., arXiv 2210.02747; Liu et al., arXiv 2209.03003;
// Tong et al., arXiv 2302.00482.
func TrainFM(ctx context.Context, x []float64, n int, val []float64, nv, d int, cfg FMConfig, prog Progress) (*FMResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkData("fm", x, n, val, nv, d); err != nil {
		return nil, err
	}
	src, err := fmSource(cfg.Source, nil, d)
	if err != nil {
		return nil, err
	}
	if prog == nil {
		prog = noProgress{}
	}
	spec := cfg.Net
	spec.Dim = d
	spec.TimeInput = true
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fm: network: %w", err)
	}
	dp, err := newFMDataParallel(ctx, "fm", &cfg)
	if err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(cfg.Seed, 0xf10e)
	rng := rand.New(pcg)
	ck := cfg.Checkpoint
	cfg.LR *= ck.lrScale()
	net, err := nn.NewMLP[float32](spec, rng)
	if err != nil {
		return nil, fmt.Errorf("fm: %w", err)
	}
	pr := newPairer(cfg.Coupling, cfg.SinkhornEps)
	blocks, only := cfg.OTBlocks, -1
	if dp != nil {
		blocks = 1
		if cfg.OTBatch == OTLocal {
			blocks, only = dp.size, dp.rank
		}
	}
	bp := newBlockPairing(pr, blocks, only)

	b := cfg.BatchSize
	srcBuf := make([]float64, b*d)
	perm := rng.Perm(n)
	pos := 0
	// draw writes a batch's data rows and source draws.
	draw := func(x0, x1 []float32, rng *rand.Rand) error {
		for i := 0; i < b; i++ {
			if pos == n {
				rng.Shuffle(n, func(a, c int) { perm[a], perm[c] = perm[c], perm[a] })
				pos = 0
			}
			toF32(x1[i*d:(i+1)*d], x[perm[pos]*d:(perm[pos]+1)*d])
			pos++
		}
		if err := src.Sample(b, rng, srcBuf); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		toF32(x0, srcBuf)
		return nil
	}
	prob := &fmProblem{
		d: d, interpolant: cfg.Interpolant, sigma: cfg.Sigma, time: cfg.Time, perm: perm, pos: &pos,
		pairs: func(x0, x1 []float32, rng *rand.Rand) error {
			if err := draw(x0, x1, rng); err != nil {
				return err
			}
			if bp != nil {
				if err := bp.pair(x0, x1, b, d, rng); err != nil {
					return fmt.Errorf("pairing: %w", err)
				}
			}
			return nil
		},
	}
	if bp != nil && cfg.Coupling == interp.ExactOT && !cfg.PairInline {
		// The exact assignment uses no random numbers: everything but the
		// solve is drawn in place, the solve may run ahead.
		prob.ahead = &pairAhead{
			pcg: pcg,
			draw: func(x0, x1 []float32, rng *rand.Rand) (uint64, error) {
				if err := draw(x0, x1, rng); err != nil {
					return 0, err
				}
				return bp.drawSeed(rng), nil
			},
			pair: func(x0, x1 []float32, seed uint64) error {
				if err := bp.pairSeeded(x0, x1, b, d, seed, nil); err != nil {
					return fmt.Errorf("pairing: %w", err)
				}
				return nil
			},
		}
	}

	// Validation problems: fixed source draws paired chunk by chunk like the
	// training batches.
	var vx0, vx1 []float32
	if nv > 0 {
		vrng := rand.New(rand.NewPCG(cfg.Seed^0x5eed, uint64(nv)))
		v0 := make([]float64, nv*d)
		if err := src.Sample(nv, vrng, v0); err != nil {
			return nil, fmt.Errorf("fm: validation source: %w", err)
		}
		vx0, vx1 = make([]float32, nv*d), make([]float32, nv*d)
		toF32(vx0, v0)
		toF32(vx1, val)
		if pr != nil {
			for lo := 0; lo < nv; lo += b {
				hi := min(nv, lo+b)
				if err := pr.PairF32(vx0[lo*d:hi*d], vx1[lo*d:hi*d], hi-lo, hi-lo, d, nil, vrng); err != nil {
					return nil, fmt.Errorf("fm: validation pairing: %w", err)
				}
			}
		}
	}

	state := func(block int, cur *BlockState, step int, done *BlockResult) *TrainState {
		st := &TrainState{Block: block, Step: step, RNG: marshalRNG(pcg), Current: cur}
		if done != nil {
			st.Nets, st.Blocks = [][]float32{net.Params()}, []BlockResult{*done}
		}
		return st
	}
	hooks := &blockHooks{ck: ck, state: func(cur *BlockState, step int) *TrainState { return state(0, cur, step, nil) }}
	if ck != nil && ck.Resume != nil {
		r := ck.Resume
		switch {
		case r.Block == 1 && len(r.Nets) == 1 && len(r.Blocks) == 1 && r.Current == nil:
			if len(r.Nets[0]) != net.NumParams() {
				return nil, fmt.Errorf("fm: resume: %d saved parameters, the network has %d", len(r.Nets[0]), net.NumParams())
			}
			copy(net.Params(), r.Nets[0])
			return &FMResult{Net: net, Block: r.Blocks[0], Source: src, StdNormalSource: src.IsStdNormal(), Rectified: 1}, nil
		case r.Block != 0 || len(r.Nets) != 0 || len(r.Blocks) != 0:
			return nil, fmt.Errorf("fm: resume: the saved state has %d finished blocks (%d weights, %d results) of a 1-block run", r.Block, len(r.Nets), len(r.Blocks))
		}
		if err := pcg.UnmarshalBinary(r.RNG); err != nil {
			return nil, fmt.Errorf("fm: resume: random state: %w", err)
		}
		hooks.resume = r.Current
	}
	if hooks.resume == nil {
		if err := ck.save(state(0, nil, 0, nil)); err != nil {
			return nil, fmt.Errorf("fm: %w", err)
		}
	}

	hooks.began = time.Now()
	prog.StartBlock(0, 1, cfg.Iters, fmt.Sprintf("flow matching (%v coupling, %v path)", cfg.Coupling, cfg.Interpolant))
	cfg.Optim = cfg.Optim.forBlock(0, 1)
	br, err := trainFM(ctx, net, prob, vx0, vx1, nv, cfg, rng, prog, hooks, dp)
	prog.EndBlock()
	if err != nil {
		return nil, fmt.Errorf("fm: %w", err)
	}
	br.Kind = "fm"
	br.Seconds = hooks.seconds()
	if err := ck.save(state(1, nil, 0, &br)); err != nil {
		return nil, fmt.Errorf("fm: %w", err)
	}
	return &FMResult{Net: net, Block: br, Source: src, StdNormalSource: src.IsStdNormal(), Rectified: 1}, nil
}

// Reflow performs one rectification step of rectified flow (Liu, Gong, Liu,
// arXiv 2209.03003 §2.2): it draws nPairs source points z (from cfg.Source,
// else prev.Source, else N(0, I)), maps them through prev's block with the
// given (accurate) solver to T(z), and trains a new block, warm-started from
// prev.Net (same architecture; cfg.Net is ignored), on these fixed pairs with
// the linear interpolant (cfg.Interpolant and cfg.Coupling are ignored; Sigma
// is used as given and is normally 0). With cfg.ValEvery > 0 another
// nPairs/10 (at least 1) pairs are generated for validation.
// The result has Rectified = prev.Rectified + 1 and the same source.
//
// Errors: a nil or untrained prev, nPairs < 1, bad settings, a source of the
// wrong dimension, a failed solve, and those of training.
func Reflow(ctx context.Context, prev *FMResult, nPairs int, cfg FMConfig, solver ode.Options, prog Progress) (*FMResult, error) {
	if prev == nil || prev.Net == nil {
		return nil, fmt.Errorf("reflow: no previous model")
	}
	if nPairs < 1 {
		return nil, fmt.Errorf("reflow: number of pairs must be at least 1, got %d", nPairs)
	}
	cfg.Interpolant = interp.Linear
	cfg.Coupling = interp.Independent
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reflow: %w", err)
	}
	if err := solver.Validate(); err != nil {
		return nil, fmt.Errorf("reflow: solver: %w", err)
	}
	cfg.Checkpoint = nil
	dp, err := newFMDataParallel(ctx, "reflow", &cfg)
	if err != nil {
		return nil, err
	}
	d := prev.Net.Dim()
	src, err := fmSource(cfg.Source, prev.Source, d)
	if err != nil {
		return nil, fmt.Errorf("reflow: %w", err)
	}
	if prog == nil {
		prog = noProgress{}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x4ef1))
	nv := 0
	if cfg.ValEvery > 0 {
		nv = max(1, nPairs/10)
	}
	total := nPairs + nv
	start := time.Now()
	z := make([]float64, total*d)
	if err := src.Sample(total, rng, z); err != nil {
		return nil, fmt.Errorf("reflow: source: %w", err)
	}
	// The pairs (z, T(z)): T(z) in place of a copy of z, in shards over the
	// ranks of a data-parallel run.
	x1 := append([]float64(nil), z...)
	chain := prev.Chain()
	gen := func(x []float64, m int) (int, error) {
		y, st, err := chain.Inverse(ctx, x, m, pushOptions(ctx, solver))
		copy(x, y)
		return st.NFE, err
	}
	var nfe int
	if dp != nil {
		nfe, err = dp.sharded(x1, total, d, gen)
	} else {
		nfe, err = gen(x1, total)
	}
	if err != nil {
		return nil, fmt.Errorf("reflow: generating pairs: %w", err)
	}
	z0, z1 := make([]float32, total*d), make([]float32, total*d)
	toF32(z0, z)
	toF32(z1, x1)

	net := prev.Net.Clone()
	b := cfg.BatchSize
	perm := rng.Perm(nPairs)
	pos := 0
	prob := &fmProblem{
		d: d, interpolant: interp.Linear, sigma: cfg.Sigma, time: cfg.Time,
		pairs: func(x0, x1 []float32, rng *rand.Rand) error {
			for i := 0; i < b; i++ {
				if pos == nPairs {
					rng.Shuffle(nPairs, func(a, c int) { perm[a], perm[c] = perm[c], perm[a] })
					pos = 0
				}
				r := perm[pos]
				copy(x0[i*d:(i+1)*d], z0[r*d:(r+1)*d])
				copy(x1[i*d:(i+1)*d], z1[r*d:(r+1)*d])
				pos++
			}
			return nil
		},
	}
	k := prev.Rectified + 1
	prog.StartBlock(0, 1, cfg.Iters, fmt.Sprintf("reflow to %d-rectified flow", k))
	cfg.Optim = cfg.Optim.forBlock(0, 1)
	br, err := trainFM(ctx, net, prob, z0[nPairs*d:], z1[nPairs*d:], nv, cfg, rng, prog, nil, dp)
	prog.EndBlock()
	if err != nil {
		return nil, fmt.Errorf("reflow: %w", err)
	}
	br.Kind = "reflow"
	br.PushNFE = nfe
	br.Seconds = time.Since(start).Seconds()
	return &FMResult{Net: net, Block: br, Source: src, StdNormalSource: src.IsStdNormal(), Rectified: k}, nil
}

// Straightness returns the straightness error of a chain along its own
// trajectories (Liu, Gong, Liu, arXiv 2209.03003 §2.3, eq. for S(Z)):
// S = E ∫₀¹ |(x1 − x0) − u(x_s, s)|² ds, where x0 are n draws of src, s runs
// over each block in the latent→data (sampling) direction, u is the velocity in
// that direction (v(x, t) for Reverse blocks, −v(x, 1 − s) otherwise) and x1
// is the block's endpoint. It is estimated with steps Euler steps per block,
// for which x1 − x0 is the mean of the step velocities u_k, so
// S = E[mean_k |u_k|² − |x1 − x0|²] exactly. For several blocks the blocks'
// values are summed. S = 0 exactly for straight paths traversed at constant
// speed; it is in squared data units.
//
// Errors: an invalid chain, a source of another dimension or failing to
// sample, n < 1, steps < 1, a nil rng, a non-finite velocity, ctx cancellation.
func Straightness(ctx context.Context, c *flow.Chain, src Sampler, n, steps int, rng *rand.Rand) (float64, error) {
	if c == nil {
		return 0, fmt.Errorf("straightness: nil chain")
	}
	if err := c.Validate(); err != nil {
		return 0, fmt.Errorf("straightness: %w", err)
	}
	d := c.Dim()
	switch {
	case src == nil:
		return 0, fmt.Errorf("straightness: nil source")
	case src.Dim() != d:
		return 0, fmt.Errorf("straightness: source has dimension %d, chain has %d", src.Dim(), d)
	case n < 1:
		return 0, fmt.Errorf("straightness: n must be at least 1, got %d", n)
	case steps < 1:
		return 0, fmt.Errorf("straightness: steps must be at least 1, got %d", steps)
	case rng == nil:
		return 0, fmt.Errorf("straightness: nil random source")
	}
	x := make([]float64, n*d)
	if err := src.Sample(n, rng, x); err != nil {
		return 0, fmt.Errorf("straightness: source: %w", err)
	}
	x0 := make([]float64, n*d)
	u := make([]float64, n*d)
	h := 1 / float64(steps)
	var total float64
	for k := len(c.Blocks) - 1; k >= 0; k-- {
		blk := c.Blocks[k]
		copy(x0, x)
		var sumU2 float64
		for j := 0; j < steps; j++ {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			s := float64(j) * h
			if blk.Reverse {
				blk.Field.Velocity(s, x, n, u)
			} else {
				blk.Field.Velocity(1-s, x, n, u)
				for i := range u {
					u[i] = -u[i]
				}
			}
			for i, ui := range u {
				sumU2 += ui * ui
				x[i] += h * ui
			}
			if math.IsNaN(sumU2) || math.IsInf(sumU2, 0) {
				return 0, fmt.Errorf("straightness: block %d: velocity not finite at s = %g", k, s)
			}
		}
		var disp float64
		for i := range x {
			dl := x[i] - x0[i]
			disp += dl * dl
		}
		total += max(0, (sumU2/float64(steps)-disp)/float64(n))
	}
	return total, nil
}

// fmSource picks the source sampler: the configured one, else the fallback,
// else N(0, I); it must have dimension d.
func fmSource(cfg, fallback Sampler, d int) (Sampler, error) {
	src := cfg
	if src == nil {
		src = fallback
	}
	if src == nil {
		src = StdNormal(d)
	}
	if src.Dim() != d {
		return nil, fmt.Errorf("fm: source has dimension %d, data has %d", src.Dim(), d)
	}
	return src, nil
}

// fmProblem defines the regression of one global flow-matching block: how a
// batch of pairs is drawn, the path between them and the time distribution.
type fmProblem struct {
	d           int
	interpolant interp.Interpolant
	sigma       float64
	time        interp.TimeDist
	// atZero sets t = 0 for every row (one-step distillation).
	atZero bool
	// pairs writes BatchSize rows of x0 and x1 (float32, row-major).
	pairs func(x0, x1 []float32, rng *rand.Rand) error
	// perm and pos are the epoch permutation of the training rows and the
	// position in it, used by pairs (for checkpoints; nil when not resumable).
	perm []int
	pos  *int
	// ahead, when not nil, lets trainFM pair the next batch while a step
	// trains (see pairAhead).
	ahead *pairAhead
}

// finish draws t (and the path noise) and writes x_t and the target ∂_t x_t
// for the b pairs already in fb.x0 and fb.x1.
func (p *fmProblem) finish(fb *fmBatch, b int, rng *rand.Rand) {
	d := p.d
	t := fb.t[:b]
	if p.atZero {
		clear(t)
	} else {
		interp.Fill(p.time, rng, t)
	}
	interp.Eval(p.interpolant, t, fb.x0[:b*d], fb.x1[:b*d], b, d, fb.xt[:b*d], fb.target[:b*d])
	if p.sigma > 0 {
		xt := fb.xt[:b*d]
		for i := range xt {
			xt[i] += float32(p.sigma * rng.NormFloat64())
		}
	}
}

// trainFM runs the regression of prob on net (Adam, StepLR, clipping, EMA,
// validation on the fixed pairs vx0, vx1 of nv rows) and leaves the kept
// weights in net. hooks (nil: none) resume and checkpoint it; dp (nil: a
// single process) trains it data-parallel over its ranks.
func trainFM(ctx context.Context, net *nn.MLP[float32], prob *fmProblem, vx0, vx1 []float32, nv int,
	cfg FMConfig, rng *rand.Rand, prog Progress, hooks *blockHooks, dp *dataParallel) (BlockResult, error) {
	br := BlockResult{ValLoss: math.NaN(), BestStep: -1}
	b, d := cfg.BatchSize, prob.d
	fb := newFMBatch(b, d)
	op := cfg.newBlockOptim(net.Params())
	br.LossEvery = op.lossEvery

	var val *fmValidation
	if nv > 0 {
		vfb := newFMBatch(nv, d)
		copy(vfb.x0, vx0[:nv*d])
		copy(vfb.x1, vx1[:nv*d])
		prob.finish(vfb, nv, rand.New(rand.NewPCG(cfg.Seed^0xa11d, uint64(nv))))
		val = &fmValidation{n: nv, d: d, fb: vfb}
	}
	validate := func(step int) {
		if val != nil && op.offer(val.loss(net, op.current())) {
			br.BestStep = step
		}
	}

	var pos0 int
	posp := prob.pos
	if posp == nil {
		posp = &pos0
	}
	first, err := hooks.start(op, &br, prob.perm, posp)
	if err != nil {
		return br, err
	}
	resumeProgress(prog, first)
	ah := prob.ahead.start(b, d, prob.perm, posp)
	defer ah.discard() // an error return leaves no solve running
	for step := first; step < cfg.Iters; step++ {
		if err := ctx.Err(); err != nil {
			ah.discard()
			return br, hooks.interrupted(op, &br, prob.perm, *posp, step, err)
		}
		if ah.pending() {
			if err := ah.take(fb); err != nil {
				return br, fmt.Errorf("step %d: %w", step, err)
			}
		} else if err := prob.pairs(fb.x0, fb.x1, rng); err != nil {
			return br, fmt.Errorf("step %d: %w", step, err)
		}
		prob.finish(fb, b, rng)
		if step+1 < cfg.Iters {
			if err := ah.next(rng); err != nil {
				return br, fmt.Errorf("step %d: %w", step+1, err)
			}
		}
		loss, err := dp.lossStep(net, fb, b, d, op)
		if err != nil {
			return br, fmt.Errorf("step %d: %w", step, err)
		}
		if err := hooks.diverged(step, loss); err != nil {
			return br, err
		}
		op.step(step)
		if stop, _ := op.endStep(step, loss, prog, &br.LossCurve, &br.FinalLoss, func(s int) error { validate(s); return nil }); stop {
			break
		}
		if err := ah.before(prob.perm, *posp, func(perm []int, pos int) error {
			return hooks.after(op, &br, perm, pos, step, cfg.Iters)
		}); err != nil {
			return br, err
		}
	}
	ah.discard()
	br.Steps = op.stepsDone(first, &br.LossCurve, &br.FinalLoss)
	validate(br.Steps)
	br.ValLoss = op.finish(val != nil)
	return br, nil
}

// newFMDataParallel returns the data-parallel state of a flow-matching run
// over cfg.Comm, else the communicator of ctx (nil: single process), or an
// error for settings it does not support (prefix names the trainer).
func newFMDataParallel(ctx context.Context, prefix string, cfg *FMConfig) (*dataParallel, error) {
	comm := cfg.Comm
	if comm == nil {
		comm = CommFrom(ctx)
	}
	dp, err := newDataParallel(prefix, comm, &cfg.Optim, cfg.Checkpoint)
	if err != nil {
		return nil, err
	}
	if dp != nil && cfg.OTBlocks > 1 {
		return nil, fmt.Errorf("%s: data-parallel: OT blocks (%d) are for a single process; set the OT batch to local", prefix, cfg.OTBlocks)
	}
	return dp, nil
}

// toF32 converts src into dst (same length).
func toF32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}
