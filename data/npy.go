package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ReadNPY reads a NumPy .npy array into a table: a 2-D array of shape (n, d),
// or a 1-D array of shape (n,) as n×1. Element types: float64, float32, signed
// and unsigned integers of 1, 2, 4 or 8 bytes, either byte order; C order or
// Fortran order (transposed into row-major). Columns are named "x0", "x1", ….
// gzip-compressed input is detected by its magic bytes.
//
// The header is parsed here (format versions 1.0, 2.0 and 3.0, header at most
// 1 MiB) rather than with github.com/sbinet/npyio, whose reader panics on some
// malformed headers and reads a truncated data section as zeros; the tests
// check round trips against npyio's writer. Errors start with
// "read npy: " and report an unsupported dtype or rank, a data section shorter
// or longer than the header's shape, and NaN or ±Inf values ("2 rows contain
// NaN or Inf; first at row 4, column 0 (0-based)").
func ReadNPY(r io.Reader) (*Table, error) {
	t, err := readNPY(r)
	if err != nil {
		return nil, fmt.Errorf("read npy: %w", err)
	}
	return t, nil
}

func readNPY(r io.Reader) (*Table, error) {
	src, err := maybeGunzip(r)
	if err != nil {
		return nil, err
	}
	descr, err := readNPYHeader(src)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var n, d int
	switch len(descr.Shape) {
	case 1:
		n, d = descr.Shape[0], 1
	case 2:
		n, d = descr.Shape[0], descr.Shape[1]
	default:
		return nil, fmt.Errorf("array has shape %v; want 1-D (n,) or 2-D (n, d)", descr.Shape)
	}
	if n < 0 || d < 0 {
		return nil, fmt.Errorf("negative shape %v", descr.Shape)
	}
	order, kind, size, err := parseDtype(descr.Type)
	if err != nil {
		return nil, err
	}
	const maxElems = 1 << 40
	if d > 0 && n > maxElems/d {
		return nil, fmt.Errorf("shape %v too large", descr.Shape)
	}
	want := int64(n) * int64(d) * int64(size)
	// Read at most want+1 bytes: memory grows with the data actually present,
	// not with what a corrupt header claims.
	raw, err := io.ReadAll(io.LimitReader(src, want+1))
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if int64(len(raw)) < want {
		return nil, fmt.Errorf("data has %d bytes, header (shape %v, dtype %q) needs %d: file truncated", len(raw), descr.Shape, descr.Type, want)
	}
	if int64(len(raw)) > want {
		return nil, fmt.Errorf("data has more than the %d bytes that the header (shape %v, dtype %q) describes", want, descr.Shape, descr.Type)
	}
	x := make([]float64, n*d)
	for i := range x {
		x[i] = decodeElem(raw[i*size:(i+1)*size], order, kind)
	}
	if descr.Fortran && n > 1 && d > 1 {
		// Column-major: element (i, j) is at j·n + i.
		y := make([]float64, len(x))
		for j := 0; j < d; j++ {
			for i := 0; i < n; i++ {
				y[i*d+j] = x[j*n+i]
			}
		}
		x = y
	}
	if e := nonFiniteArrayError(x, n, d, nil); e != nil {
		e.table.Names = defaultNames(d)
		return nil, e
	}
	return &Table{X: x, N: n, D: d, Names: defaultNames(d)}, nil
}

// parseDtype parses a NumPy type string such as "<f8", "|u1", ">i4".
func parseDtype(s string) (binary.ByteOrder, byte, int, error) {
	unsupported := fmt.Errorf("unsupported dtype %q (want float64, float32 or an integer type)", s)
	if len(s) < 3 {
		return nil, 0, 0, unsupported
	}
	var order binary.ByteOrder
	switch s[0] {
	case '<', '|', '=':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return nil, 0, 0, unsupported
	}
	kind := s[1]
	size, err := strconv.Atoi(s[2:])
	if err != nil {
		return nil, 0, 0, unsupported
	}
	switch {
	case kind == 'f' && (size == 4 || size == 8):
	case (kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8):
	default:
		return nil, 0, 0, unsupported
	}
	return order, kind, size, nil
}

// decodeElem converts one element of the given kind and byte length to float64.
func decodeElem(b []byte, order binary.ByteOrder, kind byte) float64 {
	switch len(b) {
	case 1:
		if kind == 'i' {
			return float64(int8(b[0]))
		}
		return float64(b[0])
	case 2:
		u := order.Uint16(b)
		if kind == 'i' {
			return float64(int16(u))
		}
		return float64(u)
	case 4:
		u := order.Uint32(b)
		switch kind {
		case 'f':
			return float64(math.Float32frombits(u))
		case 'i':
			return float64(int32(u))
		}
		return float64(u)
	default:
		u := order.Uint64(b)
		switch kind {
		case 'f':
			return math.Float64frombits(u)
		case 'i':
			return float64(int64(u))
		}
		return float64(u)
	}
}

// npyDescr is the content of an .npy header dictionary.
type npyDescr struct {
	Type    string // dtype string, e.g. "<f8"
	Fortran bool   // column-major data
	Shape   []int
}

var (
	npyMagic      = []byte("\x93NUMPY")
	npyDescrRe    = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortranRe  = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShapeRe    = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
	maxNPYHeader  = 1 << 20
	errNotNPYFile = errors.New("not an .npy file (bad magic bytes)")
)

// readNPYHeader reads the magic, version, header length and header dictionary
// of an .npy file (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
func readNPYHeader(r io.Reader) (npyDescr, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return npyDescr{}, fmt.Errorf("magic: %w", err)
	}
	if string(pre[:6]) != string(npyMagic) {
		return npyDescr{}, errNotNPYFile
	}
	var hdrLen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return npyDescr{}, fmt.Errorf("header length: %w", err)
		}
		hdrLen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return npyDescr{}, fmt.Errorf("header length: %w", err)
		}
		hdrLen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return npyDescr{}, fmt.Errorf("unsupported format version %d.%d", pre[6], pre[7])
	}
	if hdrLen > maxNPYHeader {
		return npyDescr{}, fmt.Errorf("header length %d exceeds %d bytes", hdrLen, maxNPYHeader)
	}
	buf := make([]byte, hdrLen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return npyDescr{}, fmt.Errorf("header of %d bytes: %w", hdrLen, err)
	}
	hdr := string(buf)
	var dsc npyDescr
	m := npyDescrRe.FindStringSubmatch(hdr)
	if m == nil {
		return npyDescr{}, fmt.Errorf("no 'descr' entry in %q", strings.TrimSpace(hdr))
	}
	dsc.Type = m[1]
	m = npyFortranRe.FindStringSubmatch(hdr)
	if m == nil {
		return npyDescr{}, fmt.Errorf("no 'fortran_order' entry in %q", strings.TrimSpace(hdr))
	}
	dsc.Fortran = m[1] == "True"
	m = npyShapeRe.FindStringSubmatch(hdr)
	if m == nil {
		return npyDescr{}, fmt.Errorf("no 'shape' entry in %q", strings.TrimSpace(hdr))
	}
	for _, tok := range strings.Split(m[1], ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(tok, "L"))
		if err != nil || v < 0 {
			return npyDescr{}, fmt.Errorf("bad shape entry %q", tok)
		}
		dsc.Shape = append(dsc.Shape, v)
	}
	return dsc, nil
}
