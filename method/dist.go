package method

import (
	"context"
	"fmt"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
)

// commKey is the context key of WithComm.
type commKey struct{}

// WithComm returns a copy of ctx that carries the communicator c: TrainLFM
// trains data-parallel over c's ranks when its config sets no Comm of its
// own. It lets a caller that builds the config elsewhere (the pipeline)
// switch on data-parallel training without changing the config. A nil c
// means single-process training.
func WithComm(ctx context.Context, c dist.Comm) context.Context {
	return context.WithValue(ctx, commKey{}, c)
}

// CommFrom returns the communicator carried by ctx (WithComm), or nil.
func CommFrom(ctx context.Context) dist.Comm {
	c, _ := ctx.Value(commKey{}).(dist.Comm)
	return c
}

// dataParallel is the state of data-parallel training over the ranks of a
// communicator (iterflow issue 8): every rank draws the same global batch of
// B rows (the same permutation, noise and times, from the same seed) and
// computes the loss and gradient of its shard of the rows only, scaled by
// 1/B; the all-reduced sums are then the single-process loss and gradient up
// to floating-point summation order, and every rank takes the same Adam
// step. The pool is pushed forward in shards and all-gathered.
type dataParallel struct {
	comm       dist.Comm
	rank, size int
	red        [1]float64
	counts     []int
	shard      []float64
}

// newDataParallel returns the data-parallel state for comm, or nil for
// single-process training (comm nil or of one rank). It returns an error for
// settings data-parallel training does not support.
func newDataParallel(prefix string, comm dist.Comm, o *Optim, ck *Checkpointing) (*dataParallel, error) {
	if comm == nil || comm.Size() <= 1 {
		return nil, nil
	}
	size := comm.Size()
	switch {
	case o.BatchSize < size:
		return nil, fmt.Errorf("%s: data-parallel: batch size %d is smaller than the %d ranks", prefix, o.BatchSize, size)
	case o.BlockSeconds > 0 || !o.Deadline.IsZero():
		return nil, fmt.Errorf("%s: data-parallel: a time budget (block seconds or deadline) would stop the %d ranks at different steps; give a step count", prefix, size)
	case ck != nil:
		return nil, fmt.Errorf("%s: data-parallel: checkpointing is not supported with %d ranks", prefix, size)
	}
	return &dataParallel{comm: comm, rank: comm.Rank(), size: size}, nil
}

// rows returns this rank's rows [lo, hi) of a global batch of b rows.
func (dp *dataParallel) rows(b int) (lo, hi int) { return dist.Shard(b, dp.rank, dp.size) }

// localMSE is nn.MSELoss over this rank's rows of a global batch of b rows:
// it returns the rows' share of the loss, Σ|v − target|²/b, and writes
// ∂L/∂v = 2(v − target)/b into dv, the same expression as the
// single-process loss.
func localMSE(v, target, dv []float32, b int) float64 {
	var s float64
	scale := 2 / float64(b)
	for i, vi := range v {
		e := float64(vi) - float64(target[i])
		s += e * e
		dv[i] = float32(scale * e)
	}
	return s / float64(b)
}

// reduce sums the gradient shares in grad and the loss shares over the
// ranks, in place; it returns the global loss.
func (dp *dataParallel) reduce(grad []float32, loss float64) (float64, error) {
	if err := dp.comm.AllreduceSumFloat32(grad); err != nil {
		return 0, fmt.Errorf("all-reducing the gradient: %w", err)
	}
	dp.red[0] = loss
	if err := dp.comm.AllreduceSumFloat64(dp.red[:]); err != nil {
		return 0, fmt.Errorf("all-reducing the loss: %w", err)
	}
	return dp.red[0], nil
}

// push pushes this rank's shard of the n×d pool through blk and all-gathers
// the shards back into pool on every rank. It returns the NFE of the
// shard's push (the same on every rank for a fixed-step solver).
func (dp *dataParallel) push(ctx context.Context, blk flow.Block, pool []float64, n, d int, opt flow.Options) (int, error) {
	lo, hi := dist.Shard(n, dp.rank, dp.size)
	dp.counts = dist.Counts(n, d, dp.size)
	dp.shard = append(dp.shard[:0], pool[lo*d:hi*d]...)
	nfe := 0
	if hi > lo {
		st, err := blk.Push(ctx, dp.shard, hi-lo, opt)
		if err != nil {
			return 0, err
		}
		nfe = st.NFE
	}
	if err := dp.comm.AllgathervFloat64(dp.shard, dp.counts, pool); err != nil {
		return 0, fmt.Errorf("gathering the pushed pool: %w", err)
	}
	return nfe, nil
}

// step runs the forward and backward pass of this rank's rows of the global
// batch in fb (b rows, filled identically on every rank) and all-reduces
// the gradient into op.grad; it returns the global loss.
func (dp *dataParallel) step(net *nn.MLP[float32], fb *fmBatch, b, d int, op *blockOptim) (float64, error) {
	lo, hi := dp.rows(b)
	bl := hi - lo
	v, dv := fb.v[:bl*d], fb.dv[:bl*d]
	net.Forward(fb.xt[lo*d:hi*d], fb.t[lo:hi], bl, v)
	loss := localMSE(v, fb.target[lo*d:hi*d], dv, b)
	clear(op.grad)
	net.Backward(dv, op.grad, nil)
	return dp.reduce(op.grad, loss)
}
