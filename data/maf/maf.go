// Package maf loads the MAF tabular density-estimation benchmark (POWER, GAS,
// HEPMASS, MINIBOONE, BSDS300) with the standard preprocessing of Papamakarios,
// Pavlakou and Murray, "Masked Autoregressive Flow for Density Estimation"
// (NeurIPS 2017, arXiv 1705.07057), from the layout of their data bundle
// (Zenodo record 1161203, archive data.tar.gz) after two documented
// conversions of files Go cannot read (a pandas pickle for GAS, HDF5 for
// BSDS300).
//
// Every loader returns three n×d tables (train, validation, test) in the units
// the published NLLs refer to: the preprocessed, standardized data. The
// preprocessing follows the behaviour of the MAF code, quirks included; each
// loader's quirks are listed in Load's documentation.
package maf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/iterflow/iterflow/data"
)

// Size is the standard shape of one MAF dataset after preprocessing: the
// dimension D and the row counts of the three splits.
type Size struct {
	D, Train, Val, Test int
}

// names lists the datasets in the order of the MAF paper's Table 1.
var names = []string{"power", "gas", "hepmass", "miniboone", "bsds300"}

// sizes are the standard shapes (methods.md §7; MAF paper, Appendix).
var sizes = map[string]Size{
	"power":     {D: 6, Train: 1659917, Val: 184435, Test: 204928},
	"gas":       {D: 8, Train: 852174, Val: 94685, Test: 105206},
	"hepmass":   {D: 21, Train: 315123, Val: 35013, Test: 174987},
	"miniboone": {D: 43, Train: 29556, Val: 3284, Test: 3648},
	"bsds300":   {D: 63, Train: 1000000, Val: 50000, Test: 250000},
}

// Names returns the dataset names Load accepts, lower case, in the order
// power, gas, hepmass, miniboone, bsds300. The slice is a fresh copy.
func Names() []string {
	return append([]string(nil), names...)
}

// Sizes returns the standard dimension and split sizes of the named dataset
// (case-insensitive), or an error listing the known names.
func Sizes(name string) (Size, error) {
	s, ok := sizes[strings.ToLower(name)]
	if !ok {
		return Size{}, unknownName(name)
	}
	return s, nil
}

func unknownName(name string) error {
	return fmt.Errorf("maf: unknown dataset %q (known: %s)", name, strings.Join(names, ", "))
}

// SplitSizes returns the MAF split of n rows (n ≥ 0): test = the last
// ⌊0.1·n⌋ rows, validation = the last ⌊0.1·(n − test)⌋ of the rest, train =
// what remains, computed as in the MAF code, int(0.1*N) in float64. For the
// standard totals it gives the standard sizes, e.g. MINIBOONE n = 36,488 →
// 29,556 / 3,284 / 3,648.
func SplitSizes(n int) (train, val, test int) {
	test = int(0.1 * float64(n))
	val = int(0.1 * float64(n-test))
	return n - test - val, val, test
}

// MissingFileError reports a dataset file that is not where Load looks for it.
// Error() names the file, the directory searched and the command that
// downloads the bundle; Hint, when set, adds the conversion needed for the
// files Go cannot read. errors.Is(err, fs.ErrNotExist) holds.
type MissingFileError struct {
	Dataset string // dataset name, e.g. "gas"
	File    string // file looked for, relative to Dir, e.g. "gas/ethylene_CO.csv"
	Dir     string // the directory searched (Load's dir argument)
	Hint    string // optional extra instruction, e.g. a conversion command
}

