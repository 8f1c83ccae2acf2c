package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/interp"
)

// W2Exact returns the Wasserstein-2 distance W2 (NOT its square; units of the
// data) between the empirical measures of x and y, both n×d with equal
// weights 1/n, computed exactly as an assignment problem:
//
//	W2² = min over permutations σ of (1/n) Σ_i |x_i − y_σ(i)|²
//
// (for equal-size uniform empirical measures an optimal coupling is a
// permutation: Birkhoff–von Neumann; Peyré & Cuturi, "Computational Optimal
// Transport", arXiv 1803.00567, Prop. 2.1), solved with interp.Assigner on the
// interp.CenteredSqEuclideanCost matrix (same optimum as the plain squared
// Euclidean cost). In 1D it equals the sorted matching.
//
// When n > maxN, maxN rows of x and, independently, maxN rows of y are drawn
// without replacement with rng, and the W2 of the two subsamples is returned
// (rng is not used, and may be nil, when n ≤ maxN). The cost matrix takes
// 8·k² bytes (k = min(n, maxN); 134 MB at k = 4096) and the solve is O(k³) in
// the worst case, far less on point clouds: keep maxN near 1000–2000.
//
// The empirical W2 overestimates the W2 of the underlying distributions by a
// finite-sample term that shrinks slowly with k in high dimension (about
// k^(−1/d)); compare models at the same k.
//
// Errors: n < 1, d < 1, len(x) or len(y) ≠ n·d, a NaN or ±Inf entry,
// maxN < 1, rng nil when subsampling is needed, or a failed assignment.
func W2Exact(x, y []float64, n, d, maxN int, rng *rand.Rand) (float64, error) {
	if err := checkPair("exact W2", x, y, n, n, d, 1); err != nil {
		return 0, err
	}
	if maxN < 1 {
		return 0, fmt.Errorf("metrics: exact W2: maxN = %d, want ≥ 1", maxN)
	}
	k := n
	if n > maxN {
		if rng == nil {
			return 0, fmt.Errorf("metrics: exact W2: nil random source, needed to subsample %d of %d rows", maxN, n)
		}
		k = maxN
		x = subsampleRows(x, n, d, k, rng)
		y = subsampleRows(y, n, d, k, rng)
	}
	// The centered cost has the same optimal matching and keeps the solver
	// fast when the clouds are apart; the transport cost is then summed on
	// the original points.
	cost := make([]float64, k*k)
	interp.CenteredSqEuclideanCost(x, y, k, k, d, cost)
	perm := make([]int, k)
	var a interp.Assigner
	if _, err := a.Solve(cost, k, perm); err != nil {
		return 0, fmt.Errorf("metrics: exact W2: %w", err)
	}
	total := 0.0
	for i, j := range perm {
		for c := 0; c < d; c++ {
			e := x[i*d+c] - y[j*d+c]
			total += e * e
		}
	}
	return math.Sqrt(total / float64(k)), nil
}

// subsampleRows returns k rows of the n×d matrix x drawn without
// replacement with rng, in the order drawn.
func subsampleRows(x []float64, n, d, k int, rng *rand.Rand) []float64 {
	idx := rng.Perm(n)[:k]
	out := make([]float64, k*d)
	for i, r := range idx {
		copy(out[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	return out
}
