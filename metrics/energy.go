package metrics

import "math"

// EnergyDistance returns the energy distance between the empirical
// distributions of x (n×d) and y (m×d), the V-statistic
//
//	E = 2/(nm) Σ_{i,j} |x_i − y_j| − 1/n² Σ_{i,j} |x_i − x_j| − 1/m² Σ_{i,j} |y_i − y_j|
//
// with Euclidean norms (Székely & Rizzo, "Energy statistics: A class of
// statistics based on distances", J. Stat. Planning and Inference 143,
// 2013, applied to the empirical measures). Units: those of the data
// (a difference of mean distances, not squared, although E behaves like a
// squared distance: it is ≥ 0, 0 only for identical empirical measures, and
// its square root is a metric). In 1D, E = 2∫(F_n(t) − G_m(t))² dt with the
// empirical CDFs. The V-statistic is biased upwards by O(1/n + 1/m) when the
// distributions agree (the unbiased U-statistic divides the within sums by
// n(n−1) and m(m−1) and can be negative); report it with the sample sizes.
//
// The cost is O((n+m)²·d), parallel over row chunks, with no quadratic
// memory. Errors: n or m < 1, d < 1, mismatched lengths, a NaN or ±Inf entry.
func EnergyDistance(x, y []float64, n, m, d int) (float64, error) {
	if err := checkPair("energy distance", x, y, n, m, d, 1); err != nil {
		return 0, err
	}
	sxy := pairSum(x, n, y, m, d, false, math.Sqrt)
	sxx := pairSum(x, n, x, n, d, true, math.Sqrt)
	syy := pairSum(y, m, y, m, d, true, math.Sqrt)
	fn, fm := float64(n), float64(m)
	return 2*sxy/(fn*fm) - 2*sxx/(fn*fn) - 2*syy/(fm*fm), nil
}
