package registry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/data/toy"
)

// MAFLoader loads a MAF benchmark set with its standard preprocessing and
// splits from the data directory dir (the directory holding power/, gas/,
// hepmass/, miniboone/ and BSDS300/). Package data/maf provides one (maf.Load).
type MAFLoader func(name, dir string) (train, val, test *data.Table, err error)

// Options configures Load. The zero value is usable: default directories,
// seed 0, an 80/10/10 split, every image and 10000 points for 2D sets.
type Options struct {
	// Dirs are the data directories searched in order; nil means
	// ResolveDirs("").
	Dirs []string
	// Seed draws the split, the image subset and the 2D points.
	Seed uint64
	// ValFrac and TestFrac are the validation and test fractions of the rows
	// (tables and 2D sets: data.Split's rule; images: ValFrac of the training
	// file, TestFrac ignored since the test file is given). Both 0 means
	// DefaultValFrac and DefaultTestFrac (0.1 each).
	ValFrac, TestFrac float64
	// MaxRows, when positive, keeps a seeded random subset of at most MaxRows
	// items of each image file (train file and test file), chosen while
	// reading, in file order. It is ignored by the other kinds.
	MaxRows int
	// N2D is the number of points drawn from a 2D generator (0: Default2DRows).
	N2D int
	// MAFLoader loads the MAF sets (power, gas, hepmass, miniboone, bsds300);
	// nil makes Load return a "not wired" error for them.
	MAFLoader MAFLoader
}

// DroppedColumn records a column removed by preprocessing: its 0-based index
// and name in the file as read, and why it was dropped.
type DroppedColumn struct {
	Index  int
	Name   string
	Reason string
}

// Loaded is a dataset ready for training: train, validation and test tables
// in data units (not standardized: fit a data.Standardizer on Train), all with
// the same D columns.
type Loaded struct {
	Dataset           Dataset
	Train, Val, Test  *data.Table
	Names             []string // D column names
	Integer           []bool   // D flags: the column holds only integers (dequantize with data.Dequantize)
	Image             ImageShape
	TrainLabels       []int // class labels of the Train rows for images (nil otherwise)
	ValLabels         []int
	TestLabels        []int
	Dropped           []DroppedColumn
	Steps             []string // the preprocessing applied, in order, one line each
	Paths             []string // the files read
	ValFrac, TestFrac float64  // the fractions used
	Seed              uint64
}

// Load reads the dataset registered under name and returns its preprocessed
// train/val/test split (see Dataset.Preprocessing for each rule; the rows of
// every part are in the order of a seeded permutation, as data.Split).
//
// Tables: the file is read with data.Load (red-wine, white-wine: column
// "quality" dropped; parkinsons: subject#, age, sex, test_time dropped, then
// near-duplicates with |corr| > 0.98 dropped greedily; digits: data.Digits(),
// constant columns dropped; faithful and miniboone-fragment: all columns);
// constant columns are always dropped; then data.Split(t, ValFrac, TestFrac,
// Seed). Integer holds data.IntegerColumns of the whole preprocessed table.
//
// Images: pixels 0..255 as float64 in n×(C·H·W) tables, channel-major;
// every column flagged integer; labels kept; test = the stored test file;
// validation = ValFrac of the training file drawn as data.Split does with
// testFrac 0 (the same rows for the same seed). A full MNIST load holds about
// 440 MB of float64 and a full CIFAR-10 load 860 MB, and decoding CIFAR-10's
// 107 MB of xz takes about 15 s of CPU with the pure-Go decoder
// (github.com/ulikunitz/xz); use MaxRows to subsample (the whole file is still
// decoded, but only the kept images are stored).
//
// Errors: an unknown name (see Lookup), a *MissingError for a missing file,
// read errors naming the file, bad fractions, a shape that does not match the
// registry, ctx's error when cancelled, and a "not wired" error for MAF sets
// when opt.MAFLoader is nil.
func Load(ctx context.Context, name string, opt Options) (*Loaded, error) {
	ds, err := Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", ds.Name, err)
	}
	if opt.ValFrac == 0 && opt.TestFrac == 0 {
		opt.ValFrac, opt.TestFrac = DefaultValFrac, DefaultTestFrac
	}
	if opt.Dirs == nil {
		opt.Dirs = ResolveDirs("")
	}
	if opt.MaxRows < 0 || opt.N2D < 0 {
		return nil, fmt.Errorf("load dataset %s: MaxRows = %d and N2D = %d, want ≥ 0", ds.Name, opt.MaxRows, opt.N2D)
	}
	paths, err := Find(ds, opt.Dirs)
	if err != nil {
		return nil, err
	}
	out := &Loaded{Dataset: ds, Paths: paths, ValFrac: opt.ValFrac, TestFrac: opt.TestFrac, Seed: opt.Seed}
	switch ds.Kind {
	case Kind2D:
		err = load2D(out, opt)
	case KindTable:
		err = loadTable(out, opt)
	case KindImage:
		err = loadImages(ctx, out, opt)
	case KindMAF:
		err = loadMAF(out, opt)
	default:
		err = fmt.Errorf("unknown kind %q", ds.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", ds.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", ds.Name, err)
	}
	return out, nil
}

