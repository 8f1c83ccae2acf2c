package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/data/maf"
	"github.com/iterflow/iterflow/data/registry"
	"github.com/iterflow/iterflow/internal/wording"
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
	// N and D are the rows and columns of the whole table (after the rows
	// and columns dropped below).
	N, D int
	// DroppedRows is the number of rows of a data file dropped for NaN or
	// ±Inf values (Config.DropNonFinite).
	DroppedRows int
	// DroppedColumns lists the names of the constant columns dropped
	// (Config.DropConstant).
	DroppedColumns []string
	// Warnings are lines for the run's log: one per dropped constant column,
	// one giving the count of rows that repeat an earlier row (tables other
	// than images and the 2D generators), and one giving the count of dropped
	// rows, e.g.
	// `data bad.csv: dropped 2 rows with NaN or Inf (first at line 12, column 3 ("c"))`.
	Warnings []string
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
// bit. Errors name the data and the problem: rows with NaN or Inf (their
// count and the first, unless cfg.DropNonFinite), too few rows (< 50, or
// fewer than 2·d), a constant column (unless cfg.DropConstant), or a split
// that leaves a part empty.
//
// With cfg.DropConstant the constant columns are dropped and cfg.Columns is
// rewritten to the 0-based indices of the kept columns in the file, so that
// the config saved with the run (and logprob on the original file) selects
// the same columns.
func PrepareSplits(cfg *Config) (*Splits, error) {
	if isRegistryName(cfg.Data) {
		return prepareRegistrySplits(cfg)
	}
	ds, rep, raw, err := loadDatasetReport(cfg)
	if err != nil {
		return nil, err
	}
	var warnings []string
	if rep.DroppedRows > 0 {
		warnings = append(warnings, fmt.Sprintf("data %s: dropped %s with NaN or Inf (first at %s)", ds.Name, wording.Plural(rep.DroppedRows, "row"), rep.FirstDropped))
	}
	tab := ds.Table
	n, d := tab.N, tab.D
	if n < 50 {
		return nil, fmt.Errorf("data %s: %s is too few; need at least 50 to split into train, validation and test", ds.Name, wording.Plural(n, "row"))
	}
	// A constant column has no density; dequantizing it would only model the
	// noise. Image data keep theirs (dequantization makes them uniform pixels).
	var dropped []string
	if cc := data.ConstantColumns(tab); len(cc) > 0 && ds.ImageH == 0 && cfg.Dequantize != "all" {
		if !cfg.DropConstant {
			j := cc[0]
			return nil, fmt.Errorf("data %s: column %d (%q, counting from 0 as --columns does) is constant (value %g); drop it with --columns, or drop every constant column with --drop-constant (config: drop_constant: true)", ds.Name, j, tab.Names[j], tab.X[j])
		}
		if len(cc) == d {
			return nil, fmt.Errorf("data %s: all columns are constant (%s); nothing to model", ds.Name, wording.Plural(d, "column"))
		}
		keep, err := keptColumns(raw, cfg.Columns, cc, d)
		if err != nil {
			return nil, fmt.Errorf("data %s: %w", ds.Name, err)
		}
		sel, err := raw.Select(keep)
		if err != nil {
			return nil, fmt.Errorf("data %s: drop constant columns: %w", ds.Name, err)
		}
		for _, j := range cc {
			dropped = append(dropped, tab.Names[j])
			warnings = append(warnings, fmt.Sprintf("data %s: dropped constant column %d (%q, value %g)", ds.Name, j, tab.Names[j], tab.X[j]))
		}
		cfg.Columns = keep
		tab, d = sel, sel.D
		ds.Table = sel
	}
	if n < 2*d {
		return nil, fmt.Errorf("data %s: %d rows for %d columns; need at least twice as many rows as columns", ds.Name, n, d)
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
	if ds.ImageH == 0 && !ds.Toy {
		if dup, first := data.DuplicateRows(tab); dup > 0 {
			verb := "repeat"
			if dup == 1 {
				verb = "repeats"
			}
			warnings = append(warnings, fmt.Sprintf("data %s: %d of its %d rows %s an earlier row exactly (the first: data row %d, counting from 1); "+
				"copies can land in both the training and the test split, which makes the test NLL optimistic",
				ds.Name, dup, n, verb, first+1))
		}
	}
	x := append([]float64(nil), tab.X...)
	tabq := &data.Table{X: x, N: n, D: d, Names: tab.Names}
	data.Dequantize(x, n, d, deq, rand.New(rand.NewPCG(cfg.Seed, 0xd0)))
	train, val, test, err := data.Split(tabq, cfg.ValFrac, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	return &Splits{Dataset: ds, Dequantized: deq, Train: train, Val: val, Test: test, N: n, D: d,
		DroppedRows: rep.DroppedRows, DroppedColumns: dropped, Warnings: warnings}, nil
}

// loadDatasetReport is LoadDataset with cfg.DropNonFinite applied to data
// files. It also returns the file's table before cfg.Columns (raw; nil for
// the built-in and generated data). A NaN or Inf error names the option.
func loadDatasetReport(cfg *Config) (*Dataset, data.LoadReport, *data.Table, error) {
	var rep data.LoadReport
	if cfg.Data == "digits" || isToy(cfg.Data) {
		ds, err := LoadDataset(cfg)
		return ds, rep, nil, err
	}
	if err := checkDataName(cfg.Data); err != nil {
		return nil, rep, nil, err
	}
	raw, rep, err := data.LoadWithReport(cfg.Data, data.LoadOptions{DropNonFinite: cfg.DropNonFinite})
	if err != nil {
		if _, ok := data.IsNonFinite(err); ok {
			err = fmt.Errorf("%w; drop those rows with --drop-nonfinite (config: drop_nonfinite: true)", err)
		}
		if errors.Is(err, data.ErrNotNumber) {
			err = fmt.Errorf("%w; a column of text (labels, names) can be left out with --columns (e.g. --columns 0-10 or by names)", err)
		}
		return nil, rep, nil, err
	}
	t := raw
	if cfg.Columns != "" {
		if t, err = raw.Select(cfg.Columns); err != nil {
			return nil, rep, nil, fmt.Errorf("columns: %w", err)
		}
	}
	return &Dataset{Table: t, Name: filepath.Base(cfg.Data), Source: cfg.Data}, rep, raw, nil
}

// keptColumns returns the selection (0-based indices into raw, comma-separated)
// of the columns that the selection sel (all if empty) keeps after dropping
// the selected columns at positions drop (indices into the d selected ones).
func keptColumns(raw *data.Table, sel string, drop []int, d int) (string, error) {
	if raw == nil {
		return "", fmt.Errorf("constant columns can only be dropped from a data file")
	}
	// Select on a one-row table of column indices maps sel to raw indices.
	idx := make([]float64, raw.D)
	for j := range idx {
		idx[j] = float64(j)
	}
	it, err := (&data.Table{X: idx, N: 1, D: raw.D, Names: raw.Names}).Select(sel)
	if err != nil {
		return "", fmt.Errorf("columns: %w", err)
	}
	if it.D != d {
		return "", fmt.Errorf("columns: selection %q gives %d columns, want %d", sel, it.D, d)
	}
	skip := make(map[int]bool, len(drop))
	for _, j := range drop {
		skip[j] = true
	}
	var parts []string
	for k, v := range it.X {
		if !skip[k] {
			parts = append(parts, strconv.Itoa(int(v)))
		}
	}
	return strings.Join(parts, ","), nil
}

// isRegistryName reports whether data names a registry dataset (other than
// the built-in digits and the 2D generators, which Run handles itself) and
// is not an existing file.
func isRegistryName(name string) bool {
	if name == "digits" || isToy(name) {
		return false
	}
	if _, err := os.Stat(name); err == nil {
		return false
	}
	_, err := registry.Lookup(name)
	return err == nil
}

// prepareRegistrySplits loads a registry dataset with its own split rule
// (seeded 80/10/10 by default for tables; the stored test file for images;
// the standard splits for the MAF sets), applies cfg.Columns to each split
// and dequantizes each split with its own seeded noise stream.
func prepareRegistrySplits(cfg *Config) (*Splits, error) {
	ld, err := registry.Load(context.Background(), cfg.Data, registry.Options{
		Dirs: registry.ResolveDirs(cfg.DataDir), Seed: cfg.Seed, ValFrac: cfg.ValFrac, TestFrac: cfg.TestFrac,
		MaxRows: cfg.MaxRows, MAFLoader: maf.Load})
	if err != nil {
		return nil, err
	}
	parts := []*data.Table{ld.Train, ld.Val, ld.Test}
	if cfg.Columns != "" {
		for i, t := range parts {
			if parts[i], err = t.Select(cfg.Columns); err != nil {
				return nil, fmt.Errorf("columns: %w", err)
			}
		}
	}
	train, val, test := parts[0], parts[1], parts[2]
	d := train.D
	image := ld.Image.H > 0
	deq := make([]bool, d)
	switch {
	case cfg.Dequantize == "all" || (cfg.Dequantize == "auto" && image):
		for j := range deq {
			deq[j] = true
		}
	case cfg.Dequantize == "auto":
		a, b, c := data.IntegerColumns(train), data.IntegerColumns(val), data.IntegerColumns(test)
		for j := range deq {
			deq[j] = a[j] && (val.N == 0 || b[j]) && c[j]
		}
	}
	for i, t := range parts {
		x := append([]float64(nil), t.X...)
		data.Dequantize(x, t.N, d, deq, rand.New(rand.NewPCG(cfg.Seed, 0xd0+uint64(i))))
		parts[i] = &data.Table{X: x, N: t.N, D: d, Names: t.Names}
	}
	train, val, test = parts[0], parts[1], parts[2]
	if cc := data.ConstantColumns(train); len(cc) > 0 && !image && cfg.Dequantize != "all" {
		j := cc[0]
		return nil, fmt.Errorf("data %s: column %d (%q, counting from 0 as --columns does) is constant in the training split (value %g); drop it with --columns", cfg.Data, j, train.Names[j], train.X[j])
	}
	src := ld.Dataset.Source
	if ld.Dataset.Licence != "" {
		src += " (licence: " + ld.Dataset.Licence + ")"
	}
	if len(ld.Steps) > 0 {
		src += "; preprocessing: " + strings.Join(ld.Steps, "; ")
	}
	ds := &Dataset{Table: train, Name: cfg.Data, Source: src}
	if image && ld.Image.C == 1 && ld.Image.H*ld.Image.W == d {
		ds.ImageH, ds.ImageW, ds.Lo, ds.Hi = ld.Image.H, ld.Image.W, 0, 255
	}
	ds.Image = image
	return &Splits{Dataset: ds, Dequantized: deq, Train: train, Val: val, Test: test, N: train.N + val.N + test.N, D: d}, nil
}
