package data

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func wine5(t *testing.T) *Table {
	t.Helper()
	tab, err := Load(filepath.Join("testdata", "wine5.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestSelect(t *testing.T) {
	tab := wine5(t)
	tests := []struct {
		spec  string
		names []string
	}{
		{"", tab.Names},
		{"0,2,5", []string{"fixed acidity", "citric acid", "free sulfur dioxide"}},
		{"0-2", []string{"fixed acidity", "volatile acidity", "citric acid"}},
		{"9-", []string{"sulphates", "alcohol", "quality"}},
		{"alcohol, pH", []string{"alcohol", "pH"}},
		{"11,0-1,density", []string{"quality", "fixed acidity", "volatile acidity", "density"}},
	}
	for _, tc := range tests {
		got, err := tab.Select(tc.spec)
		if err != nil {
			t.Fatalf("Select(%q): %v", tc.spec, err)
		}
		if !reflect.DeepEqual(got.Names, tc.names) || got.N != 5 || got.D != len(tc.names) {
			t.Fatalf("Select(%q) = %d×%d %q, want %q", tc.spec, got.N, got.D, got.Names, tc.names)
		}
		// Values follow the names.
		for k, nm := range got.Names {
			j := indexOf(tab.Names, nm)
			for i := 0; i < tab.N; i++ {
				if got.Row(i)[k] != tab.Row(i)[j] {
					t.Fatalf("Select(%q): value (%d, %d) = %v, want %v", tc.spec, i, k, got.Row(i)[k], tab.Row(i)[j])
				}
			}
		}
	}
	// The selection is a copy.
	sel, _ := tab.Select("0")
	sel.X[0] = -1
	if tab.X[0] == -1 {
		t.Fatal("Select shares memory with the source table")
	}
}

func indexOf(names []string, nm string) int {
	for j, s := range names {
		if s == nm {
			return j
		}
	}
	return -1
}

func TestSelectErrors(t *testing.T) {
	tab := wine5(t)
	tests := []struct{ spec, want string }{
		{"12", `select "12": column index 12 out of range (table has 12 columns, indices 0-11)`},
		{"-1", `select "-1": column index -1 out of range (table has 12 columns, indices 0-11)`},
		{"sugar", `select "sugar": unknown column name "sugar" (table has 12 columns: "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol", "quality")`},
		{"3-1", `select "3-1": range "3-1" is reversed (table has 12 columns)`},
		{"5-20", `select "5-20": range "5-20" out of range (table has 12 columns, indices 0-11)`},
		{"0,,1", `select "0,,1": empty item (table has 12 columns)`},
		{"pH,8", `select "pH,8": column 8 ("pH") selected twice`},
	}
	for _, tc := range tests {
		if _, err := tab.Select(tc.spec); err == nil || err.Error() != tc.want {
			t.Errorf("Select(%q) error = %v\nwant %s", tc.spec, err, tc.want)
		}
	}
	dup := &Table{X: []float64{1, 2}, N: 1, D: 2, Names: []string{"a", "a"}}
	if _, err := dup.Select("a"); err == nil || err.Error() != `select "a": column name "a" is ambiguous (columns 0 and 1)` {
		t.Errorf("ambiguous name: %v", err)
	}
	many, _ := NewTable(make([]float64, 14), 1, 14, nil)
	if _, err := many.Select("y"); err == nil || !strings.HasSuffix(err.Error(), `"x10", "x11", … (2 more))`) {
		t.Errorf("long name list: %v", err)
	}
}

func TestNewTable(t *testing.T) {
	tab, err := NewTable([]float64{1, 2, 3, 4, 5, 6}, 3, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab.Row(1), []float64{3, 4}) || !reflect.DeepEqual(tab.Names, []string{"x0", "x1"}) {
		t.Fatalf("table %v", tab)
	}
	for _, tc := range []struct {
		x     []float64
		n, d  int
		names []string
		want  string
	}{
		{[]float64{1, 2, 3}, 2, 2, nil, "new table: len(x) = 3, want n·d = 2·2 = 4"},
		{nil, -1, 2, nil, "new table: negative shape -1×2"},
		{[]float64{1, 2}, 1, 2, []string{"a"}, "new table: 1 name for 2 columns"},
		{[]float64{1, 2, 3, math.NaN()}, 2, 2, nil, "new table: 1 row contains NaN or Inf; first at row 1, column 1 (0-based)"},
	} {
		if _, err := NewTable(tc.x, tc.n, tc.d, tc.names); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v, want %s", err, tc.want)
		}
	}
}

func TestIntegerAndConstantColumns(t *testing.T) {
	tab, _ := NewTable([]float64{
		1, 0.5, 3, 7,
		2, 1, 3, 7.5,
		-4, 2, 3, 7,
	}, 3, 4, nil)
	if got := IntegerColumns(tab); !reflect.DeepEqual(got, []bool{true, false, true, false}) {
		t.Fatalf("IntegerColumns = %v", got)
	}
	if got := ConstantColumns(tab); !reflect.DeepEqual(got, []int{2}) {
		t.Fatalf("ConstantColumns = %v", got)
	}
	// Whole values count as integers up to magnitude 2^24 only.
	const lim = 1 << 24
	big, _ := NewTable([]float64{
		lim, -lim, lim + 1, 1.23456e12, 3,
		0, 1, 0, 7, -(lim + 1),
	}, 2, 5, nil)
	if got := IntegerColumns(big); !reflect.DeepEqual(got, []bool{true, true, false, false, false}) {
		t.Fatalf("IntegerColumns around 2^24 = %v, want [true true false false false]", got)
	}
}

func TestDigits(t *testing.T) {
	tab := Digits()
	if tab.N != 1797 || tab.D != 64 || len(tab.X) != 1797*64 {
		t.Fatalf("shape %d×%d", tab.N, tab.D)
	}
	if tab.Names[0] != "pixel_0_0" || tab.Names[63] != "pixel_7_7" || tab.Names[10] != "pixel_1_2" {
		t.Fatalf("names %q", tab.Names[:11])
	}
	for k, v := range tab.X {
		if v != math.Trunc(v) || v < 0 || v > DigitsMax {
			t.Fatalf("value %v at %d is not an integer in [0, 16]", v, k)
		}
	}
	// Column sums computed once from sklearn_digits.csv.gz with Python:
	// pixel 0 is always 0, pixel 1 sums to 546, pixel 2 to 9353.
	var s0, s1, s2 float64
	for i := 0; i < tab.N; i++ {
		s0 += tab.Row(i)[0]
		s1 += tab.Row(i)[1]
		s2 += tab.Row(i)[2]
	}
	if s0 != 0 || s1 != 546 || s2 != 9353 {
		t.Fatalf("column sums %v %v %v, want 0 546 9353", s0, s1, s2)
	}
	if got, want := s1/float64(tab.N), 0.3038397328881469; math.Abs(got-want) > 1e-15 {
		t.Fatalf("mean of pixel 1 = %v, want %v", got, want)
	}
	// The first image (a zero) starts 0 0 5 13 9 1 0 0.
	if got := tab.Row(0)[:8]; !reflect.DeepEqual(got, []float64{0, 0, 5, 13, 9, 1, 0, 0}) {
		t.Fatalf("row 0 starts %v", got)
	}
	// Fresh copy each call.
	tab.X[5] = 99
	if Digits().X[5] == 99 {
		t.Fatal("Digits returns shared memory")
	}
}

// TestDigitsMatchSource checks the embedded file against the shared copy of
// scikit-learn's digits.csv.gz, cell by cell.
func TestDigitsMatchSource(t *testing.T) {
	dir := sharedData(t)
	f, err := os.Open(filepath.Join(dir, "uci_small", "sklearn_digits.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	src, err := ReadCSV(bytes.NewReader(raw), CSVOptions{Header: 0})
	if err != nil {
		t.Fatal(err)
	}
	pix, err := src.Select("0-63")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pix.X, Digits().X) {
		t.Fatal("embedded digits differ from the source file")
	}
}

func TestSplit(t *testing.T) {
	x := make([]float64, 0, 200)
	for i := 0; i < 100; i++ {
		x = append(x, float64(i), float64(-i))
	}
	tab, _ := NewTable(x, 100, 2, []string{"a", "b"})
	tr, va, te, err := Split(tab, 0.15, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 65 || va.N != 15 || te.N != 20 {
		t.Fatalf("sizes %d/%d/%d, want 65/15/20", tr.N, va.N, te.N)
	}
	// A partition: every row exactly once, rows intact.
	seen := make(map[float64]int)
	for _, p := range []*Table{tr, va, te} {
		if !reflect.DeepEqual(p.Names, tab.Names) {
			t.Fatalf("names %q", p.Names)
		}
		for i := 0; i < p.N; i++ {
			r := p.Row(i)
			if r[1] != -r[0] {
				t.Fatalf("row %v torn apart", r)
			}
			seen[r[0]]++
		}
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct rows, want 100", len(seen))
	}
	// Deterministic for a seed, different for another.
	tr2, _, _, _ := Split(tab, 0.15, 0.2, 7)
	tr3, _, _, _ := Split(tab, 0.15, 0.2, 8)
	if !reflect.DeepEqual(tr.X, tr2.X) {
		t.Fatal("same seed gave different splits")
	}
	if reflect.DeepEqual(tr.X, tr3.X) {
		t.Fatal("different seeds gave the same split")
	}
	// Rounding: 0.125·10 rounds half away from zero.
	small, _ := NewTable(make([]float64, 10), 10, 1, nil)
	tr, va, te, err = Split(small, 0.25, 0, 1)
	if err != nil || tr.N != 7 || va.N != 3 || te.N != 0 {
		t.Fatalf("Split(10 rows, 0.25, 0) = %d/%d/%d, %v; want 7/3/0", tr.N, va.N, te.N, err)
	}
}

func TestSplitErrors(t *testing.T) {
	tab, _ := NewTable(make([]float64, 10), 10, 1, nil)
	tests := []struct {
		val, test float64
		want      string
	}{
		{-0.1, 0.1, "split: valFrac = -0.1, want a value in [0, 1)"},
		{0.1, 1, "split: testFrac = 1, want a value in [0, 1)"},
		{math.NaN(), 0.1, "split: valFrac = NaN, want a value in [0, 1)"},
		{0.5, 0.5, "split: valFrac + testFrac = 1, want < 1"},
		{0.01, 0.2, "split: valFrac = 0.01 of 10 rows rounds to an empty validation set"},
		{0.2, 0.04, "split: testFrac = 0.04 of 10 rows rounds to an empty test set"},
		{0.47, 0.47, "split: of 10 rows, none is left for training after 5 test and 5 validation rows"},
	}
	for _, tc := range tests {
		if _, _, _, err := Split(tab, tc.val, tc.test, 1); err == nil || err.Error() != tc.want {
			t.Errorf("Split(%v, %v) error = %v\nwant %s", tc.val, tc.test, err, tc.want)
		}
	}
}

func TestStandardizer(t *testing.T) {
	// Columns with means (1, 10) and ML stds (2, 4).
	tab, _ := NewTable([]float64{
		-1, 6,
		3, 14,
	}, 2, 2, nil)
	s, err := FitStandardizer(tab)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Mean, []float64{1, 10}) || !reflect.DeepEqual(s.Std, []float64{2, 4}) {
		t.Fatalf("mean %v std %v", s.Mean, s.Std)
	}
	if got, want := s.LogDet(), -math.Log(8); math.Abs(got-want) > 1e-15 {
		t.Fatalf("LogDet = %v, want −ln 8 = %v", got, want)
	}
	y := append([]float64(nil), tab.X...)
	s.Forward(y, 2)
	if !reflect.DeepEqual(y, []float64{-1, -1, 1, 1}) {
		t.Fatalf("Forward = %v", y)
	}
	s.Inverse(y, 2)
	if !reflect.DeepEqual(y, tab.X) {
		t.Fatalf("Inverse(Forward(x)) = %v, want %v", y, tab.X)
	}

	// Round trip and log-det shift on random data scaled by 100.
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d = 500, 3
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()*float64(1+i%d) + 5
	}
	t1, _ := NewTable(x, n, d, nil)
	s1, _ := FitStandardizer(t1)
	x100 := make([]float64, len(x))
	for i, v := range x {
		x100[i] = 100 * v
	}
	t100, _ := NewTable(x100, n, d, nil)
	s100, _ := FitStandardizer(t100)
	if got, want := s100.LogDet()-s1.LogDet(), -d*math.Log(100); math.Abs(got-want) > 1e-12 {
		t.Fatalf("scaling by 100 shifted LogDet by %v, want %v", got, want)
	}
	z := append([]float64(nil), x...)
	s1.Forward(z, n)
	s1.Inverse(z, n)
	for i := range z {
		if math.Abs(z[i]-x[i]) > 1e-12*(1+math.Abs(x[i])) {
			t.Fatalf("round trip error at %d: %v vs %v", i, z[i], x[i])
		}
	}
}

func TestFitStandardizerErrors(t *testing.T) {
	tab, _ := NewTable([]float64{1, 2, 3, 2, 5, 3}, 2, 3, nil)
	if _, err := FitStandardizer(tab); err == nil || err.Error() != `fit standardizer: column 2 ("x2") is constant (value 3) (drop constant columns with Select; see ConstantColumns)` {
		t.Errorf("constant column: %v", err)
	}
	one, _ := NewTable([]float64{1, 2}, 1, 2, nil)
	if _, err := FitStandardizer(one); err == nil || err.Error() != "fit standardizer: 1 row, need at least 2" {
		t.Errorf("one row: %v", err)
	}
	// Digits: pixel 0 is constant, among others.
	_, err := FitStandardizer(Digits())
	if err == nil || !strings.HasPrefix(err.Error(), `fit standardizer: column 0 ("pixel_0_0") is constant (value 0); `) {
		t.Errorf("digits: %v", err)
	}
}

func TestDequantize(t *testing.T) {
	tab := Digits()
	x := append([]float64(nil), tab.X...)
	cols := IntegerColumns(tab)
	cols[3] = false
	Dequantize(x, tab.N, tab.D, cols, rand.New(rand.NewPCG(1, 1)))
	var sum float64
	for i, v := range x {
		j := i % tab.D
		if !cols[j] {
			if v != tab.X[i] {
				t.Fatalf("column %d changed though not selected", j)
			}
			continue
		}
		u := v - tab.X[i]
		if u < 0 || u >= 1 {
			t.Fatalf("noise %v at %d outside [0, 1)", u, i)
		}
		sum += u
	}
	cnt := float64(tab.N * (tab.D - 1))
	// Mean of U[0,1) is 1/2 with standard error sqrt(1/12/cnt) ≈ 0.0009.
	if m := sum / cnt; math.Abs(m-0.5) > 0.005 {
		t.Fatalf("mean noise %v, want 0.5", m)
	}
	if math.Floor(x[1]) != tab.X[1] {
		t.Fatal("floor of dequantized value is not the integer")
	}
}

func TestFitStandardizerOverflow(t *testing.T) {
	tab, err := NewTable([]float64{1e308, 1, -1e308, 2, 1.5e308, 3}, 3, 2, []string{"big", "ok"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = FitStandardizer(tab)
	want := `fit standardizer: column 0 ("big"): values too large for float64 arithmetic (the mean or standard deviation overflows); rescale the column`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestDuplicateRows(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name        string
		x           []float64
		count, frst int
	}{
		{"none", []float64{1, 2, 3, 4, 5, 6}, 0, -1},
		{"one", []float64{1, 2, 3, 4, 1, 2}, 1, 2},
		{"signed zero", []float64{0, 1, 5, 5, math.Copysign(0, -1), 1}, 1, 2},
		{"three copies", []float64{7, 8, 7, 8, 1, 1, 7, 8}, 2, 1},
		{"NaN never equal", []float64{nan, 1, nan, 1}, 0, -1},
		{"same values, other order", []float64{1, 2, 2, 1}, 0, -1},
	} {
		tab := &Table{X: c.x, N: len(c.x) / 2, D: 2}
		if n, f := DuplicateRows(tab); n != c.count || f != c.frst {
			t.Errorf("%s: got %d duplicates, first %d; want %d, %d", c.name, n, f, c.count, c.frst)
		}
	}
}
