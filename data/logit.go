package data

import (
	"fmt"
	"math"

	"github.com/iterflow/iterflow/internal/wording"
)

// Logit is the per-column logit transform for bounded data, the "logit trick"
// of RealNVP (Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real
// NVP", arXiv 1605.08803, §4.1): a column with values in [Lo[j], Hi[j]] is
// mapped to the whole real line by
//
//	u = (x − Lo[j])/(Hi[j] − Lo[j]),  p = Alpha + (1 − 2·Alpha)·u,  y = log(p/(1 − p)),
//
// so that a flow with a Gaussian base never puts mass outside the bounds. The
// map is invertible (Inverse) and its log-determinant depends on x (LogDet):
//
//	log|det ∂y/∂x| = Σ_j [log(1 − 2·Alpha) − log(Hi[j] − Lo[j]) − log p_j − log(1 − p_j)],
//
// in nats, so log p_x(x) = log p_y(y) + LogDet(x) keeps likelihoods in the
// units of the user's data. For 8-bit images after uniform dequantization use
// Lo = 0, Hi = 256 and Alpha = 0.05 (RealNVP's choice); Alpha = 0 is allowed
// but then a value exactly at a bound has no finite image and is an error.
//
// Lo and Hi have one entry per column (d = len(Lo)); Lo[j] < Hi[j], both
// finite; 0 ≤ Alpha < 0.5. The fields are exported so that a checkpoint can
// store them as JSON. All methods check them and the shapes and return an
// error rather than panicking.
type Logit struct {
	Lo, Hi []float64
	Alpha  float64
}

// check validates the parameters and that x holds n rows of d = len(Lo).
func (l *Logit) check(x []float64, n int) (int, error) {
	d := len(l.Lo)
	if len(l.Hi) != d {
		return 0, fmt.Errorf("logit: %d lower and %d upper bounds", d, len(l.Hi))
	}
	if !(l.Alpha >= 0 && l.Alpha < 0.5) {
		return 0, fmt.Errorf("logit: Alpha = %v, want 0 ≤ Alpha < 0.5", l.Alpha)
	}
	for j := 0; j < d; j++ {
		lo, hi := l.Lo[j], l.Hi[j]
		if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) || !(lo < hi) || math.IsInf(hi-lo, 0) {
			return 0, fmt.Errorf("logit: column %d: bounds [%v, %v], want finite Lo < Hi", j, lo, hi)
		}
	}
	if n < 0 || len(x) != n*d {
		return 0, fmt.Errorf("logit: %s as %s of %s", wording.Plural(len(x), "value"), wording.Plural(n, "row"), wording.Plural(d, "column"))
	}
	return d, nil
}

// probs returns p and 1 − p for value v of column j, each computed without
// cancellation, or an error naming row i and column j if v is outside
// [Lo[j], Hi[j]] or at a bound with Alpha = 0.
func (l *Logit) probs(v float64, i, j int) (p, q float64, err error) {
	lo, hi := l.Lo[j], l.Hi[j]
	if !(v >= lo && v <= hi) {
		return 0, 0, fmt.Errorf("logit: row %d, column %d: value %v outside the bounds [%v, %v]", i, j, v, lo, hi)
	}
	w := hi - lo
	s := 1 - 2*l.Alpha
	p = l.Alpha + s*((v-lo)/w)
	q = l.Alpha + s*((hi-v)/w)
	if p <= 0 || q <= 0 {
		return 0, 0, fmt.Errorf("logit: row %d, column %d: value %v at a bound of [%v, %v] has no finite logit with Alpha = 0", i, j, v, lo, hi)
	}
	return p, q, nil
}

