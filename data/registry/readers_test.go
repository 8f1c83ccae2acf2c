package registry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// idxBytes encodes a uint8 IDX array.
func idxBytes(dims []int, v []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(v)
	return b.Bytes()
}

func gzipBytes(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func xzBytes(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// npyBytes encodes a uint8 .npy (format 1.0) with the given shape.
func npyBytes(shape []int, v []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	s := strings.Join(dims, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return npyRaw(fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", s), v)
}

// npyRaw encodes an .npy with the header dict h (padded to 64 bytes).
func npyRaw(h string, v []byte) []byte {
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(v)
	return b.Bytes()
}

func writeFile(t testing.TB, path string, p []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, p, 0o644); err != nil {
		t.Fatal(err)
	}
}

func seq(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return v
}

func TestReadIDXRoundTrip(t *testing.T) {
	v := seq(3 * 2 * 4)
	raw := idxBytes([]int{3, 2, 4}, v)
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"plain", raw}, {"gzip", gzipBytes(t, raw)}} {
		t.Run(tc.name, func(t *testing.T) {
			dims, got, err := ReadIDX(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dims, []int{3, 2, 4}) || !bytes.Equal(got, v) {
				t.Fatalf("got dims %v data %v, want [3 2 4] %v", dims, got, v)
			}
		})
	}
}

func TestReadIDXSubset(t *testing.T) {
	v := seq(10 * 3)
	raw := gzipBytes(t, idxBytes([]int{10, 3}, v))
	sel := func(n int) []int { return []int{1, 4, 9} }
	dims, got, err := readIDX(context.Background(), bytes.NewReader(raw), sel)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(v[3:6], v[12:15], v[27:30])
	if !slices.Equal(dims, []int{3, 3}) || !bytes.Equal(got, want) {
		t.Fatalf("got %v %v, want [3 3] %v", dims, got, want)
	}
	// Skipping the tail still detects a truncated file.
	short := idxBytes([]int{10, 3}, v[:20])
	_, _, err = readIDX(context.Background(), bytes.NewReader(short), func(int) []int { return []int{0} })
	if err == nil || !strings.Contains(err.Error(), "data ends after 20 of 30 bytes") {
		t.Fatalf("truncated tail: got %v", err)
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 3}, seq(6))
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "read idx: header: unexpected EOF"},
		{"magic", append([]byte{1, 0}, good[2:]...), "read idx: bad magic number 01 00 08 02, want 00 00 08 <ndim>"},
		{"float type", append([]byte{0, 0, 0x0d}, good[3:]...), "read idx: element type 0x0d, want 0x08 (unsigned byte)"},
		{"zero dims", []byte{0, 0, 8, 0}, "read idx: 0 dimensions, want 1 to 8"},
		{"short dims", []byte{0, 0, 8, 2, 0, 0, 0, 2}, "read idx: header (2 dimensions): unexpected EOF"},
		{"truncated", good[:len(good)-2], "read idx: data ends after 1 of 3 bytes of item 1 (shape [2 3]): unexpected EOF"},
		{"trailing", append(slices.Clone(good), 9), "read idx: trailing data after the 6 bytes of shape [2 3]"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2}, "read idx: gzip: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadIDX(bytes.NewReader(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadIDXFileNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.gz")
	writeFile(t, p, []byte{0, 0, 9, 1})
	_, _, err := readIDXFile(context.Background(), p, nil)
	want := "read idx " + p + ": element type 0x09, want 0x08 (unsigned byte)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestReadIDXCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := readIDX(ctx, bytes.NewReader(idxBytes([]int{2, 3}, seq(6))), nil)
	if err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 3}, seq(6)))
	f.Add(idxBytes([]int{1}, seq(1)))
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	f.Add(gzipBytes(f, idxBytes([]int{4, 1, 1}, seq(4))))
	f.Fuzz(func(t *testing.T, in []byte) {
		dims, v, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(v) != n {
			t.Fatalf("dims %v hold %d values, got %d", dims, n, len(v))
		}
	})
}

func TestReadNPYUint8(t *testing.T) {
	v := seq(4 * 2 * 2 * 3)
	raw := npyBytes([]int{4, 2, 2, 3}, v)
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"plain", raw}, {"xz", xzBytes(t, raw)}, {"gzip", gzipBytes(t, raw)}} {
		t.Run(tc.name, func(t *testing.T) {
			shape, got, err := ReadNPYUint8(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, []int{4, 2, 2, 3}) || !bytes.Equal(got, v) {
				t.Fatalf("got %v %v", shape, got)
			}
		})
	}
	shape, got, err := ReadNPYUint8(bytes.NewReader(npyBytes([]int{5}, seq(5))))
	if err != nil || !slices.Equal(shape, []int{5}) || !bytes.Equal(got, seq(5)) {
		t.Fatalf("1-D: got %v %v %v", shape, got, err)
	}
}

func TestReadNPYUint8Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"magic", []byte("NUMPY\x93\x01\x00"), `read npy: bad magic "NUMPY\x93", want "\x93NUMPY"`},
		{"version", []byte("\x93NUMPY\x04\x00"), "read npy: format version 4.0, want 1.0, 2.0 or 3.0"},
		{"float", npyRaw("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 16)),
			`read npy: dtype "<f8", want uint8 ('|u1'); use data.ReadNPY for other types`},
		{"fortran", npyRaw("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", make([]byte, 4)),
			"read npy: fortran_order True is not supported (want C order)"},
		{"scalar", npyRaw("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", make([]byte, 1)),
			"read npy: shape () is a scalar, want at least one dimension"},
		{"short", npyBytes([]int{2, 3}, seq(4)), "read npy: data ends after 1 of 3 bytes of item 1 (shape [2 3]): unexpected EOF"},
		{"long", npyBytes([]int{2, 3}, seq(7)), "read npy: trailing data after the 6 bytes of shape [2 3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadNPYUint8(bytes.NewReader(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzReadNPYUint8(f *testing.F) {
	f.Add(npyBytes([]int{2, 3}, seq(6)))
	f.Add(npyBytes([]int{1}, seq(1)))
	f.Fuzz(func(t *testing.T, in []byte) {
		shape, v, err := ReadNPYUint8(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if len(v) != n {
			t.Fatalf("shape %v holds %d values, got %d", shape, n, len(v))
		}
	})
}
