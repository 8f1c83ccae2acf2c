package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// mixedModel is testModel with a linear block appended.
func mixedModel(t *testing.T) *Model {
	t.Helper()
	m := testModel(t)
	lin := nn.NewLinear[float32](2)
	copy(lin.Params(), []float32{-0.5, 0.25, 0.125, -1, 0.3, -0.7})
	m.Fields = append(m.Fields, lin)
	m.Blocks = append(m.Blocks, BlockInfo{Kind: "free", Reverse: true})
	m.Source = ""
	return m
}

func streamBytes(t *testing.T, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// splitStream returns the header length, header and payload of a stream.
func splitStream(b []byte) (uint64, []byte, []byte) {
	h := binary.LittleEndian.Uint64(b[:8])
	return h, b[8 : 8+h], b[8+h:]
}

// craft assembles a stream from a header text and a payload.
func craft(hdr string, payload []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	out = append(out, hdr...)
	return append(out, payload...)
}

func TestStreamRoundTrip(t *testing.T) {
	m := mixedModel(t)
	b := streamBytes(t, m)
	got, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "lfm" || got.Spec.Act != nn.Tanh || !got.Spec.TimeInput || got.Blocks[1].Gamma != 0.2 ||
		got.Blocks[2].Field != "linear" || !got.Blocks[2].Reverse || got.Columns[1] != "b" || !got.Dequantized[1] ||
		got.Standardizer.Mean[1] != -2 || got.Standardizer.Std[0] != 2 {
		t.Errorf("read %+v", got)
	}
	if len(got.Fields) != 3 || FieldKind(got.Fields[2]) != "linear" {
		t.Fatalf("fields %v", got.Fields)
	}
	for k := range m.Fields {
		a, c := m.Fields[k].Params(), got.Fields[k].Params()
		if len(a) != len(c) {
			t.Fatalf("block %d: %d params, want %d", k, len(c), len(a))
		}
		for i := range a {
			if a[i] != c[i] {
				t.Fatalf("block %d param %d: %g != %g", k, i, c[i], a[i])
			}
		}
	}
	x := []float64{0.3, -1.2, 2, -2.5, -1, 0}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-6, ATol: 1e-6}}
	want, _, err := m.LogProb(context.Background(), x, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	lp, _, err := got.LogProb(context.Background(), x, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if lp[i] != want[i] {
			t.Errorf("row %d: LogProb %v after the round trip, %v before", i, lp[i], want[i])
		}
	}
	// Writing the read model gives the same bytes.
	if b2 := streamBytes(t, got); !bytes.Equal(b, b2) {
		t.Error("rewriting the read model changed the stream")
	}
}

// Read consumes exactly one model, so models can follow each other, and
// ReadFrom reports the bytes it consumed.
func TestStreamConcatenated(t *testing.T) {
	a, b := testModel(t), mixedModel(t)
	ba, bb := streamBytes(t, a), streamBytes(t, b)
	r := bytes.NewReader(append(append([]byte(nil), ba...), bb...))
	var m1, m2 Model
	n1, err := m1.ReadFrom(r)
	if err != nil || n1 != int64(len(ba)) {
		t.Fatalf("first ReadFrom: %d bytes (want %d), %v", n1, len(ba), err)
	}
	n2, err := m2.ReadFrom(r)
	if err != nil || n2 != int64(len(bb)) {
		t.Fatalf("second ReadFrom: %d bytes (want %d), %v", n2, len(bb), err)
	}
	if len(m1.Fields) != 2 || len(m2.Fields) != 3 {
		t.Errorf("read %d and %d blocks, want 2 and 3", len(m1.Fields), len(m2.Fields))
	}
	if _, err := Read(r); err == nil || err.Error() != "model: read: stream ends after 0 bytes, inside the 8-byte header length" {
		t.Errorf("read at the end: %v", err)
	}
}

