package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadCSVWineFixture(t *testing.T) {
	tab, err := Load(filepath.Join("testdata", "wine5.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 5 || tab.D != 12 {
		t.Fatalf("shape %d×%d, want 5×12", tab.N, tab.D)
	}
	if tab.Names[0] != "fixed acidity" || tab.Names[8] != "pH" || tab.Names[11] != "quality" {
		t.Fatalf("names = %q", tab.Names)
	}
	if got, want := tab.Row(3), []float64{11.2, 0.28, 0.56, 1.9, 0.075, 17, 60, 0.998, 3.16, 0.58, 9.8, 6}; !reflect.DeepEqual(got, want) {
		t.Fatalf("row 3 = %v, want %v", got, want)
	}
}

func TestReadCSVForms(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		opt   CSVOptions
		n, d  int
		x     []float64
		names []string
	}{
		{"comma no header", "1,2,3\n4,5,6\n", CSVOptions{Header: -1}, 2, 3, []float64{1, 2, 3, 4, 5, 6}, []string{"x0", "x1", "x2"}},
		{"comma header", "a,b\n1,2\n", CSVOptions{Header: -1}, 1, 2, []float64{1, 2}, []string{"a", "b"}},
		{"forced no header", "1,2\n3,4\n", CSVOptions{Header: 0}, 2, 2, []float64{1, 2, 3, 4}, []string{"x0", "x1"}},
		{"forced header numeric names", "1,2\n3,4\n", CSVOptions{Header: 1}, 1, 2, []float64{3, 4}, []string{"1", "2"}},
		{"semicolon quoted header", "\"fixed acidity\";\"pH\"\n7.4;3.51\n", CSVOptions{Header: -1}, 1, 2, []float64{7.4, 3.51}, []string{"fixed acidity", "pH"}},
		{"semicolon decimal commas rejected by ';' first", "\"a,b\";c\n1;2\n", CSVOptions{Header: -1}, 1, 2, []float64{1, 2}, []string{"a,b", "c"}},
		{"tab", "x\ty\n1\t2\n", CSVOptions{Header: -1}, 1, 2, []float64{1, 2}, []string{"x", "y"}},
		{"whitespace runs", "1.5 2\n  3   4.25\n\t5\t6 \n", CSVOptions{Header: -1}, 3, 2, []float64{1.5, 2, 3, 4.25, 5, 6}, []string{"x0", "x1"}},
		{"explicit whitespace", "\"a b\" c\n1 2\n", CSVOptions{Comma: ' ', Header: -1}, 1, 2, []float64{1, 2}, []string{"a b", "c"}},
		{"CRLF and trailing blank lines", "a,b\r\n1,2\r\n3,4\r\n\r\n\r\n", CSVOptions{Header: -1}, 2, 2, []float64{1, 2, 3, 4}, []string{"a", "b"}},
		{"no final newline, BOM, spaces", "\uFEFF a , b \n 1 , 2", CSVOptions{Header: -1}, 1, 2, []float64{1, 2}, []string{"a", "b"}},
		{"single column", "v\n1\n2\n", CSVOptions{Header: -1}, 2, 1, []float64{1, 2}, []string{"v"}},
		{"quoted numbers and escaped quote", "\"say \"\"hi\"\"\",b\n\"1\",2e-3\n", CSVOptions{Header: -1}, 1, 2, []float64{1, 0.002}, []string{"say \"hi\"", "b"}},
		{"blank line inside", "1,2\n\n3,4\n", CSVOptions{Header: -1}, 2, 2, []float64{1, 2, 3, 4}, []string{"x0", "x1"}},
		{"exponent with leading zeros", "3.38e-005,1\n", CSVOptions{Header: -1}, 1, 2, []float64{3.38e-5, 1}, []string{"x0", "x1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := ReadCSV(strings.NewReader(tc.in), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if tab.N != tc.n || tab.D != tc.d {
				t.Fatalf("shape %d×%d, want %d×%d", tab.N, tab.D, tc.n, tc.d)
			}
			if !reflect.DeepEqual(tab.X, tc.x) {
				t.Fatalf("X = %v, want %v", tab.X, tc.x)
			}
			if !reflect.DeepEqual(tab.Names, tc.names) {
				t.Fatalf("Names = %q, want %q", tab.Names, tc.names)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  CSVOptions
		want string
	}{
		{"bad cell with header", "a;b;pH\n1;2;3\n4;5;abc\n", CSVOptions{Header: -1},
			`read csv: line 3, column 3 ("pH"): cannot parse "abc" as a number`},
		{"bad cell without header", "1,2\n3,x\n", CSVOptions{Header: 0},
			`read csv: line 2, column 2: cannot parse "x" as a number`},
		{"empty cell", "1,2\n3,\n", CSVOptions{Header: 0},
			`read csv: line 2, column 2: cannot parse "" as a number`},
		{"ragged", "a,b,c\n1,2,3\n4,5\n", CSVOptions{Header: -1},
			"read csv: line 3: 2 fields, want 3 (as on line 1)"},
		{"ragged late", "1,2\n1,2\n1,2\n1,2\n1,2\n1,2\n1,2,3\n", CSVOptions{Header: -1},
			"read csv: line 7: 3 fields, want 2 (as on line 1)"},
		{"empty", "", CSVOptions{Header: -1}, "read csv: empty input: no rows"},
		{"only blank lines", "\n \r\n\n", CSVOptions{Header: -1}, "read csv: empty input: no rows"},
		{"header only", "\n\"a\",\"b\"\n", CSVOptions{Header: -1}, "read csv: no data rows after the header on line 2"},
		{"nan and inf", "a,b,c\n1,2,3\n1,NaN,3\n1,2,3\n+Inf,2,inf\n", CSVOptions{Header: -1},
			`read csv: 2 rows contain NaN or Inf; first at line 3, column 2 ("b")`},
		{"overflow is inf", "1,1e999\n", CSVOptions{Header: 0},
			"read csv: 1 row contains NaN or Inf; first at line 1, column 2"},
		{"unterminated quote", "\"a,b\n1,2\n", CSVOptions{Header: 1, Comma: ','},
			"read csv: line 1: unterminated quote starting at byte 1"},
		{"text after quote", "\"a\"x,b\n1,2\n", CSVOptions{Header: 1, Comma: ','},
			"read csv: line 1: text after closing quote at byte 4"},
		{"bad header option", "1\n", CSVOptions{Header: 2}, "read csv: invalid Header option 2 (want -1 detect, 0 none, 1 present)"},
		{"bad separator", "1\n", CSVOptions{Comma: '.'}, `read csv: invalid separator '.'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), tc.opt)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		file string
		n, d int
	}{
		{"spaces.txt", 3, 2},
		{"crlf.csv", 2, 2},
		{"small.csv.gz", 2, 3},
	} {
		tab, err := Load(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if tab.N != tc.n || tab.D != tc.d {
			t.Errorf("%s: shape %d×%d, want %d×%d", tc.file, tab.N, tab.D, tc.n, tc.d)
		}
	}
	dir := t.TempDir()
	tsv := filepath.Join(dir, "a.TSV")
	if err := os.WriteFile(tsv, []byte("p q\tr\n1\t2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(tsv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab.Names, []string{"p q", "r"}) {
		t.Fatalf("tsv names = %q", tab.Names)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.csv")
	_, err := Load(missing)
	if err == nil || err.Error() != "load "+missing+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	for _, tc := range []struct{ path, want string }{
		{"x.xlsx", `load x.xlsx: unsupported extension ".xlsx" (supported: .csv, .tsv, .txt, .data, .npy (each optionally followed by .gz), .npz, .parquet)`},
		{"x.json.gz", `load x.json.gz: unsupported extension ".json.gz" (supported: .csv, .tsv, .txt, .data, .npy (each optionally followed by .gz), .npz, .parquet)`},
		{"noext", `load noext: no file extension (supported: .csv, .tsv, .txt, .data, .npy (each optionally followed by .gz), .npz, .parquet)`},
	} {
		if _, err := Load(tc.path); err == nil || err.Error() != tc.want {
			t.Errorf("Load(%q) error = %v\nwant %s", tc.path, err, tc.want)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("1,2\n3,zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != "load "+bad+`: read csv: line 2, column 2: cannot parse "zz" as a number` {
		t.Fatalf("bad cell: %v", err)
	}
	notgz := filepath.Join(dir, "x.csv.gz")
	if err := os.WriteFile(notgz, []byte("1,2\n3,4\n5,6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(notgz); err == nil || err.Error() != "load "+notgz+": not gzip-compressed: it starts with the bytes 31 2c, not gzip's magic bytes 1f 8b; if it is uncompressed, remove .gz from its name" {
		t.Fatalf("not gzip: %v", err)
	}
}

// A file named .gz that is not gzip-compressed is refused by name, by the
// whole-file and the row-by-row readers and CountRows alike, whatever its
// length (a short one used to give "unexpected EOF").
func TestLoadNotGzip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, what string
	}{
		{"empty.csv.gz", "", "it is empty"},
		{"one.csv.gz", "1", "it holds the single byte 31"},
		{"text.csv.gz", "a,b\n1,2\n", "it starts with the bytes 61 2c"},
		{"bad.npy.gz", "\x93NUMPY", "it starts with the bytes 93 4e"},
		{"half.tsv.gz", "\x1f\x00", "it starts with the bytes 1f 00"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		want := "load " + p + ": not gzip-compressed: " + tc.what + ", not gzip's magic bytes 1f 8b; if it is uncompressed, remove .gz from its name"
		if _, err := Load(p); err == nil || err.Error() != want {
			t.Errorf("Load(%s) error = %v\nwant %s", tc.name, err, want)
		}
		if _, err := NewRowReader(p, LoadOptions{}); err == nil || err.Error() != want {
			t.Errorf("NewRowReader(%s) error = %v\nwant %s", tc.name, err, want)
		}
		if _, err := CountRows(p, LoadOptions{}); err == nil || err.Error() != want {
			t.Errorf("CountRows(%s) error = %v\nwant %s", tc.name, err, want)
		}
	}
}

// Counts of one are singular in messages.
func TestSingularMessages(t *testing.T) {
	one := &Table{X: []float64{1, 2}, N: 2, D: 1, Names: []string{"a"}}
	for _, tc := range []struct{ spec, want string }{
		{"1", `select "1": column index 1 out of range (table has 1 column, index 0)`},
		{"0-3", `select "0-3": range "0-3" out of range (table has 1 column, index 0)`},
		{"b", `select "b": unknown column name "b" (table has 1 column: "a")`},
		{"0,,0", `select "0,,0": empty item (table has 1 column)`},
	} {
		if _, err := one.Select(tc.spec); err == nil || err.Error() != tc.want {
			t.Errorf("Select(%q) error = %v\nwant %s", tc.spec, err, tc.want)
		}
	}
	if _, err := NewTable([]float64{1}, 1, 1, []string{"a", "b"}); err == nil || err.Error() != "new table: 2 names for 1 column" {
		t.Errorf("NewTable: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader("1,2\n3\n"), CSVOptions{Header: -1}); err == nil || err.Error() != "read csv: line 2: 1 field, want 2 (as on line 1)" {
		t.Errorf("ReadCSV: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "nan.csv")
	if err := os.WriteFile(p, []byte("a,b\n1,NaN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "load " + p + `: its only row contains NaN or Inf; first at line 2, column 2 ("b")`
	if _, err := LoadWith(p, LoadOptions{DropNonFinite: true}); err == nil || err.Error() != want {
		t.Errorf("LoadWith(DropNonFinite) error = %v\nwant %s", err, want)
	}
	row := &Table{X: []float64{1, 2}, N: 1, D: 2, Names: []string{"a", "b"}}
	for _, tc := range []struct {
		test float64
		want string
	}{
		{0.4, "split: testFrac = 0.4 of 1 row rounds to an empty test set"},
		{0.5, "split: of 1 row, none is left for training after 1 test and 0 validation rows"},
	} {
		if _, _, _, err := Split(row, 0, tc.test, 1); err == nil || err.Error() != tc.want {
			t.Errorf("Split(0, %v) error = %v\nwant %s", tc.test, err, tc.want)
		}
	}
}

// sharedData returns the shared data directory or skips the test.
func sharedData(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ITERFLOW_SHARED_DATA")
	if dir == "" {
		t.Skip("ITERFLOW_SHARED_DATA is not set; skipping test on the shared real datasets")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("ITERFLOW_SHARED_DATA=%s is not usable: %v", dir, err)
	}
	return dir
}

func TestSharedWineWhite(t *testing.T) {
	dir := sharedData(t)
	tab, err := Load(filepath.Join(dir, "uci_small", "winequality-white.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 4898 || tab.D != 12 {
		t.Fatalf("shape %d×%d, want 4898×12", tab.N, tab.D)
	}
	// This copy (jbrownlee/Datasets) has no header: columns are x0..x11, and
	// column 11 is the quality score, an integer in 3..9.
	if tab.Names[11] != "x11" {
		t.Fatalf("names = %q", tab.Names)
	}
	ints := IntegerColumns(tab)
	if !ints[11] || ints[10] {
		t.Fatalf("integer columns = %v, want quality (11) integer and alcohol (10) not", ints)
	}
	if got := tab.Row(0); got[0] != 7 || got[10] != 8.8 || got[11] != 6 {
		t.Fatalf("row 0 = %v", got)
	}
}

func TestSharedParkinsons(t *testing.T) {
	dir := sharedData(t)
	tab, err := Load(filepath.Join(dir, "uci_small", "parkinsons_updrs.data"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 5875 || tab.D != 22 {
		t.Fatalf("shape %d×%d, want 5875×22", tab.N, tab.D)
	}
	if tab.Names[0] != "subject#" || tab.Names[21] != "PPE" {
		t.Fatalf("names = %q", tab.Names)
	}
	sel, err := tab.Select("Jitter(%),total_UPDRS")
	if err != nil {
		t.Fatal(err)
	}
	if sel.X[0] != 0.00662 || sel.X[1] != 34.398 {
		t.Fatalf("first row of selection = %v", sel.X[:2])
	}
	if tab.Row(0)[7] != 3.38e-5 {
		t.Fatalf("Jitter(Abs) of row 0 = %v, want 3.38e-5", tab.Row(0)[7])
	}
}

func TestSharedFaithful(t *testing.T) {
	dir := sharedData(t)
	tab, err := Load(filepath.Join(dir, "r_datasets", "faithful.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 272 || tab.D != 2 || tab.Names[0] != "eruptions" || tab.Names[1] != "waiting" {
		t.Fatalf("faithful: %d×%d %q", tab.N, tab.D, tab.Names)
	}
}

// A cell that is not a number matches ErrNotNumber; NaN does not.
func TestErrNotNumber(t *testing.T) {
	_, err := ReadCSV(strings.NewReader("a,b\n1,2\n3,x\n"), CSVOptions{Header: 1})
	if err == nil || !errors.Is(err, ErrNotNumber) || errors.Is(err, ErrNonFinite) {
		t.Errorf("text cell: %v (ErrNotNumber %v)", err, errors.Is(err, ErrNotNumber))
	}
	_, err = ReadCSV(strings.NewReader("a,b\n1,2\n3,NaN\n"), CSVOptions{Header: 1})
	if errors.Is(err, ErrNotNumber) {
		t.Errorf("NaN cell matches ErrNotNumber: %v", err)
	}
}
