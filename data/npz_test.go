package data

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// npzEntry is one file of a hand-built .npz archive.
type npzEntry struct {
	name string
	data []byte
}

// writeNPZ builds a zip archive like numpy.savez (stored) or
// numpy.savez_compressed (deflated).
func writeNPZ(t testing.TB, compressed bool, entries ...npzEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	method := zip.Store
	if compressed {
		method = zip.Deflate
	}
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadNPZ(t *testing.T) {
	x := writeNPY(t, mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, -6.5}))
	y := writeNPY(t, []int32{7, 8})
	for _, compressed := range []bool{false, true} {
		multi := writeNPZ(t, compressed, npzEntry{"x.npy", x}, npzEntry{"y.npy", y})
		single := writeNPZ(t, compressed, npzEntry{"arr_0.npy", x})
		tests := []struct {
			name  string
			file  []byte
			key   string
			n, d  int
			x     []float64
			names []string
		}{
			{"only array", single, "", 2, 3, []float64{1, 2, 3, 4, 5, -6.5}, []string{"x0", "x1", "x2"}},
			{"key x", multi, "x", 2, 3, []float64{1, 2, 3, 4, 5, -6.5}, []string{"x0", "x1", "x2"}},
			{"1-D key y", multi, "y", 2, 1, []float64{7, 8}, []string{"y"}},
		}
		for _, tc := range tests {
			tab, err := ReadNPZ(bytes.NewReader(tc.file), int64(len(tc.file)), tc.key)
			if err != nil {
				t.Fatalf("%s (compressed %v): %v", tc.name, compressed, err)
			}
			if tab.N != tc.n || tab.D != tc.d || !reflect.DeepEqual(tab.X, tc.x) || !reflect.DeepEqual(tab.Names, tc.names) {
				t.Fatalf("%s: got %d×%d %v %q", tc.name, tab.N, tab.D, tab.X, tab.Names)
			}
		}
	}
}

func TestReadNPZErrors(t *testing.T) {
	x := writeNPY(t, []float64{1, 2})
	multi := writeNPZ(t, true, npzEntry{"b.npy", x}, npzEntry{"a.npy", x}, npzEntry{"notes.txt", []byte("hi")})
	truncated := writeNPZ(t, false, npzEntry{"x.npy", x[:len(x)-3]})
	tests := []struct {
		name string
		file []byte
		key  string
		want string
	}{
		{"several", multi, "", `read npz: archive holds 2 arrays (keys "a", "b"); choose one with a key`},
		{"missing key", multi, "c", `read npz: no array with key "c" (keys "a", "b")`},
		{"no arrays", writeNPZ(t, false, npzEntry{"notes.txt", []byte("hi")}), "", "read npz: archive holds no .npy array"},
		{"bad entry", truncated, "x", `read npz: array "x": read npy: data has 13 bytes, header (shape [2], dtype "<f8") needs 16: file truncated`},
		{"not zip", []byte("1,2\n"), "", "read npz: not a zip archive: zip: not a valid zip file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPZ(bytes.NewReader(tc.file), int64(len(tc.file)), tc.key)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
}

func TestLoadNPZAndOptions(t *testing.T) {
	dir := t.TempDir()
	npz := filepath.Join(dir, "train.NPZ")
	file := writeNPZ(t, true, npzEntry{"x.npy", writeNPY(t, mat.NewDense(2, 2, []float64{1, 2, 3, 4}))}, npzEntry{"y.npy", writeNPY(t, []float64{5, 6})})
	if err := os.WriteFile(npz, file, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		opt  LoadOptions
		x    []float64
	}{
		{npz, LoadOptions{Key: "y"}, []float64{5, 6}},
		{npz + ":x", LoadOptions{}, []float64{1, 2, 3, 4}},
		{npz + ":x", LoadOptions{Columns: "1"}, []float64{2, 4}},
	} {
		tab, err := LoadWith(tc.path, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tab.X, tc.x) {
			t.Fatalf("LoadWith(%q, %+v) = %v, want %v", tc.path, tc.opt, tab.X, tc.x)
		}
	}
	if _, err := Load(npz); err == nil || !strings.HasSuffix(err.Error(), `read npz: archive holds 2 arrays (keys "x", "y"); choose one with a key`) {
		t.Fatalf("Load without key: %v", err)
	}

	csv := filepath.Join(dir, "h.csv")
	if err := os.WriteFile(csv, []byte("1;2\n3;4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt   LoadOptions
		n     int
		names []string
	}{
		{LoadOptions{}, 2, []string{"x0", "x1"}},
		{LoadOptions{Header: HeaderAbsent}, 2, []string{"x0", "x1"}},
		{LoadOptions{Header: HeaderPresent}, 1, []string{"1", "2"}},
		{LoadOptions{Header: HeaderPresent, Comma: ';', Columns: "1"}, 1, []string{"2"}},
	} {
		tab, err := LoadWith(csv, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if tab.N != tc.n || !reflect.DeepEqual(tab.Names, tc.names) {
			t.Fatalf("%+v: %d rows %q", tc.opt, tab.N, tab.Names)
		}
	}
	for _, tc := range []struct {
		path string
		opt  LoadOptions
		want string
	}{
		{csv, LoadOptions{Header: 7}, "load " + csv + ": invalid Header option 7 (want HeaderAuto, HeaderPresent or HeaderAbsent)"},
		{csv, LoadOptions{Key: "x"}, "load " + csv + `: array key "x" given for a .csv file (keys apply to .npz only)`},
		{csv, LoadOptions{Columns: "z"}, "load " + csv + `: select "z": unknown column name "z" (table has 2 columns: "x0", "x1")`},
		{npz + ":", LoadOptions{}, "load " + npz + `:: empty array key after ".npz:"`},
		{npz + ".gz", LoadOptions{}, "load " + npz + `.gz: unsupported extension ".npz.gz" (supported: ` + supportedExtensions + ")"},
		{dir + "/x.parquet", LoadOptions{}, "load " + dir + "/x.parquet: no such file or directory"},
	} {
		if _, err := LoadWith(tc.path, tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("LoadWith(%q, %+v) error = %v\nwant %s", tc.path, tc.opt, err, tc.want)
		}
	}
}
