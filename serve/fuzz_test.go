package serve

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// checkDecoded checks a decoder's result: either a request error with a 4xx
// status, or n ≥ 1 rows of d finite values.
func checkDecoded(t *testing.T, x []float64, n, d int, err error) {
	t.Helper()
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) || re.status < 400 || re.status > 499 || re.msg == "" {
			t.Fatalf("error %v is not a 4xx request error", err)
		}
		return
	}
	if n < 1 || len(x) != n*d {
		t.Fatalf("%d values for %d rows of %d", len(x), n, d)
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value %v accepted", v)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"rows": [[1,2],[3,4]]}`, `[[1,2]]`, `[[1,"x"]]`, `{"rows": []}`, `[[1e999,2]]`, `[[1,2],[3]]`, `{"a":1}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rd := rowDecoder{d: 2, maxRows: 50, columns: []string{"a", "b"}}
		x, n, err := rd.decodeJSON(strings.NewReader(s), 1<<20)
		checkDecoded(t, x, n, 2, err)
	})
}

func FuzzDecodeCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "1,2\n3,4\n", "1,NaN\n", "b,a\n1,2\n", "1,\"2\n", "\n\n", "1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rd := rowDecoder{d: 2, maxRows: 50, columns: []string{"a", "b"}}
		x, n, err := rd.decodeCSV(strings.NewReader(s), 1<<20)
		checkDecoded(t, x, n, 2, err)
	})
}
