package theory

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var sigma75 = []float64{7, 5, 5, 7}

// close5 reports whether got matches want to the printed digits: the
// difference is at most half a unit in the 5th significant digit of want (or
// of the last printed decimal for small values, given by absTol).
func close5(got, want, absTol float64) bool {
	tol := 0.5e-4 * math.Abs(want)
	if absTol > tol {
		tol = absTol
	}
	return math.Abs(got-want) <= tol
}

// printed parses a decimal as printed in methods.md and returns its value and
// half a unit of its last printed digit.
func printed(t *testing.T, s string) (float64, float64) {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	dec := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		dec = len(s) - i - 1
	}
	return v, 0.5 * math.Pow(10, -float64(dec))
}

func checkSlice(t *testing.T, what string, got, want []float64, absTol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !close5(got[i], want[i], absTol) {
			t.Errorf("%s[%d] = %.7g, want %.7g", what, i, got[i], want[i])
		}
	}
}

func TestJKOStepClosedForms(t *testing.T) {
	zero := []float64{0, 0}
	tests := []struct {
		h       float64
		cov     []float64
		a       []float64 // nil: not printed in methods.md
		klAfter float64
		half    float64 // < 0: not printed
	}{
		{10, []float64{1.15161, 0.11140, 0.11140, 1.15161}, []float64{0.52280, -0.19838, -0.19838, 0.52280}, 0.01515, 2.81616},
		{1, []float64{2.62275, 1.31374, 1.31374, 2.62275}, nil, 0.80297, -1},
		{0.25, []float64{4.86544, 3.20960, 3.20960, 4.86544}, nil, 2.56890, -1},
	}
	kl0, err := KLToStdNormal(zero, sigma75, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !close5(kl0, 4.41097, 0) {
		t.Errorf("KL(N(0,Σ)‖N(0,I)) = %.7g, want 4.41097", kl0)
	}
	for _, tc := range tests {
		t.Run("h="+strconv.FormatFloat(tc.h, 'g', -1, 64), func(t *testing.T) {
			r, err := JKOStep(zero, sigma75, 2, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "Σ'", r.Cov, tc.cov, 0.5e-5)
			checkSlice(t, "mean", r.Mean, zero, 1e-15)
			checkSlice(t, "b", r.B, zero, 1e-15)
			if tc.a != nil {
				checkSlice(t, "A", r.A, tc.a, 0.5e-5)
			}
			kl, err := KLToStdNormal(r.Mean, r.Cov, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !close5(kl, tc.klAfter, 0.5e-5) {
				t.Errorf("KL after = %.7g, want %.7g", kl, tc.klAfter)
			}
			if tc.half >= 0 && !close5(r.HalfMovement, tc.half, 0) {
				t.Errorf("E½|x − Tx|² = %.7g, want %.7g", r.HalfMovement, tc.half)
			}
			// The map pushes N(m, Σ) to the stated law: A Σ Aᵀ = Σ'.
			a := mat.NewDense(2, 2, r.A)
			var asa mat.Dense
			asa.Product(a, mat.NewDense(2, 2, sigma75), a.T())
			for i := 0; i < 2; i++ {
				for j := 0; j < 2; j++ {
					if d := asa.At(i, j) - r.Cov[i*2+j]; math.Abs(d) > 1e-12 {
						t.Errorf("(AΣAᵀ)[%d,%d] − Σ'[%d,%d] = %g", i, j, i, j, d)
					}
				}
			}
		})
	}
}

func TestJKOMultiBlock(t *testing.T) {
	hs := []float64{0.25, 0.35, 0.49, 0.69, 0.96, 1.34, 1.88, 2.64}
	// As printed in methods.md §5.2; each must match to its last printed decimal.
	want := []string{"6.91097", "4.16890", "2.07622", "0.80228", "0.22762", "0.04781", "0.00749", "0.000834", "0.000061"}
	m := []float64{1, -2}
	cov := append([]float64(nil), sigma75...)
	for k := 0; ; k++ {
		kl, err := KLToStdNormal(m, cov, 2)
		if err != nil {
			t.Fatal(err)
		}
		w, tol := printed(t, want[k])
		if math.Abs(kl-w) > tol {
			t.Errorf("KL(ρ_%d‖q) = %.7g, want %s", k, kl, want[k])
		}
		if k == len(hs) {
			break
		}
		r, err := JKOStep(m, cov, 2, hs[k])
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			if w := m[i] / (1 + hs[k]); math.Abs(r.Mean[i]-w) > 1e-15 {
				t.Errorf("step %d: mean[%d] = %g, want m/(1+h) = %g", k, i, r.Mean[i], w)
			}
		}
		// T(m) = A m + b must be the new mean.
		for i := range m {
			tm := r.B[i]
			for j := range m {
				tm += r.A[i*2+j] * m[j]
			}
			if math.Abs(tm-r.Mean[i]) > 1e-12 {
				t.Errorf("step %d: T(m)[%d] = %g, want %g", k, i, tm, r.Mean[i])
			}
		}
		m, cov = r.Mean, r.Cov
	}
}

// TestJKOHalfMovementMonteCarlo checks HalfMovement against a sample mean of
// ½|x − T(x)|² for x ~ N(m, Σ), within 4 standard errors.
func TestJKOHalfMovementMonteCarlo(t *testing.T) {
	m := []float64{1, -2}
	r, err := JKOStep(m, sigma75, 2, 0.49)
	if err != nil {
		t.Fatal(err)
	}
	var ch mat.Cholesky
	ch.Factorize(mat.NewSymDense(2, sigma75))
	var l mat.TriDense
	ch.LTo(&l)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	var sum, sum2 float64
	for i := 0; i < n; i++ {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		x0 := m[0] + l.At(0, 0)*z0
		x1 := m[1] + l.At(1, 0)*z0 + l.At(1, 1)*z1
		t0 := r.A[0]*x0 + r.A[1]*x1 + r.B[0]
		t1 := r.A[2]*x0 + r.A[3]*x1 + r.B[1]
		v := 0.5 * ((x0-t0)*(x0-t0) + (x1-t1)*(x1-t1))
		sum += v
		sum2 += v * v
	}
	mean := sum / n
	se := math.Sqrt((sum2/n - mean*mean) / n)
	if math.Abs(mean-r.HalfMovement) > 4*se {
		t.Errorf("Monte Carlo E½|x − Tx|² = %.5f ± %.5f, closed form %.5f", mean, se, r.HalfMovement)
	}
}

// TestJKOFirstOrderCondition checks optimality of T: the first variation of
// KL(T#ρ‖q) + E|x − Tx|²/(2h) vanishes, i.e. for T(x) = A x + b and
// ρ' = N(μ', Σ'): (T(x) − x)/h + T(x) − Σ'⁻¹(T(x) − μ') = 0 for all x.
func TestJKOFirstOrderCondition(t *testing.T) {
	m := []float64{0.3, -1.2, 2}
	cov := []float64{3, 1, 0.5, 1, 2, -0.4, 0.5, -0.4, 1.5}
	const h = 0.7
	r, err := JKOStep(m, cov, 3, h)
	if err != nil {
		t.Fatal(err)
	}
	var inv mat.Dense
	if err := inv.Inverse(mat.NewDense(3, 3, r.Cov)); err != nil {
		t.Fatal(err)
	}
	a := mat.NewDense(3, 3, r.A)
	for _, x := range [][]float64{{0, 0, 0}, {1, 2, 3}, {-2, 0.5, 1}} {
		var tx, g mat.VecDense
		tx.MulVec(a, mat.NewVecDense(3, x))
		tx.AddVec(&tx, mat.NewVecDense(3, r.B))
		var dev mat.VecDense
		dev.SubVec(&tx, mat.NewVecDense(3, r.Mean))
		g.MulVec(&inv, &dev)
		for i := 0; i < 3; i++ {
			res := (tx.AtVec(i)-x[i])/h + tx.AtVec(i) - g.AtVec(i)
			if math.Abs(res) > 1e-12 {
				t.Errorf("x = %v: first-order residual[%d] = %g", x, i, res)
			}
		}
	}
}

func TestOUMarginal(t *testing.T) {
	m := []float64{1, -2}
	mt, ct := OUMarginal(m, sigma75, 2, 0)
	checkSlice(t, "mean t=0", mt, m, 0)
	checkSlice(t, "cov t=0", ct, sigma75, 0)
	mt, ct = OUMarginal(m, sigma75, 2, 0.5)
	e1, e2 := math.Exp(-0.5), math.Exp(-1)
	checkSlice(t, "mean t=0.5", mt, []float64{e1, -2 * e1}, 1e-15)
	checkSlice(t, "cov t=0.5", ct, []float64{7*e2 + 1 - e2, 5 * e2, 5 * e2, 7*e2 + 1 - e2}, 1e-14)
	for _, tt := range []float64{40, math.Inf(1)} {
		mt, ct = OUMarginal(m, sigma75, 2, tt)
		checkSlice(t, "mean t→∞", mt, []float64{0, 0}, 1e-15)
		checkSlice(t, "cov t→∞", ct, []float64{1, 0, 0, 1}, 1e-15)
	}
	// KL to N(0, I) contracts at least like e^{−2t} (methods.md §5).
	kl0, _ := KLToStdNormal(m, sigma75, 2)
	for _, tt := range []float64{0.1, 0.5, 1, 2} {
		mt, ct = OUMarginal(m, sigma75, 2, tt)
		kl, err := KLToStdNormal(mt, ct, 2)
		if err != nil {
			t.Fatal(err)
		}
		if kl > math.Exp(-2*tt)*kl0 {
			t.Errorf("t = %g: KL = %g > e^{−2t} KL_0 = %g", tt, kl, math.Exp(-2*tt)*kl0)
		}
	}
	for _, bad := range []struct {
		m, c []float64
		d    int
		t    float64
	}{
		{m, sigma75, 2, -1}, {m, sigma75, 2, math.NaN()}, {m, sigma75, 3, 1},
		{m, []float64{7, 5, 4, 7}, 2, 1}, {[]float64{1, math.Inf(1)}, sigma75, 2, 1},
	} {
		if a, b := OUMarginal(bad.m, bad.c, bad.d, bad.t); a != nil || b != nil {
			t.Errorf("OUMarginal(%v, %v, %d, %v) = %v, %v; want nil, nil", bad.m, bad.c, bad.d, bad.t, a, b)
		}
	}
}

func TestLFMVelocityExample(t *testing.T) {
	K, b, err := LFMVelocity([]float64{1, -2}, sigma75, 2, 0.25, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	checkSlice(t, "K", K, []float64{-0.17136, -0.05428, -0.05428, -0.17136}, 0.5e-5)
	checkSlice(t, "b", b, []float64{-0.16535, 0.18587}, 0.5e-5)
}

// TestLFMVelocityConditionalMean checks v*(x, t) = E[∂_t I_t | I_t = x] by
// regressing ∂_t I_t on I_t over Monte-Carlo samples of the coupling: the
// least-squares slope and intercept must match K and b.
func TestLFMVelocityConditionalMean(t *testing.T) {
	m := []float64{1, -2}
	const gamma, tt = 0.4, 0.3
	K, b, err := LFMVelocity(m, sigma75, 2, gamma, tt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 100000
	eg, sg := math.Exp(-gamma), math.Sqrt(1-math.Exp(-2*gamma))
	l00, l10, l11 := math.Sqrt(7.0), 5/math.Sqrt(7.0), math.Sqrt(7-25/7.0)
	x := mat.NewDense(n, 3, nil)
	y := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		xl := []float64{m[0] + l00*z0, m[1] + l10*z0 + l11*z1}
		xr := []float64{eg*xl[0] + sg*rng.NormFloat64(), eg*xl[1] + sg*rng.NormFloat64()}
		x.Set(i, 0, (1-tt)*xl[0]+tt*xr[0])
		x.Set(i, 1, (1-tt)*xl[1]+tt*xr[1])
		x.Set(i, 2, 1)
		y.Set(i, 0, xr[0]-xl[0])
		y.Set(i, 1, xr[1]-xl[1])
	}
	var coef mat.Dense
	if err := coef.Solve(x, y); err != nil {
		t.Fatal(err)
	}
	// coef is 3×2: rows 0–1 hold Kᵀ, row 2 holds bᵀ.
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			if d := coef.At(j, i) - K[i*2+j]; math.Abs(d) > 0.01 {
				t.Errorf("regression K[%d,%d] = %.4f, closed form %.4f", i, j, coef.At(j, i), K[i*2+j])
			}
		}
		if d := coef.At(2, i) - b[i]; math.Abs(d) > 0.01 {
			t.Errorf("regression b[%d] = %.4f, closed form %.4f", i, coef.At(2, i), b[i])
		}
	}
}

