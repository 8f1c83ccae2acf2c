package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/iterflow/iterflow/internal/wording"
)

// RowReader reads the rows of a table a chunk at a time, so that files larger
// than memory can be processed in bounded memory.
type RowReader interface {
	// Names returns the D column names (from the header, else "x0", "x1", …;
	// after LoadOptions.Columns, the selected ones).
	Names() []string
	// D returns the number of columns of each row.
	D() int
	// Next reads up to max rows into dst (row-major, len(dst) >= max·D) and
	// returns how many it read. At the end of the data it returns 0, io.EOF;
	// it may return n > 0 with a nil error and then 0, io.EOF on the next
	// call. Errors name the line or row (counting as the whole-file readers
	// do) and are sticky. max < 1 or a short dst is an error.
	Next(dst []float64, max int) (n int, err error)
	// Close releases the file.
	Close() error
}

// NewRowReader opens the table stored at path for reading row by row,
// choosing the format by extension as LoadWith does:
//   - .csv, .tsv, .txt, .data (optionally .gz): lines are parsed as they are
//     read, with the separator and header detected from the first lines as
//     ReadCSV does;
//   - .npy (optionally .gz): the header is read, then rows of the C-order data
//     section (a Fortran-order 2-D array cannot be streamed: use LoadWith);
//   - .parquet: one row group at a time (memory grows with the largest row
//     group);
//   - .npz: read whole with ReadNPZ (its arrays are zip members), then served
//     in chunks.
//
// A name ending in .gz must hold gzip-compressed data (an error says so
// otherwise). opt.Columns selects columns (Table.Select syntax) from each row. A NaN or
// ±Inf value is an error naming its line or row and column, unless
// opt.DropNonFinite is set, in which case the row is skipped (DroppedRows
// counts them). Errors start with "load <path>: " as LoadWith's do.
func NewRowReader(path string, opt LoadOptions) (RowReader, error) {
	r, err := newRowReader(path, opt)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	sr := &selectReader{src: r, path: path, dropNonFinite: opt.DropNonFinite}
	if opt.Columns != "" {
		h := &Table{D: r.D(), Names: r.Names()}
		cols, err := h.parseSelect(opt.Columns)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("load %s: select %q: %w", path, opt.Columns, err)
		}
		sr.cols = cols
	}
	return sr, nil
}

// NewTableReader returns a RowReader over the rows of t (not copied).
func NewTableReader(t *Table) RowReader {
	return &tableReader{tableRaw{t: t}}
}

// rawReader is a format reader before column selection and the non-finite
// check: next fills whole rows of width D.
type rawReader interface {
	Names() []string
	D() int
	next(dst []float64, max int) (int, error)
	// where describes row i of the file (0-based), e.g. "line 7" or "row 6".
	where(i int) string
	Close() error
}

