package method

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// LFMConfig holds the settings of Local Flow Matching (arXiv 2410.02548 §3 and
// its appendix; methods.md §3 lists the paper's values per dataset).
type LFMConfig struct {
	// Gammas are the OU step sizes γ_1..γ_N, one block each.
	Gammas []float64
	// FreeBlock adds a final block trained by plain flow matching from the last
	// pool to N(0, I) (x1 = z independent of x0).
	FreeBlock bool
	// Net is the velocity network of every block; Net.Dim is set to the data
	// dimension and Net.TimeInput to true by the trainer.
	Net nn.Spec
	// Interpolant between the pool sample x0 and its target x1 (trig or linear).
	Interpolant interp.Interpolant
	// Time is the distribution of t, drawn per sample.
	Time interp.TimeDist
	// Push is the solver used to push the training and validation pools through
	// each trained block.
	Push ode.Options
	// Checkpoint, when not nil, saves the training state at step boundaries
	// and resumes from a saved one (see Checkpointing); nil trains without.
	Checkpoint *Checkpointing
	// Comm, when it has more than one rank, trains data-parallel over its
	// ranks (see WithComm; nil: the communicator of the context, if any):
	// every rank computes the loss and gradient of its B/Size rows of the
	// global batch and the sums are all-reduced before the Adam step, and
	// the pools are pushed in shards and all-gathered. The result equals the
	// single-process one up to floating-point summation order. It does not
	// support Checkpoint or a time budget (BlockSeconds, Deadline), and the
	// batch size must be at least the number of ranks.
	Comm dist.Comm
	// Optim holds the optimizer settings (Iters and BatchSize per block,
	// Adam's learning rate and its schedule, clipping, EMA, WarmStart,
	// validation and loss-curve cadence, Seed).
	Optim
}

// Validate checks the settings; errors name the field.
func (c *LFMConfig) Validate() error {
	if err := interp.CheckSteps(c.Gammas); err != nil && !(len(c.Gammas) == 0 && c.FreeBlock) {
		return fmt.Errorf("lfm: gammas: %w", err)
	}
	return c.Optim.validate("lfm")
}

// BlockResult describes one trained block.
type BlockResult struct {
	// Index is the 0-based block index; Kind is "ou" or "free".
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	// Gamma is the block's OU step (0 for the free block).
	Gamma float64 `json:"gamma"`
	// LossCurve holds the training loss averaged over LossEvery steps.
	LossCurve []float64 `json:"loss_curve"`
	LossEvery int       `json:"loss_every"`
	// FinalLoss is the mean training loss of the last LossEvery steps.
	FinalLoss float64 `json:"final_loss"`
	// ValLoss is the validation flow-matching loss of the kept weights and
	// BestStep the step they come from (NaN and −1 without validation data).
	ValLoss  float64 `json:"val_loss"`
	BestStep int     `json:"best_step"`
	// Steps is the number of training steps taken: the configured count,
	// or fewer when a time budget stopped the block.
	Steps int `json:"steps"`
	// Movement is E|x − T(x)|² over the training pool (squared distance each
	// point moved through the block) and RelMovement that divided by E|T(x)|².
	Movement    float64 `json:"movement"`
	RelMovement float64 `json:"rel_movement"`
	// PushNFE is the number of velocity evaluations of one pool push.
	PushNFE int `json:"push_nfe"`
	// Seconds is the wall time of training and pushing this block.
	Seconds float64 `json:"seconds"`
}

// LFMResult is a trained Local Flow Matching model: one network per block,
// Nets[0] applied first to data, mapping data towards N(0, I) as t goes 0 → 1.
type LFMResult struct {
	Nets   []*nn.MLP[float32]
	Blocks []BlockResult
}

// Chain returns the float64 chain of blocks of a trained model, for
// likelihoods and sampling.
func (r *LFMResult) Chain() *flow.Chain {
	c := &flow.Chain{Blocks: make([]flow.Block, len(r.Nets))}
	for i, m := range r.Nets {
		c.Blocks[i] = flow.Block{Field: nn.Convert[float64](m)}
	}
	return c
}