// splitTable splits t with data.Split and fills out's tables, names and flags.
func splitTable(out *Loaded, t *data.Table, opt Options) error {
	tr, va, te, err := data.Split(t, opt.ValFrac, opt.TestFrac, opt.Seed)
	if err != nil {
		return err
	}
	out.Train, out.Val, out.Test = tr, va, te
	out.Names = append([]string(nil), t.Names...)
	out.Steps = append(out.Steps, fmt.Sprintf("seeded split (data.Split, seed %d): %d train, %d val, %d test rows (val %.3g, test %.3g)",
		opt.Seed, tr.N, va.N, te.N, opt.ValFrac, opt.TestFrac))
	return nil
}

func load2D(out *Loaded, opt Options) error {
	n := opt.N2D
	if n == 0 {
		n = Default2DRows
	}
	// Stream 0x2d keeps the points independent of the split permutation.
	x, err := toy.Sample(out.Dataset.Name, n, rand.New(rand.NewPCG(opt.Seed, 0x2d)))
	if err != nil {
		return err
	}
	t, err := data.NewTable(x, n, 2, []string{"x", "y"})
	if err != nil {
		return err
	}
	out.Steps = append(out.Steps, fmt.Sprintf("drew %d points with toy.Sample (PCG seed %d, stream 0x2d)", n, opt.Seed))
	out.Integer = make([]bool, 2)
	return splitTable(out, t, opt)
}

