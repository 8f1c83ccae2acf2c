package maf

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitSizesStandard(t *testing.T) {
	for _, name := range []string{"power", "gas", "miniboone"} {
		s, err := Sizes(name)
		if err != nil {
			t.Fatal(err)
		}
		n := s.Train + s.Val + s.Test
		tr, va, te := SplitSizes(n)
		if tr != s.Train || va != s.Val || te != s.Test {
			t.Errorf("%s: SplitSizes(%d) = %d/%d/%d, want %d/%d/%d", name, n, tr, va, te, s.Train, s.Val, s.Test)
		}
	}
	// The totals quoted in the MAF code's data files.
	for _, c := range []struct{ n, tr, va, te int }{
		{36488, 29556, 3284, 3648},
		{2049280, 1659917, 184435, 204928},
		{1052065, 852174, 94685, 105206},
		{0, 0, 0, 0},
		{9, 9, 0, 0},
		{10, 9, 0, 1},
		{100, 81, 9, 10},
		{1523, 1234, 137, 152},
	} {
		tr, va, te := SplitSizes(c.n)
		if tr != c.tr || va != c.va || te != c.te {
			t.Errorf("SplitSizes(%d) = %d/%d/%d, want %d/%d/%d", c.n, tr, va, te, c.tr, c.va, c.te)
		}
	}
	// HEPMASS: validation = int(0.1·N) of the 350,136 label-1 train rows.
	if s, _ := Sizes("hepmass"); int(0.1*float64(s.Train+s.Val)) != s.Val {
		t.Errorf("hepmass validation rule gives %d, want %d", int(0.1*float64(s.Train+s.Val)), s.Val)
	}
}

