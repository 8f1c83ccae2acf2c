package flow

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Cloner is an optional interface of velocity fields: CloneField returns an
// independent copy of the field (its own work buffers, the same parameters)
// that may be used on another goroutine while the original is in use. Chains
// solve batches on Options.Workers goroutines only when every block's field
// can be copied: it implements Cloner, or it is an *nn.MLP[float64] (copied
// with Clone) or an *nn.Linear[float64] (holds no buffers, shared as is).
// A field that is already safe for concurrent use may return itself.
type Cloner interface {
	VelocityField
	CloneField() VelocityField
}

// cloneField returns a copy of f for another goroutine, or false when f
// cannot be copied.
func cloneField(f VelocityField) (VelocityField, bool) {
	switch f := f.(type) {
	case Cloner:
		return f.CloneField(), true
	case *nn.MLP[float64]:
		return f.Clone(), true
	case *nn.Linear[float64]:
		return f, true
	}
	return nil, false
}

// DefaultWorkers is the number of batch workers that Options.Workers = 0
// selects: GOMAXPROCS divided by the number of threads each matrix product
// uses (nn.BLASThreads), at least 1, so that workers × BLAS threads does not
// exceed the cores Go may use. In the pure-Go build nn.BLASThreads is
// GOMAXPROCS (gonum's GEMM and nn's activations already split each batch
// across GOMAXPROCS goroutines), so the default is 1 worker; in the OpenBLAS
// build it is 1 with OpenBLAS's default thread count (one per core) and
// GOMAXPROCS with one OpenBLAS thread (nn.SetBLASThreads(1), or `iterflow
// --threads N --blas-threads 1`). docs/scaling.md gives measured splits.
func DefaultWorkers() int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, nn.BLASThreads()))
}

// transport runs the blocks on the n×d rows of x in place, data→latent
// (toLatent, blocks in order) or latent→data (blocks in reverse order), in
// batches of opt.BatchSize rows, on up to opt.Workers goroutines. With ell
// non-nil (length n) it integrates dℓ/dt = div f alongside and adds the
// accumulated ℓ of every row to ell. Solve errors name the block index when
// index is set; when several batches fail, the error is that of the first
// failing batch, whatever the number of workers.
func transport(ctx context.Context, op string, blocks []Block, x []float64, n int, ell []float64, toLatent bool, opt Options, index bool) (Stats, error) {
	d := blocks[0].Field.Dim()
	bs := min(opt.BatchSize, n)
	nb := (n + opt.BatchSize - 1) / opt.BatchSize
	src := &probeSource{rng: opt.Rand, probe: opt.Probe}
	w := min(max(opt.Workers, 1), nb)
	var fields [][]Block
	if w > 1 {
		fields = cloneBlocks(blocks, w)
		if fields == nil {
			w = 1
		}
	}
	batch := func(r *runner, blks []Block, b int) (ode.Stats, error) {
		lo := b * opt.BatchSize
		hi := min(lo+opt.BatchSize, n)
		var ell1 []float64
		if ell != nil {
			ell1 = ell[lo:hi]
		}
		var bst ode.Stats
		for j := range blks {
			k := j
			if !toLatent {
				k = len(blks) - 1 - j
			}
			s, err := r.solve(ctx, blks[k], j, x[lo*d:hi*d], hi-lo, ell1, toLatent)
			bst = bst.Add(s)
			if err != nil {
				if index {
					return bst, fmt.Errorf("flow: %s: block %d: %w", op, k, err)
				}
				return bst, fmt.Errorf("flow: %s: %w", op, err)
			}
		}
		return bst, nil
	}
	st := Stats{Workers: w}
	if w == 1 {
		r := newRunner(d, bs, ell != nil, opt, src, 0)
		for b := 0; b < nb; b++ {
			bst, err := batch(r, blocks, b)
			if err != nil {
				return st, err
			}
			st.addBatch(bst)
		}
		return st, nil
	}

	// Parallel: worker i takes the next batch index; batch b draws its
	// probes (all blocks) when the draws of batches 0 … b−1 are done, so the
	// random stream is consumed as in a sequential run.
	var (
		mu      sync.Mutex
		turn    = sync.NewCond(&mu)
		next    int  // next batch to take
		drawn   int  // batches whose probes are drawn
		failed  = nb // lowest failing batch index
		errs    = make([]error, nb)
		bstats  = make([]ode.Stats, nb)
		wg      sync.WaitGroup
		runners = make([]*runner, w)
	)
	for i := range runners {
		runners[i] = newRunner(d, bs, ell != nil, opt, src, len(blocks))
	}
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func(r *runner, blks []Block) {
			defer wg.Done()
			for {
				mu.Lock()
				b := next
				if b >= nb || b > failed {
					mu.Unlock()
					return
				}
				next++
				if r.stochastic() {
					for drawn != b {
						turn.Wait()
					}
					lo := b * opt.BatchSize
					r.predraw(min(lo+opt.BatchSize, n)-lo, len(blks))
					drawn++
					turn.Broadcast()
				}
				mu.Unlock()
				bst, err := batch(r, blks, b)
				mu.Lock()
				bstats[b], errs[b] = bst, err
				if err != nil && b < failed {
					failed = b
				}
				mu.Unlock()
			}
		}(runners[i], fields[i])
	}
	wg.Wait()
	for b := 0; b < nb; b++ {
		if b == failed {
			return st, errs[b]
		}
		st.addBatch(bstats[b])
	}
	return st, nil
}

// cloneBlocks returns w copies of blocks for w workers: the first is blocks
// itself, the others hold copies of the fields. It returns nil when a field
// cannot be copied.
func cloneBlocks(blocks []Block, w int) [][]Block {
	out := make([][]Block, w)
	out[0] = blocks
	for i := 1; i < w; i++ {
		out[i] = make([]Block, len(blocks))
		for k, b := range blocks {
			f, ok := cloneField(b.Field)
			if !ok {
				return nil
			}
			out[i][k] = Block{Field: f, Reverse: b.Reverse}
		}
	}
	return out
}
