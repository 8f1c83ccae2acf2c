package data

import (
	"errors"
	"testing"
)

func TestHeaderIndex(t *testing.T) {
	cases := []struct {
		header []string
		name   string
		want   int
		err    string
	}{
		{[]string{"a", "b"}, "b", 1, ""},
		{[]string{" a ", "b"}, "a", 0, ""},
		{[]string{"A", "b"}, "a", 0, ""},
		{[]string{"A", "a"}, "a", 1, ""},            // an exact match wins
		{[]string{"A", "x", "a", " A"}, "a", 2, ""}, // over two case-only matches too
		{[]string{"b", "c"}, "a", -1, ""},
		{nil, "a", -1, ""},
		{[]string{"a", "x", "a"}, "a", -1, `the header names the column "a" twice (columns 0 and 2, counting from 0)`},
		{[]string{"Ab", "x", "aB", "AB"}, "ab", -1, `the header's columns 0 and 2 (counting from 0) both match the column "ab" ignoring case`},
	}
	for _, tc := range cases {
		got, err := HeaderIndex(tc.header, tc.name)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("HeaderIndex(%q, %q) = %d, %v; want %d, %q", tc.header, tc.name, got, err, tc.want, tc.err)
		}
		var me *HeaderMatchError
		if err != nil && !errors.As(err, &me) {
			t.Errorf("HeaderIndex(%q, %q): error %T, want *HeaderMatchError", tc.header, tc.name, err)
		}
	}
}
