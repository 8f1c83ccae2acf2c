// Package baseline holds the classical density models that flows are
// compared against: a full-covariance Gaussian fitted by maximum likelihood
// (FitGaussian), a full-covariance Gaussian mixture fitted by EM with K
// chosen on validation data (FitGMM, SelectGMM), and a Gaussian kernel
// density estimate with its bandwidth chosen on validation data (FitKDE,
// SelectKDE). Every model reports LogProb in nats per row of an n×d
// row-major matrix.
package baseline

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Gaussian is a multivariate normal density N(Mean, Cov) in d dimensions.
// Mean has d entries, Cov is the d×d covariance, row-major and symmetric.
// Jitter is the multiple of the identity that FitGaussian added to the
// maximum-likelihood covariance to make it positive definite (0 if none); it
// is already included in Cov.
type Gaussian struct {
	Mean   []float64
	Cov    []float64
	Jitter float64
}

// Jitter search of FitGaussian: ε = 1e-10, 1e-9, …, up to 1e10 (21 tries).
const (
	firstJitter = 1e-10
	maxJitter   = 1e10
)

// FitGaussian fits N(μ, Σ) to the n×d row-major samples x by maximum
// likelihood: μ the sample mean, Σ = (1/n) Σ_i (x_i − μ)(x_i − μ)ᵀ. If Σ is
// not positive definite (fewer samples than dimensions, constant or collinear
// columns) it adds the smallest ε·I with ε in 1e-10, 1e-9, … (×10) for which a
// Cholesky factorization succeeds, and records ε in Jitter.
//
// It returns an error if n < 1 or d < 1, len(x) != n·d, x holds NaN or ±Inf,
// or no ε up to 1e10 makes Σ positive definite.
func FitGaussian(x []float64, n, d int) (*Gaussian, error) {
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("fit gaussian: need n ≥ 1 and d ≥ 1, got %d×%d", n, d)
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("fit gaussian: len(x) = %d, want n·d = %d·%d = %d", len(x), n, d, n*d)
	}
	if err := checkFinite(x, d); err != nil {
		return nil, fmt.Errorf("fit gaussian: %w", err)
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	// Σ = CᵀC/n with C the centred data; one rank-k update.
	c := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		row := c.RawRowView(i)
		for j, v := range x[i*d : (i+1)*d] {
			row[j] = v - mean[j]
		}
	}
	sym := mat.NewSymDense(d, nil)
	sym.SymRankK(sym, 1/float64(n), c.T())
	g := &Gaussian{Mean: mean, Cov: make([]float64, d*d)}
	var chol mat.Cholesky
	if chol.Factorize(sym) {
		copySym(g.Cov, sym)
		return g, nil
	}
	for eps := firstJitter; eps <= maxJitter*1.0000001; eps *= 10 {
		jittered := mat.NewSymDense(d, nil)
		jittered.CopySym(sym)
		for j := 0; j < d; j++ {
			jittered.SetSym(j, j, sym.At(j, j)+eps)
		}
		if chol.Factorize(jittered) {
			copySym(g.Cov, jittered)
			g.Jitter = eps
			return g, nil
		}
	}
	return nil, fmt.Errorf("fit gaussian: covariance of %d×%d data is not positive definite even with jitter %g·I", n, d, maxJitter)
}

func copySym(dst []float64, s *mat.SymDense) {
	d := s.SymmetricDim()
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			dst[i*d+j] = s.At(i, j)
		}
	}
}

// checkFinite reports the first NaN or ±Inf in the n×d matrix x.
func checkFinite(x []float64, d int) error {
	for k, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("x holds %v at row %d, column %d (0-based)", v, k/d, k%d)
		}
	}
	return nil
}

// cholesky validates the parameters and returns d and the lower Cholesky
// factor L (Cov = L·Lᵀ), d×d row-major, with log det Cov.
func (g *Gaussian) cholesky() (d int, l []float64, logDet float64, err error) {
	d = len(g.Mean)
	if d == 0 {
		return 0, nil, 0, fmt.Errorf("gaussian has no dimensions (empty Mean)")
	}
	if len(g.Cov) != d*d {
		return 0, nil, 0, fmt.Errorf("gaussian: len(Cov) = %d, want d² = %d", len(g.Cov), d*d)
	}
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			a, b := g.Cov[i*d+j], g.Cov[j*d+i]
			if math.Abs(a-b) > 1e-12*(math.Abs(a)+math.Abs(b)) {
				return 0, nil, 0, fmt.Errorf("gaussian: Cov is not symmetric: Cov[%d,%d] = %v, Cov[%d,%d] = %v", i, j, a, j, i, b)
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(d, append([]float64(nil), g.Cov...))) {
		return 0, nil, 0, fmt.Errorf("gaussian: Cov is not positive definite")
	}
	var lt mat.TriDense
	chol.LTo(&lt)
	l = make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			l[i*d+j] = lt.At(i, j)
		}
	}
	for i := 0; i < d; i++ {
		logDet += 2 * math.Log(l[i*d+i])
	}
	return d, l, logDet, nil
}

// LogProb writes log N(x_i; Mean, Cov) in nats for the n rows of x (n×d,
// row-major) into out (length n):
//
//	log p(x) = −½ (d·log 2π + log det Σ + ‖L⁻¹(x − μ)‖²),  Σ = L·Lᵀ (Cholesky).
//
// It returns an error if len(x) != n·d, len(out) != n, x holds NaN or ±Inf,
// or Mean and Cov do not describe a valid Gaussian (sizes, symmetry,
// positive definiteness).
func (g *Gaussian) LogProb(x []float64, n int, out []float64) error {
	d, l, logDet, err := g.cholesky()
	if err != nil {
		return fmt.Errorf("logprob: %w", err)
	}
	if n < 0 || len(x) != n*d {
		return fmt.Errorf("logprob: len(x) = %d, want n·d = %d·%d = %d", len(x), n, d, n*d)
	}
	if len(out) != n {
		return fmt.Errorf("logprob: len(out) = %d, want n = %d", len(out), n)
	}
	if err := checkFinite(x, d); err != nil {
		return fmt.Errorf("logprob: %w", err)
	}
	c := -0.5 * (float64(d)*math.Log(2*math.Pi) + logDet)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		// Forward substitution L z = x − μ.
		var q float64
		for a := 0; a < d; a++ {
			s := row[a] - g.Mean[a]
			la := l[a*d : a*d+a]
			for b, v := range la {
				s -= v * z[b]
			}
			z[a] = s / l[a*d+a]
			q += z[a] * z[a]
		}
		out[i] = c - 0.5*q
	}
	return nil
}

// Sample draws n samples x = Mean + L·z, z ~ N(0, I), with L the Cholesky
// factor of Cov, and returns them as an n×d row-major slice.
//
// It panics if Mean and Cov do not describe a valid Gaussian (a programming
// error: Gaussians from FitGaussian are always valid; LogProb reports the same
// problem as an error) or n < 0.
func (g *Gaussian) Sample(n int, rng *rand.Rand) []float64 {
	d, l, _, err := g.cholesky()
	if err != nil {
		panic(fmt.Sprintf("baseline: sample: %v", err))
	}
	if n < 0 {
		panic(fmt.Sprintf("baseline: sample: negative count %d", n))
	}
	out := make([]float64, n*d)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		for a := range z {
			z[a] = rng.NormFloat64()
		}
		row := out[i*d : (i+1)*d]
		for a := 0; a < d; a++ {
			s := g.Mean[a]
			for b, v := range l[a*d : a*d+a+1] {
				s += v * z[b]
			}
			row[a] = s
		}
	}
	return out
}
