package theory

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrNotSPD is wrapped by the errors returned when a covariance is not
// symmetric positive definite.
var ErrNotSPD = errors.New("covariance is not symmetric positive definite")

// symTol is the relative tolerance of the symmetry check of a covariance.
const symTol = 1e-9

// checkGaussian validates a mean of length d and a d×d covariance: shapes,
// finiteness and symmetry. It does not test definiteness.
func checkGaussian(m, cov []float64, d int) error {
	if d < 1 {
		return fmt.Errorf("dimension d = %d, need d ≥ 1", d)
	}
	if len(m) != d {
		return fmt.Errorf("len(mean) = %d, want d = %d", len(m), d)
	}
	if len(cov) != d*d {
		return fmt.Errorf("len(cov) = %d, want d·d = %d", len(cov), d*d)
	}
	for i, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("mean[%d] = %v is not finite", i, v)
		}
	}
	scale := 0.0
	for i, v := range cov {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("cov[%d,%d] = %v is not finite", i/d, i%d, v)
		}
		scale = math.Max(scale, math.Abs(v))
	}
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			if math.Abs(cov[i*d+j]-cov[j*d+i]) > symTol*math.Max(scale, 1) {
				return fmt.Errorf("cov[%d,%d] = %v differs from cov[%d,%d] = %v: %w",
					i, j, cov[i*d+j], j, i, cov[j*d+i], ErrNotSPD)
			}
		}
	}
	return nil
}

// symDense copies the row-major d×d matrix a into a SymDense, averaging a and
// aᵀ (the inputs passed checkGaussian, so they differ by rounding at most).
func symDense(a []float64, d int) *mat.SymDense {
	s := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			s.SetSym(i, j, 0.5*(a[i*d+j]+a[j*d+i]))
		}
	}
	return s
}

// cholesky factorizes the validated covariance, failing with ErrNotSPD.
func cholesky(cov []float64, d int) (*mat.Cholesky, error) {
	var ch mat.Cholesky
	if ok := ch.Factorize(symDense(cov, d)); !ok {
		return nil, fmt.Errorf("cholesky factorization failed: %w", ErrNotSPD)
	}
	return &ch, nil
}

// eigen returns the eigenvalues λ (ascending) and the eigenvectors U (columns)
// of the validated covariance, failing with ErrNotSPD if some λ_i ≤ 0.
func eigen(cov []float64, d int) ([]float64, *mat.Dense, error) {
	var es mat.EigenSym
	if ok := es.Factorize(symDense(cov, d), true); !ok {
		return nil, nil, fmt.Errorf("eigendecomposition did not converge")
	}
	lambda := es.Values(nil)
	for i, l := range lambda {
		if !(l > 0) {
			return nil, nil, fmt.Errorf("eigenvalue %d of cov is %v: %w", i, l, ErrNotSPD)
		}
	}
	u := mat.NewDense(d, d, nil)
	es.VectorsTo(u)
	return lambda, u, nil
}

// spectral returns U diag(f) Uᵀ as a row-major d×d slice.
func spectral(u *mat.Dense, f []float64) []float64 {
	d := len(f)
	out := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			s := 0.0
			for k := 0; k < d; k++ {
				s += u.At(i, k) * f[k] * u.At(j, k)
			}
			out[i*d+j] = s
			out[j*d+i] = s
		}
	}
	return out
}

// OUMarginal returns the law at time t ≥ 0 of the Ornstein–Uhlenbeck process
// dX = −X dt + √2 dW started from X_0 ~ N(m, Σ):
//
//	X_t ~ N(e^{−t} m, e^{−2t} Σ + (1 − e^{−2t}) I).
//
// m has length d, cov is d×d row-major; mt (length d) and covt (d×d) are new
// slices. t = +Inf gives N(0, I). Σ need only be a covariance (symmetric);
// definiteness is not checked. The signature has no error: it returns nil, nil
// if d < 1, len(m) != d, len(cov) != d·d, an entry is not finite or Σ is not
// symmetric, or t is negative or NaN.
//
// Reference: methods.md §5.1; [T] arXiv 2502.13394; [L] arXiv 2410.02548 §2.
func OUMarginal(m, cov []float64, d int, t float64) (mt, covt []float64) {
	if checkGaussian(m, cov, d) != nil || !(t >= 0) {
		return nil, nil
	}
	a := math.Exp(-t)
	a2 := math.Exp(-2 * t)
	mt = make([]float64, d)
	for i, v := range m {
		mt[i] = a * v
	}
	covt = make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			v := a2 * cov[i*d+j]
			if i == j {
				v += -math.Expm1(-2 * t)
			}
			covt[i*d+j] = v
		}
	}
	return mt, covt
}