// Error implements error.
func (e *MissingFileError) Error() string {
	msg := fmt.Sprintf("maf: %s: file %s not found in directory %s; run `iterflow datasets fetch %s` to download the MAF data bundle",
		e.Dataset, e.File, e.Dir, e.Dataset)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Is makes errors.Is(err, fs.ErrNotExist) true for a MissingFileError.
func (e *MissingFileError) Is(target error) bool { return target == os.ErrNotExist }

// Load reads the named MAF dataset (power, gas, hepmass, miniboone, bsds300;
// case-insensitive) from dir, the folder holding the bundle's subfolders
// power/, gas/, hepmass/, miniboone/, BSDS300/, and returns the standard
// train, validation and test splits (n×d tables, see Sizes), preprocessed as
// the MAF code does:
//
//   - power (power/data.npy, 2,049,280×8: global active power, global
//     reactive power, voltage, global intensity, 3 sub-meterings, time):
//     rows shuffled with numpy RandomState(42) (reproduced exactly, see
//     RandomState), columns 3 (global intensity) then 1 (global reactive
//     power) deleted, uniform noise added from the same generator — drawn in
//     MAF's order: voltage 0.01·U(N×1) first, then active power 0.001·U(N×1),
//     then sub-metering U(N×3) row by row; time gets none — split with
//     SplitSizes, standardized by the train+validation mean and population
//     (ddof 0) standard deviation.
//   - gas (gas/ethylene_CO.csv, or gas/ethylene_CO.npy with the column names
//     one per line in gas/ethylene_CO.columns; 1,052,065 rows): the bundle's
//     pandas pickle converted with GasConversionCommand. Columns Meth, Eth
//     and Time are dropped; then, while some column has correlation > 0.98
//     (signed, as MAF's `C > 0.98`; counting itself) with more than one
//     column, the first such column is dropped — by name, so all columns
//     sharing that name go, as pandas' drop does; the result is standardized
//     by the mean and sample (ddof 1) standard deviation of all rows and
//     split with SplitSizes without shuffling.
//   - hepmass (hepmass/1000_train.csv and hepmass/1000_test.csv; a header
//     line, first column the label): rows with label 1 kept and the label
//     dropped; the test file's last column dropped when it has one more
//     column than train (MAF's "the data set is messed up" fix); both
//     standardized by the train mean and sample (ddof 1) standard deviation;
//     features dropped where the smallest value of the standardized train
//     column occurs more than 5 times — MAF's quirk: it means to drop
//     features with a heavily repeated value but reads the count of the
//     smallest key of a sorted counter; validation = the last ⌊0.1·N⌋ train
//     rows. The test split is the file's own.
//   - miniboone (miniboone/data.npy, 36,488×43): split with SplitSizes
//     without shuffling, standardized by the train+validation mean and
//     population (ddof 0) standard deviation.
//   - bsds300 (BSDS300/train.npy, validation.npy, test.npy, each ×63): the
//     bundle's BSDS300.hdf5 converted with BSDS300ConversionCommand (no
//     pure-Go HDF5 reader is available); used as stored.
//
// Raw files are checked against the standard: a row count or width that
// differs is an error naming the file, the expected and the actual shape
// (LoadPartial accepts fewer rows). A missing file is a *MissingFileError.
// A column with zero spread on the subset that defines the standardization
// is an error naming the column (never a NaN). Means and standard deviations
// are summed in order in float64, so values can differ from NumPy's pairwise
// sums in the last bits.
func Load(name, dir string) (train, val, test *data.Table, err error) {
	return load(name, dir, false)
}

// LoadPartial is Load for files with fewer rows than the standard (e.g. the
// first rows of a file, for tests), with the same preprocessing applied to
// the rows present and the split sizes computed from them (SplitSizes).
// Raw widths must still match the standard (GAS: the Meth, Eth and Time
// columns must be present; the number of columns left after the cleaning is
// checked only by Load). Standardization statistics come from
// the rows present, so values differ from the full dataset's.
func LoadPartial(name, dir string) (train, val, test *data.Table, err error) {
	return load(name, dir, true)
}

func load(name, dir string, partial bool) (train, val, test *data.Table, err error) {
	key := strings.ToLower(name)
	var fn func(dir string, partial bool) (*data.Table, *data.Table, *data.Table, error)
	switch key {
	case "power":
		fn = loadPower
	case "gas":
		fn = loadGas
	case "hepmass":
		fn = loadHepmass
	case "miniboone":
		fn = loadMiniboone
	case "bsds300":
		fn = loadBSDS300
	default:
		return nil, nil, nil, unknownName(name)
	}
	train, val, test, err = fn(dir, partial)
	if err != nil {
		var mf *MissingFileError
		if errors.As(err, &mf) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, fmt.Errorf("maf: %s: %w", key, err)
	}
	return train, val, test, nil
}

// openTable reads dir/rel with data.Load, turning a missing file into a
// *MissingFileError.
func openTable(dataset, dir, rel, hint string) (*data.Table, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &MissingFileError{Dataset: dataset, File: rel, Dir: dir, Hint: hint}
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data.Load(path)
}

// checkShape checks a raw table against the standard row count and width.
// With partial, 2 ≤ rows ≤ wantN is accepted.
func checkShape(t *data.Table, path string, wantN, wantD int, partial bool) error {
	if t.D != wantD {
		return fmt.Errorf("%s has %d columns, want %d", path, t.D, wantD)
	}
	if partial {
		if t.N > wantN || t.N < 10 {
			return fmt.Errorf("%s has %d rows; partial load wants 10 to %d", path, t.N, wantN)
		}
		return nil
	}
	if t.N != wantN {
		return fmt.Errorf("%s has %d rows × %d columns, want %d × %d (LoadPartial accepts fewer rows)", path, t.N, t.D, wantN, wantD)
	}
	return nil
}
