package data

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/iterflow/iterflow/internal/wording"
)

// Table is a numeric data table: N rows (samples) of D columns (features).
//
// X holds the values row-major, len(X) == N·D, value (i, j) at X[i·D+j].
// Names has D entries: the column names from a file header, or "x0", "x1", …
// when the source has none.
type Table struct {
	X     []float64
	N, D  int
	Names []string
}

// NewTable wraps x (n×d, row-major, not copied) in a Table. If names is nil the
// columns are named "x0", "x1", …. It returns an error if n or d is negative,
// len(x) != n·d, len(names) is neither 0 nor d, or x holds NaN or ±Inf.
func NewTable(x []float64, n, d int, names []string) (*Table, error) {
	if n < 0 || d < 0 {
		return nil, fmt.Errorf("new table: negative shape %d×%d", n, d)
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("new table: len(x) = %d, want n·d = %d·%d = %d", len(x), n, d, n*d)
	}
	if names == nil {
		names = defaultNames(d)
	} else if len(names) != d {
		return nil, fmt.Errorf("new table: %s for %s", wording.Plural(len(names), "name"), wording.Plural(d, "column"))
	}
	if e := nonFiniteArrayError(x, n, d, nil); e != nil {
		e.table.Names = names
		return nil, fmt.Errorf("new table: %w", e)
	}
	return &Table{X: x, N: n, D: d, Names: names}, nil
}

// defaultNames returns "x0", …, "x{d-1}".
func defaultNames(d int) []string {
	names := make([]string, d)
	for j := range names {
		names[j] = "x" + strconv.Itoa(j)
	}
	return names
}

// countNonFinite returns the number of rows (of width d) holding NaN or ±Inf and
// the flat index of the first such value (−1 if none).
func countNonFinite(x []float64, d int) (rows, first int) {
	first = -1
	if d == 0 {
		return 0, -1
	}
	for i := 0; i < len(x); i += d {
		bad := false
		for j, v := range x[i : i+d] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if first < 0 {
					first = i + j
				}
				bad = true
			}
		}
		if bad {
			rows++
		}
	}
	return rows, first
}

// indexRange describes the column indices of a table of d columns: "indices
// 0-4", "index 0", or "no indices".
func indexRange(d int) string {
	switch {
	case d <= 0:
		return "no indices"
	case d == 1:
		return "index 0"
	}
	return "indices 0-" + strconv.Itoa(d-1)
}

// allRowsContain is "all <n> rows contain", or "its only row contains" for
// n = 1.
func allRowsContain(n int) string {
	if n == 1 {
		return "its only row contains"
	}
	return "all " + strconv.Itoa(n) + " rows contain"
}

// rowsContain returns "1 row contains" or "n rows contain".
func rowsContain(count int) string {
	if count == 1 {
		return "1 row contains"
	}
	return strconv.Itoa(count) + " rows contain"
}

// Row returns row i (length D) as a sub-slice of X: writes to it change the
// table. It panics if i is out of [0, N), like a slice index.
func (t *Table) Row(i int) []float64 {
	if i < 0 || i >= t.N {
		panic(fmt.Sprintf("data: row %d out of range [0, %d)", i, t.N))
	}
	return t.X[i*t.D : (i+1)*t.D : (i+1)*t.D]
}

// Select returns a new table (values copied) with the columns named by spec, in
// the order given. spec is a comma-separated list of items, each one of
//   - a 0-based column index: "3"
//   - an inclusive range of indices: "0-10"; "5-" runs to the last column
//   - a column name: "alcohol" (matched exactly, after trimming spaces)
//
// for example "0-3,7", "alcohol,pH". The empty spec selects all columns.
//
// Errors name the offending item and the number of columns: an index out of
// range, an unknown or ambiguous name, a reversed range, an empty item, or a
// column selected twice.
func (t *Table) Select(spec string) (*Table, error) {
	cols, err := t.parseSelect(spec)
	if err != nil {
		return nil, fmt.Errorf("select %q: %w", spec, err)
	}
	out := &Table{X: make([]float64, t.N*len(cols)), N: t.N, D: len(cols), Names: make([]string, len(cols))}
	for k, j := range cols {
		out.Names[k] = t.Names[j]
	}
	for i := 0; i < t.N; i++ {
		src := t.X[i*t.D : (i+1)*t.D]
		dst := out.X[i*out.D : (i+1)*out.D]
		for k, j := range cols {
			dst[k] = src[j]
		}
	}
	return out, nil
}

