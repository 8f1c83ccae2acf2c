package flow

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// mlpChain returns a chain of two small float64 MLP blocks (cloned per
// worker by Clone), the second reversed.
func mlpChain(t *testing.T, d int) *Chain {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 7))
	var blocks []Block
	for k := 0; k < 2; k++ {
		m, err := nn.NewMLP[float64](nn.Spec{Dim: d, Hidden: []int{16, 16}, Act: nn.Softplus, TimeInput: true}, rng)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, Block{Field: m, Reverse: k == 1})
	}
	return &Chain{Blocks: blocks}
}

// TestWorkersBitwiseIdentical checks that every chain and block operation
// gives bitwise the same rows, log-densities and solver counts for 1, 2 and 4
// workers, including the stochastic trace estimators (whose probes are drawn
// in batch order) and adaptive dopri5 (steps chosen per batch).
func TestWorkersBitwiseIdentical(t *testing.T) {
	const n, d, bs = 53, 3, 7 // 8 batches, the last one short
	ch := mlpChain(t, d)
	x := randRows(rand.New(rand.NewPCG(2, 3)), n, d, 1.5)
	rk4 := ode.Options{Method: ode.RK4, Steps: 5}
	dopri := ode.Options{Method: ode.Dopri5, RTol: 1e-6, ATol: 1e-8}
	type result struct {
		a, b []float64
		st   Stats
	}
	ops := []struct {
		name string
		run  func(opt Options) (result, error)
	}{
		{"LogProb exact dopri5", func(o Options) (result, error) {
			o.Solver = dopri
			lp, st, err := ch.LogProb(ctx, x, n, o)
			return result{lp, nil, st}, err
		}},
		{"LogProb hutchinson rademacher K=3", func(o Options) (result, error) {
			o.Solver, o.Trace, o.Probe, o.Probes = rk4, Hutchinson, Rademacher, 3
			o.Rand = rand.New(rand.NewPCG(9, 9))
			lp, st, err := ch.LogProb(ctx, x, n, o)
			return result{lp, nil, st}, err
		}},
		{"LogProb fd-hutchinson gaussian", func(o Options) (result, error) {
			o.Solver, o.Trace = rk4, FDHutchinson
			o.Rand = rand.New(rand.NewPCG(9, 10))
			lp, st, err := ch.LogProb(ctx, x, n, o)
			return result{lp, nil, st}, err
		}},
		{"Forward", func(o Options) (result, error) {
			o.Solver = dopri
			z, st, err := ch.Forward(ctx, x, n, o)
			return result{z, nil, st}, err
		}},
		{"Inverse", func(o Options) (result, error) {
			o.Solver = rk4
			z, st, err := ch.Inverse(ctx, x, n, o)
			return result{z, nil, st}, err
		}},
		{"Sample", func(o Options) (result, error) {
			o.Solver, o.Rand = rk4, rand.New(rand.NewPCG(4, 4))
			s, st, err := ch.Sample(ctx, n, o)
			return result{s, nil, st}, err
		}},
		{"SampleAndLogProb hutchinson", func(o Options) (result, error) {
			o.Solver, o.Trace, o.Rand = rk4, Hutchinson, rand.New(rand.NewPCG(4, 5))
			s, lp, st, err := ch.SampleAndLogProb(ctx, n, o)
			return result{s, lp, st}, err
		}},
		{"Push", func(o Options) (result, error) {
			o.Solver = rk4
			y := slices.Clone(x)
			st, err := ch.Blocks[0].Push(ctx, y, n, o)
			return result{y, nil, st}, err
		}},
		{"PushLogDet hutchinson gaussian", func(o Options) (result, error) {
			o.Solver, o.Trace, o.Rand = rk4, Hutchinson, rand.New(rand.NewPCG(6, 6))
			y, ld := slices.Clone(x), make([]float64, n)
			st, err := ch.Blocks[1].PushLogDet(ctx, y, n, ld, o)
			return result{y, ld, st}, err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ref, err := op.run(Options{BatchSize: bs, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			if ref.st.Workers != 1 || ref.st.Batches != 8 {
				t.Fatalf("Workers 1: stats %+v, want 1 worker and 8 batches", ref.st)
			}
			for _, w := range []int{2, 4} {
				got, err := op.run(Options{BatchSize: bs, Workers: w})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.a, ref.a) || !slices.Equal(got.b, ref.b) {
					t.Errorf("Workers %d: results differ from Workers 1 (max |Δ| %.3g, %.3g)", w, maxDiff(got.a, ref.a), maxDiff(got.b, ref.b))
				}
				want := ref.st
				want.Workers = w
				if got.st != want {
					t.Errorf("Workers %d: stats %+v, want %+v", w, got.st, want)
				}
			}
		})
	}
}

// cloneCounter is a test Cloner around tanhField that counts its copies.
type cloneCounter struct {
	tanhField
	clones *int
}

func (c cloneCounter) CloneField() VelocityField {
	*c.clones++
	return c
}

// failAbove gives NaN velocities for rows with x_0 > 50, so that only the
// batches holding such rows fail.
type failAbove struct{ d int }

func (f failAbove) Dim() int                  { return f.d }
func (f failAbove) CloneField() VelocityField { return f }
func (f failAbove) Velocity(_ float64, x []float64, n int, v []float64) {
	for i := 0; i < n; i++ {
		for j := 0; j < f.d; j++ {
			v[i*f.d+j] = -x[i*f.d+j]
			if x[i*f.d] > 50 {
				v[i*f.d+j] = math.NaN()
			}
		}
	}
}

func TestWorkersClonerAndLimits(t *testing.T) {
	const n, d = 20, 2
	x := randRows(rand.New(rand.NewPCG(1, 2)), n, d, 1)
	clones := 0
	ch := &Chain{Blocks: []Block{{Field: cloneCounter{newTanh(rand.New(rand.NewPCG(3, 3)), d), &clones}}}}
	opt := Options{Solver: ode.Options{Method: ode.RK4, Steps: 2}, BatchSize: 5}
	tests := []struct {
		workers, wantWorkers, wantClones int
	}{
		{1, 1, 0},
		{3, 3, 2},  // workers 1 and 2 get copies
		{16, 4, 3}, // at most one worker per batch
	}
	for _, tc := range tests {
		clones = 0
		opt.Workers = tc.workers
		_, st, err := ch.LogProb(ctx, x, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		if st.Workers != tc.wantWorkers || clones != tc.wantClones {
			t.Errorf("Workers %d: ran on %d workers with %d copies, want %d and %d", tc.workers, st.Workers, clones, tc.wantWorkers, tc.wantClones)
		}
	}
	// A field that cannot be copied runs on one goroutine.
	plain := &Chain{Blocks: []Block{{Field: newTanh(rand.New(rand.NewPCG(3, 3)), d)}}}
	opt.Workers = 4
	if _, st, err := plain.LogProb(ctx, x, n, opt); err != nil || st.Workers != 1 {
		t.Errorf("non-copyable field: %d workers (err %v), want 1", st.Workers, err)
	}
	opt.Workers = -1
	want := "flow: LogProb: Options.Workers = -1, want >= 1 (0 selects DefaultWorkers() = " // + the machine's value
	if _, _, err := plain.LogProb(ctx, x, n, opt); err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("Workers -1: error %v, want prefix %q", err, want)
	}
}

// TestWorkersFirstErrorWins checks that with several failing batches the
// error is that of the first failing batch whatever the number of workers,
// and that a cancelled context stops every worker.
func TestWorkersFirstErrorWins(t *testing.T) {
	const n, d = 40, 2
	x := randRows(rand.New(rand.NewPCG(1, 2)), n, d, 1)
	x[13*d], x[31*d] = 100, 200 // batches 3 and 7 of 4 rows fail
	ch := &Chain{Blocks: []Block{{Field: failAbove{d}}}}
	opt := Options{Solver: ode.Options{Method: ode.Dopri5}, BatchSize: 4}
	var first string
	for _, w := range []int{1, 2, 4, 8} {
		opt.Workers = w
		_, _, err := ch.Forward(ctx, x, n, opt)
		if err == nil {
			t.Fatalf("Workers %d: no error for NaN velocities", w)
		}
		if w == 1 {
			first = err.Error()
			continue
		}
		if err.Error() != first {
			t.Errorf("Workers %d: error %q, want the sequential one %q", w, err, first)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ok := &Chain{Blocks: []Block{{Field: failAbove{d}}}}
	y := randRows(rand.New(rand.NewPCG(1, 2)), n, d, 1)
	for _, w := range []int{1, 4} {
		opt.Workers = w
		if _, _, err := ok.Forward(cctx, y, n, opt); !errors.Is(err, context.Canceled) {
			t.Errorf("Workers %d, cancelled context: error %v, want context.Canceled", w, err)
		}
	}
}
