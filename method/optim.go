package method

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/nn"
)

// Optim holds the optimizer settings shared by the block-wise trainers: it is
// embedded in LFMConfig, JKOConfig and FMConfig, so that its fields read as
// theirs (cfg.Iters, cfg.LR, …). Each block is trained from scratch by Adam
// (β1 = 0.9, β2 = 0.999, ε = 1e-8, optional decoupled weight decay) with a
// step-decay learning-rate schedule, optional gradient clipping and an
// optional exponential moving average of the weights; the optimizer state and
// the schedule restart for every block (and every pass of TrainJKO).
type Optim struct {
	// Iters is the number of optimizer steps per block (per run for TrainFM,
	// Reflow and Distill); at least 1.
	Iters int
	// BatchSize is the number of training rows per step, drawn without
	// replacement from a permutation of the pool that is reshuffled after
	// each epoch; at least 1.
	BatchSize int
	// LR is Adam's initial learning rate, positive and finite.
	LR float64
	// LRDecay multiplies the learning rate every LRDecayEvery steps (PyTorch
	// StepLR: the rate of 0-based step s is LR·LRDecay^⌊s/LRDecayEvery⌋). It
	// must be in (0, 1] when LRDecayEvery > 0 and is ignored otherwise.
	LRDecay float64
	// LRDecayEvery is the decay period of the learning rate in steps; 0 (or
	// less) keeps the rate at LR.
	LRDecayEvery int
	// Clip is the threshold of gradient-norm clipping: the gradient of a step
	// is rescaled to L2 norm Clip when its norm (over all parameters) exceeds
	// it (torch.nn.utils.clip_grad_norm_). 0 disables clipping; it must not
	// be negative.
	Clip float64
	// WeightDecay is Adam's decoupled weight-decay rate λ (AdamW, Loshchilov
	// & Hutter, arXiv:1711.05101; PyTorch torch.optim.AdamW semantics): each
	// step first multiplies every parameter by 1 − lr·λ, with lr the
	// learning rate of that step (after the StepLR decay), then applies the
	// Adam update of the (clipped) gradient; the decay is not part of the
	// gradient, so it is neither clipped nor rescaled by Adam's moments. λ
	// is in units of 1/LR: lr·λ is the fraction of every weight removed per
	// step. 0 (the default) disables it and leaves every result bitwise
	// unchanged. It must be finite and non-negative, with LR·λ < 1 so that
	// the factor 1 − lr·λ stays positive.
	WeightDecay float64
	// EMA is the decay, in [0, 1), of an exponential moving average of the
	// weights, updated after every step; the average is used for validation
	// and becomes the block's final weights. It warms up (nn.EMA.Warmup: the
	// decay of update k is min(EMA, (1 + k)/(10 + k))) so that short runs are
	// not dominated by the initial weights. 0 disables it.
	EMA float64
	// WarmStart initializes each block with the trained weights of the
	// previous block instead of a fresh initialization (TrainLFM, and the
	// first pass of TrainJKO; later JKO passes always start from the block
	// they retrain). TrainFM trains one block and ignores it; Reflow always
	// starts from the previous model.
	WarmStart bool
	// ValEvery evaluates the validation loss (on problems drawn once, so that
	// the values are comparable) every ValEvery steps and after the last step,
	// and keeps the weights with the lowest value; 0 validates only after the
	// last step. Without validation data the last (or EMA) weights are kept.
	// It must not be negative.
	ValEvery int
	// LossEvery is the number of steps averaged into one point of the
	// training-loss curve (the last point may average fewer). 0 selects the
	// trainer's default: 50 for TrainJKO; min(50, Iters/20) but at least 1,
	// about 20 points for short runs, for the flow-matching trainers. It must
	// not be negative.
	LossEvery int
	// Seed seeds every random draw of training (initialization, batches,
	// noise, times, probes and the validation problems).
	Seed uint64
	// BlockSeconds is a wall-clock budget per block in seconds: a block stops
	// training after the first step that ends past it (0: no budget, Iters
	// steps). Used to compare methods at equal training time; a run with a
	// budget is not bitwise reproducible.
	BlockSeconds float64
	// Deadline is a wall-clock deadline for the whole training run (zero:
	// none). Each block gets the time left divided by the blocks left
	// (including the push-forward of the pool and the validation checks of
	// the blocks before it), or BlockSeconds if that is smaller. Like
	// BlockSeconds it makes a run not bitwise reproducible.
	Deadline time.Time
}

// forBlock returns o with BlockSeconds set to block k's share (of total
// blocks) of the time left before o.Deadline; o itself when there is no
// deadline.
func (o Optim) forBlock(k, total int) Optim {
	if o.Deadline.IsZero() {
		return o
	}
	left := max(1, total-k)
	share := time.Until(o.Deadline).Seconds() / float64(left)
	share = max(share, 1e-3) // a block past the deadline still takes one step
	if o.BlockSeconds == 0 || share < o.BlockSeconds {
		o.BlockSeconds = share
	}
	return o
}

