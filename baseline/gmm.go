package baseline

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GMMOptions configures FitGMM. No field has a hidden default: start from
// DefaultGMMOptions and change what you need.
type GMMOptions struct {
	// K is the number of mixture components, ≥ 1 (SelectGMM sets it from
	// its list of candidates).
	K int
	// MaxIter is the largest number of EM iterations (M-steps), ≥ 1.
	MaxIter int
	// Tol stops EM once |ℓ_t − ℓ_{t−1}| < Tol·max(1, |ℓ_t|), with ℓ the mean
	// training log-likelihood in nats per row (a relative criterion that
	// falls back to an absolute one near ℓ = 0); ≥ 0 (0 runs MaxIter
	// iterations unless ℓ stops changing exactly).
	Tol float64
	// Reg is added to the diagonal of every component covariance after each
	// M-step (Σ_k + Reg·I), in the data's units squared, ≥ 0. It plays the
	// role of scikit-learn's reg_covar (default 1e-6 there and in
	// DefaultGMMOptions) and keeps components that collapse onto a few
	// points positive definite. On standardized data 1e-6 is negligible.
	Reg float64
	// Inits is the number of independent k-means++ starts; the fit with the
	// highest final training log-likelihood is kept. ≥ 1.
	Inits int
	// Seed seeds the k-means++ initialization (start s uses
	// PCG(Seed, s)); equal seeds give identical fits.
	Seed uint64
}

// DefaultGMMOptions returns the options FitGMM is usually called with: K
// components, MaxIter 200, Tol 1e-6, Reg 1e-6, one initialization, Seed 1.
func DefaultGMMOptions(k int) GMMOptions {
	return GMMOptions{K: k, MaxIter: 200, Tol: 1e-6, Reg: 1e-6, Inits: 1, Seed: 1}
}

// GMM is a Gaussian mixture density p(x) = Σ_k Weights[k]·N(x; μ_k, Σ_k) in
// D dimensions with K = len(Weights) full-covariance components. Means is
// K×D row-major (row k is μ_k); Covs is K×D×D (Covs[k·D·D:(k+1)·D·D] is Σ_k,
// row-major, symmetric positive definite).
//
// The remaining fields describe the EM fit that produced it (zero for a GMM
// built by hand): LogLik[t] is the mean training log-likelihood (nats per
// row) of the parameters after t M-steps (LogLik[0] is the k-means++
// initialization), Converged says whether the Tol criterion stopped EM
// before MaxIter, and Reg is the regularization that was added to each Σ_k
// (already included in Covs).
type GMM struct {
	D       int
	Weights []float64
	Means   []float64
	Covs    []float64

	LogLik    []float64
	Converged bool
	Reg       float64
}

// K returns the number of components.
func (g *GMM) K() int { return len(g.Weights) }

// mixture holds what the log-density of a GMM needs, precomputed: the lower
// Cholesky factors L_k (Σ_k = L_k L_kᵀ, K×d×d) and the constants
// c_k = log π_k − ½(d log 2π + log det Σ_k).
type mixture struct {
	d, k int
	mu   []float64
	chol []float64
	c    []float64
}

// rowLogProb returns log Σ_k exp(c_k − ½‖L_k⁻¹(x − μ_k)‖²) for one row x,
// writing the K per-component terms into lk; z is a d-long scratch buffer.
func (m *mixture) rowLogProb(x, lk, z []float64) float64 {
	d := m.d
	best := math.Inf(-1)
	for k := 0; k < m.k; k++ {
		mu := m.mu[k*d : (k+1)*d]
		l := m.chol[k*d*d : (k+1)*d*d]
		var q float64
		for a := 0; a < d; a++ {
			s := x[a] - mu[a]
			for b, v := range l[a*d : a*d+a] {
				s -= v * z[b]
			}
			z[a] = s / l[a*d+a]
			q += z[a] * z[a]
		}
		lk[k] = m.c[k] - 0.5*q
		best = math.Max(best, lk[k])
	}
	if math.IsInf(best, -1) {
		return best
	}
	var s float64
	for _, v := range lk {
		s += math.Exp(v - best)
	}
	return best + math.Log(s)
}

