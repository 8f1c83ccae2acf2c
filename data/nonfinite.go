package data

import (
	"errors"
	"fmt"
)

// NonFiniteError is returned (wrapped) by the readers and NewTable when values
// are NaN or ±Inf. Rows is the number of rows holding at least one such value
// and Where locates the first, e.g. `line 5, column 3 ("pH")` for delimited
// text (1-based lines and columns) or `row 4, column 2 (0-based)` for arrays.
// Its message is "<Rows> rows contain NaN or Inf; first at <Where>". Loading
// with LoadOptions.DropNonFinite drops such rows instead of failing.
type NonFiniteError struct {
	Rows  int
	Where string
	// table is the whole table as read, kept so that LoadWithReport can drop
	// the bad rows without reading the file again.
	table *Table
}

// Error formats e, e.g. `2 rows contain NaN or Inf; first at line 5, column 3 ("pH")`.
func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("%s NaN or Inf; first at %s", rowsContain(e.Rows), e.Where)
}

// ErrNonFinite is matched (errors.Is) by every error the readers return for
// a NaN or ±Inf value: a *NonFiniteError from the whole-file readers, and the
// row-by-row reader's (RowReader) error, which stops at the first such row.
var ErrNonFinite = errors.New("NaN or Inf")

// NonFiniteRowAdvice ends the row-by-row reader's error for a NaN or ±Inf
// value (`load f.csv: line 3, column 2 ("c") is NaN` + NonFiniteRowAdvice):
// the remedy for users of the Go API. A program that offers its users
// another remedy can trim it (strings.TrimSuffix) and add its own.
const NonFiniteRowAdvice = " (NaN or Inf; drop such rows with DropNonFinite)"

// errNonFiniteRow is the tail of the row reader's error for a NaN or ±Inf
// value: its text is NonFiniteRowAdvice and it matches ErrNonFinite.
var errNonFiniteRow = &adviceError{NonFiniteRowAdvice, ErrNonFinite}

// adviceError is a text that wraps a sentinel.
type adviceError struct {
	text string
	is   error
}

func (e *adviceError) Error() string { return e.text }
func (e *adviceError) Unwrap() error { return e.is }

// Is makes errors.Is(err, ErrNonFinite) true for a *NonFiniteError.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// IsNonFinite reports whether err holds a *NonFiniteError, and returns it.
func IsNonFinite(err error) (*NonFiniteError, bool) {
	var e *NonFiniteError
	ok := errors.As(err, &e)
	return e, ok
}

// DropNonFinite returns a copy of t without the rows that hold NaN or ±Inf
// and the number of rows dropped.
func DropNonFinite(t *Table) (*Table, int) {
	out := &Table{X: make([]float64, 0, len(t.X)), D: t.D, Names: t.Names}
	dropped := 0
	for i := 0; i < t.N; i++ {
		row := t.X[i*t.D : (i+1)*t.D]
		if firstNonFiniteIn(row) >= 0 {
			dropped++
			continue
		}
		out.X = append(out.X, row...)
		out.N++
	}
	return out, dropped
}

// firstNonFiniteIn returns the index of the first NaN or ±Inf in v, or −1.
func firstNonFiniteIn(v []float64) int {
	for j, x := range v {
		if x-x != 0 {
			return j
		}
	}
	return -1
}

// nonFiniteArrayError builds the error for non-finite values in an array read
// in memory (NPY, NPZ, Parquet, NewTable); names (optional) name the columns.
func nonFiniteArrayError(x []float64, n, d int, names []string) *NonFiniteError {
	cnt, first := countNonFinite(x, d)
	if cnt == 0 {
		return nil
	}
	where := fmt.Sprintf("row %d, column %d (0-based)", first/d, first%d)
	if names != nil {
		where = fmt.Sprintf("row %d, column %d (%q) (0-based)", first/d, first%d, names[first%d])
	}
	return &NonFiniteError{Rows: cnt, Where: where, table: &Table{X: x, N: n, D: d, Names: names}}
}

// ErrNotNumber is matched (errors.Is) by the whole-file CSV readers' error
// for a cell that does not parse as a number (`line 2, column 3 ("name"):
// cannot parse "abc" as a number`), e.g. a column of labels or names.
var ErrNotNumber = errors.New("not a number")

// notNumberError is the error of a cell that does not parse as a number.
type notNumberError struct{ msg string }

func (e *notNumberError) Error() string { return e.msg }

// Is makes errors.Is(err, ErrNotNumber) true.
func (e *notNumberError) Is(target error) bool { return target == ErrNotNumber }
