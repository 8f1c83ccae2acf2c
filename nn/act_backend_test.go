package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// These tests run in both builds (pure Go and openblas) and hold actEval32 and
// actEval64 to a float64 reference written here independently of either
// kernel (via cosh and tanh identities where the kernels use exp(-|z|)).
//
// Tolerances, relative to the reference value on the grid:
//   - float64: 1e-12. The C kernel is built with -ffast-math and libmvec
//     (≤ 4 ulp per call); its measured worst case on this grid is ~1e-15.
//   - float32: 1e-5 (the reference is evaluated at the float32-rounded input).
//
// The grid avoids the zeros of SiLU's σ' (x ≈ −1.28) and σ'' (x ≈ −2.40),
// where any relative tolerance is meaningless.

// refAct returns σ(x), σ′(x) and σ″(x) in float64.
func refAct(a Activation, beta, x float64) (y, d, dd float64) {
	// sigmoid(z), and sigmoid(z)(1 − sigmoid(z)) = 1/(4 cosh²(z/2)).
	sig := func(z float64) float64 {
		if z >= 0 {
			return 1 / (1 + math.Exp(-z))
		}
		e := math.Exp(z)
		return e / (1 + e)
	}
	sig1 := func(z float64) float64 {
		c := math.Cosh(z / 2)
		return 1 / (4 * c * c)
	}
	switch a {
	case Softplus:
		z := beta * x
		if z > 0 {
			y = x + math.Log1p(math.Exp(-z))/beta
		} else {
			y = math.Log1p(math.Exp(z)) / beta
		}
		return y, sig(z), beta * sig1(z)
	case Tanh:
		c := math.Cosh(x)
		return math.Tanh(x), 1 / (c * c), -2 * math.Tanh(x) / (c * c)
	case ELU:
		if x > 0 {
			return x, 1, 0
		}
		return math.Expm1(x), math.Exp(x), math.Exp(x)
	case SiLU:
		s, q := sig(x), sig1(x)
		return x * s, s + x*q, q * (2 - x*math.Tanh(x/2))
	case ReLU:
		if x > 0 {
			return x, 1, 0
		}
		return 0, 0, 0
	}
	panic(fmt.Sprintf("refAct: unknown activation %v", a))
}

var actGrid = []float64{0, 1e-8, -1e-8, 0.1, -0.1, 0.5, -0.5, 1, -1, 1.5, -1.5,
	3, -3, 7, -7, 15, -15, 30, -30, 1e4, -1e4}