// factorComponent writes the lower Cholesky factor of the d×d covariance cov
// into l and returns log det cov; ok is false if cov is not positive
// definite.
func factorComponent(cov []float64, d int, l []float64) (logDet float64, ok bool) {
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(d, append([]float64(nil), cov...))) {
		return 0, false
	}
	var lt mat.TriDense
	chol.LTo(&lt)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			l[i*d+j] = 0
			if j <= i {
				l[i*d+j] = lt.At(i, j)
			}
		}
		logDet += 2 * math.Log(l[i*d+i])
	}
	return logDet, true
}

// prepare validates the parameters and factors every component.
func (g *GMM) prepare() (*mixture, error) {
	d, k := g.D, len(g.Weights)
	if d < 1 || k < 1 {
		return nil, fmt.Errorf("gmm: need D ≥ 1 and K ≥ 1, got D = %d, K = %d", d, k)
	}
	if len(g.Means) != k*d {
		return nil, fmt.Errorf("gmm: len(Means) = %d, want K·D = %d·%d = %d", len(g.Means), k, d, k*d)
	}
	if len(g.Covs) != k*d*d {
		return nil, fmt.Errorf("gmm: len(Covs) = %d, want K·D² = %d·%d² = %d", len(g.Covs), k, d, k*d*d)
	}
	var sum float64
	for j, w := range g.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("gmm: weight %d is %v, want a finite value ≥ 0", j, w)
		}
		sum += w
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("gmm: weights sum to %v, want 1", sum)
	}
	if err := checkFinite(g.Means, d); err != nil {
		return nil, fmt.Errorf("gmm: Means: %w", err)
	}
	m := &mixture{d: d, k: k, mu: g.Means, chol: make([]float64, k*d*d), c: make([]float64, k)}
	for j := 0; j < k; j++ {
		cov := g.Covs[j*d*d : (j+1)*d*d]
		for a := 0; a < d; a++ {
			for b := 0; b < a; b++ {
				u, v := cov[a*d+b], cov[b*d+a]
				if math.Abs(u-v) > 1e-12*(math.Abs(u)+math.Abs(v)) {
					return nil, fmt.Errorf("gmm: covariance %d is not symmetric: [%d,%d] = %v, [%d,%d] = %v", j, a, b, u, b, a, v)
				}
			}
		}
		logDet, ok := factorComponent(cov, d, m.chol[j*d*d:(j+1)*d*d])
		if !ok {
			return nil, fmt.Errorf("gmm: covariance %d is not positive definite", j)
		}
		m.c[j] = math.Log(g.Weights[j]) - 0.5*(float64(d)*math.Log(2*math.Pi)+logDet)
	}
	return m, nil
}

// mixWorker is the per-goroutine scratch of mixture evaluations.
type mixWorker struct{ lk, z []float64 }

// LogProb writes log p(x_i) in nats for the n rows of x (n×D, row-major)
// into out (length n), by a log-sum-exp over components, in parallel over
// chunks of rows (deterministic: each row is computed the same way whatever
// the number of threads).
//
// It returns an error if len(x) != n·D, len(out) != n, x holds NaN or ±Inf,
// or the parameters are invalid (sizes, weights not ≥ 0 or not summing to 1,
// a covariance not symmetric positive definite).
func (g *GMM) LogProb(x []float64, n int, out []float64) error {
	m, err := g.prepare()
	if err != nil {
		return fmt.Errorf("logprob: %w", err)
	}
	if err := checkShape("logprob: x", x, n, m.d); err != nil {
		return err
	}
	if len(out) != n {
		return fmt.Errorf("logprob: len(out) = %d, want n = %d", len(out), n)
	}
	d := m.d
	forChunks(n, func() mixWorker { return mixWorker{make([]float64, m.k), make([]float64, d)} },
		func(_, lo, hi int, w mixWorker) {
			for i := lo; i < hi; i++ {
				out[i] = m.rowLogProb(x[i*d:(i+1)*d], w.lk, w.z)
			}
		})
	return nil
}