// JKOStepResult is the outcome of one exact JKO step (see JKOStep). Mean (d)
// and Cov (d×d) give the new law N(Mean, Cov); the optimal map is the affine
// T(x) = A x + B with A (d×d, symmetric positive definite) and B (d);
// HalfMovement is E½|x − T(x)|² for x under the old law (squared units of x).
type JKOStepResult struct {
	Mean, Cov, A, B []float64
	HalfMovement    float64
}

// JKOStep computes the exact JKO step with step size h > 0 from ρ = N(m, Σ)
// towards q = N(0, I):
//
//	ρ' = argmin_ρ' KL(ρ'‖q) + W2²(ρ, ρ')/(2h).
//
// With Σ = U diag(λ_i) Uᵀ and s_i = √λ_i the new standard deviations are
// s_i' = (s_i + √(s_i² + 4h(1+h))) / (2(1+h)); the map is
// T(x) = m/(1+h) + A (x − m), A = U diag(s_i'/s_i) Uᵀ, so B = m/(1+h) − A m,
// and ρ' = N(m/(1+h), U diag(s_i'²) Uᵀ). HalfMovement =
// ½[Σ_i (s_i − s_i')² + (h/(1+h))² |m|²].
//
// m has length d, cov is d×d row-major. It returns an error if the shapes are
// wrong, an entry is not finite, h is not a finite positive number, or Σ is
// not symmetric positive definite (wrapping ErrNotSPD).
//
// Reference: methods.md §5.2; [J] arXiv 2212.14424 §3; [T] arXiv 2502.13394.
func JKOStep(m, cov []float64, d int, h float64) (JKOStepResult, error) {
	if err := checkGaussian(m, cov, d); err != nil {
		return JKOStepResult{}, fmt.Errorf("jko step: %w", err)
	}
	if !(h > 0) || math.IsInf(h, 1) {
		return JKOStepResult{}, fmt.Errorf("jko step: step size h = %v, need a finite h > 0", h)
	}
	lambda, u, err := eigen(cov, d)
	if err != nil {
		return JKOStepResult{}, fmt.Errorf("jko step: %w", err)
	}
	ratio := make([]float64, d)
	var2 := make([]float64, d)
	half := 0.0
	for i, l := range lambda {
		s := math.Sqrt(l)
		sp := (s + math.Sqrt(l+4*h*(1+h))) / (2 * (1 + h))
		ratio[i] = sp / s
		var2[i] = sp * sp
		half += (s - sp) * (s - sp)
	}
	a := spectral(u, ratio)
	res := JKOStepResult{
		Mean: make([]float64, d),
		Cov:  spectral(u, var2),
		A:    a,
		B:    make([]float64, d),
	}
	shrink := h / (1 + h)
	m2 := 0.0
	for i, v := range m {
		res.Mean[i] = v / (1 + h)
		am := 0.0
		for j, w := range m {
			am += a[i*d+j] * w
		}
		res.B[i] = res.Mean[i] - am
		m2 += v * v
	}
	res.HalfMovement = 0.5 * (half + shrink*shrink*m2)
	return res, nil
}

// KLToStdNormal returns KL(N(m, Σ) ‖ N(0, I)) = ½[tr Σ + |m|² − d − log det Σ]
// in nats. m has length d, cov is d×d row-major. It returns an error if the
// shapes are wrong, an entry is not finite or Σ is not symmetric positive
// definite (wrapping ErrNotSPD).
//
// Reference: methods.md §5.4.
func KLToStdNormal(m, cov []float64, d int) (float64, error) {
	if err := checkGaussian(m, cov, d); err != nil {
		return 0, fmt.Errorf("kl to standard normal: %w", err)
	}
	ch, err := cholesky(cov, d)
	if err != nil {
		return 0, fmt.Errorf("kl to standard normal: %w", err)
	}
	s := -float64(d) - ch.LogDet()
	for i := 0; i < d; i++ {
		s += cov[i*d+i] + m[i]*m[i]
	}
	return 0.5 * s, nil
}