var actCases = []struct {
	a    Activation
	beta float64
}{
	{Softplus, 1}, {Softplus, 2}, {Softplus, 20}, {Tanh, 1}, {ELU, 1}, {SiLU, 1}, {ReLU, 1},
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestActEval64Reference(t *testing.T) {
	const rtol = 1e-12
	n := len(actGrid)
	for _, c := range actCases {
		t.Run(fmt.Sprintf("%v/beta=%g", c.a, c.beta), func(t *testing.T) {
			y, d, dd := make([]float64, n), make([]float64, n), make([]float64, n)
			actEval64(c.a, c.beta, actGrid, y, d, dd)
			worst := 0.0
			for i, x := range actGrid {
				wy, wd, wdd := refAct(c.a, c.beta, x)
				for k, p := range [3][2]float64{{y[i], wy}, {d[i], wd}, {dd[i], wdd}} {
					if math.IsNaN(p[0]) || math.IsInf(p[0], 0) {
						t.Fatalf("x=%g: σ^(%d) = %g, want finite %g", x, k, p[0], p[1])
					}
					e := relErr(p[0], p[1])
					worst = math.Max(worst, e)
					if e > rtol {
						t.Errorf("x=%g: σ^(%d) = %.17g, want %.17g (rel err %.2g > %g)", x, k, p[0], p[1], e, rtol)
					}
				}
			}
			t.Logf("%s: worst rel err %.2g", Backend(), worst)
		})
	}
}

func TestActEval32Reference(t *testing.T) {
	const rtol = 1e-5
	n := len(actGrid)
	x32 := make([]float32, n)
	for i, x := range actGrid {
		x32[i] = float32(x)
	}
	for _, c := range actCases {
		t.Run(fmt.Sprintf("%v/beta=%g", c.a, c.beta), func(t *testing.T) {
			y, d, dd := make([]float32, n), make([]float32, n), make([]float32, n)
			actEval32(c.a, float32(c.beta), x32, y, d, dd)
			worst := 0.0
			for i, x := range x32 {
				wy, wd, wdd := refAct(c.a, c.beta, float64(x))
				for k, p := range [3][2]float64{{float64(y[i]), wy}, {float64(d[i]), wd}, {float64(dd[i]), wdd}} {
					if math.IsNaN(p[0]) || math.IsInf(p[0], 0) {
						t.Fatalf("x=%g: σ^(%d) = %g, want finite %g", x, k, p[0], p[1])
					}
					// Values below float32's smallest normal count as 0.
					if math.Abs(p[1]) < 0x1p-126 && math.Abs(p[0]) < 0x1p-126 {
						continue
					}
					e := relErr(p[0], p[1])
					worst = math.Max(worst, e)
					if e > rtol {
						t.Errorf("x=%g: σ^(%d) = %.9g, want %.9g (rel err %.2g > %g)", x, k, p[0], p[1], e, rtol)
					}
				}
			}
			t.Logf("%s: worst rel err %.2g", Backend(), worst)
		})
	}
}

// Softplus must saturate to exactly x, with no overflow, once βx is large.
func TestActSoftplusSaturates(t *testing.T) {
	x := []float64{40, 1e3, 1e4, 1e300}
	y := make([]float64, len(x))
	actEval64(Softplus, 2, x, y, nil, nil)
	x32 := []float32{40, 1e3, 1e4, 1e30}
	y32 := make([]float32, len(x32))
	actEval32(Softplus, 2, x32, y32, nil, nil)
	// β = 0 means 1, in both builds.
	xb := []float64{-3, 0.5, 2}
	yb0, yb1 := make([]float64, 3), make([]float64, 3)
	actEval64(Softplus, 0, xb, yb0, nil, nil)
	actEval64(Softplus, 1, xb, yb1, nil, nil)
	for i := range xb {
		if yb0[i] != yb1[i] {
			t.Errorf("softplus β=0 at %g: %g, want the β=1 value %g", xb[i], yb0[i], yb1[i])
		}
	}
	for i := range x {
		if y[i] != x[i] {
			t.Errorf("float64 softplus(%g) = %g, want %g", x[i], y[i], x[i])
		}
		if y32[i] != x32[i] {
			t.Errorf("float32 softplus(%g) = %g, want %g", x32[i], y32[i], x32[i])
		}
	}
}

// The variants (d or dd nil, y aliasing x) must agree with the full call, on a
// long random slice that exercises the vector loops and their tails. The
// tolerance here is loose (rtol·(|want|+1)): this checks the plumbing, the
// grid tests above check the accuracy.
func TestActEvalVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1037
	x := make([]float64, n)
	x32 := make([]float32, n)
	for i := range x {
		x32[i] = float32(80*rng.Float64() - 40)
		x[i] = float64(x32[i])
	}
	for _, c := range actCases {
		y, d, dd := make([]float64, n), make([]float64, n), make([]float64, n)
		actEval64(c.a, c.beta, x, y, d, dd)
		y32, d32, dd32 := make([]float32, n), make([]float32, n), make([]float32, n)
		actEval32(c.a, float32(c.beta), x32, y32, d32, dd32)
		for i := range x {
			wy, wd, wdd := refAct(c.a, c.beta, x[i])
			for k, p := range [3][3]float64{{y[i], float64(y32[i]), wy}, {d[i], float64(d32[i]), wd}, {dd[i], float64(dd32[i]), wdd}} {
				if math.Abs(p[0]-p[2]) > 1e-12*(math.Abs(p[2])+1) || math.Abs(p[1]-p[2]) > 1e-5*(math.Abs(p[2])+1) {
					t.Fatalf("%v x=%g: σ^(%d) = %g (f64), %g (f32), want %g", c.a, x[i], k, p[0], p[1], p[2])
				}
			}
		}
		// d only, dd only, value only, value in place.
		y2, d2, dd2 := make([]float64, n), make([]float64, n), make([]float64, n)
		check := func(name string, got, want []float64) {
			t.Helper()
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-14*(math.Abs(want[i])+1) {
					t.Fatalf("%v %s: x=%g: got %g, want %g", c.a, name, x[i], got[i], want[i])
				}
			}
		}
		actEval64(c.a, c.beta, x, y2, d2, nil)
		check("y (d only)", y2, y)
		check("d (d only)", d2, d)
		actEval64(c.a, c.beta, x, y2, nil, dd2)
		check("y (dd only)", y2, y)
		check("dd (dd only)", dd2, dd)
		actEval64(c.a, c.beta, x, y2, nil, nil)
		check("y (value only)", y2, y)
		copy(y2, x)
		actEval64(c.a, c.beta, y2, y2, nil, nil)
		check("y (in place)", y2, y)
		y232 := append([]float32(nil), x32...)
		actEval32(c.a, float32(c.beta), y232, y232, nil, nil)
		for i := range y232 {
			if math.Abs(float64(y232[i]-y32[i])) > 1e-6*(math.Abs(float64(y32[i]))+1) {
				t.Fatalf("%v float32 in place: x=%g: got %g, want %g", c.a, x32[i], y232[i], y32[i])
			}
		}
	}
}

func TestBackendThreads(t *testing.T) {
	switch Backend() {
	case "pure-go", "openblas", "mkl":
	default:
		t.Fatalf("Backend() = %q, want pure-go, openblas or mkl", Backend())
	}
	if core := BLASCore(); (Backend() != "pure-go") != (core != "") {
		t.Errorf("backend %s: BLASCore() = %q", Backend(), core)
	}
	old := BLASThreads()
	if old < 1 {
		t.Fatalf("BLASThreads() = %d, want ≥ 1", old)
	}
	defer SetBLASThreads(old)
	SetBLASThreads(1)
	if Backend() == "openblas" && BLASThreads() != 1 {
		t.Errorf("after SetBLASThreads(1): BLASThreads() = %d, want 1", BLASThreads())
	}
}
