package interp

import (
	"fmt"
	"math"
	"strings"
)

// Interpolant is a path I_t between x0 (t = 0) and x1 (t = 1) together with its
// time derivative ∂_t I_t, the regression target of flow matching.
type Interpolant int

const (
	// Trig is I_t = cos(πt/2)·x0 + sin(πt/2)·x1, with
	// ∂_t I_t = (π/2)(cos(πt/2)·x1 − sin(πt/2)·x0). Local Flow Matching uses it
	// for 2D and tabular data (arXiv 2410.02548 §3).
	Trig Interpolant = iota
	// Linear is I_t = (1 − t)·x0 + t·x1, with ∂_t I_t = x1 − x0 (rectified flow,
	// arXiv 2209.03003; LFM for images).
	Linear
)

var interpolantNames = [...]string{"trig", "linear"}

// String returns the name used in configs and flags ("trig", "linear").
func (p Interpolant) String() string {
	if p < 0 || int(p) >= len(interpolantNames) {
		return fmt.Sprintf("Interpolant(%d)", int(p))
	}
	return interpolantNames[p]
}

// ParseInterpolant maps "trig" or "linear" (case-insensitive) to an
// Interpolant; any other name is an error listing the valid ones.
func ParseInterpolant(s string) (Interpolant, error) {
	for i, n := range interpolantNames {
		if strings.EqualFold(s, n) {
			return Interpolant(i), nil
		}
	}
	return 0, fmt.Errorf("unknown interpolant %q (want one of %s)", s, strings.Join(interpolantNames[:], ", "))
}

// Coefficients returns (a, b, da, db) such that I_t = a·x0 + b·x1 and
// ∂_t I_t = da·x0 + db·x1 at time t.
func (p Interpolant) Coefficients(t float64) (a, b, da, db float64) {
	switch p {
	case Linear:
		return 1 - t, t, -1, 1
	default: // Trig
		s, c := math.Sincos(math.Pi * t / 2)
		return c, s, -math.Pi / 2 * s, math.Pi / 2 * c
	}
}

// Eval writes I_t into xt and ∂_t I_t into dxt for each of the n rows, with a
// time t[i] per row. x0, x1, xt and dxt are n×d; t has length n. It panics if
// the lengths disagree (a programming error, not a data error).
func Eval[T Float](p Interpolant, t []T, x0, x1 []T, n, d int, xt, dxt []T) {
	if len(t) < n || len(x0) < n*d || len(x1) < n*d || len(xt) < n*d || len(dxt) < n*d {
		panic("interp: Eval: slice shorter than n×d")
	}
	for i := 0; i < n; i++ {
		a, b, da, db := p.Coefficients(float64(t[i]))
		fa, fb, fda, fdb := T(a), T(b), T(da), T(db)
		r0, r1 := x0[i*d:(i+1)*d], x1[i*d:(i+1)*d]
		rt, rd := xt[i*d:(i+1)*d], dxt[i*d:(i+1)*d]
		for j := range r0 {
			rt[j] = fa*r0[j] + fb*r1[j]
			rd[j] = fda*r0[j] + fdb*r1[j]
		}
	}
}