func TestGaussianEntropyAndKL(t *testing.T) {
	h, err := GaussianEntropy(sigma75, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(h-4.426904) > 0.5e-6 {
		t.Errorf("entropy = %.7f, want 4.426904", h)
	}
	m1 := []float64{1, -2}
	id := []float64{1, 0, 0, 1}
	kl, err := GaussianKL(m1, sigma75, []float64{0, 0}, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !close5(kl, 6.91097, 0) {
		t.Errorf("GaussianKL(N(m,Σ)‖N(0,I)) = %.7g, want 6.91097", kl)
	}
	// KL(N1‖N2) for 1-D laws: log(s2/s1) + (s1² + (m1−m2)²)/(2 s2²) − ½.
	kl1, err := GaussianKL([]float64{1}, []float64{4}, []float64{-1}, []float64{9}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := math.Log(3.0/2) + (4+4)/18.0 - 0.5
	if math.Abs(kl1-want) > 1e-14 {
		t.Errorf("1-D GaussianKL = %.15g, want %.15g", kl1, want)
	}
	self, err := GaussianKL(m1, sigma75, m1, sigma75, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(self) > 1e-14 {
		t.Errorf("KL(N‖N) = %g, want 0", self)
	}
}

func TestErrors(t *testing.T) {
	m := []float64{0, 0}
	notPD := []float64{1, 2, 2, 1}
	tests := []struct {
		name string
		err  error
		msg  string
		spd  bool
	}{
		{"jko h=0", second(JKOStep(m, sigma75, 2, 0)), "jko step: step size h = 0, need a finite h > 0", false},
		{"jko h=NaN", second(JKOStep(m, sigma75, 2, math.NaN())), "jko step: step size h = NaN, need a finite h > 0", false},
		{"jko not PD", second(JKOStep(m, notPD, 2, 1)), "jko step: eigenvalue 0 of cov is -1: covariance is not symmetric positive definite", true},
		{"jko asym", second(JKOStep(m, []float64{7, 5, 4, 7}, 2, 1)), "jko step: cov[0,1] = 5 differs from cov[1,0] = 4: covariance is not symmetric positive definite", true},
		{"jko len", second(JKOStep(m, sigma75[:3], 2, 1)), "jko step: len(cov) = 3, want d·d = 4", false},
		{"kl mean len", second(KLToStdNormal([]float64{0}, sigma75, 2)), "kl to standard normal: len(mean) = 1, want d = 2", false},
		{"kl not PD", second(KLToStdNormal(m, notPD, 2)), "kl to standard normal: cholesky factorization failed: covariance is not symmetric positive definite", true},
		{"kl NaN", second(KLToStdNormal(m, []float64{1, 0, 0, math.NaN()}, 2)), "kl to standard normal: cov[1,1] = NaN is not finite", false},
		{"gkl second", second(GaussianKL(m, sigma75, m, notPD, 2)), "gaussian kl: second law: cholesky factorization failed: covariance is not symmetric positive definite", true},
		{"entropy d=0", second(GaussianEntropy(nil, 0)), "gaussian entropy: dimension d = 0, need d ≥ 1", false},
		{"lfm t", third(LFMVelocity(m, sigma75, 2, 0.25, 1.5)), "lfm velocity: time t = 1.5 outside [0, 1]", false},
		{"lfm gamma", third(LFMVelocity(m, sigma75, 2, -1, 0.5)), "lfm velocity: OU step γ = -1, need a finite γ > 0", false},
		{"lfm not PD", third(LFMVelocity(m, []float64{1, 0, 0, 0}, 2, 0.25, 0.5)), "lfm velocity: eigenvalue 0 of cov is 0: covariance is not symmetric positive definite", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if tc.err.Error() != tc.msg {
				t.Errorf("error %q, want %q", tc.err, tc.msg)
			}
			if errors.Is(tc.err, ErrNotSPD) != tc.spd {
				t.Errorf("errors.Is(err, ErrNotSPD) = %v, want %v", !tc.spd, tc.spd)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
