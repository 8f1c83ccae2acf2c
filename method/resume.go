package method

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Checkpointing makes a flow-matching trainer (TrainLFM, TrainFM) resumable:
// it hands its complete state to Save at step boundaries, and continues from
// Resume instead of starting afresh. A run resumed from a state saved after
// step s continues exactly as if it had never stopped: the weights are
// bitwise equal to those of an uninterrupted run with the same settings, on
// the same machine and thread count (the random streams, Adam moments, EMA,
// kept weights, loss curve and minibatch permutation are all in the state).
type Checkpointing struct {
	// Every saves a state after every Every-th step of a block (counted
	// within the block); 0 saves only at block boundaries.
	Every int
	// Save receives the state; it must not keep the slices (they are reused
	// by training). Save is called at the start of training, after every
	// Every-th step, at each block boundary (after the block's pool push) and,
	// when ctx is cancelled, at the step boundary where training stops. An
	// error from Save stops training.
	Save func(st *TrainState) error
	// Resume, when not nil, is the state to continue from (as passed to Save
	// by an earlier run with the same settings and data).
	Resume *TrainState
	// LRScale multiplies the learning rate of every step trained from now on
	// (1 or 0: unchanged); used to roll back a diverged run with a lower rate.
	LRScale float64
}

// TrainState is the complete state of a flow-matching trainer at a step
// boundary: the finished blocks and, mid-block, the block in progress.
type TrainState struct {
	// Block is the number of finished blocks (the 0-based index of the block
	// in progress); Step the number of steps done in that block (0 at a block
	// boundary, where Current is nil).
	Block, Step int
	// RNG is the training random stream (math/rand/v2 PCG, MarshalBinary).
	RNG []byte
	// Nets holds the parameters of the finished blocks and Blocks their
	// results.
	Nets   [][]float32
	Blocks []BlockResult
	// Current is the block in progress (nil at a block boundary).
	Current *BlockState
}

// BlockState is the state of one block's training after Step steps: the
// parameters, Adam's moments and step count, the EMA average, the kept
// (best validated) weights, the running loss-curve point and the minibatch
// permutation. Every slice has the network's NumParams entries except Perm
// (the pool size) and LossCurve.
type BlockState struct {
	Step                 int
	Params, AdamM, AdamV []float32
	AdamSteps            int
	EMA                  []float32
	EMAUpdates           int
	Best                 []float32
	BestLoss             float64
	BestStep             int
	Acc                  float64
	Cnt                  int
	LossCurve            []float64
	FinalLoss            float64
	Perm                 []int
	Pos                  int
	// Seconds is the wall-clock time spent in the block up to this state,
	// summed over the processes of a resumed run (0 in states saved before
	// it was recorded).
	Seconds float64
}

// DivergedError reports the first non-finite training loss: block (0-based)
// and 0-based step. errors.As finds it in the error chains of TrainLFM,
// TrainFM and the other trainers that name a block.
type DivergedError struct {
	Block, Step int
	Loss        float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("block %d, step %d: loss is %g", e.Block, e.Step, e.Loss)
}

// Interrupted reports that training stopped because its context was
// cancelled, after Step steps of block Block (both 0-based counts) and after
// the state was handed to Checkpointing.Save. It unwraps to the context's
// error, so errors.Is(err, context.Canceled) holds.
type Interrupted struct {
	Block, Step int
	Err         error
}

func (e *Interrupted) Error() string {
	return fmt.Sprintf("interrupted at block %d, step %d: %v", e.Block, e.Step, e.Err)
}

// Unwrap returns the context's error.
func (e *Interrupted) Unwrap() error { return e.Err }

// checkLossAt is checkLoss with the block named, as a *DivergedError.
func checkLossAt(block, step int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return &DivergedError{Block: block, Step: step, Loss: loss}
	}
	return nil
}

// lrScale returns the effective learning-rate factor of ck (1 without one).
func (ck *Checkpointing) lrScale() float64 {
	if ck == nil || ck.LRScale == 0 {
		return 1
	}
	return ck.LRScale
}

// saveEvery reports whether the state after step (0-based) must be saved.
func (ck *Checkpointing) saveEvery(step int) bool {
	return ck != nil && ck.Save != nil && ck.Every > 0 && (step+1)%ck.Every == 0
}

// save hands st to ck.Save (when configured).
func (ck *Checkpointing) save(st *TrainState) error {
	if ck == nil || ck.Save == nil {
		return nil
	}
	if err := ck.Save(st); err != nil {
		return fmt.Errorf("checkpoint at block %d, step %d: %w", st.Block, st.Step, err)
	}
	return nil
}

// marshalRNG returns the state of the PCG stream.
func marshalRNG(p *rand.PCG) []byte {
	b, _ := p.MarshalBinary() // PCG's MarshalBinary never fails
	return b
}

