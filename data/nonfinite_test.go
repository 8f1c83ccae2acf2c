package data

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBadCSV writes 1000 rows of 3 columns with a NaN in row 10 (line 12)
// and an Inf in row 500 (line 502).
func writeBadCSV(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := 0; i < 1000; i++ {
		c := fmt.Sprint(float64(i%17) * 0.25)
		switch i {
		case 10:
			c = "NaN"
		case 500:
			c = "-Inf"
		}
		fmt.Fprintf(&b, "%d,%g,%s\n", i, float64(i)*0.5, c)
	}
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadNonFiniteRows(t *testing.T) {
	p := writeBadCSV(t)
	_, err := Load(p)
	want := "load " + p + `: read csv: 2 rows contain NaN or Inf; first at line 12, column 3 ("c")`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	nf, ok := IsNonFinite(err)
	if !ok || nf.Rows != 2 || nf.Where != `line 12, column 3 ("c")` {
		t.Errorf("IsNonFinite: %+v %v", nf, ok)
	}
	tab, rep, err := LoadWithReport(p, LoadOptions{DropNonFinite: true, Columns: "a,c"})
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 998 || tab.D != 2 || rep.DroppedRows != 2 || rep.FirstDropped != `line 12, column 3 ("c")` {
		t.Fatalf("table %d×%d, report %+v", tab.N, tab.D, rep)
	}
	// Rows 10 and 500 are gone, the others kept in order.
	if tab.X[2*10] != 11 || tab.X[2*499] != 501 || tab.Names[1] != "c" {
		t.Errorf("rows after the drop: %v, %v, names %v", tab.X[2*10], tab.X[2*499], tab.Names)
	}
	// A clean file reports nothing dropped.
	clean := filepath.Join(t.TempDir(), "ok.csv")
	os.WriteFile(clean, []byte("1,2\n3,4\n"), 0o644)
	if _, rep, err := LoadWithReport(clean, LoadOptions{DropNonFinite: true}); err != nil || rep != (LoadReport{}) {
		t.Errorf("clean file: %+v %v", rep, err)
	}
}

func TestLoadNonFiniteAllRows(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nan.csv")
	os.WriteFile(p, []byte("x\nnan\ninf\n"), 0o644)
	_, _, err := LoadWithReport(p, LoadOptions{DropNonFinite: true})
	want := "load " + p + `: all 2 rows contain NaN or Inf; first at line 2, column 1 ("x")`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestLoadNonFiniteNPY(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	x := []float64{1, 2, 3, 4, 5, 6}
	x[3] = math.Inf(1)
	os.WriteFile(p, writeNPY(t, x), 0o644)
	_, err := Load(p)
	want := "load " + p + ": read npy: 1 row contains NaN or Inf; first at row 3, column 0 (0-based)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	tab, rep, err := LoadWithReport(p, LoadOptions{DropNonFinite: true})
	if err != nil || tab.N != 5 || tab.D != 1 || rep.DroppedRows != 1 || tab.X[3] != 5 {
		t.Errorf("drop: %+v %+v %v", tab, rep, err)
	}
}

// A constant column is named by FitStandardizer also when its value is not
// exactly representable as a mean (−0.087 summed 1000 times).
func TestFitStandardizerConstantColumn(t *testing.T) {
	for _, c := range []float64{3, -0.087} {
		n := 1000
		x := make([]float64, 3*n)
		for i := 0; i < n; i++ {
			x[3*i], x[3*i+1], x[3*i+2] = float64(i), float64(i%7), c
		}
		_, err := FitStandardizer(&Table{X: x, N: n, D: 3, Names: []string{"a", "b", "c"}})
		want := fmt.Sprintf(`fit standardizer: column 2 ("c") is constant (value %v) (drop constant columns with Select; see ConstantColumns)`, c)
		if err == nil || err.Error() != want {
			t.Errorf("value %v: error %v, want %q", c, err, want)
		}
	}
}

// Both kinds of non-finite error, the whole-file readers' *NonFiniteError and
// the row reader's first-row error, match ErrNonFinite; other errors do not.
func TestErrNonFiniteMatchesBothReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nan.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n3,NaN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if _, ok := IsNonFinite(err); !ok || !errors.Is(err, ErrNonFinite) {
		t.Errorf("Load: %v: want a *NonFiniteError matching ErrNonFinite", err)
	}
	rd, err := NewRowReader(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	buf := make([]float64, 8)
	_, err = rd.Next(buf, 4)
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("RowReader: %v: want an error matching ErrNonFinite", err)
	}
	if errors.Is(errors.New("NaN or Inf"), ErrNonFinite) {
		t.Error("an unrelated error with the same text matches ErrNonFinite")
	}
}
