package baseline

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// kdeBlock is the number of training points whose kernel values one
// goroutine holds at a time: LogProb never stores more than kdeBlock values
// per goroutine, whatever n_query × n_train is.
const kdeBlock = 512

// KDE is a Gaussian kernel density estimate with an isotropic bandwidth:
//
//	p(x) = (1/n) Σ_i N(x; x_i, h²·I),
//	log p(x) = log Σ_i exp(−‖x − x_i‖²/(2h²)) − log n − d·log h − (d/2)·log 2π,
//
// with X the n×D row-major training points and H = h > 0 in the data's
// units. As in scikit-learn's KernelDensity the kernel is isotropic on the
// data as given, so the data should be standardized (each column to unit
// variance) first, which the iterflow pipeline does; SelectKDE chooses h.
// References: Silverman, Density Estimation for Statistics and Data
// Analysis (1986), §4.2–4.3.
type KDE struct {
	X    []float64
	N, D int
	H    float64
}

// FitKDE returns the KDE of the n×d row-major samples x with bandwidth h
// (data units). It keeps x (not a copy).
//
// It returns an error if n < 1 or d < 1, len(x) != n·d, x holds NaN or ±Inf,
// or h is not a finite positive number.
func FitKDE(x []float64, n, d int, h float64) (*KDE, error) {
	if err := checkShape("fit kde: x", x, n, d); err != nil {
		return nil, err
	}
	if !(h > 0) || math.IsInf(h, 0) {
		return nil, fmt.Errorf("fit kde: bandwidth must be finite and > 0, got %v", h)
	}
	return &KDE{X: x, N: n, D: d, H: h}, nil
}

func (k *KDE) check() error {
	if k.N < 1 || k.D < 1 || len(k.X) != k.N*k.D {
		return fmt.Errorf("kde: len(X) = %d, want N·D = %d·%d with N, D ≥ 1", len(k.X), k.N, k.D)
	}
	if !(k.H > 0) || math.IsInf(k.H, 0) {
		return fmt.Errorf("kde: bandwidth must be finite and > 0, got %v", k.H)
	}
	return nil
}

// LogProb writes log p(x_j) in nats for the n rows of x (n×D, row-major)
// into out (length n). Each query row runs a streaming log-sum-exp over
// blocks of kdeBlock training points, so memory is O(GOMAXPROCS·kdeBlock)
// beyond out; rows are split into fixed chunks over GOMAXPROCS goroutines
// and each row is computed the same way whatever the thread count
// (deterministic). Cost O(n·N·D).
//
// It returns an error if len(x) != n·D, len(out) != n, x holds NaN or ±Inf,
// or the KDE is invalid (sizes, bandwidth).
func (k *KDE) LogProb(x []float64, n int, out []float64) error {
	if err := k.check(); err != nil {
		return fmt.Errorf("logprob: %w", err)
	}
	if err := checkShape("logprob: x", x, n, k.D); err != nil {
		return err
	}
	if len(out) != n {
		return fmt.Errorf("logprob: len(out) = %d, want n = %d", len(out), n)
	}
	d := k.D
	inv := -0.5 / (k.H * k.H)
	c := -math.Log(float64(k.N)) - float64(d)*math.Log(k.H) - 0.5*float64(d)*math.Log(2*math.Pi)
	forChunks(n, func() []float64 { return make([]float64, kdeBlock) }, func(_, lo, hi int, buf []float64) {
		for j := lo; j < hi; j++ {
			out[j] = c + k.rowLogSum(x[j*d:(j+1)*d], inv, buf)
		}
	})
	return nil
}

// rowLogSum returns log Σ_i exp(inv·‖q − x_i‖²) by a streaming log-sum-exp
// over blocks of training points.
func (k *KDE) rowLogSum(q []float64, inv float64, buf []float64) float64 {
	d := k.D
	m, s := math.Inf(-1), 0.0
	for b0 := 0; b0 < k.N; b0 += kdeBlock {
		b1 := min(k.N, b0+kdeBlock)
		e := buf[:b1-b0]
		bm := math.Inf(-1)
		for i := b0; i < b1; i++ {
			var r float64
			for a, v := range k.X[i*d : (i+1)*d] {
				t := q[a] - v
				r += t * t
			}
			e[i-b0] = inv * r
			bm = math.Max(bm, e[i-b0])
		}
		if bm > m {
			s *= math.Exp(m - bm)
			m = bm
		}
		for _, v := range e {
			s += math.Exp(v - m)
		}
	}
	return m + math.Log(s)
}

// NLL returns the mean negative log-likelihood −(1/n) Σ log p(x_j) of the n
// rows of x (n×D) in nats and its standard error sd(log p)/√n. It returns
// the errors of LogProb.
func (k *KDE) NLL(x []float64, n int) (mean, se float64, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("nll: need n ≥ 1, got %d", n)
	}
	lp := make([]float64, n)
	if err := k.LogProb(x, n, lp); err != nil {
		return 0, 0, fmt.Errorf("nll: %w", err)
	}
	mean, se, err = nllFromLogProb(lp)
	if err != nil {
		return 0, 0, fmt.Errorf("nll: %w", err)
	}
	return mean, se, nil
}

// Sample draws n samples x_i + h·z (i uniform among the training points,
// z ~ N(0, I)) as an n×D row-major slice. It returns an error if n < 0 or
// the KDE is invalid.
func (k *KDE) Sample(n int, rng *rand.Rand) ([]float64, error) {
	if err := k.check(); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	if n < 0 {
		return nil, fmt.Errorf("sample: negative count %d", n)
	}
	d := k.D
	out := make([]float64, n*d)
	for j := 0; j < n; j++ {
		i := rng.IntN(k.N)
		for a := 0; a < d; a++ {
			out[j*d+a] = k.X[i*d+a] + k.H*rng.NormFloat64()
		}
	}
	return out, nil
}

// ScottBandwidth returns Scott's rule for an isotropic Gaussian kernel,
// h = σ̄·n^(−1/(d+4)), with σ̄ the root mean of the column variances of the
// n×d samples x (σ̄ = 1 on standardized data; Scott, Multivariate Density
// Estimation, 1992, §6.3). It returns an error for bad shapes, non-finite
// values, or constant data (σ̄ = 0).
func ScottBandwidth(x []float64, n, d int) (float64, error) {
	if err := checkShape("scott bandwidth: x", x, n, d); err != nil {
		return 0, err
	}
	var v float64
	for a := 0; a < d; a++ {
		var m, ss float64
		for i := 0; i < n; i++ {
			m += x[i*d+a]
		}
		m /= float64(n)
		for i := 0; i < n; i++ {
			t := x[i*d+a] - m
			ss += t * t
		}
		v += ss / float64(n)
	}
	sigma := math.Sqrt(v / float64(d))
	if sigma == 0 {
		return 0, fmt.Errorf("scott bandwidth: all %d rows are equal", n)
	}
	return sigma * math.Pow(float64(n), -1/float64(d+4)), nil
}

// DefaultBandwidths returns the bandwidth grid SelectKDE uses when given
// none: ScottBandwidth(x) × 10^(−1 + 2k/14), k = 0…14 (15 values, a factor
// of 10 either side of Scott's rule, ratio ≈ 1.39 between neighbours). It
// returns the errors of ScottBandwidth.
func DefaultBandwidths(x []float64, n, d int) ([]float64, error) {
	h0, err := ScottBandwidth(x, n, d)
	if err != nil {
		return nil, err
	}
	hs := make([]float64, 15)
	for k := range hs {
		hs[k] = h0 * math.Pow(10, -1+2*float64(k)/14)
	}
	return hs, nil
}
