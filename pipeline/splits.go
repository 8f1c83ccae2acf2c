package pipeline

import (
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/data"
)

// Splits is a run's data as Run prepares it: the loaded table, its integer
// columns dequantized once with seeded U[0, 1) noise, then split by a seeded
// shuffle. Train, Val and Test are in data units (dequantized, not
// standardized); Val has 0 rows when the config's val_frac is 0.
type Splits struct {
	Dataset *Dataset
	// Dequantized marks the columns that received U[0, 1) noise (length D).
	Dequantized []bool
	Train       *data.Table
	Val         *data.Table
	Test        *data.Table
	// N and D are the rows and columns of the whole table.
	N, D int
}

// Split returns the named part: "train", "val" (or "validation") or "test".
// Errors: an unknown name, or an empty validation split.
func (s *Splits) Split(name string) (*data.Table, error) {
	switch name {
	case "train":
		return s.Train, nil
	case "val", "validation":
		if s.Val.N == 0 {
			return nil, fmt.Errorf("split val: the run has no validation rows (val_frac 0)")
		}
		return s.Val, nil
	case "test":
		return s.Test, nil
	}
	return nil, fmt.Errorf("unknown split %q (want test, val or train)", name)
}

// PrepareSplits loads cfg.Data, applies cfg.Columns, dequantizes and splits
// exactly as Run does, so that the same config gives the same rows bit for
// bit. Errors name the data and the problem: too few rows (< 50, or fewer
// than 2·d), a constant column, or a split that leaves a part empty.
func PrepareSplits(cfg *Config) (*Splits, error) {
	ds, err := LoadDataset(cfg)
	if err != nil {
		return nil, err
	}
	tab := ds.Table
	n, d := tab.N, tab.D
	if n < 50 {
		return nil, fmt.Errorf("data %s: %d rows is too few; need at least 50 to split into train, validation and test", ds.Name, n)
	}
	if n < 2*d {
		return nil, fmt.Errorf("data %s: %d rows for %d columns; need at least twice as many rows as columns", ds.Name, n, d)
	}
	// A constant column has no density; dequantizing it would only model the
	// noise. Image data keep theirs (dequantization makes them uniform pixels).
	if cc := data.ConstantColumns(tab); len(cc) > 0 && ds.ImageH == 0 && cfg.Dequantize != "all" {
		j := cc[0]
		return nil, fmt.Errorf("data %s: column %d (%q) is constant (value %g); drop it with --columns", ds.Name, j, tab.Names[j], tab.X[j])
	}
	// Dequantize integer columns once (seeded), then split. Image data
	// (integer pixels) are dequantized in every column.
	var deq []bool
	switch {
	case ds.Toy && cfg.Dequantize == "auto":
		deq = make([]bool, d)
	case cfg.Dequantize == "auto" && ds.ImageH == 0:
		deq = data.IntegerColumns(tab)
	case cfg.Dequantize == "all" || cfg.Dequantize == "auto":
		deq = make([]bool, d)
		for j := range deq {
			deq[j] = true
		}
	default: // "none"
		deq = make([]bool, d)
	}
	x := append([]float64(nil), tab.X...)
	tabq := &data.Table{X: x, N: n, D: d, Names: tab.Names}
	data.Dequantize(x, n, d, deq, rand.New(rand.NewPCG(cfg.Seed, 0xd0)))
	train, val, test, err := data.Split(tabq, cfg.ValFrac, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	return &Splits{Dataset: ds, Dequantized: deq, Train: train, Val: val, Test: test, N: n, D: d}, nil
}
