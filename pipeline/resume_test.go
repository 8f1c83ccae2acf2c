package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/method"
)

func resumeConfig(out string) Config {
	c := DefaultConfig()
	c.Data, c.Out, c.ToySamples = "moons", out, 600
	c.Model.Hidden = []int{8, 8}
	c.LFM.Blocks = 2
	c.Train.Iters, c.Train.BatchSize, c.Train.ValEvery = 30, 64, 10
	c.Eval.Solver, c.Eval.Steps, c.Eval.Samples = "rk4", 4, 50
	return c
}

// cancelAfter cancels ctx after the given number of training steps.
type cancelAfter struct {
	n, steps int
	cancel   func()
}

func (c *cancelAfter) StartBlock(int, int, int, string) {}
func (c *cancelAfter) EndBlock()                        {}
func (c *cancelAfter) Step(float64) {
	if c.steps++; c.steps == c.n {
		c.cancel()
	}
}

// interruptRun trains until ctx is cancelled after steps steps and returns
// the checkpoint directory.
func interruptRun(t *testing.T, out string, steps int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, resumeConfig(out), Options{Progress: &cancelAfter{n: steps, cancel: cancel}, CheckpointEvery: 5})
	var se *StoppedError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a *StoppedError for the interruption", err)
	}
	want := fmt.Sprintf("interrupted at block 2, step %d; resume with: iterflow train --resume %s", steps-30, out)
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	return filepath.Join(PartialDir(out), checkpointSubdir)
}

func TestResumeAfterInterruptIsBitwise(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	if _, err := Run(context.Background(), resumeConfig(ref), Options{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	interruptRun(t, out, 42)
	if _, err := Run(context.Background(), resumeConfig(out), Options{}); err == nil ||
		err.Error() != fmt.Sprintf("run %s: an interrupted run is kept in %s; resume it with: iterflow train --resume %s (or pass --force to start over)", out, PartialDir(out), out) {
		t.Fatalf("a fresh run over an interrupted one: got %v", err)
	}
	cfg, err := LoadResumeConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{Resume: true}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(ref, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("the resumed run's model.safetensors differs from the uninterrupted run's")
	}
	if _, err := os.Stat(PartialDir(out)); !os.IsNotExist(err) {
		t.Fatalf("the partial directory is left after the resumed run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, checkpointSubdir)); !os.IsNotExist(err) {
		t.Fatalf("the checkpoint was published with the run: %v", err)
	}
}

func TestResumeDetectsDamagedCheckpoint(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	ckdir := interruptRun(t, out, 37)
	var meta CheckpointMeta
	if err := checkpoint.ReadJSON(filepath.Join(ckdir, stateFile), &meta); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ckdir, meta.State.File)
	good, _ := os.ReadFile(path)
	cfg, _ := LoadResumeConfig(out)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"corrupted", append(append([]byte{}, good[:10]...), append([]byte{good[10] ^ 1}, good[11:]...)...),
			fmt.Sprintf("resume %s: checkpoint %s: checksum mismatch (truncated or corrupted)", out, path)},
		{"truncated", good[:len(good)/2], fmt.Sprintf("resume %s: checkpoint %s: truncated (%d of %d bytes)", out, path, len(good)/2, len(good))},
	} {
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), cfg, Options{Resume: true}); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRunRefusesARunInUse(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	l, err := checkpoint.AcquireLock(LockPath(out))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = Run(context.Background(), resumeConfig(out), Options{})
	want := fmt.Sprintf("run %s is in use by process %d (lock file %s)", out, os.Getpid(), LockPath(out))
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestDivergenceStopsAndRollbackFinishes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cfg := resumeConfig(out)
	cfg.Train.LR, cfg.Train.Clip, cfg.Train.EMA = 1e12, 0, 0
	_, err := Run(context.Background(), cfg, Options{CheckpointEvery: 0})
	var se *StoppedError
	var de *method.DivergedError
	if !errors.As(err, &se) || !errors.As(err, &de) || !se.Diverged {
		t.Fatalf("got %v, want a divergence", err)
	}
	want := fmt.Sprintf("block 1, step %d: loss is %g; the last good checkpoint (block 1, step 0) is kept in %s; "+
		"resume with: iterflow train --resume %s --on-diverge rollback (rolls back and lowers the learning rate)", de.Step+1, de.Loss, PartialDir(out), out)
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	saved, err := LoadResumeConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), saved, Options{Resume: true, OnDiverge: "rollback", RollbackLRFactor: 3e-15})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if len(res.Model.Fields) != 3 {
		t.Fatalf("rollback trained %d blocks, want 3", len(res.Model.Fields))
	}
}

// cancelAtStart cancels ctx when a row counter starts the step labelled at.
type cancelAtStart struct {
	at     string
	cancel func()
}

func (c *cancelAtStart) Start(label string, _ int) {
	if label == c.at {
		c.cancel()
	}
}
func (c *cancelAtStart) Add(int) {}
func (c *cancelAtStart) Finish() {}

// An interruption after training says so and names the phase, not a block
// and step past the last block; resuming finishes without training again
// and gives the uninterrupted run's model.
func TestInterruptAfterTrainingNamesThePhase(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	if _, err := Run(context.Background(), resumeConfig(ref), Options{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, resumeConfig(out), Options{Counter: &cancelAtStart{at: "samples", cancel: cancel}, CheckpointEvery: 5})
	want := fmt.Sprintf("interrupted while sampling, after training finished (every block is saved; resuming does not train again); resume with: iterflow train --resume %s", out)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	cfg, err := LoadResumeConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	prog := &cancelAfter{n: -1}
	var log strings.Builder
	if _, err := Run(context.Background(), cfg, Options{Resume: true, Progress: prog, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if prog.steps != 0 {
		t.Fatalf("the resumed run trained %d steps, want 0", prog.steps)
	}
	if want := fmt.Sprintf("resuming %s after its last block (training is done; evaluating and writing the report)\n", out); !strings.Contains(log.String(), want) ||
		strings.Contains(log.String(), "from block") || strings.Contains(log.String(), "training lfm on") {
		t.Fatalf("log %q, want the line %q and no block to resume", log.String(), want)
	}
	a, _ := os.ReadFile(filepath.Join(ref, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("the resumed run's model.safetensors differs from the uninterrupted run's")
	}
}