// NLL returns the mean negative log-likelihood −(1/n) Σ log p(x_i) of the n
// rows of x (n×D) in nats and its standard error sd(log p)/√n. It returns
// the errors of LogProb, and an error if a log-density is −Inf.
func (g *GMM) NLL(x []float64, n int) (mean, se float64, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("nll: need n ≥ 1, got %d", n)
	}
	lp := make([]float64, n)
	if err := g.LogProb(x, n, lp); err != nil {
		return 0, 0, fmt.Errorf("nll: %w", err)
	}
	mean, se, err = nllFromLogProb(lp)
	if err != nil {
		return 0, 0, fmt.Errorf("nll: %w", err)
	}
	return mean, se, nil
}

// Sample draws n samples: a component k with probability Weights[k], then
// μ_k + L_k z with z ~ N(0, I). It returns an n×D row-major slice, or an
// error if n < 0 or the parameters are invalid (as in LogProb).
func (g *GMM) Sample(n int, rng *rand.Rand) ([]float64, error) {
	m, err := g.prepare()
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	if n < 0 {
		return nil, fmt.Errorf("sample: negative count %d", n)
	}
	d := m.d
	out := make([]float64, n*d)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		u := rng.Float64()
		k := m.k - 1
		for j, w := range g.Weights {
			if u < w {
				k = j
				break
			}
			u -= w
		}
		for a := range z {
			z[a] = rng.NormFloat64()
		}
		l := m.chol[k*d*d : (k+1)*d*d]
		row := out[i*d : (i+1)*d]
		for a := 0; a < d; a++ {
			s := m.mu[k*d+a]
			for b, v := range l[a*d : a*d+a+1] {
				s += v * z[b]
			}
			row[a] = s
		}
	}
	return out, nil
}

// FitGMM fits a K-component full-covariance Gaussian mixture to the n×d
// row-major samples x by expectation–maximization (Dempster, Laird & Rubin
// 1977; Bishop, Pattern Recognition and Machine Learning, §9.2.2):
//
//   - initialization: k-means++ seeding (Arthur & Vassilvitskii 2007) from
//     opt.Seed followed by 10 Lloyd iterations, then one M-step on the hard
//     assignments;
//   - E-step: responsibilities r_ik = π_k N(x_i; μ_k, Σ_k) / p(x_i) by
//     log-sum-exp, in parallel over fixed chunks of rows;
//   - M-step: N_k = Σ_i r_ik (+10·machine ε, as scikit-learn, so an empty
//     component stays defined), π_k = N_k/n, μ_k = Σ_i r_ik x_i / N_k,
//     Σ_k = Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ / N_k + opt.Reg·I;
//   - stop when the mean log-likelihood changes by less than
//     opt.Tol·max(1, |ℓ|) or after opt.MaxIter M-steps.
//
// With opt.Inits > 1 the start with the highest final log-likelihood wins.
// Memory: n·K + n·d floats. Cost per iteration: O(n·K·d²).
//
// It returns an error if K < 1, MaxIter < 1, Inits < 1, Tol or Reg is
// negative or not finite, n < 1 or d < 1, len(x) != n·d, x holds NaN or
// ±Inf, n < K·(d+1) (too few rows for K full covariances), or a component
// covariance is not positive definite during EM (possible when Reg = 0; the
// message names the component and iteration).
func FitGMM(x []float64, n, d int, opt GMMOptions) (*GMM, error) {
	if err := checkGMMOptions(opt); err != nil {
		return nil, fmt.Errorf("fit gmm: %w", err)
	}
	if err := checkShape("fit gmm: x", x, n, d); err != nil {
		return nil, err
	}
	if n < opt.K*(d+1) {
		return nil, fmt.Errorf("fit gmm: %d rows are too few for K = %d components in d = %d (need n ≥ K·(d+1) = %d)", n, opt.K, d, opt.K*(d+1))
	}
	var best *GMM
	for s := 0; s < opt.Inits; s++ {
		g, err := fitEM(x, n, d, opt, rand.New(rand.NewPCG(opt.Seed, uint64(s))))
		if err != nil {
			return nil, fmt.Errorf("fit gmm: K = %d, start %d: %w", opt.K, s, err)
		}
		if best == nil || g.LogLik[len(g.LogLik)-1] > best.LogLik[len(best.LogLik)-1] {
			best = g
		}
	}
	return best, nil
}

