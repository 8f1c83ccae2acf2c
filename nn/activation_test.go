package nn

import (
	"math"
	"testing"
)

var allActivations = []Activation{Softplus, Tanh, ELU, SiLU, ReLU}

// evalAct64 evaluates σ, σ', σ″ at one point through the float64 kernel.
func evalAct64(a Activation, beta, x float64) (y, d, dd float64) {
	ys, ds, dds := []float64{0}, []float64{0}, []float64{0}
	actEval64(a, beta, []float64{x}, ys, ds, dds)
	return ys[0], ds[0], dds[0]
}

func TestActivationKnownValues(t *testing.T) {
	e := math.E
	tests := []struct {
		a            Activation
		beta, x      float64
		y, d, dd     float64
		name         string
		tolerance    float64
		skipSecondOK bool
	}{
		{name: "softplus(0) β=1", a: Softplus, beta: 1, x: 0, y: math.Ln2, d: 0.5, dd: 0.25},
		{name: "softplus(0) β=0 means 1", a: Softplus, beta: 0, x: 0, y: math.Ln2, d: 0.5, dd: 0.25},
		{name: "softplus(0) β=20", a: Softplus, beta: 20, x: 0, y: math.Ln2 / 20, d: 0.5, dd: 20 * 0.25},
		{name: "softplus(1) β=2", a: Softplus, beta: 2, x: 1, y: math.Log1p(e*e) / 2, d: 1 / (1 + 1/(e*e)), dd: 2 * (1 / (1 + 1/(e*e))) * (1 / (1 + e*e))},
		{name: "tanh(0)", a: Tanh, x: 0, y: 0, d: 1, dd: 0},
		{name: "tanh(1)", a: Tanh, x: 1, y: math.Tanh(1), d: 1 - math.Tanh(1)*math.Tanh(1), dd: -2 * math.Tanh(1) * (1 - math.Tanh(1)*math.Tanh(1))},
		{name: "elu(-1)", a: ELU, x: -1, y: 1/e - 1, d: 1 / e, dd: 1 / e},
		{name: "elu(0)", a: ELU, x: 0, y: 0, d: 1, dd: 1},
		{name: "elu(2)", a: ELU, x: 2, y: 2, d: 1, dd: 0},
		{name: "silu(0)", a: SiLU, x: 0, y: 0, d: 0.5, dd: 0.5},
		{name: "silu(1)", a: SiLU, x: 1, y: 1 / (1 + 1/e), d: (1 / (1 + 1/e)) * (1 + 1/(1+e)), dd: (1 / (1 + 1/e)) * (1 / (1 + e)) * (2 + (1/(1+e) - 1/(1+1/e)))},
		{name: "relu(0)", a: ReLU, x: 0, y: 0, d: 0, dd: 0},
		{name: "relu(-3)", a: ReLU, x: -3, y: 0, d: 0, dd: 0},
		{name: "relu(3)", a: ReLU, x: 3, y: 3, d: 1, dd: 0},
	}
	for _, tc := range tests {
		y, d, dd := evalAct64(tc.a, tc.beta, tc.x)
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"σ", y, tc.y}, {"σ'", d, tc.d}, {"σ''", dd, tc.dd}} {
			if math.Abs(c.got-c.want) > 1e-14*(1+math.Abs(c.want)) {
				t.Errorf("%s: %s = %.17g, want %.17g", tc.name, c.what, c.got, c.want)
			}
		}
	}
}

// TestActivationFiniteDifferences checks σ' and σ″ against central
// differences of σ and σ' at points away from the kinks.
func TestActivationFiniteDifferences(t *testing.T) {
	xs := []float64{-6, -3.3, -1.7, -0.9, -0.31, 0.27, 0.8, 1.9, 3.4, 7.5}
	const h = 1e-5
	for _, a := range allActivations {
		for _, beta := range []float64{1, 2.5, 20} {
			if a != Softplus && beta != 1 {
				continue
			}
			for _, x := range xs {
				_, d, dd := evalAct64(a, beta, x)
				yp, dp, _ := evalAct64(a, beta, x+h)
				ym, dm, _ := evalAct64(a, beta, x-h)
				fd1 := (yp - ym) / (2 * h)
				fd2 := (dp - dm) / (2 * h)
				tol := 1e-7 * (1 + beta*beta)
				if math.Abs(fd1-d) > tol {
					t.Errorf("%v β=%g x=%g: σ' = %.12g, finite difference %.12g", a, beta, x, d, fd1)
				}
				if math.Abs(fd2-dd) > tol*beta {
					t.Errorf("%v β=%g x=%g: σ'' = %.12g, finite difference %.12g", a, beta, x, dd, fd2)
				}
			}
		}
	}
}

