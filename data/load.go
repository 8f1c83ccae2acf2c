package data

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HeaderMode says whether the first row of a CSV file holds column names.
type HeaderMode int

// Header modes for LoadOptions.Header. The zero value detects the header.
const (
	// HeaderAuto treats the first non-blank row as a header if any of its
	// cells is not a number.
	HeaderAuto HeaderMode = iota
	// HeaderPresent always reads the first non-blank row as column names.
	HeaderPresent
	// HeaderAbsent reads every row as data; columns are named "x0", "x1", ….
	HeaderAbsent
)

// LoadOptions configures LoadWith. The zero value is what Load uses.
type LoadOptions struct {
	// Header applies to CSV-like files (.csv, .tsv, .txt, .data).
	Header HeaderMode
	// Comma is the CSV field separator, 0 to detect it (see CSVOptions.Comma;
	// .tsv files default to a tab).
	Comma rune
	// Key names the array of an .npz file ("" = the only array; the file must
	// then hold exactly one). When Key is "" and the path has the form
	// "file.npz:KEY" (the last ".npz:" in the path, case-insensitive), KEY is
	// taken from the path, so "train.npz:x" reads array "x" of train.npz.
	Key string
	// Columns, if not empty, selects columns after reading, with the syntax of
	// Table.Select: 0-based indices, ranges and names, e.g. "0-3,alcohol".
	Columns string
	// DropNonFinite drops the rows holding NaN or ±Inf (counted in
	// LoadReport.DroppedRows) instead of failing with a *NonFiniteError. The
	// rows are dropped before the column selection, so a NaN in an unselected
	// column drops its row too. If every row is dropped the load fails.
	DropNonFinite bool
}

// LoadReport says what LoadWithReport changed while reading.
type LoadReport struct {
	// DroppedRows is the number of rows dropped for NaN or ±Inf values
	// (LoadOptions.DropNonFinite); FirstDropped locates the first, as in
	// NonFiniteError.Where (e.g. `line 5, column 3 ("pH")`), "" if none.
	DroppedRows  int
	FirstDropped string
}

// Load reads the table stored at path with the default options (header and
// separator detected, the only array of an .npz); see LoadWith.
func Load(path string) (*Table, error) {
	return LoadWith(path, LoadOptions{})
}

// LoadWith reads the table stored at path, choosing the reader by extension
// (case-insensitive):
//   - .csv, .txt, .data: ReadCSV (separator detected unless opt.Comma is set);
//   - .tsv: ReadCSV with a tab separator unless opt.Comma is set;
//   - .npy: ReadNPY;
//   - .npz: ReadNPZ with opt.Key (or the key after "file.npz:");
//   - .parquet: ReadParquet (its numeric columns).
//
// The CSV kinds and .npy may carry a further .gz (e.g. "digits.csv.gz"),
// which is decompressed (a file so named that does not start with gzip's magic
// bytes is an error saying it is not gzip-compressed); .npz and .parquet are
// compressed internally. If
// opt.Columns is set the result is Table.Select(opt.Columns).
//
// Errors start with "load <path>: " and cover a missing or unreadable file
// (errors.Is(err, fs.ErrNotExist) holds for a missing one), an unsupported
// extension (the message lists the supported ones), an invalid option, the
// reader's errors and the column selection's errors.
//
// A NaN or ±Inf value fails the load with a wrapped *NonFiniteError (see
// IsNonFinite) giving the number of such rows and the first, unless
// opt.DropNonFinite is set.
func LoadWith(path string, opt LoadOptions) (*Table, error) {
	t, _, err := LoadWithReport(path, opt)
	return t, err
}

// LoadWithReport is LoadWith that also reports the rows dropped for NaN or
// ±Inf values when opt.DropNonFinite is set. Errors as LoadWith, plus
// `load <path>: all <n> rows contain NaN or Inf; first at <where>` (`its only
// row contains` when n = 1) when nothing is left.
func LoadWithReport(path string, opt LoadOptions) (*Table, LoadReport, error) {
	var rep LoadReport
	t, err := load(path, opt)
	if nf, ok := IsNonFinite(err); ok && opt.DropNonFinite && nf.table != nil {
		if nf.Rows == nf.table.N {
			return nil, rep, fmt.Errorf("load %s: %s NaN or Inf; first at %s", path, allRowsContain(nf.Rows), nf.Where)
		}
		t, rep.DroppedRows = DropNonFinite(nf.table)
		rep.FirstDropped = nf.Where
		err = nil
	}
	if err == nil && opt.Columns != "" {
		t, err = t.Select(opt.Columns)
	}
	if err != nil {
		return nil, LoadReport{}, fmt.Errorf("load %s: %w", path, err)
	}
	return t, rep, nil
}