func (t *Table) parseSelect(spec string) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		cols := make([]int, t.D)
		for j := range cols {
			cols[j] = j
		}
		return cols, nil
	}
	var cols []int
	seen := make(map[int]bool)
	add := func(j int) error {
		if seen[j] {
			return fmt.Errorf("column %d (%q) selected twice", j, t.Names[j])
		}
		seen[j] = true
		cols = append(cols, j)
		return nil
	}
	for _, raw := range strings.Split(spec, ",") {
		item := strings.TrimSpace(raw)
		if item == "" {
			return nil, fmt.Errorf("empty item (table has %s)", wording.Plural(t.D, "column"))
		}
		if j, err := strconv.Atoi(item); err == nil {
			if j < 0 || j >= t.D {
				return nil, fmt.Errorf("column index %d out of range (table has %s, %s)", j, wording.Plural(t.D, "column"), indexRange(t.D))
			}
			if err := add(j); err != nil {
				return nil, err
			}
			continue
		}
		if j, found, err := t.lookupName(item); found || err != nil {
			if err != nil {
				return nil, err
			}
			if err := add(j); err != nil {
				return nil, err
			}
			continue
		}
		if lo, hi, ok := parseRange(item, t.D); ok {
			if lo < 0 || lo >= t.D || hi >= t.D {
				return nil, fmt.Errorf("range %q out of range (table has %s, %s)", item, wording.Plural(t.D, "column"), indexRange(t.D))
			}
			if hi < lo {
				return nil, fmt.Errorf("range %q is reversed (table has %s)", item, wording.Plural(t.D, "column"))
			}
			for j := lo; j <= hi; j++ {
				if err := add(j); err != nil {
					return nil, err
				}
			}
			continue
		}
		return nil, fmt.Errorf("unknown column name %q (table has %s: %s)", item, wording.Plural(t.D, "column"), listNames(t.Names))
	}
	return cols, nil
}

// lookupName finds the column called name; an error if several share it.
func (t *Table) lookupName(name string) (int, bool, error) {
	idx := -1
	for j, nm := range t.Names {
		if strings.TrimSpace(nm) == name {
			if idx >= 0 {
				return 0, true, fmt.Errorf("column name %q is ambiguous (columns %d and %d)", name, idx, j)
			}
			idx = j
		}
	}
	return idx, idx >= 0, nil
}

// parseRange parses "a-b" or "a-" (to column d−1).
func parseRange(item string, d int) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(item, "-")
	if !found {
		return 0, 0, false
	}
	lo, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, false
	}
	b = strings.TrimSpace(b)
	if b == "" {
		return lo, d - 1, true
	}
	hi, err = strconv.Atoi(b)
	if err != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

// listNames quotes up to 12 names for an error message.
func listNames(names []string) string {
	const maxShown = 12
	var b strings.Builder
	for j, nm := range names {
		if j == maxShown {
			fmt.Fprintf(&b, ", … (%d more)", len(names)-maxShown)
			break
		}
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(nm))
	}
	return b.String()
}

// MaxIntegerValue is the largest magnitude, 2^24 = 16,777,216, of the values
// of a column that IntegerColumns counts as integer-valued: pixel values,
// counts and scores are well within it, while whole numbers of larger
// magnitude (1.23456e+12, timestamps, identifiers) are taken as measurements
// that happen to be whole, not as a discrete variable to dequantize.
const MaxIntegerValue = 1 << 24

// IntegerColumns reports, for each of the D columns, whether every value in it
// is an integer of magnitude at most MaxIntegerValue (2^24) (such columns are
// candidates for Dequantize). A table with no rows reports true for every
// column.
func IntegerColumns(t *Table) []bool {
	out := make([]bool, t.D)
	for j := range out {
		out[j] = true
	}
	for i := 0; i < t.N; i++ {
		for j, v := range t.X[i*t.D : (i+1)*t.D] {
			if out[j] && (v != math.Trunc(v) || math.Abs(v) > MaxIntegerValue) {
				out[j] = false
			}
		}
	}
	return out
}

// DuplicateRows returns the number of rows of t that repeat an earlier row
// exactly (every value equal; −0 and +0 count as equal, NaN as never equal),
// and the 0-based index of the first such row (−1 when there is none). A
// split of a table with duplicates can put copies of one point in both the
// training and the test part, which makes a test log-likelihood optimistic.
func DuplicateRows(t *Table) (count, first int) {
	first = -1
	seen := make(map[string]int, t.N)
	key := make([]byte, 8*t.D)
	for i := 0; i < t.N; i++ {
		row := t.X[i*t.D : (i+1)*t.D]
		nan := false
		for j, v := range row {
			if v == 0 {
				v = 0 // −0 and +0 alike
			}
			nan = nan || v != v
			binary.LittleEndian.PutUint64(key[8*j:], math.Float64bits(v))
		}
		if nan {
			continue
		}
		if _, ok := seen[string(key)]; ok {
			if count == 0 {
				first = i
			}
			count++
			continue
		}
		seen[string(key)] = i
	}
	return count, first
}

// ConstantColumns returns the 0-based indices, in increasing order, of the
// columns whose values are all equal (zero variance). Such columns have no
// density and must be dropped (see Select) before fitting a flow. A table with
// no rows has no constant columns.
func ConstantColumns(t *Table) []int {
	if t.N == 0 {
		return nil
	}
	var out []int
	first := t.X[:t.D]
	for j := 0; j < t.D; j++ {
		constant := true
		for i := 1; i < t.N; i++ {
			if t.X[i*t.D+j] != first[j] {
				constant = false
				break
			}
		}
		if constant {
			out = append(out, j)
		}
	}
	return out
}
