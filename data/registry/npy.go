package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ReadNPYUint8 reads a NumPy .npy array of unsigned bytes (dtype '|u1', any
// rank ≥ 1, C order) without converting it to float64, so that a CIFAR-10 file
// of 25000×32×32×3 values takes 77 MB rather than 614 MB. gzip- and
// xz-compressed input (.npy.gz, .npy.xz) is detected by its magic bytes and
// decompressed while streaming. It returns the shape and the values.
//
// Errors start with "read npy: " and report a bad magic string or version, a
// header that is not a well-formed dict, a dtype other than uint8, Fortran
// order, a data section shorter or longer than the shape declares, and
// decompression errors. For float tables use data.ReadNPY.
func ReadNPYUint8(r io.Reader) (shape []int, values []byte, err error) {
	shape, values, err = readNPYUint8(context.Background(), r, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read npy: %w", err)
	}
	return shape, values, nil
}

// readNPYUint8File reads the uint8 .npy (optionally .xz or .gz) file at path,
// keeping the items chosen by sel; errors start with "read npy <path>: ".
func readNPYUint8File(ctx context.Context, path string, sel selector) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read npy %s: %w", path, err)
	}
	defer f.Close()
	shape, v, err := readNPYUint8(ctx, f, sel)
	if err != nil {
		return nil, nil, fmt.Errorf("read npy %s: %w", path, err)
	}
	return shape, v, nil
}

func readNPYUint8(ctx context.Context, r io.Reader, sel selector) ([]int, []byte, error) {
	src, closeSrc, err := decompress(r)
	if err != nil {
		return nil, nil, err
	}
	defer closeSrc()
	var pre [8]byte
	if _, err := io.ReadFull(src, pre[:]); err != nil {
		return nil, nil, fmt.Errorf("header: %w", noEOF(err))
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("bad magic %q, want \"\\x93NUMPY\"", pre[:6])
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(src, b[:]); err != nil {
			return nil, nil, fmt.Errorf("header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(src, b[:]); err != nil {
			return nil, nil, fmt.Errorf("header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, nil, fmt.Errorf("format version %d.%d, want 1.0, 2.0 or 3.0", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return nil, nil, fmt.Errorf("header of %d bytes, want at most 1 MiB", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(src, hdr); err != nil {
		return nil, nil, fmt.Errorf("header (%d bytes): %w", hlen, noEOF(err))
	}
	shape, err := parseUint8Header(string(hdr))
	if err != nil {
		return nil, nil, err
	}
	data, shape, err := readItems(ctx, src, shape, sel)
	if err != nil {
		return nil, nil, err
	}
	return shape, data, nil
}

// parseUint8Header parses an .npy header dict such as
// {'descr': '|u1', 'fortran_order': False, 'shape': (10000, 32, 32, 3), }
// and returns the shape, requiring dtype uint8 in C order and rank ≥ 1.
func parseUint8Header(h string) ([]int, error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return nil, fmt.Errorf("header %q is not a dict", h)
	}
	field := func(key string) (string, error) {
		k := strings.Index(h, "'"+key+"'")
		if k < 0 {
			return "", fmt.Errorf("header %q has no %q", h, key)
		}
		rest := strings.TrimSpace(h[k+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", fmt.Errorf("header %q: no ':' after %q", h, key)
		}
		return strings.TrimSpace(rest[1:]), nil
	}
	d, err := field("descr")
	if err != nil {
		return nil, err
	}
	if len(d) < 2 || (d[0] != '\'' && d[0] != '"') {
		return nil, fmt.Errorf("header %q: descr is not a string", h)
	}
	end := strings.IndexByte(d[1:], d[0])
	if end < 0 {
		return nil, fmt.Errorf("header %q: unterminated descr", h)
	}
	switch descr := d[1 : 1+end]; descr {
	case "|u1", "<u1", ">u1", "=u1", "u1", "B", "|B":
	default:
		return nil, fmt.Errorf("dtype %q, want uint8 ('|u1'); use data.ReadNPY for other types", descr)
	}
	fo, err := field("fortran_order")
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(fo, "False"):
	case strings.HasPrefix(fo, "True"):
		return nil, fmt.Errorf("fortran_order True is not supported (want C order)")
	default:
		return nil, fmt.Errorf("header %q: fortran_order is not True or False", h)
	}
	s, err := field("shape")
	if err != nil {
		return nil, err
	}
	close := strings.IndexByte(s, ')')
	if !strings.HasPrefix(s, "(") || close < 0 {
		return nil, fmt.Errorf("header %q: shape is not a tuple", h)
	}
	var shape []int
	for _, part := range strings.Split(s[1:close], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(part, "L"))
		if err != nil || v < 0 || v > maxArrayBytes {
			return nil, fmt.Errorf("header %q: bad dimension %q", h, part)
		}
		shape = append(shape, v)
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("shape () is a scalar, want at least one dimension")
	}
	return shape, nil
}
