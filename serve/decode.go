package serve

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/internal/wording"
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
		msg: fmt.Sprintf("row %d has %s; the model expects %d%s", row, wording.Plural(got, "value"), rd.d, countNote)}
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

// decodeCSV reads comma-separated rows of numbers from r; a leading UTF-8
// byte-order mark (as Excel writes) is skipped. A first row of the model's
// column names is a header, matched as iterflow logprob matches one
// (data.HeaderIndex: spaces around names ignored, an exact match first, else
// the one name equal ignoring case): in the model's order it is skipped, in
// another order the columns are reordered to the model's (cell errors then
// count columns as the request does). A first row that looks like a header
// but does not name each model column once is refused, naming the unknown,
// missing and repeated names; header errors carry no row index.
func (rd *rowDecoder) decodeCSV(r io.Reader, limit int64) ([]float64, int, error) {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
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
				if !isIdentity(perm) {
					rd.perm = perm
				}
				continue
			}
			if rd.looksLikeHeader(rec) {
				msg := rd.headerMismatch()
				if problem != "" {
					msg = problem
				}
				if len(rec) == 1 && rd.d > 1 && otherSeparator(rec) {
					// One field holding ';' or a tab: not a header, the
					// rows of another delimited format.
					msg = fmt.Sprintf("the first CSV row %s is one field, the model has %d columns", quoteCell(strings.TrimSpace(rec[0])), rd.d)
				}
				if otherSeparator(rec) {
					msg += commaNote
				}
				return nil, 0, &requestError{status: http.StatusBadRequest, row: -1, col: -1, msg: msg}
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line holding only spaces
		}
		if n == rd.maxRows {
			return nil, 0, rd.tooMany()
		}
		if len(rec) != rd.d {
			e := rd.widthError(n, len(rec))
			if len(rec) == 1 && otherSeparator(rec) {
				e.msg += commaNote
			}
			return nil, 0, e
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

// headerPerm returns, when rec names each of the model's columns once
// (matched by data.HeaderIndex: spaces around names ignored, an exact match
// first, else the one name equal ignoring case) and has no other cells, the
// model column of each request column. Otherwise it returns nil and, when
// the model has column names and no cell of rec is a number, a message
// naming the names of rec that the model lacks, those it misses and those it
// repeats (or two that match one column only ignoring case).
func (rd *rowDecoder) headerPerm(rec []string) ([]int, string) {
	if rd.columns == nil || !rd.looksLikeHeader(rec) && rd.looksLikeHeader(rd.columns) {
		// A row with a number in it names no column unless a column name
		// is a number: skip the O(d²) matching of each numeric first row.
		return nil, ""
	}
	perm := make([]int, len(rec))
	for j := range perm {
		perm[j] = -1
	}
	var repeated, missing, ambiguous []string
	for k, c := range rd.columns {
		j, err := data.HeaderIndex(rec, c)
		var me *data.HeaderMatchError
		switch {
		case errors.As(err, &me) && me.IgnoringCase:
			ambiguous = append(ambiguous, fmt.Sprintf("%s and %s (both match %s ignoring case)",
				quoteCell(strings.TrimSpace(rec[me.First])), quoteCell(strings.TrimSpace(rec[me.Second])), quoteCell(c)))
			perm[me.First], perm[me.Second] = k, k // named, not unknown
		case me != nil:
			repeated = append(repeated, quoteCell(c))
			perm[me.First], perm[me.Second] = k, k
		case err != nil:
			return nil, err.Error()
		case j < 0:
			missing = append(missing, quoteCell(c))
		default:
			perm[j] = k
		}
	}
	var unknown []string
	for j, k := range perm {
		if k < 0 {
			unknown = append(unknown, quoteCell(strings.TrimSpace(rec[j])))
		}
	}
	if unknown == nil && repeated == nil && missing == nil && ambiguous == nil {
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
	if ambiguous != nil {
		parts = append(parts, "ambiguous "+strings.Join(ambiguous, ", "))
	}
	return nil, fmt.Sprintf("the CSV header does not match the model's columns %s: %s (give each column name once, in any order, or send no header)",
		strings.Join(rd.columns, ","), strings.Join(parts, "; "))
}

// isIdentity reports whether perm[j] = j for every j.
func isIdentity(perm []int) bool {
	for j, k := range perm {
		if j != k {
			return false
		}
	}
	return true
}

// utf8BOM is the UTF-8 byte-order mark that Excel writes at the start of a
// CSV file.
const utf8BOM = "\ufeff"

// commaNote is appended to header and width errors of a CSV row that holds
// ';' or a tab, the separators of other delimited formats.
const commaNote = "; the server reads comma-separated CSV (fields separated by ',')"

// otherSeparator reports whether a cell of rec holds ';' or a tab.
func otherSeparator(rec []string) bool {
	for _, c := range rec {
		if strings.ContainsAny(c, ";\t") {
			return true
		}
	}
	return false
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
