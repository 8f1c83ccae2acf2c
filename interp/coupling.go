package interp

import "math"

// OUCoefficients returns (e^{−γ}, √(1 − e^{−2γ})): the transition of the
// Ornstein–Uhlenbeck process dX = −X dt + √2 dW over a time γ is
// X_γ = e^{−γ}·X_0 + √(1 − e^{−2γ})·Z with Z ~ N(0, I) (LFM, arXiv 2410.02548 §3).
func OUCoefficients(gamma float64) (decay, noise float64) {
	return math.Exp(-gamma), math.Sqrt(-math.Expm1(-2 * gamma))
}

// OUStep writes the dependent coupling's target x1 = e^{−γ}·x0 + √(1 − e^{−2γ})·z
// for n×d matrices x0 and z (fresh standard normal noise) into x1. This pairs each
// pool sample with its own OU transition, as Local Flow Matching does.
func OUStep[T Float](gamma float64, x0, z, x1 []T) {
	a, b := OUCoefficients(gamma)
	fa, fb := T(a), T(b)
	for i := range x1 {
		x1[i] = fa*x0[i] + fb*z[i]
	}
}
