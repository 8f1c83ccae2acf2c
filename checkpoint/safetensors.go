package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

// Tensor is a named array of float32 or float64 values in row-major (C)
// order. Exactly one of F32 and F64 is set; its length is the product of
// Shape (1 for a scalar with empty Shape).
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	F64   []float64
}

// metadataKey is the safetensors header entry that holds string metadata.
const metadataKey = "__metadata__"

// maxHeaderLen bounds the JSON header that LoadTensors accepts (100 MB, as in
// the reference implementation).
const maxHeaderLen = 100 << 20

// maxElems bounds the element count of one tensor that SaveTensors accepts.
const maxElems = 1 << 48

// SaveTensors writes tensors and string metadata to path in the safetensors
// format (https://github.com/huggingface/safetensors), atomically (see
// WriteFileAtomic). Layout: an 8-byte little-endian header length N; a JSON
// header of N bytes, {"__metadata__": {...}, name: {"dtype": "F32"|"F64",
// "shape": [...], "data_offsets": [begin, end]}, ...}, with metadata keys
// sorted and tensors in the order given, padded with spaces to a multiple of 8
// bytes; then the tensors' little-endian data, back to back in the same order,
// offsets relative to the start of the data. The "__metadata__" entry is
// omitted when meta is empty.
//
// It returns an error naming the tensor if a name is empty, repeated or
// "__metadata__", a dimension is negative, not exactly one of F32/F64 is set,
// or the data length differs from the shape's product.
func SaveTensors(path string, tensors []Tensor, meta map[string]string) error {
	hdr, err := encodeHeader(tensors, meta)
	if err != nil {
		return fmt.Errorf("save tensors %s: %w", path, err)
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		var buf [8]byte
		for _, t := range tensors {
			for _, v := range t.F32 {
				binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(v))
				if _, err := w.Write(buf[:4]); err != nil {
					return err
				}
			}
			for _, v := range t.F64 {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
				if _, err := w.Write(buf[:]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// encodeHeader validates the tensors and builds the padded JSON header.
func encodeHeader(tensors []Tensor, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sep()
		b.WriteString(strconv.Quote(metadataKey) + ":{")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, meta[k])
		}
		b.WriteByte('}')
	}
	seen := make(map[string]bool, len(tensors))
	var offset int64
	for i, t := range tensors {
		dtype, size, count, err := checkTensor(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %d (%q): %w", i, t.Name, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("tensor %d (%q): name used twice", i, t.Name)
		}
		seen[t.Name] = true
		end := offset + int64(count)*int64(size)
		sep()
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":"` + dtype + `","shape":[`)
		for k, s := range t.Shape {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(s))
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string (encoding/json escaping).
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// checkTensor returns the safetensors dtype, item size and element count.
func checkTensor(t Tensor) (string, int, int, error) {
	switch {
	case t.Name == "":
		return "", 0, 0, errors.New("empty name")
	case t.Name == metadataKey:
		return "", 0, 0, fmt.Errorf("name %q is reserved for metadata", metadataKey)
	case (t.F32 == nil) == (t.F64 == nil):
		return "", 0, 0, errors.New("exactly one of F32 and F64 must be set")
	}
	count := 1
	for _, s := range t.Shape {
		if s < 0 {
			return "", 0, 0, fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
		if s > 0 && count > maxElems/s {
			return "", 0, 0, fmt.Errorf("shape %v too large", t.Shape)
		}
		count *= s
	}
	dtype, size, n := "F32", 4, len(t.F32)
	if t.F64 != nil {
		dtype, size, n = "F64", 8, len(t.F64)
	}
	if n != count {
		return "", 0, 0, fmt.Errorf("shape %v holds %d values, data has %d", t.Shape, count, n)
	}
	return dtype, size, count, nil
}

// LoadTensors reads a safetensors file written by SaveTensors or by another
// tool, returning the tensors in file (data offset) order and the metadata
// (an empty map if none). Before allocating for the data it checks: the file
// holds the 8-byte length prefix; the header length is at most 100 MB and fits
// in the file; the header is a JSON object whose entries have exactly the
// fields dtype, shape and data_offsets; every dtype is F32 or F64; dimensions
// are non-negative; shape product × item size equals the byte length; and the
// offsets are in range and tile the data section without gaps or overlaps.
// Errors start with "load tensors <path>: " and name the tensor at fault.
func LoadTensors(path string) ([]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load tensors %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("load tensors %s: %w", path, unwrapPath(err))
	}
	ts, meta, err := readTensors(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("load tensors %s: %w", path, err)
	}
	return ts, meta, nil
}

// tensorInfo is one tensor entry of a safetensors header.
type tensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// readTensors parses a safetensors file of the given size from r.
func readTensors(r io.ReaderAt, size int64) ([]Tensor, map[string]string, error) {
	if size < 8 {
		return nil, nil, fmt.Errorf("file has %d bytes, too short for the 8-byte header length", size)
	}
	var pre [8]byte
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, nil, fmt.Errorf("read header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(pre[:])
	if hlen > uint64(size-8) {
		return nil, nil, fmt.Errorf("header length %d exceeds the %d bytes after the length prefix", hlen, size-8)
	}
	if hlen > maxHeaderLen {
		return nil, nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", hlen, maxHeaderLen)
	}
	hdr := make([]byte, hlen)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	dataLen := uint64(size-8) - hlen
	entries, meta, err := parseHeader(hdr, dataLen)
	if err != nil {
		return nil, nil, err
	}
	base := int64(8 + hlen)
	tensors := make([]Tensor, len(entries))
	for i, e := range entries {
		raw := make([]byte, e.end-e.begin)
		if _, err := r.ReadAt(raw, base+int64(e.begin)); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: read data: %w", e.name, err)
		}
		t := Tensor{Name: e.name, Shape: e.shape}
		if e.dtype == "F32" {
			t.F32 = make([]float32, len(raw)/4)
			for k := range t.F32 {
				t.F32[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			}
		} else {
			t.F64 = make([]float64, len(raw)/8)
			for k := range t.F64 {
				t.F64[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
			}
		}
		tensors[i] = t
	}
	return tensors, meta, nil
}

// parseHeader validates the JSON header against a data section of dataLen
// bytes and returns the entries sorted by offset.
func parseHeader(hdr []byte, dataLen uint64) ([]entry, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	meta := map[string]string{}
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("%s is not an object of strings: %w", metadataKey, err)
		}
		if meta == nil {
			meta = map[string]string{}
		}
		delete(raw, metadataKey)
	}
	entries := make([]entry, 0, len(raw))
	for name, msg := range raw {
		var info tensorInfo
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		var size uint64
		switch info.DType {
		case "F32":
			size = 4
		case "F64":
			size = 8
		default:
			return nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F32 or F64)", name, info.DType)
		}
		if info.Shape == nil {
			return nil, nil, fmt.Errorf("tensor %q: missing shape", name)
		}
		if len(info.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets has %d entries, want 2", name, len(info.DataOffsets))
		}
		begin, end := info.DataOffsets[0], info.DataOffsets[1]
		if begin > end || end > dataLen {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range (data section has %d bytes)", name, begin, end, dataLen)
		}
		count := uint64(1)
		shape := make([]int, len(info.Shape))
		for k, s := range info.Shape {
			if s < 0 {
				return nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, info.Shape)
			}
			if s > 0 && count > dataLen/uint64(s) {
				// count·s > dataLen ≥ end−begin, so the byte length cannot match.
				return nil, nil, fmt.Errorf("tensor %q: shape %v needs more bytes than the data section's %d", name, info.Shape, dataLen)
			}
			count *= uint64(s)
			shape[k] = int(s)
		}
		if count*size != end-begin {
			return nil, nil, fmt.Errorf("tensor %q: shape %v × %d bytes = %d bytes, but data_offsets [%d, %d] span %d", name, info.Shape, size, count*size, begin, end, end-begin)
		}
		entries = append(entries, entry{name: name, dtype: info.DType, shape: shape, begin: begin, end: end})
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		return entries[i].end < entries[j].end
	})
	var at uint64
	for i, e := range entries {
		if e.begin < at {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q ending at %d", e.name, e.begin, e.end, entries[i-1].name, at)
		}
		if e.begin > at {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", e.name, e.begin, e.end, at)
		}
		at = e.end
	}
	if at != dataLen {
		return nil, nil, fmt.Errorf("data section has %d bytes, tensors cover %d", dataLen, at)
	}
	return entries, meta, nil
}