// GaussianKL returns KL(N(m1, Σ1) ‖ N(m2, Σ2)) in nats:
//
//	½[tr(Σ2⁻¹Σ1) + (m2 − m1)ᵀ Σ2⁻¹ (m2 − m1) − d + log det Σ2 − log det Σ1].
//
// m1, m2 have length d; c1, c2 are d×d row-major. It returns an error if a
// shape is wrong, an entry is not finite or Σ1 or Σ2 is not symmetric
// positive definite (wrapping ErrNotSPD).
func GaussianKL(m1, c1, m2, c2 []float64, d int) (float64, error) {
	if err := checkGaussian(m1, c1, d); err != nil {
		return 0, fmt.Errorf("gaussian kl: first law: %w", err)
	}
	if err := checkGaussian(m2, c2, d); err != nil {
		return 0, fmt.Errorf("gaussian kl: second law: %w", err)
	}
	ch1, err := cholesky(c1, d)
	if err != nil {
		return 0, fmt.Errorf("gaussian kl: first law: %w", err)
	}
	ch2, err := cholesky(c2, d)
	if err != nil {
		return 0, fmt.Errorf("gaussian kl: second law: %w", err)
	}
	var x mat.Dense
	if err := ch2.SolveTo(&x, symDense(c1, d)); err != nil {
		return 0, fmt.Errorf("gaussian kl: solve with Σ2: %w", err)
	}
	tr := mat.Trace(&x)
	diff := make([]float64, d)
	for i := range diff {
		diff[i] = m2[i] - m1[i]
	}
	dv := mat.NewVecDense(d, diff)
	var y mat.VecDense
	if err := ch2.SolveVecTo(&y, dv); err != nil {
		return 0, fmt.Errorf("gaussian kl: solve with Σ2: %w", err)
	}
	quad := mat.Dot(dv, &y)
	return 0.5 * (tr + quad - float64(d) + ch2.LogDet() - ch1.LogDet()), nil
}

// GaussianEntropy returns the differential entropy of N(m, Σ) in nats,
// ½[d log(2πe) + log det Σ]; this is also the NLL per sample that the exact
// density attains on its own data. cov is d×d row-major. It returns an error
// if the shape is wrong, an entry is not finite or Σ is not symmetric positive
// definite (wrapping ErrNotSPD).
//
// Reference: methods.md §5.4.
func GaussianEntropy(cov []float64, d int) (float64, error) {
	if err := checkGaussian(make([]float64, max(d, 0)), cov, d); err != nil {
		return 0, fmt.Errorf("gaussian entropy: %w", err)
	}
	ch, err := cholesky(cov, d)
	if err != nil {
		return 0, fmt.Errorf("gaussian entropy: %w", err)
	}
	return 0.5 * (float64(d)*math.Log(2*math.Pi*math.E) + ch.LogDet()), nil
}

// LFMVelocity returns the exact Local Flow Matching velocity field
// v*(x, t) = K x + b for Gaussian data x_l ~ N(m, Σ), the dependent (OU)
// coupling x_r = e^{−γ} x_l + σ z with σ = √(1 − e^{−2γ}), z ~ N(0, I), and
// the linear interpolant I_t = (1 − t) x_l + t x_r. Writing I_t = c1 x_l + c2 z
// and ∂_t I_t = k1 x_l + k2 z with c1 = 1 − t + t e^{−γ}, c2 = tσ,
// k1 = e^{−γ} − 1, k2 = σ:
//
//	K = (k1 c1 Σ + k2 c2 I)(c1² Σ + c2² I)⁻¹,  b = k1 m − c1 K m.
//
// m has length d, cov is d×d row-major; K is d×d row-major (symmetric) and b
// has length d. It returns an error if the shapes are wrong, an entry is not
// finite, γ is not a finite positive number, t is outside [0, 1], or Σ is not
// symmetric positive definite (wrapping ErrNotSPD).
//
// Reference: methods.md §5.3; [L] arXiv 2410.02548 §3.
func LFMVelocity(m, cov []float64, d int, gamma, t float64) (K, b []float64, err error) {
	if err := checkGaussian(m, cov, d); err != nil {
		return nil, nil, fmt.Errorf("lfm velocity: %w", err)
	}
	if !(gamma > 0) || math.IsInf(gamma, 1) {
		return nil, nil, fmt.Errorf("lfm velocity: OU step γ = %v, need a finite γ > 0", gamma)
	}
	if !(t >= 0 && t <= 1) {
		return nil, nil, fmt.Errorf("lfm velocity: time t = %v outside [0, 1]", t)
	}
	lambda, u, err := eigen(cov, d)
	if err != nil {
		return nil, nil, fmt.Errorf("lfm velocity: %w", err)
	}
	eg := math.Exp(-gamma)
	sigma := math.Sqrt(-math.Expm1(-2 * gamma))
	c1 := 1 - t + t*eg
	c2 := t * sigma
	k1 := math.Expm1(-gamma)
	k2 := sigma
	f := make([]float64, d)
	for i, l := range lambda {
		f[i] = (k1*c1*l + k2*c2) / (c1*c1*l + c2*c2)
	}
	K = spectral(u, f)
	b = make([]float64, d)
	for i := range b {
		km := 0.0
		for j, w := range m {
			km += K[i*d+j] * w
		}
		b[i] = k1*m[i] - c1*km
	}
	return K, b, nil
}
