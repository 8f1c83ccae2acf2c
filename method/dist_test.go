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
	"github.com/iterflow/iterflow/flow"
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

// onRanks runs train on every rank of a local group of size ranks (one
// goroutine each) and returns every rank's result; it fails the test on
// any rank's error.
func onRanks[R any](t *testing.T, size int, train func(c dist.Comm) (R, error)) []R {
	t.Helper()
	cs := dist.Local(size)
	res := make([]R, size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[r], errs[r] = train(cs[r])
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

// trainRanks trains cfg by TrainLFM on a local group of size ranks and
// returns every rank's result.
func trainRanks(t *testing.T, size int, x []float64, n int, val []float64, nv int, cfg LFMConfig) []*LFMResult {
	t.Helper()
	return onRanks(t, size, func(c dist.Comm) (*LFMResult, error) {
		cfg := cfg
		cfg.Comm = c
		return TrainLFM(context.Background(), x, n, val, nv, 2, cfg, nil)
	})
}

// maxDiff returns max |a_i − b_i| over the weights of all blocks.
func maxDiff(a, b *LFMResult) float64 {
	m := 0.0
	for k := range a.Nets {
		m = max(m, paramDiff(a.Nets[k].Params(), b.Nets[k].Params()))
	}
	return m
}

// paramDiff returns max |a_i − b_i| over two parameter vectors.
func paramDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
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

// fmDistConfig is a small flow-matching run (d = 2, batch 64) with clipping,
// the EMA, the learning-rate decay and validation.
func fmDistConfig(c interp.Coupling, iters int) FMConfig {
	return FMConfig{
		Coupling: c, SinkhornEps: 0.1, Interpolant: interp.Linear, Time: interp.Uniform,
		Net: nn.Spec{Hidden: []int{32, 32}, Act: nn.Softplus, Beta: 1},
		Optim: Optim{
			Iters: iters, BatchSize: 64, LR: 3e-3, LRDecay: 0.5, LRDecayEvery: iters / 2,
			Clip: 1, EMA: 0.9, ValEvery: 10, Seed: 7,
		},
	}
}

// trainFMRanks trains cfg by TrainFM on a local group of size ranks and
// returns every rank's result.
func trainFMRanks(t *testing.T, size int, x []float64, n int, val []float64, nv int, cfg FMConfig) []*FMResult {
	t.Helper()
	return onRanks(t, size, func(c dist.Comm) (*FMResult, error) {
		cfg := cfg
		cfg.Comm = c
		return TrainFM(context.Background(), x, n, val, nv, 2, cfg, nil)
	})
}

// fmDiff returns max |a_i − b_i| over the weights of two FM models.
func fmDiff(a, b *FMResult) float64 { return paramDiff(a.Net.Params(), b.Net.Params()) }

// TestFMDataParallelMatchesSingle checks data-parallel flow matching (cfm,
// otcfm with exact and Sinkhorn plans, the OT batch global and local) over
// 2 and 3 ranks against one process: all ranks hold bitwise the same
// weights, and they agree with the single-process run of the same global
// batch and seed to max |Δw| ≤ 1e-4 after 40 steps (float32 summation
// order), with the same kept step. The reference of a local-OT run is the
// single process that pairs each batch in as many blocks (OTBlocks). It also
// checks that local pairing does change the result (|Δw| vs global > 1e-3).
func TestFMDataParallelMatchesSingle(t *testing.T) {
	const n, nv = 300, 64
	x, val := distTestData(n, 5), distTestData(nv, 6)
	for _, tc := range []struct {
		name     string
		coupling interp.Coupling
		local    bool
		size     int
	}{
		{"cfm", interp.Independent, false, 2},
		{"cfm local (ignored)", interp.Independent, true, 2},
		{"otcfm exact global", interp.ExactOT, false, 2},
		{"otcfm exact global 3 ranks", interp.ExactOT, false, 3},
		{"otcfm exact local", interp.ExactOT, true, 2},
		{"otcfm exact local 3 ranks", interp.ExactOT, true, 3},
		{"otcfm sinkhorn global", interp.SinkhornOT, false, 2},
		{"otcfm sinkhorn local", interp.SinkhornOT, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fmDistConfig(tc.coupling, 40)
			ref := cfg
			if tc.local {
				cfg.OTBatch = OTLocal
				ref.OTBlocks = tc.size
			}
			single, err := TrainFM(context.Background(), x, n, val, nv, 2, ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := trainFMRanks(t, tc.size, x, n, val, nv, cfg)
			for r := 1; r < tc.size; r++ {
				if d := fmDiff(res[0], res[r]); d != 0 {
					t.Errorf("rank %d's weights differ from rank 0's by %g", r, d)
				}
			}
			d := fmDiff(single, res[0])
			t.Logf("%d ranks: max |Δw| vs single process = %.3g", tc.size, d)
			if d > 1e-4 {
				t.Errorf("max |Δw| vs single process = %g, want ≤ 1e-4", d)
			}
			if b, sb := res[0].Block, single.Block; b.BestStep != sb.BestStep || math.Abs(b.FinalLoss-sb.FinalLoss) > 1e-4*sb.FinalLoss {
				t.Errorf("kept step %d, loss %g; single process %d, %g", b.BestStep, b.FinalLoss, sb.BestStep, sb.FinalLoss)
			}
			if tc.local && tc.coupling != interp.Independent {
				global, err := TrainFM(context.Background(), x, n, val, nv, 2, fmDistConfig(tc.coupling, 40), nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := fmDiff(global, res[0]); d < 1e-3 {
					t.Errorf("local pairing changed the weights by only %g", d)
				}
			}
		})
	}
}

// TestFMOTBlocksOneIsGlobal checks that pairing in one block (OTBlocks 1)
// and local OT over a one-rank communicator give bitwise the global run.
func TestFMOTBlocksOneIsGlobal(t *testing.T) {
	x := distTestData(200, 7)
	for _, c := range []interp.Coupling{interp.ExactOT, interp.SinkhornOT} {
		cfg := fmDistConfig(c, 10)
		a, err := TrainFM(context.Background(), x, 200, nil, 0, 2, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		one := cfg
		one.OTBlocks = 1
		b, err := TrainFM(context.Background(), x, 200, nil, 0, 2, one, nil)
		if err != nil {
			t.Fatal(err)
		}
		loc := cfg
		loc.OTBatch, loc.Comm = OTLocal, dist.Local(1)[0]
		l, err := TrainFM(context.Background(), x, 200, nil, 0, 2, loc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d1, d2 := fmDiff(a, b), fmDiff(a, l); d1 != 0 || d2 != 0 {
			t.Errorf("%v: OT blocks 1 changed the weights by %g, local on one rank by %g", c, d1, d2)
		}
	}
}

// TestReflowDataParallel checks rectified flow (cfm, then one reflow round
// with pairs generated in shards by rk4) over 2 ranks against one process:
// max |Δw| ≤ 1e-4 and the same push NFE.
func TestReflowDataParallel(t *testing.T) {
	const n = 300
	x := distTestData(n, 8)
	cfg := fmDistConfig(interp.Independent, 20)
	cfg.ValEvery = 5
	solver := ode.Options{Method: ode.RK4, Steps: 4}
	prev, err := TrainFM(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	single, err := Reflow(context.Background(), prev, 150, cfg, solver, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := dist.Local(2)
	res := make([]*FMResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[r], errs[r] = Reflow(WithComm(context.Background(), cs[r]), prev, 150, cfg, solver, nil)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	d := fmDiff(single, res[0])
	t.Logf("reflow, 2 ranks: max |Δw| vs single process = %.3g", d)
	if d > 1e-4 || fmDiff(res[0], res[1]) != 0 {
		t.Errorf("max |Δw| vs single process %g (≤ 1e-4), between ranks %g (0)", d, fmDiff(res[0], res[1]))
	}
	if res[0].Block.PushNFE != single.Block.PushNFE || single.Block.PushNFE != 16 || res[0].Rectified != 2 {
		t.Errorf("push NFE %d, single %d (want 16); rectified %d", res[0].Block.PushNFE, single.Block.PushNFE, res[0].Rectified)
	}
}

func TestFMDataParallelErrors(t *testing.T) {
	x := distTestData(50, 4)
	for _, tc := range []struct {
		name string
		mod  func(c *FMConfig)
		want string
	}{
		{"blocks with ranks", func(c *FMConfig) { c.OTBlocks, c.Comm = 2, dist.Local(2)[0] }, "fm: data-parallel: OT blocks (2) are for a single process; set the OT batch to local"},
		{"blocks too many", func(c *FMConfig) { c.OTBlocks = 65 }, "fm: OT blocks must be between 0 and the batch size 64, got 65"},
		{"blocks negative", func(c *FMConfig) { c.OTBlocks = -1 }, "fm: OT blocks must be between 0 and the batch size 64, got -1"},
		{"ot batch", func(c *FMConfig) { c.OTBatch = 5 }, "fm: unknown OT batch OTBatch(5) (want global or local)"},
		{"batch", func(c *FMConfig) { c.BatchSize, c.Comm = 1, dist.Local(2)[1] }, "fm: data-parallel: batch size 1 is smaller than the 2 ranks"},
		{"checkpoint", func(c *FMConfig) { c.Checkpoint, c.Comm = &Checkpointing{}, dist.Local(2)[1] }, "fm: data-parallel: checkpointing is not supported with 2 ranks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fmDistConfig(interp.ExactOT, 4)
			tc.mod(&cfg)
			// Errors come before any collective, so one rank alone returns.
			_, err := TrainFM(context.Background(), x, 50, nil, 0, 2, cfg, nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseOTBatch(t *testing.T) {
	for _, s := range []string{"global", "local"} {
		o, err := ParseOTBatch(s)
		if err != nil || o.String() != s {
			t.Errorf("ParseOTBatch(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := ParseOTBatch("Global"); err == nil || err.Error() != `unknown OT batch "Global" (want global or local)` {
		t.Errorf("ParseOTBatch(Global): error %v", err)
	}
}

// TestPoolPushWorkersBitwise checks that the pool pushes of LFM and
// JKO-iFlow on 3 worker goroutines (WithPushWorkers; pools of 2,500 rows,
// three batches of at most 1024) give bitwise the models and movements of
// 1 worker, and that pushOptions takes the workers from the context.
func TestPoolPushWorkersBitwise(t *testing.T) {
	if o := pushOptions(WithPushWorkers(context.Background(), 3), ode.Options{Method: ode.RK4, Steps: 2}); o.Workers != 3 || o.BatchSize != 1024 {
		t.Fatalf("push options: %d workers, batch %d; want 3, 1024", o.Workers, o.BatchSize)
	}
	if o := pushOptions(context.Background(), ode.Options{}); o.Workers < 1 {
		t.Fatalf("default push workers %d", o.Workers)
	}
	const n = 2500
	x := distTestData(n, 9)
	lcfg := distTestConfig(6)
	lcfg.ValEvery = 0
	jcfg := JKOConfig{
		Steps: []float64{0.3, 0.5}, Net: nn.Spec{Hidden: []int{16, 16}, Act: nn.Softplus, Beta: 1}, Probe: flow.Rademacher,
		Push:  ode.Options{Method: ode.RK4, Steps: 3},
		Optim: Optim{Iters: 4, BatchSize: 128, LR: 1e-3, Seed: 3},
	}
	var lfm [2]*LFMResult
	var jko [2]*JKOResult
	for i, w := range []int{1, 3} {
		ctx := WithPushWorkers(context.Background(), w)
		var err error
		if lfm[i], err = TrainLFM(ctx, x, n, nil, 0, 2, lcfg, nil); err != nil {
			t.Fatal(err)
		}
		if jko[i], err = TrainJKO(ctx, x, n, nil, 0, 2, jcfg, nil); err != nil {
			t.Fatal(err)
		}
	}
	if d := maxDiff(lfm[0], lfm[1]); d != 0 {
		t.Errorf("lfm: 3 push workers changed the weights by %g", d)
	}
	for k := range lfm[0].Blocks {
		if a, b := lfm[0].Blocks[k].Movement, lfm[1].Blocks[k].Movement; a != b || a == 0 {
			t.Errorf("lfm block %d: movement %v with 1 worker, %v with 3", k, a, b)
		}
	}
	for k := range jko[0].Blocks {
		a, b := jko[0].Blocks[k], jko[1].Blocks[k]
		if a.Movement != b.Movement || a.Movement == 0 || a.InversionError != b.InversionError {
			t.Errorf("jko block %d: movement %v, inversion error %v with 1 worker; %v, %v with 3", k, a.Movement, a.InversionError, b.Movement, b.InversionError)
		}
		pa, pb := jko[0].Fields[k].Params(), jko[1].Fields[k].Params()
		for i := range pa {
			if pa[i] != pb[i] {
				t.Fatalf("jko block %d: parameter %d differs: %v vs %v", k, i, pa[i], pb[i])
			}
		}
	}
}
