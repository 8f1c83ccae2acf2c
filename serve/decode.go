package serve

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// requestError is an error caused by the request, answered with status and
// message (safe to show to the client). Row and Col locate a bad cell
// (0-based; -1 when not applicable).
type requestError struct {
	status   int
	msg      string
	row, col int
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), row: -1, col: -1}
}

// rowDecoder turns a request body into an n×d row-major matrix, checking each
// row's width and each cell. Its errors are *requestError (bad rows, too many
// rows, oversized bodies) or read errors of the body (timeouts).
type rowDecoder struct {
	d       int
	maxRows int
	columns []string // the model's column names, or nil
	// perm maps the columns of a CSV request whose header lists the model's
	// columns in another order: request column j is model column perm[j].
	// nil: the model's order.
	perm []int
}

// countNote is appended to row messages so that clients know how rows and
// columns are numbered.
const countNote = " (rows and columns count from 0)"

func (rd *rowDecoder) cellError(row, col int, problem string) *requestError {
	name := ""
	if rd.columns != nil && col < len(rd.columns) {
		k := col
		if rd.perm != nil {
			k = rd.perm[col]
		}
		name = fmt.Sprintf(" (%q)", rd.columns[k])
	}
	return &requestError{status: http.StatusBadRequest, row: row, col: col,
		msg: fmt.Sprintf("row %d, column %d%s: %s%s", row, col, name, problem, countNote)}
}

func (rd *rowDecoder) widthError(row, got int) *requestError {
	return &requestError{status: http.StatusBadRequest, row: row, col: -1,
		msg: fmt.Sprintf("row %d has %d values; the model expects %d%s", row, got, rd.d, countNote)}
}

func (rd *rowDecoder) tooMany() *requestError {
	return &requestError{status: http.StatusRequestEntityTooLarge, row: -1, col: -1,
		msg: fmt.Sprintf("the request has more than %d rows, the limit per request; split it into smaller requests", rd.maxRows)}
}

func errNoRows() *requestError {
	return badRequest("no rows: send at least one row of numbers")
}

// parseCell parses one cell text as a finite float64, or returns the problem.
func parseCell(s string) (float64, string) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Sprintf("%s is out of the float64 range", quoteCell(s))
		}
		return 0, fmt.Sprintf("%s is not a number", quoteCell(s))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%s is not allowed: values must be finite", quoteCell(s))
	}
	return v, ""
}

// quoteCell quotes a cell's text for an error message, shortened to 40 bytes.
func quoteCell(s string) string {
	const limit = 40
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}

// readErr converts a body read error: an oversized body becomes a 413; other
// errors (timeouts, resets) are returned unchanged for the caller to classify.
func readErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &requestError{status: http.StatusRequestEntityTooLarge, row: -1, col: -1,
			msg: fmt.Sprintf("the request body exceeds the limit of %d bytes; split it into smaller requests", limit)}
	}
	return err
}

// decodeJSON reads {"rows": [[...], ...]} or a bare [[...], ...] from r.
func (rd *rowDecoder) decodeJSON(r io.Reader, limit int64) (x []float64, n int, err error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, 0, rd.jsonErr(dec, err, limit)
	}
	switch tok {
	case json.Delim('['):
		if x, n, err = rd.jsonRows(dec, limit); err != nil {
			return nil, 0, err
		}
	case json.Delim('{'):
		seen := false
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, 0, rd.jsonErr(dec, err, limit)
			}
			key, _ := kt.(string)
			if key != "rows" {
				return nil, 0, badRequest("unknown field %s in the JSON body (the body holds \"rows\": [[...], ...])", quoteCell(key))
			}
			if seen {
				return nil, 0, badRequest("the field \"rows\" appears twice in the JSON body")
			}
			seen = true
			t, err := dec.Token()
			if err != nil {
				return nil, 0, rd.jsonErr(dec, err, limit)
			}
			if t != json.Delim('[') {
				return nil, 0, badRequest("\"rows\" must be an array of rows, each an array of %d numbers", rd.d)
			}
			if x, n, err = rd.jsonRows(dec, limit); err != nil {
				return nil, 0, err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing '}'
			return nil, 0, rd.jsonErr(dec, err, limit)
		}
	default:
		return nil, 0, badRequest("the JSON body must be {\"rows\": [[...], ...]} or an array of rows")
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, 0, rd.jsonErr(dec, err, limit)
		}
		return nil, 0, badRequest("unexpected data after the JSON value")
	}
	if n == 0 {
		return nil, 0, errNoRows()
	}
	return x, n, nil
}

// jsonRows reads rows after the opening '[' of the rows array, up to and
// including its closing ']'.
func (rd *rowDecoder) jsonRows(dec *json.Decoder, limit int64) ([]float64, int, error) {
	var x []float64
	n := 0
	for dec.More() {
		if n == rd.maxRows {
			return nil, 0, rd.tooMany()
		}
		t, err := dec.Token()
		if err != nil {
			return nil, 0, rd.jsonErr(dec, err, limit)
		}
		if t != json.Delim('[') {
			return nil, 0, &requestError{status: http.StatusBadRequest, row: n, col: -1,
				msg: fmt.Sprintf("row %d is not an array of numbers%s", n, countNote)}
		}
		col := 0
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, 0, rd.jsonErr(dec, err, limit)
			}
			var v float64
			switch t := t.(type) {
			case json.Number:
				var problem string
				if v, problem = parseCell(string(t)); problem != "" {
					return nil, 0, rd.cellError(n, col, problem)
				}
			case string:
				return nil, 0, rd.cellError(n, col, fmt.Sprintf("the string %s is not a number", quoteCell(t)))
			case nil:
				return nil, 0, rd.cellError(n, col, "null is not a number")
			case bool:
				return nil, 0, rd.cellError(n, col, fmt.Sprintf("%v is not a number", t))
			default: // a nested array or object
				return nil, 0, rd.cellError(n, col, "a nested array or object is not a number")
			}
			if col < rd.d {
				x = append(x, v)
			}
			col++
		}
		if _, err := dec.Token(); err != nil { // the row's closing ']'
			return nil, 0, rd.jsonErr(dec, err, limit)
		}
		if col != rd.d {
			return nil, 0, rd.widthError(n, col)
		}
		n++
	}
	if _, err := dec.Token(); err != nil { // the closing ']' of the rows
		return nil, 0, rd.jsonErr(dec, err, limit)
	}
	return x, n, nil
}

