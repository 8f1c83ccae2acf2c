package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// newTestMLP builds a float64 MLP with a fixed seed, failing the test on error.
// traceFromJVPs returns the trace of the velocity's Jacobian at each of the
// n rows of x (n×d), assembled from d Jacobian-vector products with the
// basis vectors: the reference the exact trace is checked against.
func traceFromJVPs(m *MLP[float64], tm float64, x []float64, n, d int) []float64 {
	jtr := make([]float64, n)
	u, v, jv := make([]float64, n*d), make([]float64, n*d), make([]float64, n*d)
	for j := 0; j < d; j++ {
		clear(u)
		for i := 0; i < n; i++ {
			u[i*d+j] = 1
		}
		m.VelocityJVP(tm, x, n, u, v, jv)
		for i := 0; i < n; i++ {
			jtr[i] += jv[i*d+j]
		}
	}
	return jtr
}

func newTestMLP(t testing.TB, spec Spec, seed uint64) *MLP[float64] {
	t.Helper()
	m, err := NewMLP[float64](spec, rand.New(rand.NewPCG(seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randSlice returns n draws from U(−s, s).
func randSlice(rng *rand.Rand, n int, s float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = s * (2*rng.Float64() - 1)
	}
	return x
}

// closeTo reports whether got is within tol·(1 + |want|) of want.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

// gradSpecs are the small networks of the finite-difference tests: every
// activation, with and without the time input.
func gradSpecs() []Spec {
	var specs []Spec
	for _, a := range allActivations {
		for _, ti := range []bool{false, true} {
			s := Spec{Dim: 3, Hidden: []int{5, 4}, Act: a, TimeInput: ti}
			if a == Softplus {
				s.Beta = 2
			}
			specs = append(specs, s)
		}
	}
	return specs
}

func specName(s Spec) string {
	return fmt.Sprintf("%v/time=%v", s.Act, s.TimeInput)
}

// TestForwardBackwardFiniteDifferences checks Backward's parameter and input
// gradients of the MSE loss against central differences, for every
// parameter.
func TestForwardBackwardFiniteDifferences(t *testing.T) {
	const n, h, tol = 6, 1e-6, 1e-6
	for _, spec := range gradSpecs() {
		t.Run(specName(spec), func(t *testing.T) {
			m := newTestMLP(t, spec, 1)
			rng := rand.New(rand.NewPCG(2, 3))
			d := spec.Dim
			x := randSlice(rng, n*d, 1.5)
			target := randSlice(rng, n*d, 1)
			tt := make([]float64, n)
			for i := range tt {
				tt[i] = rng.Float64()
			}
			v := make([]float64, n*d)
			dv := make([]float64, n*d)
			loss := func() float64 {
				m.Forward(x, tt, n, v)
				return MSELoss(v, target, nil, n)
			}
			m.Forward(x, tt, n, v)
			MSELoss(v, target, dv, n)
			grad := make([]float64, m.NumParams())
			grad[0] = 0.5 // Backward accumulates
			dx := make([]float64, n*d)
			m.Backward(dv, grad, dx)
			grad[0] -= 0.5
			p := m.Params()
			for i := range p {
				old := p[i]
				p[i] = old + h
				lp := loss()
				p[i] = old - h
				lm := loss()
				p[i] = old
				if fd := (lp - lm) / (2 * h); !closeTo(grad[i], fd, tol) {
					t.Errorf("param %d: gradient %.10g, finite difference %.10g", i, grad[i], fd)
				}
			}
			for i := range x {
				old := x[i]
				x[i] = old + h
				lp := loss()
				x[i] = old - h
				lm := loss()
				x[i] = old
				if fd := (lp - lm) / (2 * h); !closeTo(dx[i], fd, tol) {
					t.Errorf("x[%d]: gradient %.10g, finite difference %.10g", i, dx[i], fd)
				}
			}
		})
	}
}

// TestVJPFiniteDifferences checks VJP's parameter and input products against
// central differences of S = Σ_i w_i·v(x_i, t).
func TestVJPFiniteDifferences(t *testing.T) {
	const n, h, tol, tm = 5, 1e-6, 1e-6, 0.37
	for _, spec := range gradSpecs() {
		t.Run(specName(spec), func(t *testing.T) {
			m := newTestMLP(t, spec, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			d := spec.Dim
			x := randSlice(rng, n*d, 1.5)
			w := randSlice(rng, n*d, 1)
			v := make([]float64, n*d)
			s := func() float64 {
				m.Velocity(tm, x, n, v)
				var s float64
				for i := range v {
					s += w[i] * v[i]
				}
				return s
			}
			grad := make([]float64, m.NumParams())
			dx := make([]float64, n*d)
			for i := range dx {
				dx[i] = math.NaN() // must be overwritten
			}
			m.VJP(tm, x, n, w, grad, dx)
			p := m.Params()
			for i := range p {
				old := p[i]
				p[i] = old + h
				sp := s()
				p[i] = old - h
				sm := s()
				p[i] = old
				if fd := (sp - sm) / (2 * h); !closeTo(grad[i], fd, tol) {
					t.Errorf("param %d: VJP %.10g, finite difference %.10g", i, grad[i], fd)
				}
			}
			for i := range x {
				old := x[i]
				x[i] = old + h
				sp := s()
				x[i] = old - h
				sm := s()
				x[i] = old
				if fd := (sp - sm) / (2 * h); !closeTo(dx[i], fd, tol) {
					t.Errorf("x[%d]: VJP %.10g, finite difference %.10g", i, dx[i], fd)
				}
			}
		})
	}
}

// TestVJPMatchesBackward checks that VJP at a constant t, over more rows than
// one chunk, equals Forward/Backward with that t in every row, and that
// Velocity equals Forward's output.
func TestVJPMatchesBackward(t *testing.T) {
	const tm = 0.61
	n := evalRows + 37
	for _, ti := range []bool{false, true} {
		spec := Spec{Dim: 2, Hidden: []int{8, 6, 5}, Act: SiLU, TimeInput: ti}
		m := newTestMLP(t, spec, 8)
		rng := rand.New(rand.NewPCG(9, 10))
		x := randSlice(rng, n*2, 2)
		w := randSlice(rng, n*2, 1)
		tt := make([]float64, n)
		for i := range tt {
			tt[i] = tm
		}
		v1 := make([]float64, n*2)
		v2 := make([]float64, n*2)
		m.Velocity(tm, x, n, v1)
		m.Forward(x, tt, n, v2)
		for i := range v1 {
			if !closeTo(v1[i], v2[i], 1e-14) {
				t.Fatalf("time=%v: Velocity[%d] = %.17g, Forward %.17g", ti, i, v1[i], v2[i])
			}
		}
		g1 := make([]float64, m.NumParams())
		g2 := make([]float64, m.NumParams())
		dx1 := make([]float64, n*2)
		dx2 := make([]float64, n*2)
		m.Backward(w, g1, dx1)
		m.VJP(tm, x, n, w, g2, dx2)
		for i := range g1 {
			if !closeTo(g2[i], g1[i], 1e-12) {
				t.Errorf("time=%v: param %d: VJP %.15g, Backward %.15g", ti, i, g2[i], g1[i])
			}
		}
		for i := range dx1 {
			if !closeTo(dx2[i], dx1[i], 1e-13) {
				t.Fatalf("time=%v: dx[%d]: VJP %.15g, Backward %.15g", ti, i, dx2[i], dx1[i])
			}
		}
	}
}

// fdTrace returns the trace of the central finite-difference Jacobian of the
// velocity for each row (perturbing coordinate j of every row at once, since
// rows are independent).
func fdTrace(m *MLP[float64], tm float64, x []float64, n int, h float64) []float64 {
	d := m.Dim()
	tr := make([]float64, n)
	xp := make([]float64, len(x))
	vp := make([]float64, n*d)
	vm := make([]float64, n*d)
	for j := 0; j < d; j++ {
		copy(xp, x)
		for i := 0; i < n; i++ {
			xp[i*d+j] += h
		}
		m.Velocity(tm, xp, n, vp)
		copy(xp, x)
		for i := 0; i < n; i++ {
			xp[i*d+j] -= h
		}
		m.Velocity(tm, xp, n, vm)
		for i := 0; i < n; i++ {
			tr[i] += (vp[i*d+j] - vm[i*d+j]) / (2 * h)
		}
	}
	return tr
}

// TestVelocityTrace checks the exact trace against a finite-difference
// Jacobian (smooth activations) and against the trace assembled from d
// Jacobian-vector products (all activations), for d = 1, 3, 7 and batch sizes
// that are not multiples of the chunk size.
func TestVelocityTrace(t *testing.T) {
	const tm = 0.42
	for _, d := range []int{1, 3, 7} {
		chunk := traceTangentRows / d
		for _, a := range allActivations {
			n := chunk + 3
			if d == 1 {
				n = 2*chunk + 5 // three chunks
			}
			spec := Spec{Dim: d, Hidden: []int{9, 7}, Act: a, TimeInput: d != 3, Beta: 1.5}
			if d == 7 {
				spec.Hidden = []int{6} // a single hidden layer
			}
			m := newTestMLP(t, spec, uint64(d))
			rng := rand.New(rand.NewPCG(uint64(d), 11))
			x := randSlice(rng, n*d, 2)
			v := make([]float64, n*d)
			div := make([]float64, n)
			m.VelocityTrace(tm, x, n, v, div)

			vref := make([]float64, n*d)
			m.Velocity(tm, x, n, vref)
			for i := range v {
				if !closeTo(v[i], vref[i], 1e-14) {
					t.Fatalf("d=%d %v: VelocityTrace v[%d] = %.17g, Velocity %.17g", d, a, i, v[i], vref[i])
				}
			}

			jtr := traceFromJVPs(m, tm, x, n, d)
			for i := range div {
				if !closeTo(div[i], jtr[i], 1e-12) {
					t.Fatalf("d=%d %v row %d: trace %.15g, from JVPs %.15g", d, a, i, div[i], jtr[i])
				}
			}
			if a == ReLU {
				continue // finite differences are unreliable at the kinks
			}
			fd := fdTrace(m, tm, x, n, 1e-5)
			for i := range div {
				if !closeTo(div[i], fd[i], 1e-6) {
					t.Fatalf("d=%d %v row %d: trace %.12g, finite difference %.12g", d, a, i, div[i], fd[i])
				}
			}
		}
	}
}

// TestVelocityJVPFiniteDifferences checks (∂v/∂x)·u against
// (v(x + hu) − v(x − hu))/2h across a chunk boundary.
func TestVelocityJVPFiniteDifferences(t *testing.T) {
	const tm, h = 0.8, 1e-5
	n := evalRows + 11
	for _, a := range []Activation{Softplus, Tanh, ELU, SiLU} {
		spec := Spec{Dim: 3, Hidden: []int{10, 10}, Act: a, TimeInput: true}
		m := newTestMLP(t, spec, 12)
		rng := rand.New(rand.NewPCG(13, 14))
		x := randSlice(rng, n*3, 2)
		u := randSlice(rng, n*3, 1)
		v := make([]float64, n*3)
		jv := make([]float64, n*3)
		m.VelocityJVP(tm, x, n, u, v, jv)
		xp := make([]float64, n*3)
		xm := make([]float64, n*3)
		for i := range x {
			xp[i] = x[i] + h*u[i]
			xm[i] = x[i] - h*u[i]
		}
		vp := make([]float64, n*3)
		vm := make([]float64, n*3)
		m.Velocity(tm, xp, n, vp)
		m.Velocity(tm, xm, n, vm)
		for i := range jv {
			if fd := (vp[i] - vm[i]) / (2 * h); !closeTo(jv[i], fd, 1e-7) {
				t.Fatalf("%v: jv[%d] = %.12g, finite difference %.12g", a, i, jv[i], fd)
			}
		}
	}
}

// TestTimeInput checks that t enters as the last input column: the
// derivative of v in t equals the network's response to bumping the t row of
// W_0, and a network without time input ignores t.
func TestTimeInput(t *testing.T) {
	const n = 4
	rng := rand.New(rand.NewPCG(1, 1))
	x := randSlice(rng, n*2, 1)
	v1 := make([]float64, n*2)
	v2 := make([]float64, n*2)

	m := newTestMLP(t, Spec{Dim: 2, Hidden: []int{5}, Act: Tanh}, 3)
	m.Velocity(0, x, n, v1)
	m.Velocity(0.9, x, n, v2)
	for i := range v1 {
		if v1[i] != v2[i] {
			t.Fatalf("TimeInput false: v depends on t at %d: %g vs %g", i, v1[i], v2[i])
		}
	}

	// With t = 0 the time column contributes nothing; with t = 1 it adds its
	// weight row to b_0.
	mt := newTestMLP(t, Spec{Dim: 2, Hidden: []int{5}, Act: Tanh, TimeInput: true}, 3)
	p := mt.Params()
	mt.Velocity(1, x, n, v1)
	// Fold the t row (row 2 of W_0, 3×5) into b_0 (at offset 15), zero it.
	for j := 0; j < 5; j++ {
		p[15+j] += p[10+j]
		p[10+j] = 0
	}
	mt.Velocity(0.3, x, n, v2)
	for i := range v1 {
		if !closeTo(v2[i], v1[i], 1e-15) {
			t.Fatalf("t row not the last row of W_0: %g vs %g", v2[i], v1[i])
		}
	}
}

// TestLayoutAndInit checks NumParams, LayerShapes and the U(±1/√fan_in)
// initialisation bounds.
func TestLayoutAndInit(t *testing.T) {
	m := newTestMLP(t, Spec{Dim: 3, Hidden: []int{5, 4}, Act: ReLU, TimeInput: true}, 1)
	want := [][2]int{{4, 5}, {5, 4}, {4, 3}}
	got := m.LayerShapes()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("LayerShapes = %v, want %v", got, want)
	}
	if np := m.NumParams(); np != 4*5+5+5*4+4+4*3+3 || np != len(m.Params()) {
		t.Fatalf("NumParams = %d, len(Params) = %d, want 64", np, len(m.Params()))
	}
	if m.Dim() != 3 {
		t.Fatalf("Dim = %d", m.Dim())
	}
	big := newTestMLP(t, Spec{Dim: 2, Hidden: []int{400}, Act: ReLU, TimeInput: true}, 1)
	p := big.Params()
	for _, r := range []struct {
		lo, hi int
		bound  float64
	}{{0, 3*400 + 400, 1 / math.Sqrt(3)}, {3*400 + 400, len(p), 1 / math.Sqrt(400)}} {
		var maxAbs, sum float64
		for _, v := range p[r.lo:r.hi] {
			maxAbs = math.Max(maxAbs, math.Abs(v))
			sum += v
		}
		if maxAbs > r.bound || maxAbs < 0.95*r.bound {
			t.Errorf("params [%d, %d): max |θ| = %g, want just under %g", r.lo, r.hi, maxAbs, r.bound)
		}
		if mean := sum / float64(r.hi-r.lo); math.Abs(mean) > 0.1*r.bound {
			t.Errorf("params [%d, %d): mean %g, want ≈ 0", r.lo, r.hi, mean)
		}
	}
	// Same seed, same network.
	again := newTestMLP(t, Spec{Dim: 2, Hidden: []int{400}, Act: ReLU, TimeInput: true}, 1)
	for i, v := range again.Params() {
		if v != p[i] {
			t.Fatalf("param %d differs between two inits with the same seed", i)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Dim: 2, Hidden: []int{8}}, ""},
		{Spec{Dim: 0, Hidden: []int{8}}, "nn: Spec.Dim = 0, want >= 1"},
		{Spec{Dim: 2}, "nn: Spec.Hidden is empty, want at least one hidden layer"},
		{Spec{Dim: 2, Hidden: []int{8, 0}}, "nn: Spec.Hidden[1] = 0, want >= 1"},
		{Spec{Dim: 2, Hidden: []int{8}, Beta: -1}, "nn: Spec.Beta = -1, want a finite value >= 0 (0 means 1)"},
		{Spec{Dim: 2, Hidden: []int{8}, Beta: math.NaN()}, "nn: Spec.Beta = NaN, want a finite value >= 0 (0 means 1)"},
		{Spec{Dim: 2, Hidden: []int{8}, Act: 9}, "nn: Spec.Act = Activation(9) is unknown (want one of softplus, tanh, elu, silu, relu)"},
	}
	for _, tc := range tests {
		err := tc.spec.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%+v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
	_, err := NewMLP[float32](Spec{Dim: 2, Hidden: []int{8, -3}}, rand.New(rand.NewPCG(1, 1)))
	if want := "nn: NewMLP: nn: Spec.Hidden[1] = -3, want >= 1"; err == nil || err.Error() != want {
		t.Errorf("NewMLP error = %v, want %q", err, want)
	}
	_, err = NewMLP[float32](Spec{Dim: 2, Hidden: []int{8}}, nil)
	if want := "nn: NewMLP: rng is nil"; err == nil || err.Error() != want {
		t.Errorf("NewMLP error = %v, want %q", err, want)
	}
}

// TestCloneAndConvert checks that a clone is independent and that float32 ↔
// float64 conversion round-trips and agrees numerically.
func TestCloneAndConvert(t *testing.T) {
	spec := Spec{Dim: 2, Hidden: []int{16, 16}, Act: Softplus, TimeInput: true}
	m := newTestMLP(t, spec, 21)
	const n = 50
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, n*2, 2)
	v0 := make([]float64, n*2)
	v1 := make([]float64, n*2)
	m.Velocity(0.5, x, n, v0)

	c := m.Clone()
	c.Velocity(0.5, x, n, v1)
	for i := range v0 {
		if v0[i] != v1[i] {
			t.Fatalf("clone velocity differs at %d", i)
		}
	}
	for i := range c.Params() {
		c.Params()[i] *= 2
	}
	c.Spec.Hidden[0] = 99
	c.Velocity(0.5, x, n, v1)
	m.Velocity(0.5, x, n, v1)
	for i := range v0 {
		if v0[i] != v1[i] {
			t.Fatalf("changing the clone changed the original at %d", i)
		}
	}
	if m.Spec.Hidden[0] != 16 {
		t.Fatalf("clone shares Spec.Hidden with the original")
	}

	m32 := Convert[float32](m)
	back := Convert[float64](m32)
	for i, p := range m.Params() {
		if back.Params()[i] != float64(float32(p)) {
			t.Fatalf("param %d: f64→f32→f64 gave %g, want %g", i, back.Params()[i], float64(float32(p)))
		}
	}
	again := Convert[float32](back)
	for i, p := range m32.Params() {
		if again.Params()[i] != p {
			t.Fatalf("param %d: f32→f64→f32 not exact", i)
		}
	}
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	v32 := make([]float32, n*2)
	m32.Velocity(0.5, x32, n, v32)
	for i := range v0 {
		if !closeTo(float64(v32[i]), v0[i], 1e-5) {
			t.Fatalf("float32 velocity[%d] = %g, float64 %g", i, v32[i], v0[i])
		}
	}
}

// TestFloat32Gradients checks that float32 Forward/Backward and
// VelocityTrace agree with float64 to float32 precision.
func TestFloat32Gradients(t *testing.T) {
	spec := Spec{Dim: 3, Hidden: []int{32, 32}, Act: SiLU, TimeInput: true}
	m := newTestMLP(t, spec, 31)
	m32 := Convert[float32](m)
	const n = 100
	rng := rand.New(rand.NewPCG(3, 4))
	x := randSlice(rng, n*3, 2)
	target := randSlice(rng, n*3, 1)
	tt := randSlice(rng, n, 1)
	f32 := func(s []float64) []float32 {
		r := make([]float32, len(s))
		for i, v := range s {
			r[i] = float32(v)
		}
		return r
	}
	v := make([]float64, n*3)
	dv := make([]float64, n*3)
	g := make([]float64, m.NumParams())
	m.Forward(x, tt, n, v)
	l64 := MSELoss(v, target, dv, n)
	m.Backward(dv, g, nil)

	v32 := make([]float32, n*3)
	dv32 := make([]float32, n*3)
	g32 := make([]float32, m.NumParams())
	m32.Forward(f32(x), f32(tt), n, v32)
	l32 := MSELoss(v32, f32(target), dv32, n)
	m32.Backward(dv32, g32, nil)
	if !closeTo(l32, l64, 1e-5) {
		t.Errorf("loss float32 %g, float64 %g", l32, l64)
	}
	var gmax float64
	for _, gv := range g {
		gmax = math.Max(gmax, math.Abs(gv))
	}
	for i := range g {
		if math.Abs(float64(g32[i])-g[i]) > 1e-4*gmax {
			t.Errorf("param %d: float32 gradient %g, float64 %g", i, g32[i], g[i])
		}
	}
	div := make([]float64, n)
	div32 := make([]float32, n)
	m.VelocityTrace(0.3, x, n, v, div)
	m32.VelocityTrace(0.3, f32(x), n, v32, div32)
	for i := range div {
		if !closeTo(float64(div32[i]), div[i], 1e-4) {
			t.Errorf("row %d: float32 trace %g, float64 %g", i, div32[i], div[i])
		}
	}
}

// TestMSELoss checks the loss value and gradient on a hand-computed case.
func TestMSELoss(t *testing.T) {
	v := []float64{1, 2, 3, 4}
	target := []float64{0, 2, 5, 3}
	dv := make([]float64, 4)
	// rows (1,2) and (3,4), n = 2: (1 + 0 + 4 + 1)/2 = 3.
	if l := MSELoss(v, target, dv, 2); l != 3 {
		t.Errorf("MSELoss = %g, want 3", l)
	}
	want := []float64{1, 0, -2, 1} // 2(v − target)/n
	for i := range dv {
		if dv[i] != want[i] {
			t.Errorf("dv[%d] = %g, want %g", i, dv[i], want[i])
		}
	}
}

// TestBadShapesPanic checks the messages of the programming-error panics.
func TestBadShapesPanic(t *testing.T) {
	m := newTestMLP(t, Spec{Dim: 2, Hidden: []int{4}, Act: Tanh, TimeInput: true}, 1)
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"short x", func() { m.Velocity(0, make([]float64, 3), 2, make([]float64, 4)) }, "nn: Velocity: len(x) = 3, want >= 4"},
		{"short div", func() { m.VelocityTrace(0, make([]float64, 4), 2, make([]float64, 4), nil) }, "nn: VelocityTrace: len(div) = 0, want >= 2"},
		{"negative n", func() { m.VelocityJVP(0, nil, -1, nil, nil, nil) }, "nn: VelocityJVP: n = -1, want >= 0"},
		{"nil t", func() { m.Forward(make([]float64, 4), nil, 2, make([]float64, 4)) }, "nn: Forward: t is nil but Spec.TimeInput is set"},
		{"no forward", func() { m.Clone().Backward(make([]float64, 4), nil, nil) }, "nn: Backward: no batch cached; call Forward first"},
		{"short grad", func() { m.VJP(0, make([]float64, 4), 2, make([]float64, 4), make([]float64, 3), nil) }, "nn: VJP: len(grad) = 3, want >= 26"},
	}
	for _, tc := range tests {
		func() {
			defer func() {
				r := recover()
				if fmt.Sprint(r) != tc.want {
					t.Errorf("%s: panic %v, want %q", tc.name, r, tc.want)
				}
			}()
			tc.f()
		}()
	}
	// n = 0 is a no-op.
	m.Velocity(0, nil, 0, nil)
	m.VelocityTrace(0, nil, 0, nil, nil)
}

// TestNoAllocations checks that evaluation reuses its buffers after warm-up.
func TestNoAllocations(t *testing.T) {
	m := newTestMLP(t, Spec{Dim: 2, Hidden: []int{32, 32}, Act: Softplus, TimeInput: true}, 1)
	const n = 64
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, n*2, 1)
	u := randSlice(rng, n*2, 1)
	tt := randSlice(rng, n, 1)
	v := make([]float64, n*2)
	jv := make([]float64, n*2)
	div := make([]float64, n)
	grad := make([]float64, m.NumParams())
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Velocity", func() { m.Velocity(0.5, x, n, v) }},
		{"VelocityTrace", func() { m.VelocityTrace(0.5, x, n, v, div) }},
		{"VelocityJVP", func() { m.VelocityJVP(0.5, x, n, u, v, jv) }},
		{"VJP", func() { m.VJP(0.5, x, n, u, grad, jv) }},
		{"Forward+Backward", func() { m.Forward(x, tt, n, v); m.Backward(u, grad, jv) }},
	} {
		c.f() // warm-up
		if a := testing.AllocsPerRun(20, c.f); a != 0 {
			t.Errorf("%s: %g allocations per call after warm-up, want 0", c.name, a)
		}
	}
}
