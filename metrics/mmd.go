package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// MMD2 is MMD2Unbiased, kept under its original name for existing callers:
// the unbiased estimate of the squared maximum mean discrepancy with the
// Gaussian kernel k(a, b) = exp(−|a − b|²/(2·bw²)) between x (n×d) and y
// (m×d). See MMD2Unbiased for units, errors and the reference.
func MMD2(x, y []float64, n, m, d int, bw float64) (float64, error) {
	return MMD2Unbiased(x, y, n, m, d, bw)
}

// MMD2Unbiased returns the unbiased estimate (a U-statistic) of the squared
// maximum mean discrepancy between the distributions of x (n×d) and y (m×d)
// with the Gaussian kernel k(a, b) = exp(−|a − b|²/(2·bw²)):
//
//	MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j)
//	         − 2/(nm) Σ_{i,j} k(x_i, y_j)
//
// (Gretton et al., "A kernel two-sample test", JMLR 13, 2012, eq. 3). It is
// dimensionless (the kernel is), lies in (−2, 2), and can be negative when the
// distributions agree: its mean is 0 under the null. bw is in the units of the
// data; MedianBandwidth gives the usual choice. The cost is O((n+m)²·d),
// parallel over row chunks, with O(1) extra memory per chunk.
//
// Errors: n or m < 2, d < 1, len(x) ≠ n·d or len(y) ≠ m·d, a NaN or ±Inf
// entry (named by row and column), or bw not positive and finite.
func MMD2Unbiased(x, y []float64, n, m, d int, bw float64) (float64, error) {
	return MMD2Multi(x, y, n, m, d, []float64{bw})
}

// MMD2Multi returns the unbiased squared MMD (see MMD2Unbiased) with the
// multi-bandwidth kernel
//
//	k(a, b) = (1/B) Σ_b exp(−|a − b|²/(2·bw_b²)),
//
// the MEAN over the B bandwidths in bws of the single-kernel MMD²_u (the MMD
// is linear in the kernel, so this equals the mean of MMD2Unbiased over bws,
// and stays in (−2, 2) whatever B is). Averaging kernels over a range of
// bandwidths is the common remedy for a single badly chosen bandwidth
// (Gretton et al., "Optimal kernel choice for large-scale two-sample tests",
// NeurIPS 2012, uses combinations of Gaussian kernels; Li et al., MMD GAN,
// arXiv 1705.08584, use a sum). DefaultBandwidths gives the median heuristic
// times {0.5, 1, 2}. Pairwise squared distances are computed once for all
// bandwidths.
//
// Errors: as MMD2Unbiased, and for an empty bws (every bandwidth must be
// positive and finite; the error names the first one that is not).
func MMD2Multi(x, y []float64, n, m, d int, bws []float64) (float64, error) {
	if err := checkPair("MMD", x, y, n, m, d, 2); err != nil {
		return 0, err
	}
	k, err := gaussKernel(bws)
	if err != nil {
		return 0, err
	}
	return mmd2FromData(x, y, n, m, d, k), nil
}

// DefaultBandwidths returns the Gaussian-kernel bandwidths MedianBandwidth ×
// {0.5, 1, 2} for MMD2Multi and MMDTest, in the units of the data, from x
// (n×d) and y (m×d) pooled. Errors: n or m < 1, d < 1, mismatched lengths,
// a NaN or ±Inf entry, or a median pairwise distance of 0 (more than half of
// the pooled rows coincide, so no bandwidth can be derived from the data).
func DefaultBandwidths(x, y []float64, n, m, d int) ([]float64, error) {
	if err := checkPair("default bandwidths", x, y, n, m, d, 1); err != nil {
		return nil, err
	}
	med := MedianBandwidth(x, y, n, m, d)
	if !(med > 0) {
		return nil, fmt.Errorf("metrics: default bandwidths: median pairwise distance is %v; choose bandwidths explicitly", med)
	}
	return []float64{0.5 * med, med, 2 * med}, nil
}

