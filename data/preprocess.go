package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/iterflow/iterflow/internal/wording"
)

// Standardizer is the per-column affine map y = (x − Mean)/Std, an invertible
// preprocessing step whose log-determinant (LogDet) converts a density of y
// back to a density of x: log p_x(x) = log p_y(y) + LogDet(). Mean and Std have
// one entry per column (d); Std entries are positive. The fields are exported
// so that a checkpoint can store them as JSON.
type Standardizer struct {
	Mean, Std []float64
}

// FitStandardizer returns the Standardizer with the column means and the
// maximum-likelihood standard deviations (divide by N) of t.
//
// It returns an error if t has fewer than 2 rows or if a column is constant,
// naming each such column with its 0-based index, name and value,
// e.g. `fit standardizer: column 2 ("x2") is constant (value 3)`.
func FitStandardizer(t *Table) (*Standardizer, error) {
	if t.N < 2 {
		return nil, fmt.Errorf("fit standardizer: %s, need at least 2", wording.Plural(t.N, "row"))
	}
	if len(t.X) != t.N*t.D {
		return nil, fmt.Errorf("fit standardizer: len(X) = %d, want N·D = %d", len(t.X), t.N*t.D)
	}
	mean := make([]float64, t.D)
	for i := 0; i < t.N; i++ {
		for j, v := range t.X[i*t.D : (i+1)*t.D] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(t.N)
	}
	// Two-pass variance: accurate when |mean| ≫ std.
	std := make([]float64, t.D)
	for i := 0; i < t.N; i++ {
		for j, v := range t.X[i*t.D : (i+1)*t.D] {
			dv := v - mean[j]
			std[j] += dv * dv
		}
	}
	// A column whose values are all equal is constant even when its
	// floating-point mean is not exactly that value (then std is a round-off
	// residue like 1e-17, and dividing by it would blow the column up).
	constant := make([]bool, t.D)
	for _, j := range ConstantColumns(t) {
		constant[j] = true
	}
	var bad []string
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(t.N))
		if std[j] == 0 || constant[j] {
			bad = append(bad, fmt.Sprintf("column %d (%q) is constant (value %v)", j, t.Names[j], t.X[j]))
		} else if math.IsInf(std[j], 0) || math.IsNaN(std[j]) || math.IsInf(mean[j], 0) {
			return nil, fmt.Errorf("fit standardizer: column %d (%q): values too large for float64 arithmetic (the mean or standard deviation overflows); rescale the column", j, t.Names[j])
		}
	}
	if len(bad) > 0 {
		const maxShown = 5
		msg := strings.Join(bad[:min(len(bad), maxShown)], "; ")
		if len(bad) > maxShown {
			msg += fmt.Sprintf("; and %d more constant columns", len(bad)-maxShown)
		}
		return nil, fmt.Errorf("fit standardizer: %s (drop constant columns with Select; see ConstantColumns)", msg)
	}
	return &Standardizer{Mean: mean, Std: std}, nil
}

// Forward standardizes x (n×d, row-major, d = len(s.Mean)) in place:
// x[i,j] ← (x[i,j] − Mean[j])/Std[j]. It panics if len(x) != n·d (a
// programming error, like an index out of range).
func (s *Standardizer) Forward(x []float64, n int) {
	d := s.check(x, n)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		for j := range row {
			row[j] = (row[j] - s.Mean[j]) / s.Std[j]
		}
	}
}

// Inverse undoes Forward in place on y (n×d): y[i,j] ← y[i,j]·Std[j] + Mean[j].
// It panics if len(y) != n·d.
func (s *Standardizer) Inverse(y []float64, n int) {
	d := s.check(y, n)
	for i := 0; i < n; i++ {
		row := y[i*d : (i+1)*d]
		for j := range row {
			row[j] = row[j]*s.Std[j] + s.Mean[j]
		}
	}
}

func (s *Standardizer) check(x []float64, n int) int {
	d := len(s.Mean)
	if len(s.Std) != d || len(x) != n*d {
		panic(fmt.Sprintf("data: Standardizer with %d means and %d stds applied to %d values as %d rows", d, len(s.Std), len(x), n))
	}
	return d
}

// LogDet returns log|det ∂y/∂x| = −Σ_j log Std[j] of Forward, in nats, the same
// for every sample: log p_x(x) = log p_y(y) + LogDet(). Scaling the data by c
// shifts it by −d·log c.
func (s *Standardizer) LogDet() float64 {
	var ld float64
	for _, sd := range s.Std {
		ld -= math.Log(sd)
	}
	return ld
}

// Dequantize adds independent uniform noise U[0, 1) in place to the columns j
// of x (n×d, row-major) with cols[j] true (integer-valued columns, see
// IntegerColumns), turning a discrete distribution into a continuous one.
// The continuous log-likelihood of the dequantized data is a lower bound on the
// discrete log-probability of the integers (Theis, van den Oord, Bethge, "A
// note on the evaluation of generative models", arXiv 1511.01844, Sec. 3.1);
// the map has no log-determinant. It panics if len(x) != n·d or len(cols) != d.
func Dequantize(x []float64, n, d int, cols []bool, rng *rand.Rand) {
	if len(x) != n*d || len(cols) != d {
		panic(fmt.Sprintf("data: Dequantize of %d values as %d×%d with %d column flags", len(x), n, d, len(cols)))
	}
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		for j, on := range cols {
			if on {
				row[j] += rng.Float64()
			}
		}
	}
}
