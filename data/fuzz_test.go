package data

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// checkTable fails unless a table returned without error is consistent.
func checkTable(t *testing.T, tab *Table, err error, prefix string) {
	t.Helper()
	if err != nil {
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("error without %q prefix: %v", prefix, err)
		}
		return
	}
	if tab == nil || tab.N < 0 || tab.D < 0 || len(tab.X) != tab.N*tab.D || len(tab.Names) != tab.D {
		t.Fatalf("inconsistent table %+v", tab)
	}
	if cnt, _ := countNonFinite(tab.X, tab.D); cnt > 0 {
		t.Fatalf("table holds %d rows with NaN or Inf", cnt)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "\"fixed acidity\";\"pH\"\n7.4;3.51\n", "1 2\n 3 4\n", "x\ty\r\n1\t2\r\n",
		"\"a\"\"b\",c\n1,2\n", "\"unterminated\n", "1,NaN\n", "1e999,2\n", "\uFEFFa\n1\n", "", "\n\n",
	} {
		f.Add([]byte(s), int8(-1), int32(0))
	}
	f.Add([]byte("1;2\n3;4"), int8(0), int32(';'))
	f.Add([]byte("h\n1\n"), int8(1), int32(' '))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("a,b\n1,2\n"))
	_ = zw.Close()
	f.Add(gz.Bytes(), int8(-1), int32(0))
	f.Fuzz(func(t *testing.T, in []byte, header int8, comma int32) {
		tab, err := ReadCSV(bytes.NewReader(in), CSVOptions{Comma: rune(comma), Header: int(header)})
		checkTable(t, tab, err, "read csv: ")
	})
}

func FuzzReadNPY(f *testing.F) {
	f.Add(writeNPY(f, mat.NewDense(2, 2, []float64{1, 2, 3, 4})))
	f.Add(writeNPY(f, []uint8{0, 255}))
	f.Add(writeNPY(f, []float32{0.5}))
	f.Add(npyBytes("{'descr': '>i8', 'fortran_order': True, 'shape': (1, 2), }", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999), }", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		tab, err := ReadNPY(bytes.NewReader(in))
		checkTable(t, tab, err, "read npy: ")
	})
}

func FuzzReadNPZ(f *testing.F) {
	x := writeNPY(f, mat.NewDense(2, 2, []float64{1, 2, 3, 4}))
	f.Add(writeNPZ(f, false, npzEntry{"x.npy", x}), "")
	f.Add(writeNPZ(f, true, npzEntry{"x.npy", x}, npzEntry{"y.npy", writeNPY(f, []int16{1})}), "y")
	f.Add(writeNPZ(f, true, npzEntry{"x.npy", x[:20]}), "x")
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), "")
	f.Add([]byte{}, "k")
	f.Fuzz(func(t *testing.T, in []byte, key string) {
		tab, err := ReadNPZ(bytes.NewReader(in), int64(len(in)), key)
		checkTable(t, tab, err, "read npz: ")
	})
}

func FuzzReadParquet(f *testing.F) {
	f.Add(writeParquet(f, []pqNaN{{1, 2}, {3, 4}}))
	seven := int64(7)
	f.Add(writeParquet(f, []pqOpt{{&seven}, {nil}}))
	f.Add(writeParquet(f, []pqText{{"a", true}}))
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tab, err := ReadParquet(bytes.NewReader(in), int64(len(in)))
		checkTable(t, tab, err, "read parquet: ")
	})
}
