package method

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// commKey is the context key of WithComm.
type commKey struct{}

// WithComm returns a copy of ctx that carries the communicator c: TrainLFM,
// TrainFM and Reflow train data-parallel over c's ranks when their config
// sets no Comm of its own. It lets a caller that builds the config elsewhere (the pipeline)
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
	return dp.sharded(pool, n, d, func(x []float64, m int) (int, error) {
		st, err := blk.Push(ctx, x, m, opt)
		return st.NFE, err
	})
}

// sharded applies f in place to this rank's shard of the n×d rows of x
// (f gets the shard's m rows; it is not called for an empty shard) and
// all-gathers the shards back into x on every rank. It returns f's count
// (an NFE).
func (dp *dataParallel) sharded(x []float64, n, d int, f func(x []float64, m int) (int, error)) (int, error) {
	lo, hi := dist.Shard(n, dp.rank, dp.size)
	dp.counts = dist.Counts(n, d, dp.size)
	dp.shard = append(dp.shard[:0], x[lo*d:hi*d]...)
	nfe := 0
	if hi > lo {
		var err error
		if nfe, err = f(dp.shard, hi-lo); err != nil {
			return 0, err
		}
	}
	if err := dp.comm.AllgathervFloat64(dp.shard, dp.counts, x); err != nil {
		return 0, fmt.Errorf("gathering the pushed rows: %w", err)
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

// lossStep runs one step's forward pass, loss and backward pass (into
// op.grad, cleared first) on the batch fb of b rows: over this rank's rows
// with the gradient sums all-reduced when training data-parallel (dp
// non-nil), over all b rows in a single process (dp nil). It returns the
// loss of the whole batch.
func (dp *dataParallel) lossStep(net *nn.MLP[float32], fb *fmBatch, b, d int, op *blockOptim) (float64, error) {
	if dp != nil {
		return dp.step(net, fb, b, d, op)
	}
	net.Forward(fb.xt, fb.t, b, fb.v)
	loss := nn.MSELoss(fb.v, fb.target, fb.dv, b)
	clear(op.grad)
	net.Backward(fb.dv, op.grad, nil)
	return loss, nil
}

// OTBatch says which rows a minibatch optimal-transport coupling (OT-CFM,
// arXiv 2302.00482 §3.2; interp.ExactOT or interp.SinkhornOT) pairs when
// flow matching trains data-parallel over several ranks (iterflow issue 8).
// It changes nothing for independent pairs or a single process.
type OTBatch int

const (
	// OTGlobal computes the plan on the whole global batch of B rows. Every
	// rank holds the identical global batch and random state, so every rank
	// solves the same assignment (or draws the same Sinkhorn partners)
	// itself, deterministically and with no communication, then trains on
	// its rows of the re-paired batch: the update equals the single-process
	// one up to floating-point summation order. Each rank pays the whole
	// B×B assignment.
	OTGlobal OTBatch = iota
	// OTLocal pairs each rank's B/size rows among themselves: size smaller
	// assignments, one per rank, so the pairing costs about 1/size² of the
	// global one per rank (exact assignment is superlinear in B), but the plan
	// is that of batches of B/size rows, not the single-process one.
	// FMConfig.OTBlocks reproduces it in one process.
	OTLocal
)

// String returns "global" or "local", or "OTBatch(k)" for an unknown value.
func (o OTBatch) String() string {
	switch o {
	case OTGlobal:
		return "global"
	case OTLocal:
		return "local"
	}
	return fmt.Sprintf("OTBatch(%d)", int(o))
}

// ParseOTBatch returns the OTBatch named s ("global" or "local"), or an
// error naming the unknown value: `unknown OT batch "x" (want global or
// local)`.
func ParseOTBatch(s string) (OTBatch, error) {
	switch s {
	case "global":
		return OTGlobal, nil
	case "local":
		return OTLocal, nil
	}
	return 0, fmt.Errorf("unknown OT batch %q (want global or local)", s)
}

// blockPairing re-pairs a flow-matching minibatch of b rows. With one block
// the pairer sees the whole batch and draws from the step's random source.
// With blocks > 1 the batch is paired in contiguous blocks of rows, the
// shards dist.Shard(b, k, blocks) that ranks of a data-parallel run own:
// every step draws one seed from the step's source (the same on every rank),
// and block k pairs with its own stream PCG(seed, k), so a block's pairing
// does not depend on which process pairs it. A rank of an OTLocal run pairs
// only its own block (only ≥ 0); a single process with FMConfig.OTBlocks
// pairs all of them (only = −1) and reproduces the data-parallel batch.
type blockPairing struct {
	pr     pairer
	blocks int
	only   int
	pcg    *rand.PCG
	rng    *rand.Rand
}

// newBlockPairing returns the pairing of pr in blocks blocks (see
// blockPairing); pr nil (independent pairs) gives nil.
func newBlockPairing(pr pairer, blocks, only int) *blockPairing {
	if pr == nil {
		return nil
	}
	bp := &blockPairing{pr: pr, blocks: max(blocks, 1), only: only}
	if bp.blocks > 1 {
		bp.pcg = rand.NewPCG(0, 0)
		bp.rng = rand.New(bp.pcg)
	}
	return bp
}

// pair re-pairs the b rows of x1 with those of x0 (d columns) in place.
func (bp *blockPairing) pair(x0, x1 []float32, b, d int, rng *rand.Rand) error {
	return bp.pairSeeded(x0, x1, b, d, bp.drawSeed(rng), rng)
}

// drawSeed draws the seed of the blocks' streams from rng (nothing with one
// block, which pairs from rng itself).
func (bp *blockPairing) drawSeed(rng *rand.Rand) uint64 {
	if bp.blocks == 1 {
		return 0
	}
	return rng.Uint64()
}

// pairSeeded is pair with the blocks' seed already drawn (drawSeed); rng is
// used only with one block, by a pairer that draws (it may be nil for the
// exact assignment).
func (bp *blockPairing) pairSeeded(x0, x1 []float32, b, d int, seed uint64, rng *rand.Rand) error {
	if bp.blocks == 1 {
		return bp.pr.PairF32(x0, x1, b, b, d, nil, rng)
	}
	for k := 0; k < bp.blocks; k++ {
		if bp.only >= 0 && k != bp.only {
			continue
		}
		lo, hi := dist.Shard(b, k, bp.blocks)
		if hi == lo {
			continue
		}
		bp.pcg.Seed(seed, uint64(k))
		if err := bp.pr.PairF32(x0[lo*d:hi*d], x1[lo*d:hi*d], hi-lo, hi-lo, d, nil, bp.rng); err != nil {
			return fmt.Errorf("block %d of %d (rows %d to %d): %w", k, bp.blocks, lo, hi-1, err)
		}
	}
	return nil
}

// poolPushBatch is the number of rows per solve of the pool pushes between
// blocks (LFM, JKO-iFlow, Reflow's pairs). It is fixed, not derived from the
// number of workers, so that the batches, and with them the pushed pools,
// are bitwise the same whatever the number of workers.
const poolPushBatch = 1024

// pushWorkersKey is the context key of WithPushWorkers.
type pushWorkersKey struct{}

// WithPushWorkers returns a copy of ctx that makes the trainers push their
// training and validation pools through each finished block on w worker
// goroutines (flow.Options.Workers; batches of 1024 rows). w ≤ 0, like a
// context without it, selects flow.DefaultWorkers() (GOMAXPROCS divided by
// the BLAS threads: the CLI's --threads/--blas-threads). The pushed pools,
// and so the trained models, are bitwise the same for every w.
func WithPushWorkers(ctx context.Context, w int) context.Context {
	return context.WithValue(ctx, pushWorkersKey{}, w)
}

// pushOptions returns the flow options of a pool push with solver: batches
// of poolPushBatch rows on the workers of ctx (WithPushWorkers) or
// flow.DefaultWorkers().
func pushOptions(ctx context.Context, solver ode.Options) flow.Options {
	w, _ := ctx.Value(pushWorkersKey{}).(int)
	if w <= 0 {
		w = flow.DefaultWorkers()
	}
	return flow.Options{Solver: solver, BatchSize: poolPushBatch, Workers: w}
}
