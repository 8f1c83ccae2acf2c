package wording

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 columns"}, {1, "1 column"}, {2, "2 columns"}, {-1, "-1 columns"}} {
		if got := Plural(tc.n, "column"); got != tc.want {
			t.Errorf("Plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
