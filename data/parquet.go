package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/iterflow/iterflow/internal/wording"
)

// ReadParquet reads the numeric columns of an Apache Parquet file of size
// bytes into a table, using github.com/parquet-go/parquet-go. Every leaf
// column of physical type INT32, INT64, FLOAT or DOUBLE becomes a table
// column, in schema order, named by its schema path (nested fields joined with
// "."); unsigned integer annotations (UINT_8 … UINT_64) are honoured and
// DECIMAL columns stored as integers are divided by 10^scale. Required and
// optional (nullable) columns are accepted; a null value is an error naming
// the 0-based row and the column. All row groups are read, in order.
//
// Columns that are not numbers (strings, booleans, byte arrays, INT96,
// dates, times, timestamps, repeated or list fields) are skipped silently
// while at least one numeric column remains; if none remains the error lists
// the skipped columns and why. Use Table.Select to choose among the numeric
// columns by name or index.
//
// Errors start with "read parquet: " and also report a file that is not
// Parquet or is corrupt (including a panic inside the Parquet library, turned
// into an error), and NaN or ±Inf values ("… first at row 4, column 0
// ("q") (0-based)"). Limitation: parquet-go v0.32.0 trusts the list lengths in
// a file's thrift metadata, so a deliberately corrupted footer can make it
// allocate without bound (found by FuzzReadParquet); the footer length itself
// is checked here before the library reads it. Read only files you trust.
func ReadParquet(r io.ReaderAt, size int64) (t *Table, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("read parquet: corrupt file (parquet library panicked: %v)", p)
		}
	}()
	t, err = readParquet(r, size)
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	return t, nil
}

// parquetCol is one numeric leaf column chosen for the table.
type parquetCol struct {
	name     string
	index    int // leaf column index in the file
	kind     parquet.Kind
	unsigned bool    // integer annotated as unsigned
	scale    float64 // divide by this (DECIMAL), 1 otherwise
}

func readParquet(r io.ReaderAt, size int64) (*Table, error) {
	if err := checkParquetFooter(r, size); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	cols, err := numericColumns(f.Schema())
	if err != nil {
		return nil, err
	}
	nrows := f.NumRows()
	d := len(cols)
	names := make([]string, d)
	for j, c := range cols {
		names[j] = c.name
	}
	// Memory grows with the values actually decoded, never with the row
	// counts that a (possibly corrupt) footer claims.
	var x []float64
	colVals := make([][]float64, d)
	buf := make([]parquet.Value, 1024)
	n := 0
	for g, rg := range f.RowGroups() {
		gn := rg.NumRows()
		if gn < 0 || int64(n)+gn > nrows {
			return nil, fmt.Errorf("row group %d: %s exceed the file's %d", g, wording.Plural(int(gn), "row"), nrows)
		}
		chunks := rg.ColumnChunks()
		for j, c := range cols {
			if c.index >= len(chunks) {
				return nil, fmt.Errorf("row group %d has %d column chunks, column %q needs index %d", g, len(chunks), c.name, c.index)
			}
			var err error
			colVals[j], err = readParquetChunk(chunks[c.index], c, j, n, gn, colVals[j][:0], buf)
			if err != nil {
				return nil, fmt.Errorf("row group %d: %w", g, err)
			}
		}
		rows := int(gn)
		x = slices.Grow(x, rows*d)
		for i := 0; i < rows; i++ {
			for j := range cols {
				x = append(x, colVals[j][i])
			}
		}
		n += rows
	}
	if int64(n) != nrows {
		return nil, fmt.Errorf("row groups hold %d rows, footer says %d", n, nrows)
	}
	if e := nonFiniteArrayError(x, n, d, names); e != nil {
		return nil, e
	}
	return &Table{X: x, N: n, D: d, Names: names}, nil
}

