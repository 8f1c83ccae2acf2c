package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/pipeline"
)

// splitMeta describes one dataset's preprocessed splits (meta.json).
type splitMeta struct {
	Dataset     string `json:"dataset"`
	D           int    `json:"d"`
	NTrain      int    `json:"n_train"`
	NVal        int    `json:"n_val"`
	NTest       int    `json:"n_test"`
	Seed        uint64 `json:"seed"`
	Dequantized int    `json:"dequantized_columns"`
	// LogStdSum is Σ_j log std_j of the training split: NLL in data units =
	// NLL on the standardized scale + LogStdSum (the density of x = μ + σ⊙z
	// is p(z)/Π_j σ_j).
	LogStdSum float64 `json:"log_std_sum"`
	Source    string  `json:"source"`
}

// cmdSplits writes train/val/test.npy (standardized by the training split),
// mean.npy, std.npy and meta.json for one dataset, through the same
// pipeline.PrepareSplits and standardization as `iterflow train`.
func cmdSplits(args []string) error {
	fs := flag.NewFlagSet("splits", flag.ContinueOnError)
	name := fs.String("data", "", "dataset name (iterflow datasets list) or 2D generator")
	dir := fs.String("data-dir", "", "data directory")
	seed := fs.Uint64("seed", 1, "seed of the split and dequantization noise")
	toy := fs.Int("toy-samples", 20000, "points drawn from a 2D generator")
	out := fs.String("out", "", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return fmt.Errorf("splits: -data and -out are required")
	}
	cfg := pipeline.DefaultConfig()
	cfg.Data, cfg.DataDir, cfg.Seed, cfg.ToySamples = *name, *dir, *seed, *toy
	sp, err := pipeline.PrepareSplits(&cfg)
	if err != nil {
		return fmt.Errorf("splits %s: %w", *name, err)
	}
	std, err := data.FitStandardizer(sp.Train)
	if err != nil {
		return fmt.Errorf("splits %s: %w", *name, err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	d := sp.D
	for _, p := range []struct {
		name string
		t    *data.Table
	}{{"train", sp.Train}, {"val", sp.Val}, {"test", sp.Test}} {
		x := append([]float64(nil), p.t.X...)
		if p.t.N > 0 {
			std.Forward(x, p.t.N)
		}
		if err := writeNPY(filepath.Join(*out, p.name+".npy"), x, p.t.N, d); err != nil {
			return err
		}
	}
	if err := writeNPY(filepath.Join(*out, "mean.npy"), std.Mean, d); err != nil {
		return err
	}
	if err := writeNPY(filepath.Join(*out, "std.npy"), std.Std, d); err != nil {
		return err
	}
	var ls float64
	for _, s := range std.Std {
		ls += math.Log(s)
	}
	nd := 0
	for _, b := range sp.Dequantized {
		if b {
			nd++
		}
	}
	meta := splitMeta{Dataset: *name, D: d, NTrain: sp.Train.N, NVal: sp.Val.N, NTest: sp.Test.N, Seed: *seed,
		Dequantized: nd, LogStdSum: ls, Source: sp.Dataset.Source}
	if err := writeJSON(filepath.Join(*out, "meta.json"), meta); err != nil {
		return err
	}
	return printJSON(meta)
}