func checkGMMOptions(opt GMMOptions) error {
	switch {
	case opt.K < 1:
		return fmt.Errorf("need K ≥ 1 components, got %d", opt.K)
	case opt.MaxIter < 1:
		return fmt.Errorf("need MaxIter ≥ 1, got %d", opt.MaxIter)
	case opt.Inits < 1:
		return fmt.Errorf("need Inits ≥ 1, got %d", opt.Inits)
	case !(opt.Tol >= 0) || math.IsInf(opt.Tol, 0):
		return fmt.Errorf("need a finite Tol ≥ 0, got %v", opt.Tol)
	case !(opt.Reg >= 0) || math.IsInf(opt.Reg, 0):
		return fmt.Errorf("need a finite Reg ≥ 0, got %v", opt.Reg)
	}
	return nil
}

// em holds the buffers of one EM run, allocated once.
type em struct {
	x       []float64
	n, d, k int
	reg     float64
	resp    []float64 // n×K responsibilities
	chunkLL []float64 // Σ log p(x_i) per row chunk, summed in chunk order
	g       *GMM
	m       *mixture
	logDet  []float64
	cen     *mat.Dense // n×d rows √r_ik (x_i − μ_k)
	sym     *mat.SymDense
	nk      []float64
}

func fitEM(x []float64, n, d int, opt GMMOptions, rng *rand.Rand) (*GMM, error) {
	k := opt.K
	e := &em{
		x: x, n: n, d: d, k: k, reg: opt.Reg,
		resp:    make([]float64, n*k),
		chunkLL: make([]float64, (n+rowChunk-1)/rowChunk),
		g: &GMM{D: d, Weights: make([]float64, k), Means: make([]float64, k*d),
			Covs: make([]float64, k*d*d), Reg: opt.Reg},
		logDet: make([]float64, k),
		cen:    mat.NewDense(n, d, nil),
		sym:    mat.NewSymDense(d, nil),
		nk:     make([]float64, k),
	}
	e.m = &mixture{d: d, k: k, mu: e.g.Means, chol: make([]float64, k*d*d), c: make([]float64, k)}
	for i, c := range kmeansLabels(x, n, d, k, rng) {
		e.resp[i*k+c] = 1
	}
	if err := e.mStep(); err != nil {
		return nil, fmt.Errorf("initialization: %w", err)
	}
	for it := 0; ; it++ {
		ll := e.eStep()
		e.g.LogLik = append(e.g.LogLik, ll)
		if it > 0 {
			prev := e.g.LogLik[it-1]
			if math.Abs(ll-prev) < opt.Tol*math.Max(1, math.Abs(ll)) || ll == prev {
				e.g.Converged = true
				break
			}
		}
		if it == opt.MaxIter {
			break
		}
		if err := e.mStep(); err != nil {
			return nil, fmt.Errorf("iteration %d: %w", it+1, err)
		}
	}
	return e.g, nil
}

// eStep fills the responsibilities and returns the mean log-likelihood.
func (e *em) eStep() float64 {
	k, d := e.k, e.d
	forChunks(e.n, func() []float64 { return make([]float64, d) }, func(c, lo, hi int, z []float64) {
		var s float64
		for i := lo; i < hi; i++ {
			lk := e.resp[i*k : (i+1)*k]
			lse := e.m.rowLogProb(e.x[i*d:(i+1)*d], lk, z)
			for j, v := range lk {
				lk[j] = math.Exp(v - lse)
			}
			s += lse
		}
		e.chunkLL[c] = s
	})
	var ll float64
	for _, v := range e.chunkLL {
		ll += v
	}
	return ll / float64(e.n)
}

