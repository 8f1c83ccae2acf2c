package method

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
)

// slowProgress sleeps at every step, so that a block takes measurable time.
type slowProgress struct{ d time.Duration }

func (slowProgress) StartBlock(int, int, int, string) {}
func (slowProgress) EndBlock()                        {}
func (p slowProgress) Step(float64)                   { time.Sleep(p.d) }

// A block interrupted and resumed reports its seconds over both processes:
// at least the time spent before the interrupt.
func TestResumedBlockSecondsSumProcesses(t *testing.T) {
	x, val := resumeData()
	cfg := FMConfig{Coupling: interp.Independent, Interpolant: interp.Linear, Time: interp.Uniform,
		Net:   nn.Spec{Hidden: []int{8}, Act: nn.Softplus, Beta: 1},
		Optim: Optim{Iters: 40, BatchSize: 64, LR: 3e-3, Seed: 5}}
	ctx, cancel := context.WithCancel(context.Background())
	c := cfg
	ck, last := interruptAt(t, 0, 20, 10, cancel)
	c.Checkpoint = ck
	t0 := time.Now()
	_, err := TrainFM(ctx, x, 300, val, 60, 2, c, slowProgress{10 * time.Millisecond})
	before := time.Since(t0).Seconds()
	cancel()
	var ie *Interrupted
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an interruption", err)
	}
	if s := (*last).Current.Seconds; s < 0.15 || s > before {
		t.Fatalf("the saved block state has %.3f s, want between 0.15 (20 steps of 10 ms) and %.3f", s, before)
	}
	c.Checkpoint = &Checkpointing{Resume: *last}
	res, err := TrainFM(context.Background(), x, 300, val, 60, 2, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Block.Seconds < (*last).Current.Seconds {
		t.Errorf("resumed block reports %.3f s, less than the %.3f s before the interrupt", res.Block.Seconds, (*last).Current.Seconds)
	}
}