// TrainLFM trains Local Flow Matching on the n×d training matrix x (already
// preprocessed, e.g. standardized), block by block: block k regresses its
// velocity onto ∂_t I_t between pool samples x0 and their OU transition
// x1 = e^{−γ_k} x0 + √(1 − e^{−2γ_k}) z (fresh z each step), then the pool is
// pushed through the trained block. val (nv×d, may be empty) selects the kept
// weights per block by the validation loss. The inputs are not modified.
// prog may be nil. It returns an error for bad settings or shapes, for a
// non-finite loss (naming block and step), for a failed push and when ctx is
// cancelled.
func TrainLFM(ctx context.Context, x []float64, n int, val []float64, nv int, d int, cfg LFMConfig, prog Progress) (*LFMResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkData("lfm", x, n, val, nv, d); err != nil {
		return nil, err
	}
	if prog == nil {
		prog = noProgress{}
	}
	spec := cfg.Net
	spec.Dim = d
	spec.TimeInput = true
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("lfm: network: %w", err)
	}
	comm := cfg.Comm
	if comm == nil {
		comm = CommFrom(ctx)
	}
	dp, err := newDataParallel("lfm", comm, &cfg.Optim, cfg.Checkpoint)
	if err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(cfg.Seed, 0x1f0a)
	rng := rand.New(pcg)
	pool := append([]float64(nil), x...)
	vpool := append([]float64(nil), val...)
	ck := cfg.Checkpoint
	cfg.LR *= ck.lrScale()

	type stage struct {
		kind  string
		gamma float64
	}
	var stages []stage
	for _, g := range cfg.Gammas {
		stages = append(stages, stage{"ou", g})
	}
	if cfg.FreeBlock {
		stages = append(stages, stage{"free", 0})
	}
	res := &LFMResult{}
	pushOpt := pushOptions(ctx, cfg.Push)
	push := func(k int, net *nn.MLP[float32]) (int, error) {
		blk := flow.Block{Field: nn.Convert[float64](net)}
		if dp != nil {
			nfe, err := dp.push(ctx, blk, pool, n, d, pushOpt)
			if err != nil {
				return 0, pushError("lfm", k, "training", err)
			}
			if nv > 0 {
				if _, err := dp.push(ctx, blk, vpool, nv, d, pushOpt); err != nil {
					return 0, pushError("lfm", k, "validation", err)
				}
			}
			return nfe, nil
		}
		pst, err := blk.Push(ctx, pool, n, pushOpt)
		if err != nil {
			return 0, pushError("lfm", k, "training", err)
		}
		if nv > 0 {
			if _, err := blk.Push(ctx, vpool, nv, pushOpt); err != nil {
				return 0, pushError("lfm", k, "validation", err)
			}
		}
		return pst.NFE, nil
	}
	state := func(block int, cur *BlockState, step int) *TrainState {
		st := &TrainState{Block: block, Step: step, RNG: marshalRNG(pcg), Blocks: res.Blocks, Current: cur}
		for _, m := range res.Nets {
			st.Nets = append(st.Nets, m.Params())
		}
		return st
	}

	first := 0
	var resumeBlk *BlockState
	if ck != nil && ck.Resume != nil {
		r := ck.Resume
		if r.Block < 0 || r.Block > len(stages) || len(r.Nets) != r.Block || len(r.Blocks) != r.Block || (r.Current != nil && r.Block == len(stages)) {
			return nil, fmt.Errorf("lfm: resume: the saved state has %d finished blocks (%d weights, %d results) of a %d-block run", r.Block, len(r.Nets), len(r.Blocks), len(stages))
		}
		// Rebuild the finished blocks and push the pools through them:
		// the same arithmetic as the original run, so the pools are bitwise
		// the same.
		for k := 0; k < r.Block; k++ {
			net, err := nn.NewMLP[float32](spec, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				return nil, fmt.Errorf("lfm: block %d: %w", k, err)
			}
			if len(r.Nets[k]) != net.NumParams() {
				return nil, fmt.Errorf("lfm: resume: block %d has %d saved parameters, the network %d", k, len(r.Nets[k]), net.NumParams())
			}
			copy(net.Params(), r.Nets[k])
			if r.Block < len(stages) {
				if _, err := push(k, net); err != nil {
					return nil, err
				}
			}
			res.Nets = append(res.Nets, net)
			res.Blocks = append(res.Blocks, r.Blocks[k])
		}
		first, resumeBlk = r.Block, r.Current
	}
	var prev *nn.MLP[float32]
	if first > 0 {
		prev = res.Nets[first-1]
	}
	for k := first; k < len(stages); k++ {
		st := stages[k]
		if k > first || resumeBlk == nil {
			if ck != nil && ck.Resume != nil && k == first {
				// Resuming at a block boundary: the random stream continues
				// from the saved state.
				if err := pcg.UnmarshalBinary(ck.Resume.RNG); err != nil {
					return nil, fmt.Errorf("lfm: resume: random state: %w", err)
				}
			}
			if err := ck.save(state(k, nil, 0)); err != nil {
				return nil, fmt.Errorf("lfm: %w", err)
			}
		}
		start := time.Now()
		net, err := nn.NewMLP[float32](spec, rng)
		if err != nil {
			return nil, fmt.Errorf("lfm: block %d: %w", k, err)
		}
		if cfg.WarmStart && prev != nil {
			copy(net.Params(), prev.Params())
		}
		label := fmt.Sprintf("OU step γ=%.4g", st.gamma)
		if st.kind == "free" {
			label = "free block to N(0, I)"
		}
		hooks := &blockHooks{ck: ck, block: k, began: start, state: func(cur *BlockState, step int) *TrainState { return state(k, cur, step) }}
		batches := newEpochBatcher(n, rng)
		if k == first && resumeBlk != nil {
			if err := pcg.UnmarshalBinary(ck.Resume.RNG); err != nil {
				return nil, fmt.Errorf("lfm: resume: random state: %w", err)
			}
			hooks.resume = resumeBlk
		}
		prog.StartBlock(k, len(stages), cfg.Iters, label)
		bcfg := cfg
		bcfg.Optim = cfg.Optim.forBlock(k, len(stages))
		br, err := trainFMBlock(ctx, net, pool, n, vpool, nv, d, st.gamma, st.kind == "free", bcfg, rng, batches, prog, hooks, dp)
		prog.EndBlock()
		if err != nil {
			var de *DivergedError
			var ie *Interrupted
			if errors.As(err, &de) || errors.As(err, &ie) {
				return nil, fmt.Errorf("lfm: %w", err)
			}
			return nil, fmt.Errorf("lfm: block %d: %w", k, err)
		}
		br.Index, br.Kind, br.Gamma = k, st.kind, st.gamma

		// Push both pools through the trained block (float64).
		before := append([]float64(nil), pool...)
		if br.PushNFE, err = push(k, net); err != nil {
			return nil, err
		}
		var mv, nrm float64
		for i := range pool {
			dlt := pool[i] - before[i]
			mv += dlt * dlt
			nrm += pool[i] * pool[i]
		}
		br.Movement = mv / float64(n)
		br.RelMovement = mv / nrm
		br.Seconds = hooks.seconds()
		res.Nets = append(res.Nets, net)
		res.Blocks = append(res.Blocks, br)
		prev = net
	}
	if first < len(stages) || ck == nil || ck.Resume == nil {
		if err := ck.save(state(len(stages), nil, 0)); err != nil {
			return nil, fmt.Errorf("lfm: %w", err)
		}
	}
	return res, nil
}

