package serve

import (
	"reflect"
	"testing"
)

// headerPerm matches a header as iterflow logprob does (data.HeaderIndex),
// also when the model's column names are numbers.
func TestHeaderPerm(t *testing.T) {
	cases := []struct {
		columns, rec []string
		perm         []int
		problem      string
	}{
		{[]string{"a", "b", "c"}, []string{"c", "A", " b "}, []int{2, 0, 1}, ""},
		{[]string{"a", "b", "c"}, []string{"a", "B", "b", "c"}, nil,
			`the CSV header does not match the model's columns a,b,c: unknown "B" (give each column name once, in any order, or send no header)`},
		{[]string{"a", "b", "c"}, []string{"1", "2", "3"}, nil, ""},
		{[]string{"1", "2"}, []string{"2", "1"}, []int{1, 0}, ""},
		{[]string{"x", "y"}, []string{"X", "y"}, []int{0, 1}, ""},
		{nil, []string{"a"}, nil, ""},
	}
	for _, tc := range cases {
		rd := &rowDecoder{d: len(tc.columns), columns: tc.columns}
		perm, problem := rd.headerPerm(tc.rec)
		if !reflect.DeepEqual(perm, tc.perm) || problem != tc.problem {
			t.Errorf("columns %q, header %q: %v, %q; want %v, %q", tc.columns, tc.rec, perm, problem, tc.perm, tc.problem)
		}
	}
}
