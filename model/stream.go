package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/nn"
)

// Stream limits: Read refuses headers and weights beyond these sizes before
// allocating for them.
const (
	// MaxStreamHeader bounds the safetensors JSON header of a model stream
	// (64 MiB: the model JSON holds 2·d numbers of the standardization).
	MaxStreamHeader = 64 << 20
	// MaxStreamWeights bounds the tensor data of a model stream (4 GiB, a
	// billion float32 weights).
	MaxStreamWeights = 4 << 30
)

// Keys of the safetensors "__metadata__" entry of a model stream.
const (
	streamFormatKey  = "format"
	streamVersionKey = "format_version"
	streamModelKey   = "iterflow_model"
	streamFormat     = "iterflow"
)

// streamTensor is one tensor of a model stream: its name, shape and the float32
// weights it holds.
type streamTensor struct {
	name  string
	shape []int
	f32   []float32
}

// streamTensors lists the tensors of m in stream order: blocks in chain order,
// for an MLP block layer by layer (weight in×out, then bias out), for a linear
// block A (d×d) then b (d). Names are those of Save.
func streamTensors(m *Model) []streamTensor {
	var ts []streamTensor
	for k, f := range m.Fields {
		p := f.Params()
		switch f := f.(type) {
		case *nn.MLP[float32]:
			off := 0
			for l, sh := range f.LayerShapes() {
				in, out := sh[0], sh[1]
				ts = append(ts,
					streamTensor{tensorName(k, l, "weight"), []int{in, out}, p[off : off+in*out]},
					streamTensor{tensorName(k, l, "bias"), []int{out}, p[off+in*out : off+in*out+out]})
				off += in*out + out
			}
		case *nn.Linear[float32]:
			d := f.Dim()
			ts = append(ts,
				streamTensor{fmt.Sprintf("block.%d.A", k), []int{d, d}, p[:d*d]},
				streamTensor{fmt.Sprintf("block.%d.b", k), []int{d}, p[d*d:]})
		}
	}
	return ts
}

// streamEntry is a tensor's entry in the safetensors header.
type streamEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// countingWriter counts the bytes written through it and keeps the first
// error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	k, err := c.w.Write(p)
	c.n += int64(k)
	c.err = err
	return k, err
}

// WriteTo writes m to w as one self-contained safetensors stream and returns
// the number of bytes written (it implements io.WriterTo). Layout: an 8-byte
// little-endian header length N; a JSON header of N bytes (padded with spaces
// to a multiple of 8) whose "__metadata__" holds "format": "iterflow",
// "format_version" and "iterflow_model", the model JSON of Save's model.json
// with "weights_sha256" the SHA-256 of the tensor data section; then the
// tensors' little-endian float32 data in the order of the header's offsets
// (blocks in chain order, layer by layer: weight in×out, then bias). The
// stream is a valid safetensors file: other readers see the weights under
// Save's tensor names.
//
// Errors: an invalid model (see Validate) or the writer's error, wrapped with
// "model: write:".
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("model: write: %w", err)
	}
	ts := streamTensors(m)
	// Tensor data, little-endian, hashed on the way.
	var size int
	for _, t := range ts {
		size += 4 * len(t.f32)
	}
	payload := make([]byte, 0, size)
	for _, t := range ts {
		for _, v := range t.f32 {
			payload = binary.LittleEndian.AppendUint32(payload, math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(payload)
	md := metadata{
		FormatVersion: FormatVersion, Method: m.Method,
		Dim: m.Spec.Dim, Hidden: m.Spec.Hidden, Activation: m.Spec.Act.String(), Beta: m.Spec.Beta, TimeInput: m.Spec.TimeInput,
		Blocks: blocksWithKinds(m), Mean: m.Standardizer.Mean, Std: m.Standardizer.Std,
		Dequantized: m.Dequantized, Columns: m.Columns, Source: m.Source, Logit: m.Logit, WeightsSHA256: hex.EncodeToString(sum[:]),
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return 0, fmt.Errorf("model: write: %w", err)
	}
	hdr, err := encodeStreamHeader(ts, map[string]string{
		streamFormatKey:  streamFormat,
		streamVersionKey: strconv.Itoa(FormatVersion),
		streamModelKey:   string(mdJSON),
	})
	if err != nil {
		return 0, fmt.Errorf("model: write: %w", err)
	}
	cw := &countingWriter{w: w}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(hdr)))
	cw.Write(pre[:])
	cw.Write(hdr)
	cw.Write(payload)
	if cw.err != nil {
		return cw.n, fmt.Errorf("model: write: %w", cw.err)
	}
	return cw.n, nil
}