// fmBatch holds the float32 buffers of one flow-matching step.
type fmBatch struct {
	x0, z, x1, t, xt, target, v, dv []float32
}

func newFMBatch(b, d int) *fmBatch {
	mk := func(k int) []float32 { return make([]float32, k) }
	return &fmBatch{x0: mk(b * d), z: mk(b * d), x1: mk(b * d), t: mk(b), xt: mk(b * d), target: mk(b * d), v: mk(b * d), dv: mk(b * d)}
}

// fill draws z and t and builds x1, x_t and the target for rows x0 already in place.
func (fb *fmBatch) fill(b, d int, gamma float64, free bool, p interp.Interpolant, td interp.TimeDist, rng *rand.Rand) {
	z := fb.z[:b*d]
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	if free {
		copy(fb.x1[:b*d], z)
	} else {
		interp.OUStep(gamma, fb.x0[:b*d], z, fb.x1[:b*d])
	}
	interp.Fill(td, rng, fb.t[:b])
	interp.Eval(p, fb.t[:b], fb.x0[:b*d], fb.x1[:b*d], b, d, fb.xt[:b*d], fb.target[:b*d])
}

// trainFMBlock runs the flow-matching regression of one LFM block on the
// pool, drawing minibatches from batches; hooks (nil: none) resume and
// checkpoint it; dp (nil: single process) trains it data-parallel.
func trainFMBlock(ctx context.Context, net *nn.MLP[float32], pool []float64, n int, vpool []float64, nv, d int,
	gamma float64, free bool, cfg LFMConfig, rng *rand.Rand, batches *epochBatcher, prog Progress, hooks *blockHooks, dp *dataParallel) (BlockResult, error) {
	br := BlockResult{ValLoss: math.NaN(), BestStep: -1}
	b := cfg.BatchSize
	fb := newFMBatch(b, d)
	op := cfg.newBlockOptim(net.Params())
	br.LossEvery = op.lossEvery

	// Validation: fixed noise and times so that losses are comparable across steps.
	var val *fmValidation
	if nv > 0 {
		val = newFMValidation(vpool, nv, d, gamma, free, cfg, rand.New(rand.NewPCG(cfg.Seed^0x5eed, uint64(nv))))
	}
	validate := func(step int) {
		if val != nil && op.offer(val.loss(net, op.current())) {
			br.BestStep = step
		}
	}

	first, err := hooks.start(op, &br, batches.perm, &batches.pos)
	if err != nil {
		return br, err
	}
	resumeProgress(prog, first)
	for step := first; step < cfg.Iters; step++ {
		if err := ctx.Err(); err != nil {
			return br, hooks.interrupted(op, &br, batches.perm, batches.pos, step, err)
		}
		batches.fill(pool, d, fb.x0, b)
		fb.fill(b, d, gamma, free, cfg.Interpolant, cfg.Time, rng)
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
		if err := hooks.after(op, &br, batches.perm, batches.pos, step, cfg.Iters); err != nil {
			return br, err
		}
	}
	br.Steps = op.stepsDone(first, &br.LossCurve, &br.FinalLoss)
	validate(br.Steps)
	br.ValLoss = op.finish(val != nil)
	return br, nil
}

