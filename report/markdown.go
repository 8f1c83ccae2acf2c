package report

import (
	"strings"
	"unicode/utf8"
)

// Table returns a GitHub-flavoured markdown table with the given header row
// and body rows, one line each, columns padded to a common width, ending in a
// newline. A row shorter than the header is padded with empty cells; a longer
// one widens the table with empty header cells. In cells, "|" is escaped as
// "\|" and line breaks become spaces.
func Table(headers []string, rows [][]string) string {
	ncol := len(headers)
	for _, r := range rows {
		ncol = max(ncol, len(r))
	}
	if ncol == 0 {
		return ""
	}
	cell := func(r []string, j int) string {
		if j >= len(r) {
			return ""
		}
		s := strings.ReplaceAll(r[j], "|", `\|`)
		s = strings.ReplaceAll(s, "\r\n", " ")
		return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	}
	width := make([]int, ncol)
	for j := range width {
		width[j] = max(3, utf8.RuneCountInString(cell(headers, j)))
		for _, r := range rows {
			width[j] = max(width[j], utf8.RuneCountInString(cell(r, j)))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteByte('|')
		for j := 0; j < ncol; j++ {
			c := cell(r, j)
			b.WriteByte(' ')
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[j]-utf8.RuneCountInString(c)))
			b.WriteString(" |")
		}
		b.WriteByte('\n')
	}
	line(headers)
	b.WriteByte('|')
	for j := 0; j < ncol; j++ {
		b.WriteString(strings.Repeat("-", width[j]+2))
		b.WriteByte('|')
	}
	b.WriteByte('\n')
	for _, r := range rows {
		line(r)
	}
	return b.String()
}
