package metrics

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// rowChunk is the number of rows of one unit of parallel work. It is fixed
// (not derived from GOMAXPROCS) so that partial sums, and hence results, do
// not depend on the number of threads.
const rowChunk = 32

// forChunks calls f(c, lo, hi) for every chunk c of rowChunk rows of
// 0..n−1 ([lo, hi) its rows), on up to GOMAXPROCS goroutines that take
// chunks in turn (the early chunks of a triangular sum are the longest). It
// returns when all calls have returned. f must write only to state owned by
// chunk c.
func forChunks(n int, f func(c, lo, hi int)) {
	nch := (n + rowChunk - 1) / rowChunk
	workers := min(runtime.GOMAXPROCS(0), nch)
	if workers <= 1 {
		for c := 0; c < nch; c++ {
			f(c, c*rowChunk, min(n, (c+1)*rowChunk))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= nch {
					return
				}
				f(c, c*rowChunk, min(n, (c+1)*rowChunk))
			}
		})
	}
	wg.Wait()
}

// pairSum returns Σ_i Σ_j k(|a_i − b_j|²) over the rows a_i of a (na×d) and
// b_j of b (nb×d): over all pairs, or only over j > i when upper is set (then
// a and b are the same matrix and the sum covers each unordered pair once).
// Partial sums are kept per row chunk and added in chunk order.
func pairSum(a []float64, na int, b []float64, nb, d int, upper bool, k func(r2 float64) float64) float64 {
	part := make([]float64, (na+rowChunk-1)/rowChunk)
	forChunks(na, func(c, lo, hi int) {
		var s float64
		for i := lo; i < hi; i++ {
			ai := a[i*d : (i+1)*d]
			j0 := 0
			if upper {
				j0 = i + 1
			}
			var row float64
			for j := j0; j < nb; j++ {
				row += k(sqDist(ai, b[j*d:(j+1)*d]))
			}
			s += row
		}
		part[c] = s
	})
	var s float64
	for _, p := range part {
		s += p
	}
	return s
}

// checkPair validates two samples x (n×d) and y (m×d) for the measure named
// op: shapes, at least minRows rows each, and finite entries.
func checkPair(op string, x, y []float64, n, m, d, minRows int) error {
	if n < minRows || m < minRows || d < 1 || len(x) != n*d || len(y) != m*d {
		return fmt.Errorf("metrics: %s: got %d and %d values for %d×%d and %d×%d samples (need at least %d rows each)", op, len(x), len(y), n, d, m, d, minRows)
	}
	if err := checkFinite(op, "x", x, d); err != nil {
		return err
	}
	return checkFinite(op, "y", y, d)
}

// checkFinite reports the first NaN or ±Inf entry of the n×d matrix x.
func checkFinite(op, name string, x []float64, d int) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metrics: %s: %s row %d, column %d is %v", op, name, i/d, i%d, v)
		}
	}
	return nil
}
