package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/iterflow/iterflow/internal/wording"
)

// CSVOptions configures ReadCSV.
type CSVOptions struct {
	// Comma is the field separator. 0 detects it from the first lines among
	// '\t', ';' and ',' (in that order of preference, quote-aware, requiring the
	// same number of fields > 1 on each line), falling back to runs of spaces
	// and tabs. ' ' selects runs of spaces and tabs explicitly.
	Comma rune
	// Header is -1 to detect a header (the first non-blank row is a header if
	// any of its cells is not a number), 0 for no header, 1 for a header row.
	Header int
}

// detectLines is how many non-blank lines separator detection looks at.
const detectLines = 5

// ReadCSV reads a table of numbers from delimited text: one row per line,
// optional header of (optionally double-quoted) column names, for example the
// UCI wine files (separator ';', header "fixed acidity";"volatile acidity";…).
// It accepts LF and CRLF line ends, a UTF-8 byte-order mark, blank lines
// (skipped), quoted cells ("" escapes a quote) and gzip-compressed input
// (detected by its magic bytes). Numbers are parsed with strconv.ParseFloat.
//
// Errors start with "read csv: " and name the 1-based line and column (and the
// column name when there is a header): a cell that is not a number
// (`line 17, column 3 ("pH"): cannot parse "abc" as a number`), a row with a
// different number of fields than the first (`line 5: 11 fields, want 12 (as on
// line 1)`), an unterminated quote, empty input, a header with no data rows,
// and NaN or ±Inf cells (`2 rows contain NaN or Inf; first at line 5, column 3
// ("pH")`).
func ReadCSV(r io.Reader, opt CSVOptions) (*Table, error) {
	t, err := readCSV(r, opt)
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	return t, nil
}

// lineReader yields lines without their line end, with 1-based line numbers.
type lineReader struct {
	br   *bufio.Reader
	line int
}

func (lr *lineReader) next() (string, bool, error) {
	s, err := lr.br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("after line %d: %w", lr.line, err)
	}
	if s == "" && err != nil {
		return "", false, nil
	}
	lr.line++
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if lr.line == 1 {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	return s, true, nil
}

// maybeGunzip wraps r in a gzip reader when its first bytes are the gzip magic.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

type numberedLine struct {
	text string
	line int
}

func readCSV(r io.Reader, opt CSVOptions) (*Table, error) {
	if opt.Header < -1 || opt.Header > 1 {
		return nil, fmt.Errorf("invalid Header option %d (want -1 detect, 0 none, 1 present)", opt.Header)
	}
	if c := opt.Comma; c == '"' || c == '\r' || c == '\n' || c == '.' || c == '-' || c == '+' || unicode.IsDigit(c) || c == unicode.ReplacementChar {
		return nil, fmt.Errorf("invalid separator %q", c)
	}
	src, err := maybeGunzip(r)
	if err != nil {
		return nil, err
	}
	lr := &lineReader{br: bufio.NewReaderSize(src, 1<<16)}

	// Buffer the first non-blank lines for separator and header detection.
	var pending []numberedLine
	for len(pending) < detectLines {
		s, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(s) != "" {
			pending = append(pending, numberedLine{s, lr.line})
		}
	}
	if len(pending) == 0 {
		return nil, errors.New("empty input: no rows")
	}

	sp := splitter{sep: opt.Comma}
	if opt.Comma == ' ' {
		sp.ws = true
	} else if opt.Comma == 0 {
		sp = detectSeparator(pending)
	}

	var fields []string
	first := pending[0]
	fields, err = sp.split(first.text, fields[:0])
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", first.line, err)
	}
	d := len(fields)
	hasHeader := opt.Header == 1
	if opt.Header == -1 {
		for _, f := range fields {
			if _, perr := strconv.ParseFloat(strings.TrimSpace(f), 64); perr != nil {
				hasHeader = true
				break
			}
		}
	}
	var names []string
	if hasHeader {
		names = make([]string, d)
		for j, f := range fields {
			names[j] = strings.TrimSpace(f)
			if names[j] == "" {
				names[j] = "x" + strconv.Itoa(j)
			}
		}
		pending = pending[1:]
	}
	colDesc := func(j int) string {
		if names != nil {
			return fmt.Sprintf("column %d (%q)", j+1, names[j])
		}
		return fmt.Sprintf("column %d", j+1)
	}

	var x []float64
	n := 0
	badRows, badLine, badCol := 0, 0, 0
	parseLine := func(nl numberedLine) error {
		var err error
		fields, err = sp.split(nl.text, fields[:0])
		if err != nil {
			return fmt.Errorf("line %d: %w", nl.line, err)
		}
		if len(fields) != d {
			return fmt.Errorf("line %d: %s, want %d (as on line %d)", nl.line, wording.Plural(len(fields), "field"), d, first.line)
		}
		bad := false
		for j, f := range fields {
			f = strings.TrimSpace(f)
			v, perr := strconv.ParseFloat(f, 64)
			if perr != nil && !errors.Is(perr, strconv.ErrRange) {
				return &notNumberError{fmt.Sprintf("line %d, %s: cannot parse %q as a number", nl.line, colDesc(j), f)}
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if badRows == 0 && !bad {
					badLine, badCol = nl.line, j
				}
				bad = true
			}
			x = append(x, v)
		}
		if bad {
			badRows++
		}
		n++
		return nil
	}
	for _, nl := range pending {
		if err := parseLine(nl); err != nil {
			return nil, err
		}
	}
	for {
		s, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if err := parseLine(numberedLine{s, lr.line}); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("no data rows after the header on line %d", first.line)
	}
	var where string
	if badRows > 0 {
		where = fmt.Sprintf("line %d, %s", badLine, colDesc(badCol))
	}
	if names == nil {
		names = defaultNames(d)
	}
	if badRows > 0 {
		return nil, &NonFiniteError{Rows: badRows, Where: where, table: &Table{X: x, N: n, D: d, Names: names}}
	}
	return &Table{X: x, N: n, D: d, Names: names}, nil
}