// checkParquetFooter checks the magic bytes and that the footer length fits
// in the file before parquet.OpenFile trusts it (it allocates that length).
func checkParquetFooter(r io.ReaderAt, size int64) error {
	const minSize = 12 // "PAR1" + footer length + "PAR1"
	if size < minSize {
		return fmt.Errorf("not a Parquet file: %d bytes, a Parquet file has at least %d", size, minSize)
	}
	var head [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("read magic bytes: %w", err)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil && !(errors.Is(err, io.EOF)) {
		return fmt.Errorf("read footer length: %w", err)
	}
	if string(head[:]) != "PAR1" || string(tail[4:]) != "PAR1" {
		if string(tail[4:]) == "PARE" {
			return errors.New("encrypted Parquet files are not supported")
		}
		return errors.New(`not a Parquet file (no "PAR1" magic bytes at both ends)`)
	}
	if fl := int64(binary.LittleEndian.Uint32(tail[:4])); fl > size-minSize {
		return fmt.Errorf("corrupt file: footer length %d exceeds the %d-byte file", fl, size)
	}
	return nil
}

// numericColumn decides whether leaf is read, and if not says why.
func numericColumn(leaf parquet.LeafColumn) (parquetCol, string) {
	if leaf.MaxRepetitionLevel > 0 {
		return parquetCol{}, "repeated"
	}
	typ := leaf.Node.Type()
	col := parquetCol{index: leaf.ColumnIndex, kind: typ.Kind(), scale: 1}
	numeric := col.kind == parquet.Int32 || col.kind == parquet.Int64 || col.kind == parquet.Float || col.kind == parquet.Double
	if lt := typ.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.IntType:
			col.unsigned = !v.IsSigned
		case *format.DecimalType:
			col.scale = math.Pow(10, float64(v.Scale))
			if !numeric {
				return parquetCol{}, "decimal stored as " + strings.ToLower(col.kind.String())
			}
		default:
			return parquetCol{}, strings.ToLower(v.String())
		}
	}
	if !numeric {
		return parquetCol{}, strings.ToLower(col.kind.String())
	}
	return col, ""
}

// readParquetChunk appends the values of one column chunk (column j of the
// table, rows row0 … row0+rows−1) to dst and checks that there are rows of
// them, none null.
func readParquetChunk(chunk parquet.ColumnChunk, c parquetCol, j, row0 int, rows int64, dst []float64, buf []parquet.Value) ([]float64, error) {
	pages := chunk.Pages()
	defer pages.Close()
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.name, err)
		}
		vr := page.Values()
		for {
			k, err := vr.ReadValues(buf)
			for _, v := range buf[:k] {
				if int64(len(dst)) >= rows {
					return nil, fmt.Errorf("column %q has more values than the %s of its row group", c.name, wording.Plural(int(rows), "row"))
				}
				if v.IsNull() {
					return nil, fmt.Errorf("row %d, column %d (%q): null value (fill or drop missing values first)", row0+len(dst), j, c.name)
				}
				dst = append(dst, c.value(v))
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", c.name, err)
			}
			if k == 0 {
				return nil, fmt.Errorf("column %q: page reader made no progress", c.name)
			}
		}
	}
	if int64(len(dst)) != rows {
		return nil, fmt.Errorf("column %q has %s, want %s", c.name, wording.Plural(len(dst), "value"), wording.Plural(int(rows), "row"))
	}
	return dst, nil
}

// value converts one non-null value of the column to float64.
func (c parquetCol) value(v parquet.Value) float64 {
	var f float64
	switch c.kind {
	case parquet.Int32:
		if c.unsigned {
			f = float64(v.Uint32())
		} else {
			f = float64(v.Int32())
		}
	case parquet.Int64:
		if c.unsigned {
			f = float64(v.Uint64())
		} else {
			f = float64(v.Int64())
		}
	case parquet.Float:
		f = float64(v.Float())
	default:
		f = v.Double()
	}
	if c.scale != 1 {
		f /= c.scale
	}
	return f
}

// numericColumns returns the numeric leaf columns of schema, named by their
// dotted paths; an error lists the skipped columns when none is numeric.
func numericColumns(schema *parquet.Schema) ([]parquetCol, error) {
	var cols []parquetCol
	var skipped []string
	for _, path := range schema.Columns() {
		leaf, ok := schema.Lookup(path...)
		if !ok {
			continue
		}
		name := strings.Join(path, ".")
		col, why := numericColumn(leaf)
		if why != "" {
			skipped = append(skipped, fmt.Sprintf("%q (%s)", name, why))
			continue
		}
		col.name = name
		cols = append(cols, col)
	}
	if len(cols) == 0 {
		if len(skipped) == 0 {
			return nil, errors.New("schema has no columns")
		}
		return nil, fmt.Errorf("no numeric column (INT32, INT64, FLOAT or DOUBLE); skipped %s", strings.Join(skipped, ", "))
	}
	return cols, nil
}