// validate checks every value of x before anything is changed.
func (l *Logit) validate(x []float64, n, d int) error {
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			if _, _, err := l.probs(v, i, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// Forward maps x (n×d, row-major, in data units) to the logit scale in place:
// x[i,j] ← log(p/(1−p)) with p as in the type's doc. It returns an error,
// leaving x unchanged, for invalid parameters, len(x) != n·d, or a value
// outside its column's bounds (naming the 0-based row and column).
func (l *Logit) Forward(x []float64, n int) error {
	return l.forward(x, n, nil)
}

// ForwardLogDet is Forward that also adds the per-row log|det ∂y/∂x| (nats)
// to logdet (length n), in one pass: logdet[i] += LogDet of row i. Errors are
// Forward's and a wrong len(logdet); on error x and logdet are unchanged.
func (l *Logit) ForwardLogDet(x []float64, n int, logdet []float64) error {
	if len(logdet) != n {
		return fmt.Errorf("logit: len(logdet) = %d, want n = %d", len(logdet), n)
	}
	return l.forward(x, n, logdet)
}

func (l *Logit) forward(x []float64, n int, logdet []float64) error {
	d, err := l.check(x, n)
	if err != nil {
		return err
	}
	if err := l.validate(x, n, d); err != nil {
		return err
	}
	c := l.constLogDet()
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		var ld float64
		for j, v := range row {
			p, q, _ := l.probs(v, i, j)
			lp, lq := math.Log(p), math.Log(q)
			row[j] = lp - lq
			ld -= lp + lq
		}
		if logdet != nil {
			logdet[i] += c + ld
		}
	}
	return nil
}

// constLogDet is Σ_j [log(1 − 2·Alpha) − log(Hi[j] − Lo[j])].
func (l *Logit) constLogDet() float64 {
	var c float64
	s := math.Log1p(-2 * l.Alpha)
	for j := range l.Lo {
		c += s - math.Log(l.Hi[j]-l.Lo[j])
	}
	return c
}

// LogDet adds to out[i] (len(out) = n) the log|det ∂y/∂x| of Forward at row i
// of x (n×d, data units, not modified), in nats:
// log p_x(x) = log p_y(Forward(x)) + LogDet. Errors are Forward's and a wrong
// len(out); on error out is unchanged.
func (l *Logit) LogDet(x []float64, n int, out []float64) error {
	d, err := l.check(x, n)
	if err != nil {
		return err
	}
	if len(out) != n {
		return fmt.Errorf("logit: len(out) = %d, want n = %d", len(out), n)
	}
	if err := l.validate(x, n, d); err != nil {
		return err
	}
	c := l.constLogDet()
	for i := 0; i < n; i++ {
		ld := c
		for j, v := range x[i*d : (i+1)*d] {
			p, q, _ := l.probs(v, i, j)
			ld -= math.Log(p) + math.Log(q)
		}
		out[i] += ld
	}
	return nil
}

// Inverse maps y (n×d, logit scale) back to data units in place:
// p = 1/(1 + e^(−y)), x = Lo + (p − Alpha)/(1 − 2·Alpha)·(Hi − Lo), clamped to
// [Lo, Hi] (values beyond the image of the bounds, such as ±Inf, map to the
// bounds). It returns an error, leaving y unchanged, for invalid parameters,
// len(y) != n·d, or a NaN in y (naming the 0-based row and column).
func (l *Logit) Inverse(y []float64, n int) error {
	d, err := l.check(y, n)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		for j, v := range y[i*d : (i+1)*d] {
			if math.IsNaN(v) {
				return fmt.Errorf("logit: inverse: row %d, column %d is NaN", i, j)
			}
		}
	}
	s := 1 - 2*l.Alpha
	for i := 0; i < n; i++ {
		row := y[i*d : (i+1)*d]
		for j, v := range row {
			lo, hi := l.Lo[j], l.Hi[j]
			// Measure from the nearer bound with the smaller of p = σ(v)
			// and 1 − p = σ(−v), so that neither tail loses precision.
			var x float64
			if v >= 0 {
				q := 1 / (1 + math.Exp(v)) // 1 − p
				x = hi - (q-l.Alpha)/s*(hi-lo)
			} else {
				p := 1 / (1 + math.Exp(-v))
				x = lo + (p-l.Alpha)/s*(hi-lo)
			}
			row[j] = min(max(x, lo), hi)
		}
	}
	return nil
}