// detectSeparator picks the first of '\t', ';', ',' that splits every sample
// line into the same number (> 1) of fields, else runs of whitespace if that
// does, else the first separator present on the first line (the parser then
// reports the ragged line), else runs of whitespace (a single column).
func detectSeparator(lines []numberedLine) splitter {
	consistent := func(sp splitter) bool {
		want := -1
		var buf []string
		for _, nl := range lines {
			f, err := sp.split(nl.text, buf[:0])
			if err != nil {
				return false
			}
			if want == -1 {
				want = len(f)
			}
			if len(f) != want || len(f) < 2 {
				return false
			}
			buf = f
		}
		return true
	}
	for _, c := range []rune{'\t', ';', ','} {
		if sp := (splitter{sep: c}); consistent(sp) {
			return sp
		}
	}
	if sp := (splitter{ws: true}); consistent(sp) {
		return sp
	}
	// No separator gives a consistent count (a ragged line, or one column):
	// take the first separator present and let the parser report the line.
	for _, c := range []rune{'\t', ';', ','} {
		if strings.ContainsRune(lines[0].text, c) {
			return splitter{sep: c}
		}
	}
	return splitter{ws: true}
}

// splitter splits a line into fields, honouring double quotes.
type splitter struct {
	sep rune // field separator when !ws
	ws  bool // separate by runs of spaces and tabs, ignoring leading/trailing ones
}

// split appends the fields of line to dst. Quoted fields lose their quotes
// and "" becomes ".
func (sp splitter) split(line string, dst []string) ([]string, error) {
	i := 0
	isWS := func(c byte) bool { return c == ' ' || c == '\t' }
	if sp.ws {
		for {
			for i < len(line) && isWS(line[i]) {
				i++
			}
			if i == len(line) {
				return dst, nil
			}
			var f string
			var err error
			if line[i] == '"' {
				f, i, err = readQuoted(line, i)
				if err != nil {
					return nil, err
				}
				if i < len(line) && !isWS(line[i]) {
					return nil, fmt.Errorf("text after closing quote at byte %d", i+1)
				}
			} else {
				start := i
				for i < len(line) && !isWS(line[i]) {
					i++
				}
				f = line[start:i]
			}
			dst = append(dst, f)
		}
	}
	sep := string(sp.sep)
	for {
		// Skip leading spaces to see whether the field is quoted.
		j := i
		for j < len(line) && isWS(line[j]) && !strings.HasPrefix(line[j:], sep) {
			j++
		}
		if j < len(line) && line[j] == '"' {
			f, k, err := readQuoted(line, j)
			if err != nil {
				return nil, err
			}
			for k < len(line) && isWS(line[k]) && !strings.HasPrefix(line[k:], sep) {
				k++
			}
			dst = append(dst, f)
			if k == len(line) {
				return dst, nil
			}
			if !strings.HasPrefix(line[k:], sep) {
				return nil, fmt.Errorf("text after closing quote at byte %d", k+1)
			}
			i = k + len(sep)
			continue
		}
		k := strings.Index(line[i:], sep)
		if k < 0 {
			return append(dst, line[i:]), nil
		}
		dst = append(dst, line[i:i+k])
		i += k + len(sep)
	}
}

// readQuoted reads a quoted field starting at line[i] == '"' and returns its
// content and the index just past the closing quote.
func readQuoted(line string, i int) (string, int, error) {
	var b strings.Builder
	start := i
	i++
	for i < len(line) {
		c := line[i]
		if c == '"' {
			if i+1 < len(line) && line[i+1] == '"' {
				b.WriteByte('"')
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(c)
		i++
	}
	return "", 0, fmt.Errorf("unterminated quote starting at byte %d", start+1)
}