// The stream is a safetensors file that another implementation reads.
func TestStreamIsSafetensors(t *testing.T) {
	m := testModel(t)
	st, err := safetensors.Deserialize(streamBytes(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 12 {
		t.Errorf("%d tensors, want 12 (2 blocks × 3 layers × weight and bias)", st.Len())
	}
	tv, ok := st.Tensor("block.1.layer.0.weight")
	if !ok {
		t.Fatal("tensor block.1.layer.0.weight not found")
	}
	if sh := tv.Shape(); len(sh) != 2 || sh[0] != 3 || sh[1] != 8 {
		t.Errorf("shape %v, want [3 8]", sh)
	}
	w := m.Fields[1].Params()
	for i := 0; i < 3*8; i++ {
		if got := binary.LittleEndian.Uint32(tv.Data()[4*i:]); got != math.Float32bits(w[i]) {
			t.Fatalf("weight %d differs", i)
		}
	}
}

func TestStreamTruncated(t *testing.T) {
	b := streamBytes(t, testModel(t))
	hlen, _, payload := splitStream(b)
	cases := []struct {
		cut  int
		want string
	}{
		{0, "model: read: stream ends after 0 bytes, inside the 8-byte header length"},
		{5, "model: read: stream ends after 5 bytes, inside the 8-byte header length"},
		{20, fmt.Sprintf("model: read: stream ends after 20 of 8+%d header bytes", hlen)},
		{len(b) - 3, fmt.Sprintf("model: read: stream ends after %d of %d weight bytes", len(payload)-3, len(payload))},
	}
	for _, c := range cases {
		_, err := Read(bytes.NewReader(b[:c.cut]))
		if err == nil || err.Error() != c.want {
			t.Errorf("cut at %d: got %v, want %q", c.cut, err, c.want)
		}
	}
	// Every shorter stream fails.
	for cut := 0; cut < len(b); cut++ {
		if _, err := Read(bytes.NewReader(b[:cut])); err == nil {
			t.Fatalf("cut at %d of %d bytes: no error", cut, len(b))
		}
	}
}

func TestStreamCorrupted(t *testing.T) {
	b := streamBytes(t, testModel(t))
	_, hdr, payload := splitStream(b)
	h := string(hdr)
	flip := append([]byte(nil), b...)
	flip[len(flip)-5] ^= 0x40
	huge := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	replace := func(old, new string) []byte {
		if !strings.Contains(h, old) {
			t.Fatalf("header lacks %q", old)
		}
		return craft(strings.Replace(h, old, new, 1), payload)
	}
	cases := []struct {
		name   string
		stream []byte
		want   string
	}{
		{"flipped weight bit", flip, "model: read: weights checksum mismatch (the stream is corrupted or was changed after writing)"},
		{"huge header length", huge, "model: read: header length 4611686018427387904 exceeds the limit of 67108864 bytes (not an iterflow model stream?)"},
		{"not JSON", craft("{not json}      ", payload), "model: read: header is not a JSON object: invalid character 'n' looking for beginning of object key string"},
		{"no metadata", craft(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, payload), "model: read: header has no __metadata__ (a safetensors file, but not an iterflow model stream)"},
		{"other format", replace(`"format":"iterflow"`, `"format":"pytorch"`), `model: read: __metadata__ format is "pytorch", want "iterflow" (not an iterflow model stream)`},
		{"format version", replace(`\"format_version\":1`, `\"format_version\":7`), "model: read: format version 7 is not supported (this iterflow reads version 1)"},
		{"activation", replace(`\"activation\":\"tanh\"`, `\"activation\":\"swish2\"`), `model: read: unknown activation "swish2" (want one of softplus, tanh, elu, silu, relu)`},
		{"renamed tensor", replace(`"block.1.layer.2.bias"`, `"block.1.layer.2.b"`), `model: read: tensor "block.1.layer.2.bias" is missing`},
		{"wrong shape", replace(`"shape":[3,8]`, `"shape":[8,3]`), `model: read: tensor "block.0.layer.0.weight" is F32 [8 3], want F32 [3 8]`},
		{"float64", replace(`"dtype":"F32"`, `"dtype":"F64"`), `model: read: tensor "block.0.layer.0.weight" is F64 [3 8], want F32 [3 8]`},
		{"unknown field", replace(`"data_offsets":[0,96]`, `"data_offsets":[0,96],"x":1`), `model: read: tensor "block.0.layer.0.weight": bad header entry: json: unknown field "x"`},
		{"zero std", replace(`\"std\":[2,0.5]`, `\"std\":[2,0]`), "model: read: standardization of column 1 has mean -2 and std 0; want finite values and std > 0"},
		{"huge hidden layer", replace(`\"hidden\":[8,8]`, `\"hidden\":[1073741824,1073741824]`), "model: read: architecture (dimension 2, hidden [1073741824 1073741824], 2 blocks) has more than 1073741824 weights"},
	}
	for _, c := range cases {
		_, err := Read(bytes.NewReader(c.stream))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

// A header whose tensors overlap, or that adds a tensor, is refused before the
// weights are read.
func TestStreamBadOffsets(t *testing.T) {
	b := streamBytes(t, testModel(t))
	_, hdr, payload := splitStream(b)
	h := strings.TrimRight(string(hdr), " ")
	extra := strings.TrimSuffix(h, "}") + `,"zzz":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	if _, err := Read(bytes.NewReader(craft(extra, payload))); err == nil ||
		err.Error() != `model: read: unexpected tensor "zzz" (the architecture has 12 tensors)` {
		t.Errorf("extra tensor: %v", err)
	}
	overlap := strings.Replace(h, `"data_offsets":[96,128]`, `"data_offsets":[0,32]`, 1)
	if overlap == h {
		t.Fatal("header lacks the second tensor's offsets")
	}
	if _, err := Read(bytes.NewReader(craft(overlap, payload))); err == nil || !strings.Contains(err.Error(), "leave a gap or overlap") {
		t.Errorf("overlap: %v", err)
	}
}

// errWriter fails after limit bytes.
type errWriter struct{ limit int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

// A non-finite weight is refused even with a matching checksum.
func TestStreamNonFiniteWeight(t *testing.T) {
	m := testModel(t)
	m.Fields[1].Params()[5] = float32(math.Inf(-1))
	_, err := Read(bytes.NewReader(streamBytes(t, m)))
	if err == nil || err.Error() != `model: read: tensor "block.1.layer.0.weight" holds -Inf at index 5` {
		t.Errorf("got %v", err)
	}
}

func TestWriteToErrors(t *testing.T) {
	m := testModel(t)
	n, err := m.WriteTo(&errWriter{limit: 100})
	if err == nil || err.Error() != "model: write: disk full" || n != 100 {
		t.Errorf("got %d bytes, %v; want 100 bytes, model: write: disk full", n, err)
	}
	m.Standardizer.Std = m.Standardizer.Std[:1]
	if _, err := m.WriteTo(io.Discard); err == nil || err.Error() != "model: write: model: standardizer does not have dimension 2" {
		t.Errorf("invalid model: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	spec := nn.Spec{Dim: 1, Hidden: []int{2}, Act: nn.Tanh, TimeInput: true}
	m := &Model{Method: "lfm", Spec: spec, Blocks: []BlockInfo{{Kind: "ou"}}, Standardizer: &data.Standardizer{Mean: []float64{0.5}, Std: []float64{2}}}
	net, _ := nn.NewMLP[float32](spec, rand.New(rand.NewPCG(1, 2)))
	m.Fields = []Field{net}
	if _, err := m.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("Read returned an invalid model: %v", err)
		}
	})
}