// encodeStreamHeader builds the padded JSON header: "__metadata__" first, then
// the tensors in stream order.
func encodeStreamHeader(ts []streamTensor, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"__metadata__":`)
	mj, err := json.Marshal(meta) // keys sorted
	if err != nil {
		return nil, err
	}
	b.Write(mj)
	var off uint64
	for _, t := range ts {
		end := off + 4*uint64(len(t.f32))
		name, _ := json.Marshal(t.name)
		e, err := json.Marshal(streamEntry{DType: "F32", Shape: t.shape, DataOffsets: []uint64{off, end}})
		if err != nil {
			return nil, err
		}
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.Write(e)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// ReadFrom replaces m with the model read from r (a stream written by
// WriteTo) and returns the number of bytes read; it implements io.ReaderFrom.
// On error m is unchanged. See Read for the checks and errors.
func (m *Model) ReadFrom(r io.Reader) (int64, error) {
	got, n, err := readStream(r)
	if err != nil {
		return n, err
	}
	*m = *got
	return n, nil
}

// Read reads one model stream written by WriteTo from r, consuming exactly its
// bytes (so several models can follow each other in one stream). Before
// allocating for the header or the weights it checks the header length
// (at most MaxStreamHeader), and it reads the weights only after checking, from
// the header alone, the format and format version, the architecture, and that
// the tensors are exactly those of the architecture (names, float32, shapes,
// offsets that tile the data section, at most MaxStreamWeights bytes); it
// then checks the weights' SHA-256 against the recorded one, and that every
// weight and standardization value is finite.
//
// Errors start with "model: read: " and name the problem: a stream that ends
// early ("stream ends after 10 of 8+N header bytes"), a header that is not
// JSON, a missing or wrong tensor, an unsupported format version, or a
// checksum mismatch (the weights were corrupted).
func Read(r io.Reader) (*Model, error) {
	m, _, err := readStream(r)
	return m, err
}

// readStream does the work of Read and ReadFrom and counts the bytes read.
func readStream(r io.Reader) (*Model, int64, error) {
	fail := func(n int64, format string, args ...any) (*Model, int64, error) {
		return nil, n, fmt.Errorf("model: read: "+format, args...)
	}
	var pre [8]byte
	k, err := io.ReadFull(r, pre[:])
	read := int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(read, "stream ends after %d bytes, inside the 8-byte header length", k)
		}
		return fail(read, "%w", err)
	}
	hlen := binary.LittleEndian.Uint64(pre[:])
	if hlen > MaxStreamHeader {
		return fail(read, "header length %d exceeds the limit of %d bytes (not an iterflow model stream?)", hlen, MaxStreamHeader)
	}
	hdr, err := readAtMost(r, int64(hlen))
	read += int64(len(hdr))
	if err != nil {
		return fail(read, "%w", err)
	}
	if uint64(len(hdr)) < hlen {
		return fail(read, "stream ends after %d of 8+%d header bytes", read, hlen)
	}
	md, entries, err := parseStreamHeader(hdr)
	if err != nil {
		return fail(read, "%w", err)
	}
	spec, parts, total, err := streamLayout(md)
	if err != nil {
		return fail(read, "%w", err)
	}
	if err := checkStreamEntries(entries, parts, total); err != nil {
		return fail(read, "%w", err)
	}
	payload, err := readAtMost(r, int64(total))
	read += int64(len(payload))
	if err != nil {
		return fail(read, "%w", err)
	}
	if uint64(len(payload)) < total {
		return fail(read, "stream ends after %d of %d weight bytes", len(payload), total)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != md.WeightsSHA256 {
		return fail(read, "weights checksum mismatch (the stream is corrupted or was changed after writing)")
	}
	m := &Model{Method: md.Method, Spec: spec, Blocks: md.Blocks, Dequantized: md.Dequantized, Columns: md.Columns, Source: md.Source,
		Standardizer: &data.Standardizer{Mean: md.Mean, Std: md.Std}, Logit: md.Logit}
	for k, bi := range md.Blocks {
		var f Field
		if bi.Field == "linear" {
			f = nn.NewLinear[float32](md.Dim)
		} else {
			net, err := nn.NewMLP[float32](spec, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				return fail(read, "%w", err)
			}
			f = net
		}
		p := f.Params()
		off := 0
		for _, part := range parts[k] {
			e := entries[part.name]
			raw := payload[e.DataOffsets[0]:e.DataOffsets[1]]
			for i := 0; i < len(raw); i += 4 {
				v := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fail(read, "tensor %q holds %v at index %d", part.name, v, i/4)
				}
				p[off] = v
				off++
			}
		}
		m.Fields = append(m.Fields, f)
	}
	for j, s := range m.Standardizer.Std {
		if !(s > 0) || math.IsInf(s, 0) || math.IsNaN(m.Standardizer.Mean[j]) || math.IsInf(m.Standardizer.Mean[j], 0) {
			return fail(read, "standardization of column %d has mean %g and std %g; want finite values and std > 0", j, m.Standardizer.Mean[j], s)
		}
	}
	if err := m.Validate(); err != nil {
		return fail(read, "%w", err)
	}
	return m, read, nil
}

// readAtMost reads up to n bytes, growing its buffer with the bytes that
// actually arrive (a header that claims more than the stream holds does not
// allocate the claimed size). A short result without error means the stream
// ended.
func readAtMost(r io.Reader, n int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(io.LimitReader(r, n))
	return b.Bytes(), err
}

// parseStreamHeader decodes the JSON header: the model metadata and the tensor
// entries by name.
func parseStreamHeader(hdr []byte) (*metadata, map[string]streamEntry, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	metaRaw, ok := raw["__metadata__"]
	if !ok {
		return nil, nil, fmt.Errorf("header has no __metadata__ (a safetensors file, but not an iterflow model stream)")
	}
	delete(raw, "__metadata__")
	var meta map[string]string
	if err := json.Unmarshal(metaRaw, &meta); err != nil {
		return nil, nil, fmt.Errorf("__metadata__ is not an object of strings: %w", err)
	}
	if meta[streamFormatKey] != streamFormat {
		return nil, nil, fmt.Errorf("__metadata__ format is %q, want %q (not an iterflow model stream)", meta[streamFormatKey], streamFormat)
	}
	mdText, ok := meta[streamModelKey]
	if !ok {
		return nil, nil, fmt.Errorf("__metadata__ has no %q entry", streamModelKey)
	}
	var md metadata
	if err := json.Unmarshal([]byte(mdText), &md); err != nil {
		return nil, nil, fmt.Errorf("model metadata is not valid JSON: %w", err)
	}
	if md.FormatVersion != FormatVersion {
		return nil, nil, fmt.Errorf("format version %d is not supported (this iterflow reads version %d)", md.FormatVersion, FormatVersion)
	}
	entries := make(map[string]streamEntry, len(raw))
	for name, msg := range raw {
		var e streamEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		entries[name] = e
	}
	return &md, entries, nil
}

// streamLayout checks the architecture of md and returns its spec, the tensors
// each block needs and their total size in bytes, computed without allocating
// the networks.
func streamLayout(md *metadata) (nn.Spec, [][]tensorPart, uint64, error) {
	act, err := nn.ParseActivation(md.Activation)
	if err != nil {
		return nn.Spec{}, nil, 0, err
	}
	spec := nn.Spec{Dim: md.Dim, Hidden: md.Hidden, Act: act, Beta: md.Beta, TimeInput: md.TimeInput}
	if err := spec.Validate(); err != nil {
		return spec, nil, 0, err
	}
	if len(md.Blocks) == 0 {
		return spec, nil, 0, fmt.Errorf("the model has no blocks")
	}
	if len(md.Mean) != md.Dim || len(md.Std) != md.Dim {
		return spec, nil, 0, fmt.Errorf("standardization has %d means and %d stds for dimension %d", len(md.Mean), len(md.Std), md.Dim)
	}
	const limit = MaxStreamWeights / 4 // float32 values
	var total uint64
	add := func(dims ...int) error {
		c := uint64(1)
		for _, v := range dims {
			if v < 1 || uint64(v) > limit || c > limit/uint64(v) {
				return fmt.Errorf("architecture (dimension %d, hidden %v, %d blocks) has more than %d weights", md.Dim, md.Hidden, len(md.Blocks), uint64(limit))
			}
			c *= uint64(v)
		}
		if total += c; total > limit {
			return fmt.Errorf("architecture (dimension %d, hidden %v, %d blocks) has more than %d weights", md.Dim, md.Hidden, len(md.Blocks), uint64(limit))
		}
		return nil
	}
	parts := make([][]tensorPart, len(md.Blocks))
	in := md.Dim
	if md.TimeInput {
		in++
	}
	for k, bi := range md.Blocks {
		switch bi.Field {
		case "", "mlp":
			widths := append(append([]int{in}, md.Hidden...), md.Dim)
			for l := 0; l+1 < len(widths); l++ {
				a, b := widths[l], widths[l+1]
				if err := add(a, b); err != nil {
					return spec, nil, 0, err
				}
				if err := add(b); err != nil {
					return spec, nil, 0, err
				}
				parts[k] = append(parts[k], tensorPart{tensorName(k, l, "weight"), []int{a, b}}, tensorPart{tensorName(k, l, "bias"), []int{b}})
			}
		case "linear":
			d := md.Dim
			if err := add(d, d); err != nil {
				return spec, nil, 0, err
			}
			if err := add(d); err != nil {
				return spec, nil, 0, err
			}
			parts[k] = []tensorPart{{fmt.Sprintf("block.%d.A", k), []int{d, d}}, {fmt.Sprintf("block.%d.b", k), []int{d}}}
		default:
			return spec, nil, 0, fmt.Errorf("block %d has unknown field type %q", k, bi.Field)
		}
	}
	return spec, parts, 4 * total, nil
}

// checkStreamEntries checks that the header's tensors are exactly parts, in
// float32 with the architecture's shapes, and that their offsets tile
// [0, total) without gaps or overlaps.
func checkStreamEntries(entries map[string]streamEntry, parts [][]tensorPart, total uint64) error {
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	want := 0
	for _, bp := range parts {
		for _, part := range bp {
			want++
			e, ok := entries[part.name]
			if !ok {
				return fmt.Errorf("tensor %q is missing", part.name)
			}
			if e.DType != "F32" || !equalInts(e.Shape, part.dims) {
				return fmt.Errorf("tensor %q is %s %v, want F32 %v", part.name, e.DType, e.Shape, part.dims)
			}
			count := uint64(1)
			for _, v := range part.dims {
				count *= uint64(v)
			}
			if len(e.DataOffsets) != 2 || e.DataOffsets[0] > e.DataOffsets[1] || e.DataOffsets[1]-e.DataOffsets[0] != 4*count {
				return fmt.Errorf("tensor %q: data_offsets %v do not span %d bytes", part.name, e.DataOffsets, 4*count)
			}
			spans = append(spans, span{part.name, e.DataOffsets[0], e.DataOffsets[1]})
		}
	}
	if len(entries) != want {
		names := make([]string, 0, len(entries))
		for name := range entries {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			known := false
			for _, bp := range parts {
				for _, part := range bp {
					known = known || part.name == name
				}
			}
			if !known {
				return fmt.Errorf("unexpected tensor %q (the architecture has %d tensors)", name, want)
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var at uint64
	for _, s := range spans {
		if s.begin != at {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap or overlap at byte %d", s.name, s.begin, s.end, at)
		}
		at = s.end
	}
	if at != total {
		return fmt.Errorf("tensors cover %d bytes, want %d", at, total)
	}
	return nil
}