// jsonErr classifies a JSON decoding error: oversized bodies, syntax errors
// (400 with the 0-based byte offset) and read errors (returned as they are).
func (rd *rowDecoder) jsonErr(dec *json.Decoder, err error, limit int64) error {
	err = readErr(err, limit)
	var re *requestError
	if errors.As(err, &re) {
		return re
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest("invalid JSON at byte offset %d: %s", dec.InputOffset(), strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("the JSON body ends early")
	}
	return err
}

// decodeCSV reads rows of numbers from r. A first row of the model's column
// names is a header: in the model's order it is skipped, in another order
// the columns are reordered to the model's (cell errors then count columns
// as the request does). A first row that looks like a header but is not a
// permutation of the names is refused, naming the unknown, missing and
// repeated names.
func (rd *rowDecoder) decodeCSV(r io.Reader, limit int64) ([]float64, int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	var x []float64
	n := 0
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			err = readErr(err, limit)
			var re *requestError
			if errors.As(err, &re) {
				return nil, 0, re
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, 0, badRequest("invalid CSV on line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
			}
			return nil, 0, err
		}
		if first {
			first = false
			if rd.isHeader(rec) {
				continue
			}
			perm, problem := rd.headerPerm(rec)
			if perm != nil {
				rd.perm = perm
				continue
			}
			if rd.looksLikeHeader(rec) {
				msg := rd.headerMismatch()
				if problem != "" {
					msg = problem
				}
				return nil, 0, &requestError{status: http.StatusBadRequest, row: 0, col: -1, msg: msg}
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line holding only spaces
		}
		if n == rd.maxRows {
			return nil, 0, rd.tooMany()
		}
		if len(rec) != rd.d {
			return nil, 0, rd.widthError(n, len(rec))
		}
		base := len(x)
		if rd.perm != nil {
			x = append(x, make([]float64, rd.d)...)
		}
		for j, cell := range rec {
			v, problem := parseCell(strings.TrimSpace(cell))
			if problem != "" {
				return nil, 0, rd.cellError(n, j, problem)
			}
			if rd.perm != nil {
				x[base+rd.perm[j]] = v
			} else {
				x = append(x, v)
			}
		}
		n++
	}
	if n == 0 {
		return nil, 0, errNoRows()
	}
	return x, n, nil
}

// isHeader reports whether rec equals the model's column names.
func (rd *rowDecoder) isHeader(rec []string) bool {
	if rd.columns == nil || len(rec) != len(rd.columns) {
		return false
	}
	for j, c := range rec {
		if strings.TrimSpace(c) != rd.columns[j] {
			return false
		}
	}
	return true
}

// headerPerm returns, when rec lists each of the model's column names once
// (spaces around names ignored) in any order, the model column of each
// request column. Otherwise it returns nil and, when the model has column
// names and no cell of rec is a number, a message naming the names of rec
// that the model lacks, those it misses and those it repeats.
func (rd *rowDecoder) headerPerm(rec []string) ([]int, string) {
	if rd.columns == nil {
		return nil, ""
	}
	index := make(map[string]int, len(rd.columns))
	for k, c := range rd.columns {
		index[c] = k
	}
	perm := make([]int, len(rec))
	seen := make([]bool, len(rd.columns))
	var unknown, repeated, missing []string
	for j, c := range rec {
		c = strings.TrimSpace(c)
		k, ok := index[c]
		switch {
		case !ok:
			unknown = append(unknown, quoteCell(c))
		case seen[k]:
			repeated = append(repeated, quoteCell(c))
		default:
			seen[k] = true
			perm[j] = k
		}
	}
	for k, ok := range seen {
		if !ok {
			missing = append(missing, quoteCell(rd.columns[k]))
		}
	}
	if unknown == nil && repeated == nil && missing == nil {
		return perm, ""
	}
	if !rd.looksLikeHeader(rec) {
		return nil, ""
	}
	var parts []string
	if unknown != nil {
		parts = append(parts, "unknown "+strings.Join(unknown, ", "))
	}
	if missing != nil {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if repeated != nil {
		parts = append(parts, "repeated "+strings.Join(repeated, ", "))
	}
	return nil, fmt.Sprintf("the CSV header does not match the model's columns %s: %s (give each column name once, in any order, or send no header)",
		strings.Join(rd.columns, ","), strings.Join(parts, "; "))
}

// looksLikeHeader reports whether no cell of rec parses as a number.
func (rd *rowDecoder) looksLikeHeader(rec []string) bool {
	for _, c := range rec {
		if _, err := strconv.ParseFloat(strings.TrimSpace(c), 64); err == nil {
			return false
		}
	}
	return true
}

func (rd *rowDecoder) headerMismatch() string {
	if rd.columns == nil {
		return "the first CSV row is not numeric, and this model has no column names to match a header against; send numbers only"
	}
	return fmt.Sprintf("the first CSV row looks like a header but does not match the model's columns %s (in this order)",
		strings.Join(rd.columns, ","))
}
