package method

import "math/rand/v2"

// pairAhead splits drawing a flow-matching batch from re-pairing it, so that
// trainFM can solve the next batch's exact assignment on another goroutine
// while the current step's forward pass, backward pass and Adam update run.
// draw writes the batch's rows and draws every random number of the batch
// (data rows, source draws, the OT blocks' seed) from the step's stream, at
// the point of the stream where pairs draws them; pair re-pairs the rows and
// draws nothing, so it may run concurrently. pcg is the source of the step's
// stream: trainFM saves it before drawing ahead, so that a checkpoint, an
// interrupt or an early stop records (or returns to) the state before the
// batch drawn ahead, as if it had not been drawn. Results are bitwise the
// same as with pairs.
type pairAhead struct {
	pcg  *rand.PCG
	draw func(x0, x1 []float32, rng *rand.Rand) (seed uint64, err error)
	pair func(x0, x1 []float32, seed uint64) error
}

// aheadRun is the state of pairing ahead in one trainFM loop: the buffers of
// the batch drawn ahead, its solve, and the state of the stream and of the
// epoch permutation before it was drawn. The methods of a nil *aheadRun (no
// pairAhead) do nothing.
type aheadRun struct {
	p        *pairAhead
	b        int
	x0, x1   []float32 // the batch drawn ahead (b×d each)
	done     chan error
	busy     bool  // a batch is drawn ahead
	launched bool  // and its solve is running (else err holds the draw's error)
	err      error // the draw's error
	perm     []int // the live epoch permutation and position
	pos      *int

	savedPCG  rand.PCG // the state before the batch drawn ahead
	savedPos  int
	savedPerm []int
	permSaved bool // the draw wrapped the epoch: savedPerm holds perm before it
}

// start returns the loop state for batches of b rows of dimension d, with
// the epoch permutation perm and position pos that draw advances; nil for a
// nil pairAhead.
func (p *pairAhead) start(b, d int, perm []int, pos *int) *aheadRun {
	if p == nil {
		return nil
	}
	return &aheadRun{p: p, b: b, x0: make([]float32, b*d), x1: make([]float32, b*d),
		done: make(chan error, 1), perm: perm, pos: pos}
}

// pending reports whether a batch is drawn ahead.
func (r *aheadRun) pending() bool { return r != nil && r.busy }

// next saves the state, draws the next batch from rng and starts its solve.
// A failed draw is reported by take, at the step that would have drawn it.
func (r *aheadRun) next(rng *rand.Rand) error {
	if r == nil {
		return nil
	}
	r.savedPCG = *r.p.pcg
	r.savedPos = *r.pos
	r.permSaved = *r.pos+r.b > len(r.perm) // the draw reshuffles perm in place
	if r.permSaved {
		r.savedPerm = append(r.savedPerm[:0], r.perm...)
	}
	r.busy = true
	seed, err := r.p.draw(r.x0, r.x1, rng)
	if err != nil {
		r.err = err
		return nil
	}
	r.launched = true
	x0, x1 := r.x0, r.x1
	go func() { r.done <- r.p.pair(x0, x1, seed) }()
	return nil
}

// take waits for the batch drawn ahead and swaps it into fb (its x0 and x1
// become the next batch's buffers); it returns the draw's or the solve's
// error.
func (r *aheadRun) take(fb *fmBatch) error {
	r.busy = false
	if !r.launched {
		err := r.err
		r.err = nil
		return err
	}
	r.launched = false
	err := <-r.done
	fb.x0, r.x0 = r.x0, fb.x0
	fb.x1, r.x1 = r.x1, fb.x1
	return err
}

// discard drops a batch drawn ahead (waiting for its solve) and returns the
// stream, the position and the permutation to their state before it.
func (r *aheadRun) discard() {
	if r == nil || !r.busy {
		return
	}
	if r.launched {
		<-r.done
		r.launched = false
	}
	r.busy, r.err = false, nil
	*r.p.pcg = r.savedPCG
	*r.pos = r.savedPos
	if r.permSaved {
		copy(r.perm, r.savedPerm)
	}
}

// before calls f with the epoch permutation and position, and the stream,
// as they were before the batch drawn ahead (the live ones when none is):
// the state after the current step, which a checkpoint records.
func (r *aheadRun) before(perm []int, pos int, f func(perm []int, pos int) error) error {
	if r == nil || !r.busy {
		return f(perm, pos)
	}
	live := *r.p.pcg
	*r.p.pcg = r.savedPCG
	defer func() { *r.p.pcg = live }()
	if r.permSaved {
		perm = r.savedPerm
	}
	return f(perm, r.savedPos)
}