func TestNamesAndSizes(t *testing.T) {
	want := []string{"power", "gas", "hepmass", "miniboone", "bsds300"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	Names()[0] = "changed"
	if Names()[0] != "power" {
		t.Fatal("Names returns shared state")
	}
	s, err := Sizes("BSDS300")
	if err != nil || s != (Size{D: 63, Train: 1000000, Val: 50000, Test: 250000}) {
		t.Fatalf("Sizes(BSDS300) = %+v, %v", s, err)
	}
	_, err = Sizes("mnist")
	if want := `maf: unknown dataset "mnist" (known: power, gas, hepmass, miniboone, bsds300)`; err == nil || err.Error() != want {
		t.Fatalf("Sizes(mnist) error = %v, want %q", err, want)
	}
	if _, _, _, err := Load("mnist", t.TempDir()); err == nil || !strings.Contains(err.Error(), `unknown dataset "mnist"`) {
		t.Fatalf("Load(mnist) error = %v", err)
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, file, hint string }{
		{"power", "power/data.npy", ""},
		{"gas", "gas/ethylene_CO.csv", GasConversionCommand},
		{"hepmass", "hepmass/1000_train.csv", ""},
		{"miniboone", "miniboone/data.npy", ""},
		{"bsds300", "BSDS300/train.npy", BSDS300ConversionCommand},
	} {
		_, _, _, err := Load(c.name, dir)
		var mf *MissingFileError
		if !errors.As(err, &mf) {
			t.Fatalf("%s: error %v is not a *MissingFileError", c.name, err)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: errors.Is(err, fs.ErrNotExist) is false", c.name)
		}
		msg := err.Error()
		for _, part := range []string{c.file, dir, "iterflow datasets fetch " + c.name, c.hint} {
			if !strings.Contains(msg, part) {
				t.Errorf("%s: error %q lacks %q", c.name, msg, part)
			}
		}
	}
	_, _, _, err := Load("miniboone", dir)
	want := "maf: miniboone: file miniboone/data.npy not found in directory " + dir +
		"; run `iterflow datasets fetch miniboone` to download the MAF data bundle"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}

func TestMiniboone(t *testing.T) {
	dir := t.TempDir()
	const n, d = 30, 43
	g := lcg(7)
	x := make([]float64, n*d)
	for i := range x {
		x[i] = 10*g.next() + float64(i%d)
	}
	writeNPY(t, filepath.Join(dir, "miniboone", "data.npy"), x, n, d)
	tr, va, te, err := LoadPartial("miniboone", dir)
	if err != nil {
		t.Fatal(err)
	}
	// 30 rows: test 3, validation int(2.7) = 2, train 25; no shuffle.
	if tr.N != 25 || va.N != 2 || te.N != 3 || tr.D != d {
		t.Fatalf("splits %d/%d/%d × %d, want 25/2/3 × 43", tr.N, va.N, te.N, tr.D)
	}
	all, _ := concatRows(tr, va)
	checkStandardized(t, all, 27, d, 0, "train+val")
	// Every row (test included) is (raw − μ)/σ with the train+val statistics, in file order.
	for j := 0; j < d; j++ {
		var m, v float64
		for i := 0; i < 27; i++ {
			m += x[i*d+j]
		}
		m /= 27
		for i := 0; i < 27; i++ {
			v += (x[i*d+j] - m) * (x[i*d+j] - m)
		}
		s := math.Sqrt(v / 27)
		if got, want := te.X[2*d+j], (x[29*d+j]-m)/s; math.Abs(got-want) > 1e-12 {
			t.Errorf("test row 2 column %d = %g, want %g", j, got, want)
		}
		if got, want := va.X[j], (x[25*d+j]-m)/s; math.Abs(got-want) > 1e-12 {
			t.Errorf("val row 0 column %d = %g, want %g", j, got, want)
		}
	}
	path := filepath.Join(dir, "miniboone", "data.npy")
	_, _, _, err = Load("miniboone", dir)
	if want := "maf: miniboone: " + path + " has 30 rows × 43 columns, want 36488 × 43 (LoadPartial accepts fewer rows)"; err == nil || err.Error() != want {
		t.Errorf("Load error = %v\nwant %s", err, want)
	}
	writeNPY(t, path, x[:n*42], n, 42)
	_, _, _, err = LoadPartial("miniboone", dir)
	if want := "maf: miniboone: " + path + " has 42 columns, want 43"; err == nil || err.Error() != want {
		t.Errorf("LoadPartial error = %v, want %s", err, want)
	}
	// A constant column is an error naming it, not a NaN.
	for i := 0; i < n; i++ {
		x[i*d+5] = 1.5
	}
	writeNPY(t, path, x, n, d)
	_, _, _, err = LoadPartial("miniboone", dir)
	if want := `maf: miniboone: standardize: column 5 ("x5") has standard deviation 0 over the train+validation rows`; err == nil || err.Error() != want {
		t.Errorf("constant column error = %v, want %s", err, want)
	}
}

// TestMinibooneShared runs LoadPartial on the real 1,523-row MINIBOONE fragment.
func TestMinibooneShared(t *testing.T) {
	root := os.Getenv("ITERFLOW_SHARED_DATA")
	if root == "" {
		t.Skip("ITERFLOW_SHARED_DATA is unset; set it to the shared data folder to test on the MINIBOONE fragment")
	}
	src := filepath.Join(root, "miniboone_maf_head", "miniboone_maf_first1523.npy")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("MINIBOONE fragment not found: %v", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "miniboone"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, filepath.Join(dir, "miniboone", "data.npy")); err != nil {
		t.Fatal(err)
	}
	tr, va, te, err := LoadPartial("miniboone", dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 1234 || va.N != 137 || te.N != 152 || tr.D != 43 {
		t.Fatalf("splits %d/%d/%d × %d, want 1234/137/152 × 43", tr.N, va.N, te.N, tr.D)
	}
	all, _ := concatRows(tr, va)
	checkStandardized(t, all, 1371, 43, 0, "train+val")
	_, _, _, err = Load("miniboone", dir)
	if err == nil || !strings.Contains(err.Error(), "has 1523 rows × 43 columns, want 36488 × 43") {
		t.Errorf("Load on the fragment: error %v", err)
	}
}

func TestBSDS300(t *testing.T) {
	dir := t.TempDir()
	const d = 63
	rows := map[string]int{"train": 20, "validation": 11, "test": 12}
	raw := map[string][]float64{}
	for part, n := range rows {
		x := make([]float64, n*d)
		for i := range x {
			x[i] = float64(len(part)*1000 + i)
		}
		raw[part] = x
		writeNPY(t, filepath.Join(dir, "BSDS300", part+".npy"), x, n, d)
	}
	tr, va, te, err := LoadPartial("bsds300", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		part string
		got  []float64
	}{{"train", tr.X}, {"validation", va.X}, {"test", te.X}} {
		if !slices.Equal(c.got, raw[c.part]) {
			t.Errorf("%s split differs from the stored array", c.part)
		}
	}
	_, _, _, err = Load("bsds300", dir)
	want := "maf: bsds300: " + filepath.Join(dir, "BSDS300", "train.npy") + " has 20 rows × 63 columns, want 1000000 × 63 (LoadPartial accepts fewer rows)"
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	if err := os.Remove(filepath.Join(dir, "BSDS300", "test.npy")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = LoadPartial("bsds300", dir)
	var mf *MissingFileError
	if !errors.As(err, &mf) || mf.File != "BSDS300/test.npy" || !strings.Contains(err.Error(), BSDS300ConversionCommand) {
		t.Errorf("missing test.npy: error %v", err)
	}
}
