package interp

import (
	"fmt"
	"math"
)

// Exponential returns the step-size schedule γ_k = c·ρ^(k−1), k = 1..n, as used
// for the OU steps of Local Flow Matching (arXiv 2410.02548, 2D settings
// 0.025·1.25^k) and the JKO steps of JKO-iFlow (arXiv 2212.14424, 0.25·1.4^k).
// It is an error for n < 1, c ≤ 0 or ρ ≤ 0.
func Exponential(c, rho float64, n int) ([]float64, error) {
	switch {
	case n < 1:
		return nil, fmt.Errorf("schedule: need at least 1 step, got %d", n)
	case !(c > 0) || math.IsInf(c, 0):
		return nil, fmt.Errorf("schedule: initial step c must be positive and finite, got %g", c)
	case !(rho > 0) || math.IsInf(rho, 0):
		return nil, fmt.Errorf("schedule: ratio rho must be positive and finite, got %g", rho)
	}
	out := make([]float64, n)
	for k := range out {
		out[k] = c * math.Pow(rho, float64(k))
	}
	return out, nil
}

// CheckSteps reports an error naming the first step size that is not positive
// and finite.
func CheckSteps(steps []float64) error {
	if len(steps) == 0 {
		return fmt.Errorf("schedule: empty list of step sizes")
	}
	for i, s := range steps {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("schedule: step %d is %g; step sizes must be positive and finite", i+1, s)
		}
	}
	return nil
}
