package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

func sampleTensors() []Tensor {
	return []Tensor{
		{Name: "layer0.weight", Shape: []int{2, 3}, F32: []float32{1, -2, 3.5, float32(math.Pi), 0, -0}},
		{Name: "layer0.bias", Shape: []int{3}, F64: []float64{1e-300, math.E, -7}},
		{Name: "scale", Shape: []int{}, F64: []float64{0.25}},
		{Name: "empty", Shape: []int{0, 4}, F32: []float32{}},
		{Name: "zz \"quoted\" ünïcode", Shape: []int{1}, F32: []float32{9}},
	}
}

func TestTensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	meta := map[string]string{"format": "iterflow/1", "config": `{"d": 2}`}
	in := sampleTensors()
	if err := SaveTensors(path, in, meta); err != nil {
		t.Fatal(err)
	}
	out, gotMeta, err := LoadTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Fatalf("metadata %v, want %v", gotMeta, meta)
	}
	// Without metadata: an empty map back.
	if err := SaveTensors(path, in[:1], nil); err != nil {
		t.Fatal(err)
	}
	if _, m, err := LoadTensors(path); err != nil || m == nil || len(m) != 0 {
		t.Fatalf("no metadata: %v, %v", m, err)
	}
}

// TestSafetensorsLayout checks the exact bytes of a tiny file against the
// layout of the safetensors format, computed by hand.
func TestSafetensorsLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if err := SaveTensors(path, []Tensor{{Name: "a", Shape: []int{2}, F32: []float32{1, 2}}}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The header is 79 bytes of JSON plus one space of padding to 80 = 0x50.
	want := []byte("\x50\x00\x00\x00\x00\x00\x00\x00" +
		`{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} ` +
		"\x00\x00\x80\x3f" + // 1.0f little-endian
		"\x00\x00\x00\x40") // 2.0f
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes\n got %q\nwant %q", got, want)
	}
}

// TestInteropNlpodyssey reads our file with github.com/nlpodyssey/safetensors
// and a file it wrote with LoadTensors.
func TestInteropNlpodyssey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ours.safetensors")
	in := sampleTensors()
	if err := SaveTensors(path, in, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, err := safetensors.Deserialize(b)
	if err != nil {
		t.Fatalf("nlpodyssey cannot read our file: %v", err)
	}
	tv, ok := st.Tensor("layer0.bias")
	if !ok || tv.DType() != safetensors.F64 || !reflect.DeepEqual(tv.Shape(), []uint64{3}) {
		t.Fatalf("nlpodyssey view of layer0.bias: %v %v %v", ok, tv.DType(), tv.Shape())
	}
	if v := math.Float64frombits(binary.LittleEndian.Uint64(tv.Data()[8:])); v != math.E {
		t.Fatalf("layer0.bias[1] = %v", v)
	}

	data := make([]byte, 0, 24)
	for _, v := range []float64{1, 2, 3} {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	view, err := safetensors.NewTensorView(safetensors.F64, []uint64{3, 1}, data)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := safetensors.Serialize(map[string]safetensors.TensorView{"w": view}, map[string]string{"x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	tp := filepath.Join(dir, "theirs.safetensors")
	if err := os.WriteFile(tp, theirs, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := LoadTensors(tp)
	if err != nil {
		t.Fatal(err)
	}
	want := []Tensor{{Name: "w", Shape: []int{3, 1}, F64: []float64{1, 2, 3}}}
	if !reflect.DeepEqual(ts, want) || meta["x"] != "y" {
		t.Fatalf("their file: %+v %v", ts, meta)
	}
}

// rawFile builds a safetensors file from a header string and data bytes.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestLoadTensorsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"truncated", []byte{1, 2, 3}, "file has 3 bytes, too short for the 8-byte header length"},
		{"header beyond file", rawFile(`{}`, nil)[:9], "header length 2 exceeds the 1 bytes after the length prefix"},
		{"huge header length", append([]byte{0, 0, 0, 0, 0, 0, 0, 0x80}, make([]byte, 16)...), "header length 9223372036854775808 exceeds the 16 bytes after the length prefix"},
		{"not json", rawFile(`[1,2]`, nil), "header is not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{"unknown dtype", rawFile(`{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}),
			`tensor "w": unsupported dtype "I8" (want F32 or F64)`},
		{"offsets beyond data", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)),
			`tensor "w": data_offsets [0, 8] out of range (data section has 4 bytes)`},
		{"reversed offsets", rawFile(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)),
			`tensor "w": data_offsets [4, 0] out of range (data section has 4 bytes)`},
		{"shape mismatch", rawFile(`{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)),
			`tensor "w": shape [2] × 8 bytes = 16 bytes, but data_offsets [0, 8] span 8`},
		{"huge shape", rawFile(`{"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}`, make([]byte, 8)),
			`tensor "w": shape [4294967296 4294967296 16] needs more bytes than the data section's 8`},
		{"negative dim", rawFile(`{"w":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}`, make([]byte, 8)),
			`tensor "w": negative dimension in shape [-1]`},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			`tensor "b": data_offsets [4, 8] overlap tensor "a" ending at 8`},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			`tensor "a": data_offsets [4, 8] leave a gap after byte 0`},
		{"trailing data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)),
			"data section has 8 bytes, tensors cover 4"},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, make([]byte, 4)),
			`tensor "a": bad header entry: json: unknown field "extra"`},
		{"bad offsets count", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, make([]byte, 4)),
			`tensor "a": data_offsets has 1 entries, want 2`},
		{"bad metadata", rawFile(`{"__metadata__":{"k":1}}`, nil),
			"__metadata__ is not an object of strings: json: cannot unmarshal number into Go value of type string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadTensors(path)
			if want := "load tensors " + path + ": " + tc.want; err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
		})
	}
	missing := filepath.Join(dir, "missing")
	if _, _, err := LoadTensors(missing); err == nil || err.Error() != "load tensors "+missing+": no such file or directory" {
		t.Fatalf("missing: %v", err)
	}
}

func TestSaveTensorsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	tests := []struct {
		ts   []Tensor
		want string
	}{
		{[]Tensor{{Name: "", Shape: []int{1}, F32: []float32{1}}}, `tensor 0 (""): empty name`},
		{[]Tensor{{Name: "a", Shape: []int{2}, F32: []float32{1}}}, `tensor 0 ("a"): shape [2] holds 2 values, data has 1`},
		{[]Tensor{{Name: "a", Shape: []int{1}}}, `tensor 0 ("a"): exactly one of F32 and F64 must be set`},
		{[]Tensor{{Name: "a", Shape: []int{1}, F32: []float32{1}, F64: []float64{1}}}, `tensor 0 ("a"): exactly one of F32 and F64 must be set`},
		{[]Tensor{{Name: "a", Shape: []int{-1}, F32: []float32{}}}, `tensor 0 ("a"): negative dimension in shape [-1]`},
		{[]Tensor{{Name: "__metadata__", Shape: []int{1}, F32: []float32{1}}}, `tensor 0 ("__metadata__"): name "__metadata__" is reserved for metadata`},
		{[]Tensor{{Name: "a", Shape: []int{1}, F32: []float32{1}}, {Name: "a", Shape: []int{1}, F32: []float32{1}}}, `tensor 1 ("a"): name used twice`},
	}
	for _, tc := range tests {
		if err := SaveTensors(path, tc.ts, nil); err == nil || err.Error() != "save tensors "+path+": "+tc.want {
			t.Errorf("error = %v\nwant save tensors %s: %s", err, path, tc.want)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed save left a file: %v", err)
	}
}

func TestWriteFileAtomicKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	if err := SaveTensors(path, sampleTensors(), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	boom := errors.New("disk on fire")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("garbage"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the write error", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("failed atomic write changed the old file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries in the directory, want 1 (temporary file left?)", len(entries))
	}
}

type runConfig struct {
	Method string  `json:"method"`
	LR     float64 `json:"lr"`
	Blocks int     `json:"blocks"`
}

func TestJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	in := runConfig{Method: "jko", LR: 1e-3, Blocks: 4}
	if err := WriteJSON(path, in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if want := "{\n  \"method\": \"jko\",\n  \"lr\": 0.001,\n  \"blocks\": 4\n}\n"; string(b) != want {
		t.Fatalf("file %q, want %q", b, want)
	}
	var out runConfig
	if err := ReadJSON(path, &out); err != nil || out != in {
		t.Fatalf("read back %+v, %v", out, err)
	}
	for _, tc := range []struct{ content, want string }{
		{`{"method": "lfm", "learning_rate": 0.1}`, `json: unknown field "learning_rate"`},
		{`{"method": "lfm"} {}`, "trailing data after the JSON value ending at byte 17"},
		{``, "empty file"},
		{`{"blocks": "four"}`, "json: cannot unmarshal string into Go struct field runConfig.blocks of type int"},
	} {
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		var c runConfig
		if err := ReadJSON(path, &c); err == nil || err.Error() != "read json "+path+": "+tc.want {
			t.Errorf("ReadJSON(%q) error = %v\nwant read json %s: %s", tc.content, err, path, tc.want)
		}
	}
	if err := WriteJSON(path, math.NaN()); err == nil || !strings.HasPrefix(err.Error(), "write json "+path+": json: unsupported value: NaN") {
		t.Errorf("WriteJSON(NaN) error = %v", err)
	}
}

func FuzzLoadTensors(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.safetensors")
	if err := SaveTensors(path, sampleTensors(), map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := readTensors(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, tt := range ts {
			n := 1
			for _, s := range tt.Shape {
				n *= s
			}
			if len(tt.F32)+len(tt.F64) != n || (tt.F32 == nil) == (tt.F64 == nil) {
				t.Fatalf("tensor %q: shape %v with %d+%d values", tt.Name, tt.Shape, len(tt.F32), len(tt.F64))
			}
		}
	})
}