// snapshot writes the block's state after step steps into bs (reusing its
// slices).
func (op *blockOptim) snapshot(bs *BlockState, step int, br *BlockResult, perm []int, pos int) {
	m, v, n := op.adam.State()
	bs.Step = step
	bs.Params = append(bs.Params[:0], op.params...)
	bs.AdamM = append(bs.AdamM[:0], m...)
	bs.AdamV = append(bs.AdamV[:0], v...)
	bs.AdamSteps = n
	bs.EMA, bs.EMAUpdates = bs.EMA[:0], 0
	if op.ema != nil {
		bs.EMA = append(bs.EMA, op.ema.Shadow...)
		bs.EMAUpdates = op.ema.Updates
	}
	bs.Best = append(bs.Best[:0], op.best...)
	bs.BestLoss, bs.BestStep = op.bestLoss, br.BestStep
	bs.Acc, bs.Cnt = op.acc, op.cnt
	bs.LossCurve = append(bs.LossCurve[:0], br.LossCurve...)
	bs.FinalLoss = br.FinalLoss
	bs.Perm = append(bs.Perm[:0], perm...)
	bs.Pos = pos
}

// restore sets the optimizer, the block result and the permutation from bs.
func (op *blockOptim) restore(bs *BlockState, br *BlockResult, perm []int) (pos int, err error) {
	np := len(op.params)
	switch {
	case len(bs.Params) != np || len(bs.Best) != np:
		return 0, fmt.Errorf("resume: the saved block has %d parameters, the network %d", len(bs.Params), np)
	case len(bs.Perm) != len(perm) || bs.Pos < 0 || bs.Pos > len(perm):
		return 0, fmt.Errorf("resume: the saved minibatch permutation covers %d rows, the pool has %d", len(bs.Perm), len(perm))
	case (op.ema != nil) != (len(bs.EMA) > 0):
		return 0, errors.New("resume: the saved block and the settings disagree on the EMA")
	}
	if err := op.adam.SetState(bs.AdamM, bs.AdamV, bs.AdamSteps); err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	copy(op.params, bs.Params)
	if op.ema != nil {
		copy(op.ema.Shadow, bs.EMA)
		op.ema.Updates = bs.EMAUpdates
	}
	copy(op.best, bs.Best)
	op.bestLoss = bs.BestLoss
	op.acc, op.cnt = bs.Acc, bs.Cnt
	br.BestStep = bs.BestStep
	br.LossCurve = append([]float64(nil), bs.LossCurve...)
	br.FinalLoss = bs.FinalLoss
	copy(perm, bs.Perm)
	return bs.Pos, nil
}

// blockHooks connects one block's step loop to checkpointing: the state to
// resume from and the save of the state at a step boundary.
type blockHooks struct {
	ck     *Checkpointing
	block  int
	resume *BlockState
	// state returns the trainer's state with cur as the block in progress
	// after step steps.
	state func(cur *BlockState, step int) *TrainState
	bs    BlockState
	// began is when this process started the block, earlier the block's
	// seconds in earlier processes (from the resume state).
	began   time.Time
	earlier float64
}

// seconds returns the block's wall-clock seconds so far, over every process
// of a resumed run.
func (h *blockHooks) seconds() float64 {
	return h.earlier + time.Since(h.began).Seconds()
}

// start restores the block from the resume state (if any) and returns the
// first step to run.
func (h *blockHooks) start(op *blockOptim, br *BlockResult, perm []int, pos *int) (int, error) {
	if h == nil || h.resume == nil {
		return 0, nil
	}
	p, err := op.restore(h.resume, br, perm)
	if err != nil {
		return 0, err
	}
	*pos = p
	h.earlier = h.resume.Seconds
	return h.resume.Step, nil
}

// saveAt saves the state after step steps of the block.
func (h *blockHooks) saveAt(op *blockOptim, br *BlockResult, perm []int, pos, step int) error {
	if h == nil || h.ck == nil || h.ck.Save == nil {
		return nil
	}
	op.snapshot(&h.bs, step, br, perm, pos)
	h.bs.Seconds = h.seconds()
	return h.ck.save(h.state(&h.bs, step))
}

// interrupted saves the state after step steps and returns the
// *Interrupted error for the context error err.
func (h *blockHooks) interrupted(op *blockOptim, br *BlockResult, perm []int, pos, step int, err error) error {
	if h == nil {
		return err
	}
	if serr := h.saveAt(op, br, perm, pos, step); serr != nil {
		return errors.Join(err, serr)
	}
	return &Interrupted{Block: h.block, Step: step, Err: err}
}

// diverged returns the error of a non-finite loss at the 0-based step.
func (h *blockHooks) diverged(step int, loss float64) error {
	if h == nil {
		return checkLoss(step, loss)
	}
	return checkLossAt(h.block, step, loss)
}

// after saves the state after the 0-based step when one is due (not after
// the block's last step: the block boundary is saved by the trainer).
func (h *blockHooks) after(op *blockOptim, br *BlockResult, perm []int, pos, step, iters int) error {
	if h == nil || !h.ck.saveEvery(step) || step == iters-1 {
		return nil
	}
	return h.saveAt(op, br, perm, pos, step+1)
}