// validate checks the settings; errors start with prefix (the method name,
// e.g. "lfm") and name the field.
func (o *Optim) validate(prefix string) error {
	switch {
	case o.Iters < 1:
		return fmt.Errorf("%s: iters must be at least 1, got %d", prefix, o.Iters)
	case o.BatchSize < 1:
		return fmt.Errorf("%s: batch size must be at least 1, got %d", prefix, o.BatchSize)
	case !finitePos(o.LR):
		return fmt.Errorf("%s: learning rate must be positive and finite, got %g", prefix, o.LR)
	case o.LRDecayEvery > 0 && !(o.LRDecay > 0 && o.LRDecay <= 1):
		return fmt.Errorf("%s: lr decay must be in (0, 1], got %g", prefix, o.LRDecay)
	case !(o.Clip >= 0):
		return fmt.Errorf("%s: clip must be non-negative, got %g", prefix, o.Clip)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 1):
		return fmt.Errorf("%s: weight decay must be finite and >= 0, got %g", prefix, o.WeightDecay)
	case !(o.LR*o.WeightDecay < 1):
		return fmt.Errorf("%s: weight decay must be below 1/lr = %g (each step multiplies the weights by 1 − lr·λ), got %g", prefix, 1/o.LR, o.WeightDecay)
	case !(o.EMA >= 0 && o.EMA < 1):
		return fmt.Errorf("%s: ema must be in [0, 1), got %g", prefix, o.EMA)
	case o.ValEvery < 0:
		return fmt.Errorf("%s: val-every must be non-negative, got %d", prefix, o.ValEvery)
	case o.BlockSeconds < 0 || math.IsNaN(o.BlockSeconds):
		return fmt.Errorf("%s: block-seconds must be non-negative (0: no budget), got %g", prefix, o.BlockSeconds)
	case o.LossEvery < 0:
		return fmt.Errorf("%s: loss-every must be non-negative, got %d", prefix, o.LossEvery)
	}
	return nil
}

// finitePos reports whether v is positive and finite.
func finitePos(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// blockOptim is the optimizer state of one block's training: Adam with the
// StepLR schedule, gradient clipping, the optional EMA of the weights (with
// warm-up), the best weights seen by validation and the loss curve.
type blockOptim struct {
	// params are the trained parameters (the network's own slice) and grad
	// the gradient buffer that the caller fills before each step.
	params, grad []float32
	adam         *nn.Adam[float32]
	sched        nn.StepLR
	clip         float64
	ema          *nn.EMA[float32]

	best     []float32
	bestLoss float64

	lossEvery int
	iters     int
	valEvery  int
	acc       float64
	cnt       int
	deadline  time.Time
	// done is the number of steps completed (the 0-based step + 1 of the
	// last endStep); a time budget can stop a block before iters.
	done int
}

// newBlockOptim returns the optimizer state for params at the start of a
// block; the best weights start as a copy of params.
func (o *Optim) newBlockOptim(params []float32) *blockOptim {
	op := &blockOptim{
		params:    params,
		grad:      make([]float32, len(params)),
		adam:      nn.NewAdam[float32](len(params), o.LR),
		sched:     nn.StepLR{Base: o.LR, Gamma: o.LRDecay, Every: o.LRDecayEvery},
		clip:      o.Clip,
		best:      append([]float32(nil), params...),
		bestLoss:  math.Inf(1),
		lossEvery: lossEveryFor(o.LossEvery, o.Iters),
		iters:     o.Iters,
		valEvery:  o.ValEvery,
	}
	op.adam.WeightDecay = o.WeightDecay
	if o.EMA > 0 {
		op.ema = nn.NewEMA(params, o.EMA)
		op.ema.Warmup = true
	}
	if o.BlockSeconds > 0 {
		op.deadline = time.Now().Add(time.Duration(o.BlockSeconds * float64(time.Second)))
	}
	return op
}

// expired reports whether the block's time budget (Optim.BlockSeconds) is
// spent.
func (op *blockOptim) expired() bool {
	return !op.deadline.IsZero() && time.Now().After(op.deadline)
}

// step clips the gradient in grad, applies the Adam update (with the decoupled
// weight decay, if any) with the learning rate of the 0-based step and updates
// the EMA.
func (op *blockOptim) step(step int) {
	if op.clip > 0 {
		nn.ClipGradNorm(op.grad, op.clip)
	}
	op.adam.LR = op.sched.At(step)
	op.adam.Step(op.params, op.grad)
	if op.ema != nil {
		op.ema.Update(op.params)
	}
}

// current returns the weights to validate: the EMA average if any, else the
// parameters.
func (op *blockOptim) current() []float32 {
	if op.ema != nil {
		return op.ema.Shadow
	}
	return op.params
}

// offer records the validation loss of the current weights and keeps them if
// it is the lowest so far; it reports whether they were kept.
func (op *blockOptim) offer(loss float64) bool {
	if loss < op.bestLoss {
		op.bestLoss = loss
		copy(op.best, op.current())
		return true
	}
	return false
}

// record adds the training loss of the 0-based step to the running mean; at
// the end of a curve point (every lossEvery steps and at the last step) it
// returns the point's mean and true and starts the next point.
func (op *blockOptim) record(step int, loss float64) (float64, bool) {
	op.acc += loss
	op.cnt++
	if op.cnt == op.lossEvery || step == op.iters-1 {
		m := op.acc / float64(op.cnt)
		op.acc, op.cnt = 0, 0
		return m, true
	}
	return 0, false
}

// stepsDone returns the steps the block has completed, at least first (a
// resumed block starts there), and closes the loss curve: the losses of a
// last window shorter than lossEvery (a time budget stopped the block) make
// its final point, so *last is the mean loss of the last steps taken.
func (op *blockOptim) stepsDone(first int, curve *[]float64, last *float64) int {
	if op.cnt > 0 {
		m := op.acc / float64(op.cnt)
		op.acc, op.cnt = 0, 0
		*curve = append(*curve, m)
		*last = m
	}
	return max(op.done, first)
}

// finish leaves the kept weights in params: the best validated ones when
// validated, else the EMA average if any, else the last ones. It returns the
// lowest validation loss, or NaN when not validated.
func (op *blockOptim) finish(validated bool) float64 {
	switch {
	case validated:
		copy(op.params, op.best)
		return op.bestLoss
	case op.ema != nil:
		copy(op.params, op.ema.Shadow)
	}
	return math.NaN()
}

// lossEveryFor returns the number of steps per loss-curve point: the
// configured value, or 50, or fewer for short runs (about 20 points).
func lossEveryFor(configured, iters int) int {
	if configured > 0 {
		return configured
	}
	return max(1, min(50, iters/20))
}

// checkLoss returns an error naming the step when the loss is NaN or ±Inf:
// training stops at the first non-finite loss.
func checkLoss(step int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("step %d: loss is %g (try a lower learning rate or stronger clipping)", step, loss)
	}
	return nil
}

