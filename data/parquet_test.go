package data

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// pqRecord exercises the physical and logical types ReadParquet accepts or skips.
type pqRecord struct {
	A float64  `parquet:"a,zstd"`
	B int32    `parquet:"b,dict"`
	C int64    `parquet:"c,delta"`
	F float32  `parquet:"f"`
	S string   `parquet:"s"`
	U uint32   `parquet:"u"`
	O *float64 `parquet:"o,optional"`
	L bool     `parquet:"flag"`
}

func writeParquet[T any](t testing.TB, rows []T, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ptr(v float64) *float64 { return &v }

func TestReadParquetRoundTrip(t *testing.T) {
	var rows []pqRecord
	var want []float64
	for i := 0; i < 10; i++ {
		r := pqRecord{
			A: math.Pi * float64(i) / 7, B: int32(i%3 - 1), C: int64(i) << 40, F: float32(i) / 3,
			S: strings.Repeat("z", i), U: math.MaxUint32 - uint32(i), O: ptr(-1e-300 * float64(i)), L: i%2 == 0,
		}
		rows = append(rows, r)
		want = append(want, r.A, float64(r.B), float64(r.C), float64(r.F), float64(r.U), *r.O)
	}
	// Three rows per row group: four row groups, the last one short.
	b := writeParquet(t, rows, parquet.MaxRowsPerRowGroup(3))
	tab, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 10 || tab.D != 6 {
		t.Fatalf("shape %d×%d, want 10×6", tab.N, tab.D)
	}
	if wantNames := []string{"a", "b", "c", "f", "u", "o"}; !reflect.DeepEqual(tab.Names, wantNames) {
		t.Fatalf("names %q, want %q", tab.Names, wantNames)
	}
	if !reflect.DeepEqual(tab.X, want) {
		t.Fatalf("X = %v\nwant %v", tab.X, want)
	}
	// Through Load, then select by name and index.
	path := filepath.Join(t.TempDir(), "x.PARQUET")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tab2, err := LoadWith(path, LoadOptions{Columns: "o,0"})
	if err != nil {
		t.Fatal(err)
	}
	if tab2.D != 2 || tab2.Names[0] != "o" || tab2.Names[1] != "a" || tab2.X[2] != want[6+5] || tab2.X[3] != want[6] {
		t.Fatalf("selected: %q %v", tab2.Names, tab2.X[:4])
	}
}

type pqNested struct {
	ID    int64 `parquet:"id"`
	Inner struct {
		X float64 `parquet:"x"`
		Y int32   `parquet:"y"`
	} `parquet:"inner"`
	Tags []int32 `parquet:"tags"`
}

func TestReadParquetNested(t *testing.T) {
	rows := make([]pqNested, 3)
	for i := range rows {
		rows[i].ID = int64(10 + i)
		rows[i].Inner.X = float64(i) + 0.5
		rows[i].Inner.Y = int32(-i)
		rows[i].Tags = []int32{1, 2}
	}
	b := writeParquet(t, rows)
	tab, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab.Names, []string{"id", "inner.x", "inner.y"}) || !reflect.DeepEqual(tab.X, []float64{10, 0.5, 0, 11, 1.5, -1, 12, 2.5, -2}) {
		t.Fatalf("got %q %v", tab.Names, tab.X)
	}
}

type pqText struct {
	Name string `parquet:"name"`
	On   bool   `parquet:"on"`
}

type pqOpt struct {
	V *int64 `parquet:"v,optional"`
}

type pqNaN struct {
	P float64 `parquet:"p"`
	Q float64 `parquet:"q"`
}

func TestReadParquetErrors(t *testing.T) {
	seven := int64(7)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"no numeric column", writeParquet(t, []pqText{{"a", true}}),
			`read parquet: no numeric column (INT32, INT64, FLOAT or DOUBLE); skipped "name" (string), "on" (boolean)`},
		{"null", writeParquet(t, []pqOpt{{&seven}, {&seven}, {nil}}, parquet.MaxRowsPerRowGroup(2)),
			`read parquet: row group 1: row 2, column 0 ("v"): null value (fill or drop missing values first)`},
		{"nan", writeParquet(t, []pqNaN{{1, 2}, {3, math.Inf(1)}, {math.NaN(), 0}}),
			`read parquet: 2 rows contain NaN or Inf; first at row 1, column 1 ("q") (0-based)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadParquet(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
	for _, junk := range [][]byte{nil, []byte("PAR1"), []byte("PAR1 not really a parquet file PAR1"), []byte("1,2\n3,4\n")} {
		if _, err := ReadParquet(bytes.NewReader(junk), int64(len(junk))); err == nil || !strings.HasPrefix(err.Error(), "read parquet: ") {
			t.Errorf("junk %q: error = %v", junk, err)
		}
	}
}

type pqLogical struct {
	Price int32 `parquet:"price,decimal(2:9)"`
	Day   int32 `parquet:"day,date"`
	Small uint8 `parquet:"small"`
}

func TestReadParquetLogicalTypes(t *testing.T) {
	b := writeParquet(t, []pqLogical{{Price: 1234, Day: 19000, Small: 255}, {Price: -5, Day: 1, Small: 0}})
	tab, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The date column is skipped; the decimal is scaled by 10^-2.
	if !reflect.DeepEqual(tab.Names, []string{"price", "small"}) || !reflect.DeepEqual(tab.X, []float64{12.34, 255, -0.05, 0}) {
		t.Fatalf("got %q %v", tab.Names, tab.X)
	}
}

func TestReadParquetCorruptFooter(t *testing.T) {
	good := writeParquet(t, []pqNaN{{1, 2}})
	huge := append([]byte(nil), good...)
	// Footer length 0xFFFFFFF0 in the last 8 bytes, before "PAR1".
	copy(huge[len(huge)-8:], []byte{0xf0, 0xff, 0xff, 0xff})
	enc := append([]byte(nil), good...)
	copy(enc[len(enc)-4:], "PARE")
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"footer length", huge, fmt.Sprintf("read parquet: corrupt file: footer length %d exceeds the %d-byte file", 0xfffffff0, len(huge))},
		{"encrypted", enc, "read parquet: encrypted Parquet files are not supported"},
		{"short", []byte("PAR1PAR1"), "read parquet: not a Parquet file: 8 bytes, a Parquet file has at least 12"},
		{"csv", []byte("a,b\n1,2\n3,4\n"), `read parquet: not a Parquet file (no "PAR1" magic bytes at both ends)`},
	} {
		if _, err := ReadParquet(bytes.NewReader(tc.file), int64(len(tc.file))); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error = %v\nwant    %s", tc.name, err, tc.want)
		}
	}
}
