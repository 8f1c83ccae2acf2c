package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/pipeline"
)

// stopAfter cancels a run after n training steps.
type stopAfter struct {
	n, steps int
	cancel   func()
}

func (s *stopAfter) StartBlock(int, int, int, string) {}
func (s *stopAfter) EndBlock()                        {}
func (s *stopAfter) Step(float64) {
	if s.steps++; s.steps == s.n {
		s.cancel()
	}
}

// An interrupted run whose data file has moved resumes with --data NEWPATH
// (the file's checksum must match the one recorded at the start) and ends
// with the uninterrupted run's model; without --data the error suggests it,
// and another file is refused.
func TestResumeMovedData(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "abc.csv")
	writeTable(t, csv, 300, []string{"a", "b"})
	cfg := pipeline.DefaultConfig()
	cfg.Data = csv
	cfg.Model.Hidden = []int{8}
	cfg.LFM.Blocks = 1
	cfg.Train.Iters, cfg.Train.BatchSize, cfg.Train.ValEvery = 30, 64, 10
	cfg.Eval.Solver, cfg.Eval.Steps, cfg.Eval.Samples = "rk4", 4, 20
	ref := cfg
	ref.Out = filepath.Join(dir, "ref")
	if _, err := pipeline.Run(context.Background(), ref, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	cfg.Out = out
	ctx, cancel := context.WithCancel(context.Background())
	_, err := pipeline.Run(ctx, cfg, pipeline.Options{Progress: &stopAfter{n: 40, cancel: cancel}, CheckpointEvery: 5})
	cancel()
	var se *pipeline.StoppedError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want an interruption", err)
	}
	moved := filepath.Join(dir, "elsewhere.csv")
	if err := os.Rename(csv, moved); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "train", "-q", "--resume", out)
	if err == nil || !strings.HasSuffix(err.Error(), "; if the run's data file has moved, give its new path with --data (its checksum must match the one the run recorded)") {
		t.Fatalf("resume without the data: got %v, want the --data hint", err)
	}
	other := filepath.Join(dir, "other.csv")
	writeTable(t, other, 301, []string{"a", "b"})
	_, _, err = run(t, "train", "-q", "--resume", out, "--data", other)
	if err == nil || !strings.Contains(err.Error(), "is not the interrupted run's data: SHA-256 ") {
		t.Fatalf("resume with other data: got %v", err)
	}
	if _, _, err := run(t, "train", "-q", "--resume", out, "--data", moved); err != nil {
		t.Fatalf("resume with the moved data: %v", err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "ref", "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("the resumed run's model differs from the uninterrupted run's")
	}
	saved, err := pipeline.LoadConfig(filepath.Join(out, "config.yaml"))
	if err != nil || saved.Data != moved {
		t.Errorf("the finished run's config names data %q (%v), want %q", saved.Data, err, moved)
	}
}
