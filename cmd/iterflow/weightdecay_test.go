package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/pipeline"
)

// --weight-decay sets train.weight_decay: a tiny run records it in its
// config.yaml, which reads back with the same value.
func TestTrainWeightDecayFlag(t *testing.T) {
	_, rd, _ := trainTiny(t, "--weight-decay", "1e-2", "-q")
	b, err := os.ReadFile(filepath.Join(rd, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n    weight_decay: 0.01\n") {
		t.Errorf("config.yaml lacks weight_decay: 0.01:\n%s", b)
	}
	cfg, err := pipeline.LoadConfig(filepath.Join(rd, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.WeightDecay != 0.01 {
		t.Errorf("config.yaml: train.weight_decay = %g, want 0.01", cfg.Train.WeightDecay)
	}
}

// Bad weight decays are refused before training, naming the key; a config
// file's value survives flags that leave it unset and is checked against the
// flag's learning rate.
func TestTrainWeightDecayErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("train:\n  weight_decay: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--weight-decay", "-1"}, "train.weight_decay: must be finite and non-negative (0 disables weight decay), got -1"},
		{[]string{"--weight-decay", "NaN"}, "train.weight_decay: must be finite and non-negative (0 disables weight decay), got NaN"},
		{[]string{"--lr", "0.1", "--weight-decay", "10"}, "train.weight_decay: must be below 1/train.lr = 10 (each step multiplies the weights by 1 − lr·weight_decay), got 10"},
		{[]string{"--config", cfg, "--lr", "4"}, "train.weight_decay: must be below 1/train.lr = 0.25 (each step multiplies the weights by 1 − lr·weight_decay), got 0.5"},
	} {
		args := append([]string{"train", "--data", "moons", "--out", filepath.Join(dir, "run"), "-q"}, tc.args...)
		_, _, err := run(t, args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
