package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/gonum/mat"
)

// readAll drains r in chunks of max rows and returns the rows and the chunk
// sizes seen.
func readAll(t *testing.T, r RowReader, max int) ([]float64, []int) {
	t.Helper()
	var x []float64
	var sizes []int
	buf := make([]float64, max*r.D())
	for {
		n, err := r.Next(buf, max)
		if errors.Is(err, io.EOF) {
			if n != 0 {
				t.Fatalf("Next returned %d rows with io.EOF", n)
			}
			return x, sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, buf[:n*r.D()]...)
		sizes = append(sizes, n)
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestRowReaderMatchesLoad checks that streaming every supported format in
// chunks of 1, 3 and 1000 rows yields exactly the rows and names of LoadWith.
func TestRowReaderMatchesLoad(t *testing.T) {
	dir := t.TempDir()
	csv := "\ufeff\"fixed acidity\";pH;alcohol\r\n7.4;3.51;9.4\n\n7.8;3.2;9.8\n1e-300;-0;12\n5;6;7\n8;9;1e308\n2.5;1;1\n"
	type rec struct {
		A float64 `parquet:"a"`
		B int32   `parquet:"b"`
		S string  `parquet:"s"`
	}
	var recs []rec
	for i := 0; i < 10; i++ {
		recs = append(recs, rec{A: math.Pi * float64(i), B: int32(i - 5), S: "x"})
	}
	m := mat.NewDense(4, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	files := []struct {
		name string
		data []byte
		opt  LoadOptions
	}{
		{"wine.csv", []byte(csv), LoadOptions{}},
		{"wine.csv.gz", gz(t, []byte(csv)), LoadOptions{}},
		{"noheader.txt", []byte("1 2\n3 4\n5 6\n"), LoadOptions{}},
		{"tabs.tsv", []byte("a\tb\n1\t2\n3\t4\n"), LoadOptions{Columns: "b"}},
		{"sel.csv", []byte(csv), LoadOptions{Columns: "alcohol,0"}},
		{"m.npy", writeNPY(t, m), LoadOptions{}},
		{"m32.npy.gz", gz(t, writeNPY(t, []float32{1.5, 2, 3})), LoadOptions{}},
		{"p.parquet", writeParquet(t, recs, parquet.MaxRowsPerRowGroup(3)), LoadOptions{}},
		{"p2.parquet", writeParquet(t, recs, parquet.MaxRowsPerRowGroup(4)), LoadOptions{Columns: "b"}},
		{"z.npz", writeNPZ(t, true, npzEntry{"x.npy", writeNPY(t, m)}), LoadOptions{}},
	}
	for _, f := range files {
		p := writeFile(t, dir, f.name, f.data)
		want, err := LoadWith(p, f.opt)
		if err != nil {
			t.Fatalf("%s: LoadWith: %v", f.name, err)
		}
		for _, max := range []int{1, 3, 1000} {
			r, err := NewRowReader(p, f.opt)
			if err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			got, sizes := readAll(t, r, max)
			r.Close()
			if r.D() != want.D || !slices.Equal(r.Names(), want.Names) || !slices.Equal(got, want.X) {
				t.Errorf("%s, chunks of %d: D %d names %q rows %v; LoadWith: D %d names %q rows %v", f.name, max, r.D(), r.Names(), got, want.D, want.Names, want.X)
			}
			for k, s := range sizes[:len(sizes)-1] {
				if s != max {
					t.Errorf("%s: chunk %d has %d rows, want full chunks of %d before the last", f.name, k, s, max)
				}
			}
		}
	}
}

func TestRowReaderErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		opt        LoadOptions
		want       string // error of NewRowReader or of the first failing Next
	}{
		{"bad.csv", "a,b\n1,2\n3,x\n", LoadOptions{}, `load DIR/bad.csv: read csv: line 3, column 2 ("b"): cannot parse "x" as a number`},
		{"ragged.csv", "1,2\n3,4\n5\n", LoadOptions{}, "load DIR/ragged.csv: read csv: line 3: 1 field, want 2 (as on line 1)"},
		{"nan.csv", "a,b\n1,2\n\n3,NaN\n", LoadOptions{}, `load DIR/nan.csv: line 4, column 2 ("b") is NaN (NaN or Inf; drop such rows with DropNonFinite)`},
		{"empty.csv", "\n\n", LoadOptions{}, "load DIR/empty.csv: read csv: empty input: no rows"},
		{"head.csv", "a,b\n\n", LoadOptions{}, "load DIR/head.csv: read csv: no data rows after the header on line 1"},
		{"sel.csv", "a,b\n1,2\n", LoadOptions{Columns: "c"}, `load DIR/sel.csv: select "c": unknown column name "c" (table has 2 columns: "a", "b")`},
		{"x.json", "{}", LoadOptions{}, `load DIR/x.json: unsupported extension ".json" (supported: ` + supportedExtensions + ")"},
	}
	for _, tc := range tests {
		p := writeFile(t, dir, tc.name, []byte(tc.data))
		want := strings.ReplaceAll(tc.want, "DIR", dir)
		r, err := NewRowReader(p, tc.opt)
		if err == nil {
			buf := make([]float64, 8*r.D())
			for err == nil {
				_, err = r.Next(buf, 8)
			}
			r.Close()
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %s", tc.name, err, want)
		}
	}
	if _, err := NewRowReader(filepath.Join(dir, "none.csv"), LoadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestRowReaderNPYTruncatedAndFortran(t *testing.T) {
	dir := t.TempDir()
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }"
	p := writeFile(t, dir, "t.npy", npyBytes(hdr, f64Bytes(binary.LittleEndian, 1, 2, 3, 4, 5)))
	r, err := NewRowReader(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float64, 4)
	if n, err := r.Next(buf, 2); n != 2 || err != nil {
		t.Fatalf("first chunk: %d rows, %v", n, err)
	}
	want := "load " + p + ": read npy: data ends after row 2, header (shape [3 2]) has 3 rows: file truncated"
	if _, err := r.Next(buf, 2); err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	p = writeFile(t, dir, "f.npy", npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", f64Bytes(binary.LittleEndian, 1, 2, 3, 4)))
	want = "load " + p + ": read npy: a Fortran-order (column-major) array of shape [2 2] cannot be read row by row; load it whole or save it in C order"
	if _, err := NewRowReader(p, LoadOptions{}); err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

func TestRowReaderDropNonFinite(t *testing.T) {
	p := writeFile(t, t.TempDir(), "d.csv", []byte("1,2\nnan,3\n4,inf\n5,6\n"))
	r, err := NewRowReader(p, LoadOptions{DropNonFinite: true, Columns: "1"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, r, 1)
	if !slices.Equal(got, []float64{2, 6}) {
		t.Errorf("rows %v, want [2 6]", got)
	}
	if dr := r.(interface{ DroppedRows() int }).DroppedRows(); dr != 2 {
		t.Errorf("DroppedRows %d, want 2", dr)
	}
}

func TestTableReader(t *testing.T) {
	tab := &Table{X: []float64{1, 2, 3, 4, 5, 6}, N: 3, D: 2, Names: []string{"a", "b"}}
	r := NewTableReader(tab)
	got, sizes := readAll(t, r, 2)
	if !slices.Equal(got, tab.X) || !slices.Equal(sizes, []int{2, 1}) {
		t.Errorf("rows %v in chunks %v", got, sizes)
	}
	if _, err := r.Next(make([]float64, 1), 2); err == nil {
		t.Error("short dst: no error")
	}
}

func TestCountRows(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"a.csv":    []byte("a,b\n1,2\n\n3,4\n5,6\n"),
		"b.csv.gz": gz(t, []byte("1 2\n3 4\n5 6\n")),
		"c.npy":    writeNPY(t, mat.NewDense(3, 2, make([]float64, 6))),
		"d.npz":    writeNPZ(t, false, npzEntry{"x.npy", writeNPY(t, mat.NewDense(3, 1, make([]float64, 3)))}),
		"e.parquet": writeParquet(t, []struct {
			A float64 `parquet:"a"`
		}{{1}, {2}, {3}}, parquet.MaxRowsPerRowGroup(2)),
	} {
		n, err := CountRows(writeFile(t, dir, name, b), LoadOptions{})
		if err != nil || n != 3 {
			t.Errorf("%s: %d rows (err %v), want 3", name, n, err)
		}
	}
}