func newRowReader(path string, opt LoadOptions) (rawReader, error) {
	hdr, err := opt.Header.flag()
	if err != nil {
		return nil, err
	}
	lower := strings.ToLower(path)
	if opt.Key != "" || strings.Contains(lower, ".npz:") || strings.HasSuffix(lower, ".npz") {
		o := opt
		o.Columns, o.DropNonFinite = "", false
		t, err := load(path, o)
		if err != nil {
			return nil, err
		}
		return &tableRaw{t: t}, nil
	}
	name := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".gz")
	ext := filepath.Ext(name)
	comma := opt.Comma
	switch ext {
	case ".csv", ".txt", ".data", ".npy":
	case ".tsv":
		if comma == 0 {
			comma = '\t'
		}
	case ".parquet":
		if gz {
			return nil, unsupportedExtension(ext, gz)
		}
	default:
		return nil, unsupportedExtension(ext, gz)
	}
	f, err := openData(path)
	if err != nil {
		return nil, err
	}
	if gz {
		if err := checkGzip(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	var r rawReader
	switch ext {
	case ".parquet":
		r, err = newParquetStream(f)
	case ".npy":
		r, err = newNPYStream(f)
	default:
		r, err = newCSVStream(f, CSVOptions{Comma: comma, Header: hdr})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// selectReader applies the column selection and the non-finite check.
type selectReader struct {
	src           rawReader
	path          string
	cols          []int // nil: all
	dropNonFinite bool
	buf           []float64
	row           int // rows read from src
	dropped       int
	err           error
}

func (s *selectReader) Names() []string {
	names := s.src.Names()
	if s.cols == nil {
		return names
	}
	out := make([]string, len(s.cols))
	for k, j := range s.cols {
		out[k] = names[j]
	}
	return out
}

func (s *selectReader) D() int {
	if s.cols == nil {
		return s.src.D()
	}
	return len(s.cols)
}

// DroppedRows returns the number of rows skipped for NaN or ±Inf values.
func (s *selectReader) DroppedRows() int { return s.dropped }

func (s *selectReader) Close() error { return s.src.Close() }

func (s *selectReader) Next(dst []float64, max int) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	d, sd := s.D(), s.src.D()
	if max < 1 || len(dst) < max*d {
		return 0, fmt.Errorf("load %s: Next: max = %d rows and len(dst) = %d, want max >= 1 and len(dst) >= max×%d", s.path, max, len(dst), d)
	}
	for {
		in := dst
		if s.cols != nil {
			s.buf = growFloats(s.buf, max*sd)
			in = s.buf
		}
		n, err := s.src.next(in, max)
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = fmt.Errorf("load %s: %w", s.path, err)
			return 0, s.err
		}
		out := 0
		for i := 0; i < n; i++ {
			row := in[i*sd : (i+1)*sd]
			bad := -1
			for j, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					bad = j
					break
				}
			}
			if bad >= 0 {
				if !s.dropNonFinite {
					s.err = fmt.Errorf("load %s: %s, column %d (%q) is %v%w", s.path, s.src.where(s.row+i), bad+1, s.src.Names()[bad], row[bad], errNonFiniteRow)
					return 0, s.err
				}
				s.dropped++
				continue
			}
			o := dst[out*d : (out+1)*d]
			if s.cols == nil {
				copy(o, row)
			} else {
				for k, j := range s.cols {
					o[k] = row[j]
				}
			}
			out++
		}
		s.row += n
		if out > 0 {
			return out, nil
		}
		if errors.Is(err, io.EOF) || n == 0 {
			s.err = io.EOF
			return 0, io.EOF
		}
	}
}

