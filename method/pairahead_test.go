package method

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"slices"
	"testing"

	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
)

// Pairing ahead (the default with ExactOT) gives bitwise the weights, loss
// curve, validation results and checkpoints of pairing inline, with one
// block and with OT blocks, across epoch wraps (300 rows in batches of 64
// wrap the permutation at the draws of steps 4, 9, 14, …); a run interrupted
// and resumed with pairing ahead ends where the inline run does.
func TestTrainFMPairAheadBitwise(t *testing.T) {
	x, val := resumeData()
	for _, blocks := range []int{0, 2} {
		cfg := FMConfig{Coupling: interp.ExactOT, Interpolant: interp.Linear, Time: interp.Uniform, OTBlocks: blocks,
			Net:   nn.Spec{Hidden: []int{16, 16}, Act: nn.Softplus, Beta: 1},
			Optim: Optim{Iters: 60, BatchSize: 64, LR: 3e-3, Clip: 1, EMA: 0.99, ValEvery: 20, Seed: 5}}
		run := func(inline bool) (*FMResult, [][]byte) {
			var states [][]byte
			c := cfg
			c.PairInline = inline
			c.Checkpoint = &Checkpointing{Every: 7, Save: func(st *TrainState) error {
				s := *st
				s.Blocks = slices.Clone(st.Blocks)
				for k := range s.Blocks {
					s.Blocks[k].Seconds = 0 // wall time
				}
				if st.Current != nil {
					cur := *st.Current
					cur.Seconds = 0 // wall time
					s.Current = &cur
				}
				var buf bytes.Buffer
				if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
					return err
				}
				states = append(states, buf.Bytes())
				return nil
			}}
			res, err := TrainFM(context.Background(), x, 300, val, 60, 2, c, nil)
			if err != nil {
				t.Fatalf("blocks %d, inline %v: %v", blocks, inline, err)
			}
			return res, states
		}
		want, wantStates := run(true)
		got, gotStates := run(false)
		if !slices.Equal(got.Net.Params(), want.Net.Params()) || !slices.Equal(got.Block.LossCurve, want.Block.LossCurve) ||
			got.Block.ValLoss != want.Block.ValLoss || got.Block.BestStep != want.Block.BestStep || got.Block.Steps != want.Block.Steps {
			t.Fatalf("blocks %d: pairing ahead changed the result: %+v vs inline %+v", blocks, got.Block, want.Block)
		}
		if len(gotStates) != len(wantStates) || len(wantStates) < 9 {
			t.Fatalf("blocks %d: %d checkpoints ahead, %d inline (want the same, at least 9)", blocks, len(gotStates), len(wantStates))
		}
		for k := range wantStates {
			if !bytes.Equal(gotStates[k], wantStates[k]) {
				t.Fatalf("blocks %d: checkpoint %d differs from the inline run's", blocks, k)
			}
		}
		for _, at := range []int{14, 35} { // the draw of step 14 wraps the epoch
			ctx, cancel := context.WithCancel(context.Background())
			c := cfg
			ck, last := interruptAt(t, 0, at, 7, cancel)
			c.Checkpoint = ck
			_, err := TrainFM(ctx, x, 300, val, 60, 2, c, nil)
			cancel()
			var ie *Interrupted
			if !errors.As(err, &ie) || ie.Step != at {
				t.Fatalf("blocks %d, interrupt at %d: got %v", blocks, at, err)
			}
			c.Checkpoint = &Checkpointing{Resume: *last}
			res, err := TrainFM(context.Background(), x, 300, val, 60, 2, c, nil)
			if err != nil {
				t.Fatalf("blocks %d, resume at %d: %v", blocks, at, err)
			}
			if !slices.Equal(res.Net.Params(), want.Net.Params()) || !slices.Equal(res.Block.LossCurve, want.Block.LossCurve) {
				t.Fatalf("blocks %d, resume at %d: weights or loss curve differ from the inline run", blocks, at)
			}
		}
	}
}
