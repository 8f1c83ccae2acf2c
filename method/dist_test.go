package method

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// distTestConfig is a small LFM run (2 OU blocks and a free block, d = 2)
// that exercises clipping, the EMA, the learning-rate decay and validation.
func distTestConfig(iters int) LFMConfig {
	return LFMConfig{
		Gammas: []float64{0.3, 0.6}, FreeBlock: true,
		Net:         nn.Spec{Hidden: []int{32, 32}, Act: nn.Softplus, Beta: 1},
		Interpolant: interp.Trig, Time: interp.Uniform,
		Push: ode.Options{Method: ode.RK4, Steps: 4},
		Optim: Optim{
			Iters: iters, BatchSize: 64, LR: 3e-3, LRDecay: 0.5, LRDecayEvery: iters / 2,
			Clip: 1, EMA: 0.9, WarmStart: true, ValEvery: 20, Seed: 11,
		},
	}
}

func distTestData(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		a := rng.Float64() * 2 * math.Pi
		x[2*i], x[2*i+1] = 2*math.Cos(a)+0.2*rng.NormFloat64(), math.Sin(a)+0.2*rng.NormFloat64()
	}
	return x
}

// trainRanks trains cfg on a local group of size ranks (one goroutine
// each) and returns every rank's result.
func trainRanks(t *testing.T, size int, x []float64, n int, val []float64, nv int, cfg LFMConfig) []*LFMResult {
	t.Helper()
	cs := dist.Local(size)
	res := make([]*LFMResult, size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cfg
			c.Comm = cs[r]
			res[r], errs[r] = TrainLFM(context.Background(), x, n, val, nv, 2, c, nil)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return res
}

// maxDiff returns max |a_i − b_i| over the weights of all blocks.
func maxDiff(a, b *LFMResult) float64 {
	m := 0.0
	for k := range a.Nets {
		pa, pb := a.Nets[k].Params(), b.Nets[k].Params()
		for i := range pa {
			m = max(m, math.Abs(float64(pa[i])-float64(pb[i])))
		}
	}
	return m
}

// TestDataParallelMatchesSingle checks that data-parallel LFM over 2 and 3
// ranks (the 3-rank split is uneven: 21, 21, 22 rows of 64) gives the weights
// of the single process with the same global batch and seed up to float32
// summation order (max |Δw| ≤ 1e-4 after 3 blocks of 60 steps), that all
// ranks hold bitwise the same weights, and that the pushed pools agree
// (movement).
func TestDataParallelMatchesSingle(t *testing.T) {
	const n, nv = 300, 64
	x, val := distTestData(n, 1), distTestData(nv, 2)
	cfg := distTestConfig(60)
	single, err := TrainLFM(context.Background(), x, n, val, nv, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{2, 3} {
		res := trainRanks(t, size, x, n, val, nv, cfg)
		for r := 1; r < size; r++ {
			if d := maxDiff(res[0], res[r]); d != 0 {
				t.Errorf("%d ranks: rank %d's weights differ from rank 0's by %g", size, r, d)
			}
		}
		d := maxDiff(single, res[0])
		t.Logf("%d ranks: max |Δw| vs single process = %.3g", size, d)
		if d > 1e-4 {
			t.Errorf("%d ranks: max |Δw| vs single process = %g, want ≤ 1e-4", size, d)
		}
		for k, b := range res[0].Blocks {
			sb := single.Blocks[k]
			if math.Abs(b.Movement-sb.Movement) > 1e-5*sb.Movement || math.Abs(b.FinalLoss-sb.FinalLoss) > 1e-4*sb.FinalLoss {
				t.Errorf("%d ranks, block %d: movement %g, loss %g; single process %g, %g", size, k, b.Movement, b.FinalLoss, sb.Movement, sb.FinalLoss)
			}
			if b.BestStep != sb.BestStep {
				t.Errorf("%d ranks, block %d: kept step %d, single process %d", size, k, b.BestStep, sb.BestStep)
			}
		}
	}
}

// TestDataParallelFromContext checks that a communicator carried by the
// context (WithComm) switches on data-parallel training like LFMConfig.Comm.
func TestDataParallelFromContext(t *testing.T) {
	cs := dist.Local(2)
	if CommFrom(context.Background()) != nil {
		t.Fatal("a bare context carries a communicator")
	}
	ctx := WithComm(context.Background(), cs[1])
	if CommFrom(ctx) != cs[1] {
		t.Fatal("CommFrom does not return the communicator given to WithComm")
	}
	// A one-rank communicator is single-process training.
	x := distTestData(100, 3)
	cfg := distTestConfig(10)
	cfg.Gammas, cfg.FreeBlock = []float64{0.5}, false
	a, err := TrainLFM(WithComm(context.Background(), dist.Local(1)[0]), x, 100, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := TrainLFM(context.Background(), x, 100, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(a, b); d != 0 {
		t.Fatalf("one-rank communicator changed the weights by %g", d)
	}
}

func TestDataParallelErrors(t *testing.T) {
	x := distTestData(50, 4)
	for _, tc := range []struct {
		name string
		mod  func(c *LFMConfig)
		want string
	}{
		{"batch", func(c *LFMConfig) { c.BatchSize = 1 }, "lfm: data-parallel: batch size 1 is smaller than the 2 ranks"},
		{"budget", func(c *LFMConfig) { c.Deadline = time.Now().Add(time.Hour) }, "lfm: data-parallel: a time budget"},
		{"checkpoint", func(c *LFMConfig) { c.Checkpoint = &Checkpointing{} }, "lfm: data-parallel: checkpointing is not supported with 2 ranks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := distTestConfig(4)
			tc.mod(&cfg)
			// Errors come before any collective, so one rank alone returns.
			cfg.Comm = dist.Local(2)[0]
			_, err := TrainLFM(context.Background(), x, 50, nil, 0, 2, cfg, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error = %v, want prefix %q", err, tc.want)
			}
		})
	}
}