// mStep updates weights, means and covariances from the responsibilities
// and refactors the components.
func (e *em) mStep() error {
	n, d, k := e.n, e.d, e.k
	g := e.g
	const tiny = 10 * 2.220446049250313e-16
	var total float64
	for j := 0; j < k; j++ {
		mu := g.Means[j*d : (j+1)*d]
		clear(mu)
		nk := tiny
		for i := 0; i < n; i++ {
			r := e.resp[i*k+j]
			if r == 0 {
				continue
			}
			nk += r
			for a, v := range e.x[i*d : (i+1)*d] {
				mu[a] += r * v
			}
		}
		for a := range mu {
			mu[a] /= nk
		}
		e.nk[j] = nk
		total += nk
		for i := 0; i < n; i++ {
			row := e.cen.RawRowView(i)
			sr := math.Sqrt(e.resp[i*k+j])
			for a, v := range e.x[i*d : (i+1)*d] {
				row[a] = sr * (v - mu[a])
			}
		}
		e.sym.SymRankK(zeroSym(e.sym), 1/nk, e.cen.T())
		cov := g.Covs[j*d*d : (j+1)*d*d]
		for a := 0; a < d; a++ {
			for b := a; b < d; b++ {
				v := e.sym.At(a, b)
				if a == b {
					v += e.reg
				}
				cov[a*d+b], cov[b*d+a] = v, v
			}
		}
		logDet, ok := factorComponent(cov, d, e.m.chol[j*d*d:(j+1)*d*d])
		if !ok {
			return fmt.Errorf("covariance of component %d (effective count %.4g) is not positive definite; increase Reg", j, nk)
		}
		e.logDet[j] = logDet
	}
	for j := 0; j < k; j++ {
		g.Weights[j] = e.nk[j] / total
		e.m.c[j] = math.Log(g.Weights[j]) - 0.5*(float64(d)*math.Log(2*math.Pi)+e.logDet[j])
	}
	return nil
}

// zeroSym zeroes s in place and returns it (SymRankK accumulates).
func zeroSym(s *mat.SymDense) *mat.SymDense {
	raw := s.RawSymmetric()
	for i := 0; i < raw.N; i++ {
		clear(raw.Data[i*raw.Stride+i : i*raw.Stride+raw.N])
	}
	return s
}

// kmeansLabels returns a cluster label in [0, k) per row: k-means++ seeding
// then 10 Lloyd iterations (an empty cluster keeps its centre).
func kmeansLabels(x []float64, n, d, k int, rng *rand.Rand) []int {
	centres := make([]float64, k*d)
	dist := make([]float64, n)
	sq := func(i int, c []float64) float64 {
		var s float64
		for a, v := range x[i*d : (i+1)*d] {
			t := v - c[a]
			s += t * t
		}
		return s
	}
	copy(centres, x[rng.IntN(n)*d:])
	for i := range dist {
		dist[i] = sq(i, centres[:d])
	}
	for j := 1; j < k; j++ {
		var total float64
		for _, v := range dist {
			total += v
		}
		pick := rng.IntN(n)
		if total > 0 {
			u := rng.Float64() * total
			for i, v := range dist {
				if u < v {
					pick = i
					break
				}
				u -= v
			}
		}
		c := centres[j*d : (j+1)*d]
		copy(c, x[pick*d:(pick+1)*d])
		for i := range dist {
			dist[i] = math.Min(dist[i], sq(i, c))
		}
	}
	labels := make([]int, n)
	counts := make([]int, k)
	sums := make([]float64, k*d)
	for iter := 0; iter < 10; iter++ {
		changed := false
		for i := 0; i < n; i++ {
			best, bj := math.Inf(1), 0
			for j := 0; j < k; j++ {
				if s := sq(i, centres[j*d:(j+1)*d]); s < best {
					best, bj = s, j
				}
			}
			if bj != labels[i] {
				labels[i], changed = bj, true
			}
		}
		if iter > 0 && !changed {
			break
		}
		clear(counts)
		clear(sums)
		for i, c := range labels {
			counts[c]++
			for a, v := range x[i*d : (i+1)*d] {
				sums[c*d+a] += v
			}
		}
		for j := 0; j < k; j++ {
			if counts[j] == 0 {
				continue
			}
			for a := 0; a < d; a++ {
				centres[j*d+a] = sums[j*d+a] / float64(counts[j])
			}
		}
	}
	return labels
}
