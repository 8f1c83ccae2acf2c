package metrics

import (
	"fmt"
	"math"
)

// InversionError measures a round trip such as Forward∘Inverse of a flow:
// x is the original n×d matrix and xr its reconstruction. It returns the
// largest absolute entry-wise error max |x − xr| and the root mean square
// error over all n·d entries, sqrt((1/(n·d)) Σ (x − xr)²), both in the units
// of the data. A NaN or ±Inf entry in either matrix (a failed solve) gives
// +Inf for both, never NaN.
//
// Errors: n < 1, d < 1, or len(x) or len(xr) ≠ n·d.
func InversionError(x, xr []float64, n, d int) (maxAbs, rms float64, err error) {
	if n < 1 || d < 1 || len(x) != n*d || len(xr) != n*d {
		return 0, 0, fmt.Errorf("metrics: inversion error: got %d and %d values for two %d×%d matrices", len(x), len(xr), n, d)
	}
	var ss float64
	for i, v := range x {
		e := math.Abs(v - xr[i])
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return math.Inf(1), math.Inf(1), nil
		}
		maxAbs = max(maxAbs, e)
		ss += e * e
	}
	return maxAbs, math.Sqrt(ss / float64(n*d)), nil
}