// endStep finishes the 0-based step after its update: it reports the loss to
// prog, extends the loss curve (*curve, with *last its newest point), runs
// validate(step+1) when an intermediate validation is due, and reports
// whether the block's time budget is spent (stop).
func (op *blockOptim) endStep(step int, loss float64, prog Progress, curve *[]float64, last *float64, validate func(step int) error) (stop bool, err error) {
	op.done = step + 1
	prog.Step(loss)
	if m, ok := op.record(step, loss); ok {
		*curve = append(*curve, m)
		*last = m
	}
	if op.valEvery > 0 && (step+1)%op.valEvery == 0 && step != op.iters-1 {
		if err := validate(step + 1); err != nil {
			return true, err
		}
	}
	return op.expired(), nil
}

// epochBatcher draws minibatch rows of an n-row pool without replacement
// within an epoch: a fresh random permutation per pass over the pool.
type epochBatcher struct {
	n    int
	perm []int
	pos  int
	rng  *rand.Rand
}

func newEpochBatcher(n int, rng *rand.Rand) *epochBatcher {
	return &epochBatcher{n: n, perm: rng.Perm(n), rng: rng}
}

// fill copies the next b rows of pool (n×d) into dst (b×d, float32).
func (e *epochBatcher) fill(pool []float64, d int, dst []float32, b int) {
	for i := 0; i < b; i++ {
		if e.pos == e.n {
			e.rng.Shuffle(e.n, func(a, c int) { e.perm[a], e.perm[c] = e.perm[c], e.perm[a] })
			e.pos = 0
		}
		r := e.perm[e.pos]
		toF32(dst[i*d:(i+1)*d], pool[r*d:(r+1)*d])
		e.pos++
	}
}

// checkData checks the shapes of a trainer's training (n×d) and validation
// (nv×d, possibly empty) matrices; errors start with prefix.
func checkData(prefix string, x []float64, n int, val []float64, nv, d int) error {
	if n < 1 || d < 1 || len(x) != n*d {
		return fmt.Errorf("%s: training data has %d values, want n×d = %d×%d", prefix, len(x), n, d)
	}
	if nv < 0 || len(val) != nv*d {
		return fmt.Errorf("%s: validation data has %d values, want %d×%d", prefix, len(val), nv, d)
	}
	return nil
}