// TestActivationExtremeInputs checks that ±1e4 (and more) give finite values
// with the right asymptotics in both precisions.
func TestActivationExtremeInputs(t *testing.T) {
	xs := []float64{-1e300, -1e4, -800, 800, 1e4, 1e300}
	for _, a := range allActivations {
		for _, beta := range []float64{1, 20} {
			y := make([]float64, len(xs))
			d := make([]float64, len(xs))
			dd := make([]float64, len(xs))
			actEval64(a, beta, xs, y, d, dd)
			x32 := []float32{-1e30, -1e4, -800, 800, 1e4, 1e30}
			y32 := make([]float32, len(x32))
			d32 := make([]float32, len(x32))
			dd32 := make([]float32, len(x32))
			actEval32(a, float32(beta), x32, y32, d32, dd32)
			for i, x := range xs {
				for _, v := range []float64{y[i], d[i], dd[i], float64(y32[i]), float64(d32[i]), float64(dd32[i])} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%v β=%g x=%g: non-finite output %v", a, beta, x, v)
					}
				}
				// Asymptotics: σ ≈ x (or 1 for tanh, −1 for ELU, 0 for the
				// others) and σ' ∈ {0, 1} at the tails.
				var wantY, wantD float64
				switch {
				case x > 0 && a == Tanh:
					wantY, wantD = 1, 0
				case x > 0:
					wantY, wantD = x, 1
				case a == Tanh:
					wantY, wantD = -1, 0
				case a == ELU:
					wantY, wantD = -1, 0
				}
				if y[i] != wantY || d[i] != wantD || dd[i] != 0 {
					t.Errorf("%v β=%g x=%g: (σ, σ', σ'') = (%g, %g, %g), want (%g, %g, 0)", a, beta, x, y[i], d[i], dd[i], wantY, wantD)
				}
			}
		}
	}
}

// TestActEvalAliasAndFloat32 checks in-place evaluation (y aliasing x) and
// that float32 agrees with float64 to float32 precision.
func TestActEvalAliasAndFloat32(t *testing.T) {
	xs := []float64{-4, -1, -0.25, 0.3, 1.2, 5}
	for _, a := range allActivations {
		y := make([]float64, len(xs))
		actEval64(a, 3, xs, y, nil, nil)
		in := append([]float64(nil), xs...)
		actEval64(a, 3, in, in, nil, nil)
		x32 := make([]float32, len(xs))
		for i, x := range xs {
			x32[i] = float32(x)
		}
		actEval32(a, 3, x32, x32, nil, nil)
		for i := range xs {
			if in[i] != y[i] {
				t.Errorf("%v: in place σ(%g) = %g, want %g", a, xs[i], in[i], y[i])
			}
			if math.Abs(float64(x32[i])-y[i]) > 1e-6*(1+math.Abs(y[i])) {
				t.Errorf("%v: float32 σ(%g) = %g, want %g", a, xs[i], x32[i], y[i])
			}
		}
	}
}

// TestActParMatchesSerial checks the goroutine split of long slices.
func TestActParMatchesSerial(t *testing.T) {
	n := 3*parMinElems + 17
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i%97)/10 - 4.8
	}
	y1, d1, dd1 := make([]float64, n), make([]float64, n), make([]float64, n)
	y2, d2, dd2 := make([]float64, n), make([]float64, n), make([]float64, n)
	actEval(SiLU, 1, x, y1, d1, dd1)
	actSplit(SiLU, 1, x, y2, d2, dd2, 3)
	actPar(SiLU, 1, x, y2, nil, nil)
	for i := range x {
		if y1[i] != y2[i] || d1[i] != d2[i] || dd1[i] != dd2[i] {
			t.Fatalf("element %d: split (%g, %g, %g) != serial (%g, %g, %g)", i, y2[i], d2[i], dd2[i], y1[i], d1[i], dd1[i])
		}
	}
}
