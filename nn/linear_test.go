package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// *Linear[float64] satisfies flow's field contracts at compile time.
var (
	_ velocityField = (*Linear[float64])(nil)
	_ traceField    = (*Linear[float64])(nil)
	_ jvpField      = (*Linear[float64])(nil)
)

func randLinear(d int, rng *rand.Rand) *Linear[float64] {
	l := NewLinear[float64](d)
	for i := range l.Params() {
		l.Params()[i] = rng.NormFloat64()
	}
	return l
}

func TestLinearVelocityTraceJVP(t *testing.T) {
	// A = [[1,2],[3,4]], b = (0.5, −1): tr A = 5 (methods.md §5.6).
	l := NewLinear[float64](2)
	copy(l.Params(), []float64{1, 2, 3, 4, 0.5, -1})
	x := []float64{1, 1, 2, -1}
	u := []float64{1, 0, 0, 1}
	v := make([]float64, 4)
	jv := make([]float64, 4)
	div := make([]float64, 2)
	l.VelocityTrace(0.3, x, 2, v, div)
	want := []float64{3.5, 6, 0.5, 1}
	for i := range want {
		if v[i] != want[i] {
			t.Errorf("v[%d] = %g, want %g", i, v[i], want[i])
		}
	}
	if div[0] != 5 || div[1] != 5 {
		t.Errorf("div = %v, want [5 5]", div)
	}
	l.VelocityJVP(0, x, 2, u, v, jv)
	wantJV := []float64{1, 3, 2, 4} // A e1 = first column, A e2 = second column
	for i := range wantJV {
		if jv[i] != wantJV[i] {
			t.Errorf("jv[%d] = %g, want %g", i, jv[i], wantJV[i])
		}
	}
	if l.NumParams() != 6 || l.Dim() != 2 {
		t.Errorf("NumParams, Dim = %d, %d, want 6, 2", l.NumParams(), l.Dim())
	}
}

// The trace equals the divergence by central differences, and the JVP equals
// the directional derivative, for random A, b in several dimensions.
func TestLinearTraceJVPFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 3, 5} {
		l := randLinear(d, rng)
		x := make([]float64, d)
		u := make([]float64, d)
		for i := range x {
			x[i], u[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		const eps = 1e-6
		vp, vm := make([]float64, d), make([]float64, d)
		var fdDiv float64
		for j := 0; j < d; j++ {
			xp := append([]float64(nil), x...)
			xm := append([]float64(nil), x...)
			xp[j] += eps
			xm[j] -= eps
			l.Velocity(0, xp, 1, vp)
			l.Velocity(0, xm, 1, vm)
			fdDiv += (vp[j] - vm[j]) / (2 * eps)
		}
		v, jv, div := make([]float64, d), make([]float64, d), make([]float64, 1)
		l.VelocityTrace(0, x, 1, v, div)
		if math.Abs(div[0]-fdDiv) > 1e-6 {
			t.Errorf("d=%d: trace %g, finite differences %g", d, div[0], fdDiv)
		}
		l.VelocityJVP(0, x, 1, u, v, jv)
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		for j := range x {
			xp[j] += eps * u[j]
			xm[j] -= eps * u[j]
		}
		l.Velocity(0, xp, 1, vp)
		l.Velocity(0, xm, 1, vm)
		for j := range jv {
			if fd := (vp[j] - vm[j]) / (2 * eps); math.Abs(jv[j]-fd) > 1e-6 {
				t.Errorf("d=%d: jv[%d] = %g, finite differences %g", d, j, jv[j], fd)
			}
		}
	}
}

// VJP with respect to parameters and inputs matches central differences of
// the scalar Σ_i w_i · f(x_i).
func TestLinearVJPFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d, n = 3, 4
	l := randLinear(d, rng)
	x := make([]float64, n*d)
	w := make([]float64, n*d)
	for i := range x {
		x[i], w[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	v := make([]float64, n*d)
	scalar := func() float64 {
		l.Velocity(0, x, n, v)
		var s float64
		for i := range v {
			s += w[i] * v[i]
		}
		return s
	}
	grad := make([]float64, l.NumParams())
	grad[0] = 1 // VJP adds into grad
	dx := make([]float64, n*d)
	l.VJP(0, x, n, w, grad, dx)
	grad[0]--
	const eps = 1e-6
	p := l.Params()
	for k := range p {
		old := p[k]
		p[k] = old + eps
		fp := scalar()
		p[k] = old - eps
		fm := scalar()
		p[k] = old
		if fd := (fp - fm) / (2 * eps); math.Abs(grad[k]-fd) > 1e-6 {
			t.Errorf("grad[%d] = %g, finite differences %g", k, grad[k], fd)
		}
	}
	for k := range x {
		old := x[k]
		x[k] = old + eps
		fp := scalar()
		x[k] = old - eps
		fm := scalar()
		x[k] = old
		if fd := (fp - fm) / (2 * eps); math.Abs(dx[k]-fd) > 1e-6 {
			t.Errorf("dx[%d] = %g, finite differences %g", k, dx[k], fd)
		}
	}
}

func TestLinearCloneConvert(t *testing.T) {
	l := NewLinear[float32](2)
	copy(l.Params(), []float32{1, 2, 3, 4, 5, 6})
	c := l.Clone()
	c.Params()[0] = 9
	if l.Params()[0] != 1 {
		t.Error("Clone shares parameters with the original")
	}
	f := ConvertLinear[float64](l)
	if f.Dim() != 2 || f.Params()[5] != 6 || f.Trace() != 5 {
		t.Errorf("ConvertLinear: dim %d, params %v", f.Dim(), f.Params())
	}
}