// supportedExtensions is listed in Load's error for an unknown extension.
// unsupportedExtension is the error for a file extension (ext, after any
// .gz, which gz reports) that no reader takes.
func unsupportedExtension(ext string, gz bool) error {
	if gz {
		ext += ".gz"
	}
	if ext == "" {
		return fmt.Errorf("no file extension (supported: %s)", supportedExtensions)
	}
	return fmt.Errorf("unsupported extension %q (supported: %s)", ext, supportedExtensions)
}

// openData opens a data file; its error is the bare cause (e.g. "no such
// file or directory"), since callers put the path in front.
func openData(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	return f, nil
}

// checkGzip returns an error when f, whose name ends in .gz, does not start
// with gzip's magic bytes 1f 8b (RFC 1952, section 2.3.1), instead of the
// decompressor's "unexpected EOF" or "invalid header". It reads with ReadAt,
// so f's offset is unchanged.
func checkGzip(f *os.File) error {
	var magic [2]byte
	n, err := f.ReadAt(magic[:], 0)
	if n == 2 && magic == [2]byte{0x1f, 0x8b} {
		return nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	what := "it is empty"
	switch n {
	case 1:
		what = fmt.Sprintf("it holds the single byte %02x", magic[0])
	case 2:
		what = fmt.Sprintf("it starts with the bytes %02x %02x", magic[0], magic[1])
	}
	return fmt.Errorf("not gzip-compressed: %s, not gzip's magic bytes 1f 8b; if it is uncompressed, remove .gz from its name", what)
}

// flag maps the mode to the readers' header flag: −1 detect, 1 present,
// 0 absent; an unknown mode is an error.
func (h HeaderMode) flag() (int, error) {
	switch h {
	case HeaderAuto:
		return -1, nil
	case HeaderPresent:
		return 1, nil
	case HeaderAbsent:
		return 0, nil
	}
	return 0, fmt.Errorf("invalid Header option %d (want HeaderAuto, HeaderPresent or HeaderAbsent)", h)
}

const supportedExtensions = ".csv, .tsv, .txt, .data, .npy (each optionally followed by .gz), .npz, .parquet"

func load(path string, opt LoadOptions) (*Table, error) {
	hdr, err := opt.Header.flag()
	if err != nil {
		return nil, err
	}
	key := opt.Key
	if key == "" {
		if k := strings.LastIndex(strings.ToLower(path), ".npz:"); k >= 0 {
			path, key = path[:k+len(".npz")], path[k+len(".npz:"):]
			if key == "" {
				return nil, errors.New(`empty array key after ".npz:"`)
			}
		}
	}
	name := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".gz")
	ext := filepath.Ext(name)
	var read func(io.Reader) (*Table, error)
	var readAt func(io.ReaderAt, int64) (*Table, error)
	switch ext {
	case ".csv", ".txt", ".data":
		read = func(r io.Reader) (*Table, error) { return ReadCSV(r, CSVOptions{Comma: opt.Comma, Header: hdr}) }
	case ".tsv":
		comma := opt.Comma
		if comma == 0 {
			comma = '\t'
		}
		read = func(r io.Reader) (*Table, error) { return ReadCSV(r, CSVOptions{Comma: comma, Header: hdr}) }
	case ".npy":
		read = ReadNPY
	case ".npz":
		readAt = func(r io.ReaderAt, size int64) (*Table, error) { return ReadNPZ(r, size, key) }
	case ".parquet":
		readAt = ReadParquet
	}
	if (read == nil && readAt == nil) || (gz && readAt != nil) {
		return nil, unsupportedExtension(ext, gz)
	}
	if key != "" && ext != ".npz" {
		return nil, fmt.Errorf("array key %q given for a %s file (keys apply to .npz only)", key, ext)
	}
	f, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t *Table
	if readAt != nil {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return nil, errors.New("is a directory")
		}
		t, err = readAt(f, st.Size())
		if err != nil {
			return nil, err
		}
	} else {
		var r io.Reader = f
		if gz {
			if err := checkGzip(f); err != nil {
				return nil, err
			}
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil, fmt.Errorf("decompress: %w", err)
			}
			defer zr.Close()
			r = zr
		}
		t, err = read(r)
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}