func loadTable(out *Loaded, opt Options) error {
	ds := out.Dataset
	var t *data.Table
	var err error
	if ds.Name == "digits" {
		t = data.Digits()
		out.Steps = append(out.Steps, "read the embedded data.Digits() (1797×64)")
	} else {
		t, err = data.Load(out.Paths[0])
		if err != nil {
			return err
		}
		out.Steps = append(out.Steps, fmt.Sprintf("read %s (%d×%d)", out.Paths[0], t.N, t.D))
	}
	orig := t.Names
	keep := make([]int, t.D) // indices into the file's columns
	for j := range keep {
		keep[j] = j
	}
	drop := func(j int, reason string) {
		out.Dropped = append(out.Dropped, DroppedColumn{Index: j, Name: orig[j], Reason: reason})
		keep = slices.DeleteFunc(keep, func(k int) bool { return k == j })
	}
	switch ds.Name {
	case "red-wine", "white-wine":
		if t.D != 12 {
			return fmt.Errorf("%s: %d columns, want 12 (11 measurements and quality)", out.Paths[0], t.D)
		}
		if strings.HasPrefix(t.Names[0], "x0") { // the headerless copy: name the columns
			t.Names = append([]string(nil), wineColumns...)
			orig = t.Names
		}
		drop(11, "discrete label (quality score 0-10)")
	case "parkinsons":
		for _, c := range []struct{ name, reason string }{
			{"subject#", "identifier"},
			{"age", "discrete (integer years, constant per subject)"},
			{"sex", "discrete (0/1)"},
			{"test_time", "recording day since recruitment, not a measurement"},
		} {
			j := slices.Index(t.Names, c.name)
			if j < 0 {
				return fmt.Errorf("%s: no column %q (want the UCI header subject#,age,sex,test_time,…)", out.Paths[0], c.name)
			}
			drop(j, c.reason)
		}
	}
	if len(keep) != t.D {
		if t, err = selectCols(t, keep); err != nil {
			return err
		}
		out.Steps = append(out.Steps, fmt.Sprintf("dropped %d listed columns", len(out.Dropped)))
	}
	if ds.Name == "parkinsons" {
		dup := correlatedColumns(t, 0.98)
		if len(dup) > 0 {
			for _, k := range dup {
				out.Dropped = append(out.Dropped, DroppedColumn{Index: keep[k.col], Name: orig[keep[k.col]],
					Reason: fmt.Sprintf("near-duplicate of %q (|corr| = %.4f > 0.98)", t.Names[k.with], k.corr)})
			}
			rest := make([]int, 0, t.D)
			sub := make([]int, 0, t.D)
			for j := 0; j < t.D; j++ {
				if !slices.ContainsFunc(dup, func(k corrDrop) bool { return k.col == j }) {
					rest = append(rest, keep[j])
					sub = append(sub, j)
				}
			}
			if t, err = selectCols(t, sub); err != nil {
				return err
			}
			keep = rest
			out.Steps = append(out.Steps, fmt.Sprintf("dropped %d near-duplicate columns (|corr| > 0.98, greedy, lowest index first)", len(dup)))
		}
	}
	if cc := data.ConstantColumns(t); len(cc) > 0 {
		sub := make([]int, 0, t.D)
		rest := make([]int, 0, t.D)
		for j := 0; j < t.D; j++ {
			if slices.Contains(cc, j) {
				out.Dropped = append(out.Dropped, DroppedColumn{Index: keep[j], Name: orig[keep[j]],
					Reason: fmt.Sprintf("constant (value %g)", t.X[j])})
			} else {
				sub = append(sub, j)
				rest = append(rest, keep[j])
			}
		}
		if t, err = selectCols(t, sub); err != nil {
			return err
		}
		keep = rest
		out.Steps = append(out.Steps, fmt.Sprintf("dropped %d constant columns", len(cc)))
	}
	if t.D != ds.Dim {
		return fmt.Errorf("%d columns after preprocessing, want %d (registry)", t.D, ds.Dim)
	}
	out.Integer = data.IntegerColumns(t)
	if n := countTrue(out.Integer); n > 0 {
		out.Steps = append(out.Steps, fmt.Sprintf("%d integer-valued columns flagged for dequantization", n))
	}
	return splitTable(out, t, opt)
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// selectCols returns the columns cols (0-based, in order) of t.
func selectCols(t *data.Table, cols []int) (*data.Table, error) {
	spec := make([]string, len(cols))
	for i, c := range cols {
		spec[i] = fmt.Sprint(c)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no columns left")
	}
	return t.Select(strings.Join(spec, ","))
}

// corrDrop is a column dropped as a near-duplicate of another.
type corrDrop struct {
	col, with int
	corr      float64
}

// correlatedColumns applies the greedy rule of MAF's GAS preprocessing
// (Papamakarios et al., arXiv 1705.07057, code of the paper) with |corr|:
// while some remaining column has |Pearson correlation| > thr with another
// remaining column, drop the lowest-indexed such column. It returns the
// dropped columns in order. Constant columns have no correlation and are
// never dropped here.
func correlatedColumns(t *data.Table, thr float64) []corrDrop {
	n, d := t.N, t.D
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range t.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov := make([]float64, d*d)
	for i := 0; i < n; i++ {
		r := t.Row(i)
		for a := 0; a < d; a++ {
			da := r[a] - mean[a]
			for b := a; b < d; b++ {
				cov[a*d+b] += da * (r[b] - mean[b])
			}
		}
	}
	corr := func(a, b int) float64 {
		if a > b {
			a, b = b, a
		}
		den := math.Sqrt(cov[a*d+a] * cov[b*d+b])
		if den == 0 {
			return 0
		}
		return cov[a*d+b] / den
	}
	alive := make([]bool, d)
	for j := range alive {
		alive[j] = true
	}
	var out []corrDrop
	for {
		found := false
		for a := 0; a < d && !found; a++ {
			if !alive[a] {
				continue
			}
			for b := 0; b < d; b++ {
				if b == a || !alive[b] {
					continue
				}
				if c := corr(a, b); math.Abs(c) > thr {
					out = append(out, corrDrop{col: a, with: b, corr: c})
					alive[a] = false
					found = true
					break
				}
			}
		}
		if !found {
			return out
		}
	}
}

func loadMAF(out *Loaded, opt Options) error {
	if opt.MAFLoader == nil {
		return fmt.Errorf("MAF loader not wired (set Options.MAFLoader, e.g. to maf.Load from package data/maf)")
	}
	rel := filepath.FromSlash(out.Dataset.Files[0].Path)
	dir := strings.TrimSuffix(out.Paths[0], rel)
	dir = strings.TrimSuffix(dir, string(filepath.Separator))
	if dir == "" {
		dir = "."
	}
	tr, va, te, err := opt.MAFLoader(out.Dataset.Name, dir)
	if err != nil {
		return err
	}
	if tr == nil || va == nil || te == nil {
		return fmt.Errorf("MAF loader returned a nil table")
	}
	out.Train, out.Val, out.Test = tr, va, te
	out.Names = append([]string(nil), tr.Names...)
	out.Integer = make([]bool, tr.D)
	out.ValFrac, out.TestFrac = 0, 0
	out.Steps = append(out.Steps, "MAF loader from "+dir+": "+out.Dataset.Preprocessing)
	return nil
}