// gaussKernel returns k(r²) = mean over bws of exp(−r²/(2·bw²)).
func gaussKernel(bws []float64) (func(float64) float64, error) {
	if len(bws) == 0 {
		return nil, fmt.Errorf("metrics: MMD: no bandwidths given")
	}
	gs := make([]float64, len(bws))
	for i, bw := range bws {
		if !(bw > 0) || math.IsInf(bw, 0) {
			if len(bws) == 1 {
				return nil, fmt.Errorf("metrics: MMD: bandwidth must be positive, got %g", bw)
			}
			return nil, fmt.Errorf("metrics: MMD: bandwidth %d must be positive, got %g", i, bw)
		}
		gs[i] = -1 / (2 * bw * bw)
	}
	if len(gs) == 1 {
		g := gs[0]
		return func(r2 float64) float64 { return math.Exp(g * r2) }, nil
	}
	inv := 1 / float64(len(gs))
	return func(r2 float64) float64 {
		var s float64
		for _, g := range gs {
			s += math.Exp(g * r2)
		}
		return s * inv
	}, nil
}

// mmd2FromData is the U-statistic of MMD2Unbiased from three pairwise sums.
func mmd2FromData(x, y []float64, n, m, d int, k func(float64) float64) float64 {
	sxx := pairSum(x, n, x, n, d, true, k)
	syy := pairSum(y, m, y, m, d, true, k)
	sxy := pairSum(x, n, y, m, d, false, k)
	return mmd2FromSums(sxx, syy, sxy, n, m)
}

// mmd2FromSums combines the sums over unordered within-sample pairs (sxx,
// syy) and over all cross pairs (sxy) into MMD²_u.
func mmd2FromSums(sxx, syy, sxy float64, n, m int) float64 {
	fn, fm := float64(n), float64(m)
	return 2*sxx/(fn*(fn-1)) + 2*syy/(fm*(fm-1)) - 2*sxy/(fn*fm)
}

// MMDTestResult is the outcome of MMDTest.
type MMDTestResult struct {
	// Stat is the observed MMD²_u (MMD2Multi of the two samples).
	Stat float64
	// Threshold is the permutation (1−α) quantile of MMD²_u under the null:
	// the (r+1)-th largest of the permuted statistics, r = ⌊α(P+1)⌋ − 1 for
	// P permutations, so that Stat > Threshold exactly when PValue ≤ α.
	Threshold float64
	// PValue is (1 + #{permuted statistics ≥ Stat})/(1 + P), the permutation
	// p-value with the +1 correction that keeps the test exact at level α.
	PValue float64
	// Reject reports Stat > Threshold (equivalently PValue ≤ α): the samples
	// are judged to come from different distributions.
	Reject bool
}

// matrixLimit is the largest pooled size n+m for which MMDTest stores the
// pooled kernel matrix (upper triangle, 8·N(N−1)/2 bytes: 67 MB at 4096).
const matrixLimit = 4096

// MMDTest runs the permutation two-sample test of H0: x and y (n×d and m×d)
// come from the same distribution, with the statistic MMD2Multi(bws)
// (Gretton et al., "A kernel two-sample test", JMLR 2012, with a
// permutation null distribution in place of their asymptotic one). The rows are pooled, randomly relabelled perms times with
// rng (uniform permutations of the n+m rows, the first n labelled x), and the
// statistic recomputed on each relabelling; see MMDTestResult for the
// threshold and p-value. For n+m ≤ 4096 the pooled kernel matrix is computed
// once (upper triangle, at most 67 MB) and each permutation costs (n+m)²/2
// multiply-adds; above that each permutation recomputes the kernel in row
// chunks (O((n+m)²·d) exponentials, no quadratic memory). Results do not
// depend on GOMAXPROCS.
//
// Errors: as MMD2Multi; perms < 1; alpha outside (0, 1); perms too few for
// the test ever to reject at level alpha (⌊alpha·(perms+1)⌋ < 1); rng nil.
func MMDTest(x, y []float64, n, m, d int, bws []float64, perms int, alpha float64, rng *rand.Rand) (MMDTestResult, error) {
	return mmdTest(x, y, n, m, d, bws, perms, alpha, rng, matrixLimit)
}

