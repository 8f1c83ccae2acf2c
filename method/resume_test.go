package method

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
)

// cloneState deep-copies a state through gob, as a checkpoint file would.
func cloneState(t *testing.T, st *TrainState) *TrainState {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		t.Fatal(err)
	}
	var out TrainState
	if err := gob.NewDecoder(&buf).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// interruptAt returns a Checkpointing that cancels the run once the state
// after step of block has been saved, and the pointer that receives the
// state saved at the interruption.
func interruptAt(t *testing.T, block, step, every int, cancel func()) (*Checkpointing, **TrainState) {
	var last *TrainState
	ck := &Checkpointing{Every: every, Save: func(st *TrainState) error {
		last = cloneState(t, st)
		if st.Block == block && st.Step == step {
			cancel()
		}
		return nil
	}}
	return ck, &last
}

func resumeData() ([]float64, []float64) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := gaussianSamples(rng, 300, [2]float64{1, -1}, [2][2]float64{{2, 1}, {1, 2}})
	val := gaussianSamples(rng, 60, [2]float64{1, -1}, [2][2]float64{{2, 1}, {1, 2}})
	return x, val
}

// An LFM run interrupted in the middle of a block and resumed from the saved
// state ends with bitwise the same weights as an uninterrupted run.
func TestTrainLFMResumeBitwise(t *testing.T) {
	x, val := resumeData()
	cfg := smallLFM([]float64{0.3, 0.5, 0.8}, true, 60)
	cfg.Net.Hidden = []int{16, 16}
	cfg.BatchSize = 64
	cfg.ValEvery = 20
	want, err := TrainLFM(context.Background(), x, 300, val, 60, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range [][2]int{{1, 30}, {2, 0}, {0, 10}, {3, 50}} {
		ctx, cancel := context.WithCancel(context.Background())
		c := cfg
		ck, last := interruptAt(t, at[0], at[1], 10, cancel)
		c.Checkpoint = ck
		_, err := TrainLFM(ctx, x, 300, val, 60, 2, c, nil)
		cancel()
		var ie *Interrupted
		if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupt at %v: got %v, want *Interrupted", at, err)
		}
		if ie.Block != at[0] || ie.Step != at[1] || (*last).Block != at[0] || (*last).Step != at[1] {
			t.Fatalf("interrupt at %v: error at %d/%d, last state %d/%d", at, ie.Block, ie.Step, (*last).Block, (*last).Step)
		}
		c.Checkpoint = &Checkpointing{Every: 10, Resume: *last, Save: func(*TrainState) error { return nil }}
		got, err := TrainLFM(context.Background(), x, 300, val, 60, 2, c, nil)
		if err != nil {
			t.Fatalf("resume at %v: %v", at, err)
		}
		for k := range want.Nets {
			if !slices.Equal(got.Nets[k].Params(), want.Nets[k].Params()) {
				t.Fatalf("resume at %v: block %d weights differ from the uninterrupted run", at, k)
			}
			if got.Blocks[k].ValLoss != want.Blocks[k].ValLoss && !(math.IsNaN(got.Blocks[k].ValLoss) && math.IsNaN(want.Blocks[k].ValLoss)) ||
				!slices.Equal(got.Blocks[k].LossCurve, want.Blocks[k].LossCurve) || got.Blocks[k].Movement != want.Blocks[k].Movement {
				t.Fatalf("resume at %v: block %d results differ: %+v vs %+v", at, k, got.Blocks[k], want.Blocks[k])
			}
		}
	}
}

// The same for global flow matching, independent and OT pairs.
func TestTrainFMResumeBitwise(t *testing.T) {
	x, val := resumeData()
	for _, coupling := range []interp.Coupling{interp.Independent, interp.ExactOT} {
		cfg := FMConfig{Coupling: coupling, Interpolant: interp.Linear, Time: interp.Uniform,
			Net:   nn.Spec{Hidden: []int{16, 16}, Act: nn.Softplus, Beta: 1},
			Optim: Optim{Iters: 80, BatchSize: 64, LR: 3e-3, Clip: 1, EMA: 0.99, ValEvery: 20, Seed: 5}}
		want, err := TrainFM(context.Background(), x, 300, val, 60, 2, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		c := cfg
		ck, last := interruptAt(t, 0, 35, 7, cancel)
		c.Checkpoint = ck
		if _, err := TrainFM(ctx, x, 300, val, 60, 2, c, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("%v: got %v, want cancellation", coupling, err)
		}
		cancel()
		c.Checkpoint = &Checkpointing{Resume: *last}
		got, err := TrainFM(context.Background(), x, 300, val, 60, 2, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Net.Params(), want.Net.Params()) || !slices.Equal(got.Block.LossCurve, want.Block.LossCurve) {
			t.Fatalf("%v: resumed weights or loss curve differ from the uninterrupted run", coupling)
		}
	}
}

// A learning rate far too large makes the loss overflow: the error names
// block and step, and a rollback with a lower rate from the saved state
// finishes.
func TestTrainLFMDivergence(t *testing.T) {
	x, val := resumeData()
	cfg := smallLFM([]float64{0.3, 0.5}, false, 60)
	cfg.Net.Hidden = []int{16, 16}
	cfg.BatchSize = 64
	cfg.Clip = 0
	cfg.EMA = 0
	cfg.LR = 1e12
	var first, last *TrainState
	cfg.Checkpoint = &Checkpointing{Every: 1, Save: func(st *TrainState) error {
		last = cloneState(t, st)
		if first == nil {
			first = last
		}
		return nil
	}}
	_, err := TrainLFM(context.Background(), x, 300, val, 60, 2, cfg, nil)
	var de *DivergedError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DivergedError", err)
	}
	want := "lfm: block 0, step " + itoa(de.Step) + ": loss is " + ftoa(de.Loss)
	if err.Error() != want || de.Block != 0 || de.Step < 1 || last.Step != de.Step {
		t.Fatalf("got %q (last state at step %d), want %q", err, last.Step, want)
	}
	// The weights before the failing step are already huge: roll back to
	// the start of the block.
	cfg.Checkpoint = &Checkpointing{Resume: first, LRScale: 3e-3 / 1e12}
	res, err := TrainLFM(context.Background(), x, 300, val, 60, 2, cfg, nil)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if len(res.Nets) != 2 {
		t.Fatalf("rollback trained %d blocks, want 2", len(res.Nets))
	}
}

func itoa(v int) string     { return fmt.Sprint(v) }
func ftoa(v float64) string { return fmt.Sprintf("%g", v) }