func growFloats(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// tableRaw serves an in-memory table (the .npz case).
type tableRaw struct {
	t   *Table
	pos int
}

func (r *tableRaw) Names() []string    { return r.t.Names }
func (r *tableRaw) D() int             { return r.t.D }
func (r *tableRaw) where(i int) string { return fmt.Sprintf("row %d (0-based)", i) }
func (r *tableRaw) Close() error       { return nil }
func (r *tableRaw) next(dst []float64, max int) (int, error) {
	n := min(max, r.t.N-r.pos)
	if n <= 0 {
		return 0, io.EOF
	}
	copy(dst, r.t.X[r.pos*r.t.D:(r.pos+n)*r.t.D])
	r.pos += n
	return n, nil
}

// tableReader is the exported-constructor RowReader over a table: tableRaw
// with its arguments checked.
type tableReader struct{ tableRaw }

func (r *tableReader) Next(dst []float64, max int) (int, error) {
	if max < 1 || len(dst) < max*r.t.D {
		return 0, fmt.Errorf("table reader: Next: max = %d rows and len(dst) = %d, want max >= 1 and len(dst) >= max×%d", max, len(dst), r.t.D)
	}
	return r.next(dst, max)
}

// csvStream parses delimited text line by line.
type csvStream struct {
	f       *os.File
	zr      io.Closer
	lr      *lineReader
	sp      splitter
	d       int
	names   []string
	header  bool
	first   int            // line of the first row (header or data)
	pending []numberedLine // buffered lines not yet returned
	fields  []string
	lines   []int // line numbers of the rows of the current chunk
	row0    int   // rows returned before the current chunk
}

func newCSVStream(f *os.File, opt CSVOptions) (*csvStream, error) {
	if c := opt.Comma; c == '"' || c == '\r' || c == '\n' || c == '.' || c == '-' || c == '+' || (c >= '0' && c <= '9') {
		return nil, fmt.Errorf("read csv: invalid separator %q", c)
	}
	s := &csvStream{f: f}
	src, err := maybeGunzip(f)
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	if zr, ok := src.(*gzip.Reader); ok {
		s.zr = zr
	}
	s.lr = &lineReader{br: bufio.NewReaderSize(src, 1<<16)}
	for len(s.pending) < detectLines {
		line, ok, err := s.lr.next()
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		if !ok {
			break
		}
		if strings.TrimSpace(line) != "" {
			s.pending = append(s.pending, numberedLine{line, s.lr.line})
		}
	}
	if len(s.pending) == 0 {
		return nil, errors.New("read csv: empty input: no rows")
	}
	s.sp = splitter{sep: opt.Comma}
	if opt.Comma == ' ' {
		s.sp.ws = true
	} else if opt.Comma == 0 {
		s.sp = detectSeparator(s.pending)
	}
	first := s.pending[0]
	s.first = first.line
	fields, err := s.sp.split(first.text, nil)
	if err != nil {
		return nil, fmt.Errorf("read csv: line %d: %w", first.line, err)
	}
	s.d = len(fields)
	s.header = opt.Header == 1
	if opt.Header == -1 {
		for _, c := range fields {
			if _, perr := strconv.ParseFloat(strings.TrimSpace(c), 64); perr != nil {
				s.header = true
				break
			}
		}
	}
	if s.header {
		s.names = make([]string, s.d)
		for j, c := range fields {
			s.names[j] = strings.TrimSpace(c)
			if s.names[j] == "" {
				s.names[j] = "x" + strconv.Itoa(j)
			}
		}
		s.pending = s.pending[1:]
		if len(s.pending) == 0 {
			// Look for one data row so that a header-only file fails here.
			for {
				line, ok, err := s.lr.next()
				if err != nil {
					return nil, fmt.Errorf("read csv: %w", err)
				}
				if !ok {
					return nil, fmt.Errorf("read csv: no data rows after the header on line %d", first.line)
				}
				if strings.TrimSpace(line) != "" {
					s.pending = append(s.pending, numberedLine{line, s.lr.line})
					break
				}
			}
		}
	} else {
		s.names = defaultNames(s.d)
	}
	return s, nil
}

func (s *csvStream) Names() []string { return s.names }
func (s *csvStream) D() int          { return s.d }

func (s *csvStream) Close() error {
	if s.zr != nil {
		s.zr.Close()
	}
	return s.f.Close()
}

func (s *csvStream) where(i int) string {
	if k := i - s.row0; k >= 0 && k < len(s.lines) {
		return fmt.Sprintf("line %d", s.lines[k])
	}
	return fmt.Sprintf("data row %d (0-based)", i)
}

func (s *csvStream) colDesc(j int) string {
	if s.header {
		return fmt.Sprintf("column %d (%q)", j+1, s.names[j])
	}
	return fmt.Sprintf("column %d", j+1)
}

func (s *csvStream) next(dst []float64, max int) (int, error) {
	s.row0 += len(s.lines)
	s.lines = s.lines[:0]
	n := 0
	for n < max {
		var nl numberedLine
		if len(s.pending) > 0 {
			nl, s.pending = s.pending[0], s.pending[1:]
		} else {
			line, ok, err := s.lr.next()
			if err != nil {
				return n, fmt.Errorf("read csv: %w", err)
			}
			if !ok {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			nl = numberedLine{line, s.lr.line}
		}
		var err error
		s.fields, err = s.sp.split(nl.text, s.fields[:0])
		if err != nil {
			return n, fmt.Errorf("read csv: line %d: %w", nl.line, err)
		}
		if len(s.fields) != s.d {
			return n, fmt.Errorf("read csv: line %d: %s, want %d (as on line %d)", nl.line, wording.Plural(len(s.fields), "field"), s.d, s.first)
		}
		row := dst[n*s.d : (n+1)*s.d]
		for j, c := range s.fields {
			c = strings.TrimSpace(c)
			v, perr := strconv.ParseFloat(c, 64)
			if perr != nil && !errors.Is(perr, strconv.ErrRange) {
				return n, fmt.Errorf("read csv: line %d, %s: cannot parse %q as a number", nl.line, s.colDesc(j), c)
			}
			row[j] = v
		}
		s.lines = append(s.lines, nl.line)
		n++
	}
	return n, nil
}

// npyStream reads the rows of a C-order .npy data section.
type npyStream struct {
	f        *os.File
	zr       io.Closer
	r        io.Reader
	order    binary.ByteOrder
	kind     byte
	size     int
	n, d     int
	pos      int
	raw      []byte
	names    []string
	shapeStr string
}

func newNPYStream(f *os.File) (*npyStream, error) {
	src, err := maybeGunzip(f)
	if err != nil {
		return nil, fmt.Errorf("read npy: %w", err)
	}
	s := &npyStream{f: f, r: src}
	if zr, ok := src.(*gzip.Reader); ok {
		s.zr = zr
	}
	descr, err := readNPYHeader(src)
	if err != nil {
		return nil, fmt.Errorf("read npy: header: %w", err)
	}
	switch len(descr.Shape) {
	case 1:
		s.n, s.d = descr.Shape[0], 1
	case 2:
		s.n, s.d = descr.Shape[0], descr.Shape[1]
	default:
		return nil, fmt.Errorf("read npy: array has shape %v; want 1-D (n,) or 2-D (n, d)", descr.Shape)
	}
	if descr.Fortran && s.n > 1 && s.d > 1 {
		return nil, fmt.Errorf("read npy: a Fortran-order (column-major) array of shape %v cannot be read row by row; load it whole or save it in C order", descr.Shape)
	}
	order, kind, size, err := parseDtype(descr.Type)
	if err != nil {
		return nil, fmt.Errorf("read npy: %w", err)
	}
	s.order, s.kind, s.size = order, kind, size
	s.names = defaultNames(s.d)
	s.shapeStr = fmt.Sprint(descr.Shape)
	return s, nil
}

func (s *npyStream) Names() []string    { return s.names }
func (s *npyStream) D() int             { return s.d }
func (s *npyStream) where(i int) string { return fmt.Sprintf("row %d (0-based)", i) }

func (s *npyStream) Close() error {
	if s.zr != nil {
		s.zr.Close()
	}
	return s.f.Close()
}

func (s *npyStream) next(dst []float64, max int) (int, error) {
	k := min(max, s.n-s.pos)
	if k <= 0 {
		// The data section must end here.
		var one [1]byte
		if m, _ := s.r.Read(one[:]); m > 0 {
			return 0, fmt.Errorf("read npy: data has more than the %s that the header (shape %s) describes", wording.Plural(s.n, "row"), s.shapeStr)
		}
		return 0, io.EOF
	}
	rowBytes := s.d * s.size
	if cap(s.raw) < k*rowBytes {
		s.raw = make([]byte, k*rowBytes)
	}
	raw := s.raw[:k*rowBytes]
	if m, err := io.ReadFull(s.r, raw); err != nil {
		return 0, fmt.Errorf("read npy: data ends after row %d, header (shape %s) has %s: file truncated", s.pos+m/rowBytes, s.shapeStr, wording.Plural(s.n, "row"))
	}
	for i := range dst[:k*s.d] {
		dst[i] = decodeElem(raw[i*s.size:(i+1)*s.size], s.order, s.kind)
	}
	s.pos += k
	return k, nil
}

// parquetStream reads one row group at a time.
type parquetStream struct {
	f       *os.File
	pf      *parquet.File
	cols    []parquetCol
	names   []string
	groups  []parquet.RowGroup
	g       int       // next row group
	x       []float64 // rows of the current row group, row-major
	pos, nx int       // next row and rows in x
	row0    int       // rows before the current row group
	colVals [][]float64
	buf     []parquet.Value
}

func newParquetStream(f *os.File) (s *parquetStream, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("read parquet: corrupt file (parquet library panicked: %v)", p)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	if err := checkParquetFooter(f, st.Size()); err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read parquet: open: %w", err)
	}
	s = &parquetStream{f: f, pf: pf, groups: pf.RowGroups(), buf: make([]parquet.Value, 1024)}
	cols, err := numericColumns(pf.Schema())
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	s.cols = cols
	for _, c := range cols {
		s.names = append(s.names, c.name)
	}
	s.colVals = make([][]float64, len(s.cols))
	return s, nil
}

func (s *parquetStream) Names() []string    { return s.names }
func (s *parquetStream) D() int             { return len(s.cols) }
func (s *parquetStream) where(i int) string { return fmt.Sprintf("row %d (0-based)", i) }
func (s *parquetStream) Close() error       { return s.f.Close() }

// load reads row group s.g into s.x.
func (s *parquetStream) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read parquet: corrupt file (parquet library panicked: %v)", p)
		}
	}()
	rg := s.groups[s.g]
	gn := rg.NumRows()
	if gn < 0 || gn > math.MaxInt32 {
		return fmt.Errorf("read parquet: row group %d: bad row count %d", s.g, gn)
	}
	chunks := rg.ColumnChunks()
	row0 := s.row0 + s.nx
	for j, c := range s.cols {
		if c.index >= len(chunks) {
			return fmt.Errorf("read parquet: row group %d has %d column chunks, column %q needs index %d", s.g, len(chunks), c.name, c.index)
		}
		s.colVals[j], err = readParquetChunk(chunks[c.index], c, j, row0, gn, s.colVals[j][:0], s.buf)
		if err != nil {
			return fmt.Errorf("read parquet: row group %d: %w", s.g, err)
		}
	}
	d, rows := len(s.cols), int(gn)
	s.x = growFloats(s.x, rows*d)
	for i := 0; i < rows; i++ {
		for j := range s.cols {
			s.x[i*d+j] = s.colVals[j][i]
		}
	}
	s.row0, s.pos, s.nx = row0, 0, rows
	s.g++
	return nil
}

