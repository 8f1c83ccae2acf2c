package maf

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/iterflow/iterflow/data"
)

// gasRows is the row count of the bundle's gas/ethylene_CO.pickle.
const gasRows = 1052065

// gasCorrThreshold is MAF's correlation threshold for dropping GAS columns.
const gasCorrThreshold = 0.98

// GasConversionCommand converts the bundle's pandas pickle to the CSV file
// Load reads, run in the folder holding gas/. The pickle was written by an
// old pandas; if a recent pandas cannot read it, run the command with
// pandas < 2.
const GasConversionCommand = `python -c "import pandas as pd; pd.read_pickle('gas/ethylene_CO.pickle').to_csv('gas/ethylene_CO.csv', index=False)"`

// gasDropped are the columns MAF drops before the correlation cleaning.
var gasDropped = []string{"Meth", "Eth", "Time"}

func loadGas(dir string, partial bool) (train, val, test *data.Table, err error) {
	raw, path, err := readGas(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	if partial {
		if raw.N > gasRows || raw.N < 10 {
			return nil, nil, nil, fmt.Errorf("%s has %d rows; partial load wants 10 to %d", path, raw.N, gasRows)
		}
	} else if raw.N != gasRows {
		return nil, nil, nil, fmt.Errorf("%s has %d rows, want %d (LoadPartial accepts fewer rows)", path, raw.N, gasRows)
	}
	x, names, err := cleanGas(raw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	d := len(names)
	if !partial && d != sizes["gas"].D {
		return nil, nil, nil, fmt.Errorf("%s: %d columns left after dropping Meth, Eth, Time and correlated columns (%s), want %d",
			path, d, strings.Join(names, ", "), sizes["gas"].D)
	}
	if err := standardize(x, d, names, 0, raw.N, 1, "whole set"); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	nTr, nVal, nTe := SplitSizes(raw.N)
	train, val, test = splitRows(x, d, names, nTr, nVal, nTe)
	return train, val, test, nil
}

// readGas reads gas/ethylene_CO.csv, or gas/ethylene_CO.npy with its names
// from gas/ethylene_CO.columns, whichever exists (CSV first).
func readGas(dir string) (*data.Table, string, error) {
	csvPath := filepath.Join(dir, "gas", "ethylene_CO.csv")
	npyPath := filepath.Join(dir, "gas", "ethylene_CO.npy")
	if _, err := os.Stat(csvPath); err == nil {
		t, err := data.Load(csvPath)
		if err != nil {
			return nil, "", err
		}
		return t, csvPath, nil
	}
	if _, err := os.Stat(npyPath); err != nil {
		hint := "the bundle's gas/ethylene_CO.pickle is a pandas pickle Go cannot read: convert it, in " + dir + ", with " + GasConversionCommand
		return nil, "", &MissingFileError{Dataset: "gas", File: "gas/ethylene_CO.csv", Dir: dir, Hint: hint}
	}
	t, err := data.Load(npyPath)
	if err != nil {
		return nil, "", err
	}
	colPath := filepath.Join(dir, "gas", "ethylene_CO.columns")
	names, err := readNames(colPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("%s needs its column names, one per line, in %s, which is missing", npyPath, colPath)
		}
		return nil, "", err
	}
	if len(names) != t.D {
		return nil, "", fmt.Errorf("%s lists %d column names for the %d columns of %s", colPath, len(names), t.D, npyPath)
	}
	t.Names = names
	return t, npyPath, nil
}

// readNames reads non-blank lines, trimmed, from path.
func readNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return names, nil
}

// cleanGas drops Meth, Eth and Time, then repeats MAF's correlation cleaning:
// count, for each column, the columns (itself included) whose Pearson
// correlation with it exceeds 0.98; while some count exceeds 1, drop every
// column named like the first column with such a count. It returns the kept
// n×d' matrix and names.
func cleanGas(t *data.Table) ([]float64, []string, error) {
	keep := make([]int, 0, t.D)
	for _, want := range gasDropped {
		found := false
		for _, nm := range t.Names {
			if nm == want {
				found = true
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("no column named %q (columns: %s)", want, strings.Join(t.Names, ", "))
		}
	}
	for j, nm := range t.Names {
		drop := false
		for _, g := range gasDropped {
			if nm == g {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, j)
		}
	}
	if len(keep) == 0 {
		return nil, nil, errors.New("no columns left after dropping Meth, Eth, Time")
	}
	x := keepColumns(t.X, t.N, t.D, keep)
	names := pick(t.Names, keep)
	for {
		d := len(names)
		counts := corrCounts(x, t.N, d, gasCorrThreshold)
		first := -1
		for j, c := range counts {
			if c > 1 {
				first = j
				break
			}
		}
		if first < 0 {
			return x, names, nil
		}
		var kept []int
		for j, nm := range names {
			if nm != names[first] {
				kept = append(kept, j)
			}
		}
		x = keepColumns(x, t.N, d, kept)
		names = pick(names, kept)
	}
}

// corrCounts returns, for each column of x (n×d), how many columns (itself
// included) have Pearson correlation with it greater than thr, as MAF's
// (data.corr() > thr).sum(axis=1). A constant column has NaN correlations,
// which count as false (so it counts 0, not even itself).
func corrCounts(x []float64, n, d int, thr float64) []int {
	mean, _ := colStats(x, d, 0, n, 0)
	cov := make([]float64, d*d)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		for a := 0; a < d; a++ {
			da := row[a] - mean[a]
			c := cov[a*d : (a+1)*d]
			for b := a; b < d; b++ {
				c[b] += da * (row[b] - mean[b])
			}
		}
	}
	counts := make([]int, d)
	for a := 0; a < d; a++ {
		for b := 0; b < d; b++ {
			lo, hi := min(a, b), max(a, b)
			r := cov[lo*d+hi] / math.Sqrt(cov[lo*d+lo]*cov[hi*d+hi])
			if r > thr {
				counts[a]++
			}
		}
	}
	return counts
}