// fmValidation is a fixed set of flow-matching regression problems drawn from
// the validation pool, evaluated in batches.
type fmValidation struct {
	n, d int
	fb   *fmBatch
	eval *nn.MLP[float32]
}

func newFMValidation(vpool []float64, nv, d int, gamma float64, free bool, cfg LFMConfig, rng *rand.Rand) *fmValidation {
	fb := newFMBatch(nv, d)
	for i, v := range vpool {
		fb.x0[i] = float32(v)
	}
	fb.fill(nv, d, gamma, free, cfg.Interpolant, cfg.Time, rng)
	return &fmValidation{n: nv, d: d, fb: fb}
}

// loss returns the mean flow-matching loss of the network with the given
// parameters on the fixed validation problems.
func (fv *fmValidation) loss(net *nn.MLP[float32], params []float32) float64 {
	if fv.eval == nil {
		fv.eval = net.Clone()
	}
	copy(fv.eval.Params(), params)
	fv.eval.Forward(fv.fb.xt, fv.fb.t, fv.n, fv.fb.v)
	return nn.MSELoss(fv.fb.v, fv.fb.target, nil, fv.n)
}

// pushError wraps the failure of pushing a pool through the trained block k
// (0-based, as the package's other errors count). A solve
// that blows up means the trained velocity field is unstable, which a lower
// learning rate or gradient clipping usually cures, so the message says so.
func pushError(prefix string, k int, pool string, err error) error {
	hint := ""
	if strings.Contains(err.Error(), "blows up") || strings.Contains(err.Error(), "not finite") {
		hint = " (the trained velocity field is unstable: lower the learning rate, e.g. --lr, or clip the gradients, --clip)"
	}
	return fmt.Errorf("%s: block %d: pushing the %s pool: %w%s", prefix, k, pool, err, hint)
}