func (s *parquetStream) next(dst []float64, max int) (int, error) {
	d := len(s.cols)
	n := 0
	for n < max {
		if s.pos == s.nx {
			if s.g == len(s.groups) {
				break
			}
			if err := s.load(); err != nil {
				return n, err
			}
			continue
		}
		k := min(max-n, s.nx-s.pos)
		copy(dst[n*d:(n+k)*d], s.x[s.pos*d:(s.pos+k)*d])
		s.pos += k
		n += k
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// CountRows returns the number of data rows of the file at path as
// NewRowReader would read them (before dropping non-finite rows): from the
// header for .npy, the footer for .parquet, the array for .npz, and by
// counting the non-blank lines after the header, without parsing numbers,
// for the CSV kinds. It is meant for progress reports. Errors: those of
// NewRowReader and of reading the file.
func CountRows(path string, opt LoadOptions) (int, error) {
	opt.Columns, opt.DropNonFinite = "", false
	r, err := newRowReader(path, opt)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", path, err)
	}
	defer r.Close()
	switch r := r.(type) {
	case *tableRaw:
		return r.t.N, nil
	case *npyStream:
		return r.n, nil
	case *parquetStream:
		return int(r.pf.NumRows()), nil
	case *csvStream:
		n := len(r.pending)
		for {
			line, ok, err := r.lr.next()
			if err != nil {
				return 0, fmt.Errorf("load %s: read csv: %w", path, err)
			}
			if !ok {
				return n, nil
			}
			if strings.TrimSpace(line) != "" {
				n++
			}
		}
	}
	return 0, fmt.Errorf("load %s: cannot count rows", path)
}
