package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sbinet/npyio"
	"gonum.org/v1/gonum/mat"
)

func writeNPY(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := npyio.Write(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadNPYRoundTrip(t *testing.T) {
	m := mat.NewDense(3, 2, []float64{1, -2, 3.5, 4, 5, 1e-300})
	tests := []struct {
		name string
		v    any
		n, d int
		x    []float64
	}{
		{"float64 2-D", m, 3, 2, []float64{1, -2, 3.5, 4, 5, 1e-300}},
		{"float32 1-D", []float32{0.5, -1.25, 3}, 3, 1, []float64{0.5, -1.25, 3}},
		{"float64 1-D", []float64{1, 2}, 2, 1, []float64{1, 2}},
		{"int64 1-D", []int64{-7, 9}, 2, 1, []float64{-7, 9}},
		{"uint8 1-D", []uint8{0, 255}, 2, 1, []float64{0, 255}},
		{"int16 1-D", []int16{-300, 2}, 2, 1, []float64{-300, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := ReadNPY(bytes.NewReader(writeNPY(t, tc.v)))
			if err != nil {
				t.Fatal(err)
			}
			if tab.N != tc.n || tab.D != tc.d || !reflect.DeepEqual(tab.X, tc.x) {
				t.Fatalf("got %d×%d %v, want %d×%d %v", tab.N, tab.D, tab.X, tc.n, tc.d, tc.x)
			}
		})
	}
}

// npyBytes builds an .npy (version 1.0) file by hand.
func npyBytes(header string, data []byte) []byte {
	pad := 64 - (10+len(header)+1)%64
	h := header + strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func f64Bytes(order binary.ByteOrder, v ...float64) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, order, v)
	return b.Bytes()
}

func TestReadNPYFortranAndBigEndian(t *testing.T) {
	// 2×3 matrix [[1,2,3],[4,5,6]] stored column-major.
	f := npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f64Bytes(binary.LittleEndian, 1, 4, 2, 5, 3, 6))
	tab, err := ReadNPY(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 2 || tab.D != 3 || !reflect.DeepEqual(tab.X, []float64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("fortran: %d×%d %v", tab.N, tab.D, tab.X)
	}
	be := npyBytes("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", f64Bytes(binary.BigEndian, 1.5, -2))
	tab, err = ReadNPY(bytes.NewReader(be))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab.X, []float64{1.5, -2}) {
		t.Fatalf("big-endian: %v", tab.X)
	}
	// gzip-compressed input is detected.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(be)
	_ = zw.Close()
	if tab, err = ReadNPY(&gz); err != nil || !reflect.DeepEqual(tab.X, []float64{1.5, -2}) {
		t.Fatalf("gzip: %v %v", tab, err)
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"not npy", []byte("hello, world"), "read npy: header: not an .npy file (bad magic bytes)"},
		{"short", []byte("\x93NU"), "read npy: header: magic: unexpected EOF"},
		{"truncated data", npyBytes(good, f64Bytes(binary.LittleEndian, 1, 2, 3)),
			`read npy: data has 24 bytes, header (shape [2 2], dtype "<f8") needs 32: file truncated`},
		{"extra data", npyBytes(good, f64Bytes(binary.LittleEndian, 1, 2, 3, 4, 5)),
			`read npy: data has more than the 32 bytes that the header (shape [2 2], dtype "<f8") describes`},
		{"nan", npyBytes(good, f64Bytes(binary.LittleEndian, 1, 2, math.Inf(1), math.NaN())),
			"read npy: 1 row contains NaN or Inf; first at row 1, column 0 (0-based)"},
		{"3-D", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", f64Bytes(binary.LittleEndian, 1)),
			"read npy: array has shape [1 1 1]; want 1-D (n,) or 2-D (n, d)"},
		{"complex", npyBytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", make([]byte, 16)),
			`read npy: unsupported dtype "<c16" (want float64, float32 or an integer type)`},
		{"no shape", npyBytes("{'descr': '<f8', 'fortran_order': False}", nil),
			`read npy: header: no 'shape' entry in "{'descr': '<f8', 'fortran_order': False}"`},
		{"huge header", []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), "read npy: header: header length 2147483647 exceeds 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
}

func TestLoadNPY(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.npy")
	if err := os.WriteFile(path, writeNPY(t, []float32{1, 2, 3}), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(path)
	if err != nil || tab.N != 3 || tab.D != 1 {
		t.Fatalf("Load npy: %v %v", tab, err)
	}
}

func TestSharedMiniboone(t *testing.T) {
	dir := sharedData(t)
	tab, err := Load(filepath.Join(dir, "miniboone_maf_head", "miniboone_maf_first1523.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 1523 || tab.D != 43 {
		t.Fatalf("shape %d×%d, want 1523×43", tab.N, tab.D)
	}
}