// mmdTest is MMDTest with the kernel-matrix size limit as a parameter, so
// tests can compare the two paths.
func mmdTest(x, y []float64, n, m, d int, bws []float64, perms int, alpha float64, rng *rand.Rand, limit int) (MMDTestResult, error) {
	if err := checkPair("MMD test", x, y, n, m, d, 2); err != nil {
		return MMDTestResult{}, err
	}
	k, err := gaussKernel(bws)
	if err != nil {
		return MMDTestResult{}, err
	}
	if perms < 1 {
		return MMDTestResult{}, fmt.Errorf("metrics: MMD test: need at least 1 permutation, got %d", perms)
	}
	if !(alpha > 0 && alpha < 1) {
		return MMDTestResult{}, fmt.Errorf("metrics: MMD test: level alpha must be in (0, 1), got %g", alpha)
	}
	// r is the largest number of permuted statistics ≥ Stat that still
	// gives PValue = (1+count)/(1+perms) ≤ alpha.
	r := int(math.Floor(alpha*float64(perms+1)+1e-9)) - 1
	if r < 0 {
		return MMDTestResult{}, fmt.Errorf("metrics: MMD test: with %d permutations the smallest p-value is 1/%d > alpha = %g; use at least %d", perms, perms+1, alpha, int(math.Ceil(1/alpha-1e-9))-1)
	}
	if rng == nil {
		return MMDTestResult{}, fmt.Errorf("metrics: MMD test: nil random source")
	}
	N := n + m
	z := make([]float64, 0, N*d)
	z = append(append(z, x...), y...)

	var stat func(inX []bool) float64
	if N <= limit {
		stat = pooledKernelStat(z, n, m, d, k)
	} else {
		xp := make([]float64, n*d)
		yp := make([]float64, m*d)
		stat = func(inX []bool) float64 {
			ix, iy := 0, 0
			for i, in := range inX {
				row := z[i*d : (i+1)*d]
				if in {
					copy(xp[ix*d:], row)
					ix++
				} else {
					copy(yp[iy*d:], row)
					iy++
				}
			}
			return mmd2FromData(xp, yp, n, m, d, k)
		}
	}

	inX := make([]bool, N)
	for i := range n {
		inX[i] = true
	}
	res := MMDTestResult{Stat: stat(inX)}
	idx := make([]int, N)
	for i := range idx {
		idx[i] = i
	}
	null := make([]float64, perms)
	count := 0
	for p := range null {
		rng.Shuffle(N, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for i, row := range idx {
			inX[row] = i < n
		}
		null[p] = stat(inX)
		if null[p] >= res.Stat {
			count++
		}
	}
	slices.Sort(null)
	res.Threshold = null[perms-1-r]
	res.PValue = float64(1+count) / float64(1+perms)
	res.Reject = res.Stat > res.Threshold
	return res, nil
}

// pooledKernelStat computes the upper triangle of the kernel matrix of the
// pooled rows z ((n+m)×d) and returns a function giving MMD²_u for a
// labelling inX (true: the row belongs to the x sample, n such rows).
//
// With row i's upper-triangle sums R_i = Σ_{j>i} K_ij and
// D_i = Σ_{j>i, j∈X} K_ij, each unordered pair is counted once:
// Sxx = Σ_{i∈X} D_i, Syy = Σ_{i∈Y} (R_i − D_i), and the cross pairs
// Sxy = Σ_{i∈Y} D_i + Σ_{i∈X} (R_i − D_i).
func pooledKernelStat(z []float64, n, m, d int, k func(float64) float64) func([]bool) float64 {
	N := n + m
	off := make([]int, N+1) // row i of the triangle is tri[off[i]:off[i+1]], columns i+1..N−1
	for i := range N {
		off[i+1] = off[i] + N - 1 - i
	}
	tri := make([]float64, off[N])
	rowSum := make([]float64, N)
	forChunks(N, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			zi := z[i*d : (i+1)*d]
			row := tri[off[i]:off[i+1]]
			var s float64
			for jj := range row {
				j := i + 1 + jj
				row[jj] = k(sqDist(zi, z[j*d:(j+1)*d]))
				s += row[jj]
			}
			rowSum[i] = s
		}
	})
	mask := make([]float64, N)
	dot := make([]float64, N)
	return func(inX []bool) float64 {
		for i, in := range inX {
			mask[i] = 0
			if in {
				mask[i] = 1
			}
		}
		forChunks(N, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				row := tri[off[i]:off[i+1]]
				mk := mask[i+1:]
				var s float64
				for jj, v := range row {
					s += v * mk[jj]
				}
				dot[i] = s
			}
		})
		var sxx, syy, sxy float64
		for i, in := range inX {
			if in {
				sxx += dot[i]
				sxy += rowSum[i] - dot[i]
			} else {
				syy += rowSum[i] - dot[i]
				sxy += dot[i]
			}
		}
		return mmd2FromSums(sxx, syy, sxy, n, m)
	}
}
