package ode

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// tanhSystem is dy/dt = s ⊙ tanh(A y + t c) applied to each d-row of an n×d
// state, with parameters θ = (A (d×d), c (d), s (d)) packed in that order.
type tanhSystem struct {
	d     int
	theta []float64
	pre   []float64 // scratch, length d
}

func newTanhSystem(d int, rng *rand.Rand) *tanhSystem {
	th := make([]float64, d*d+2*d)
	for i := range th {
		th[i] = rng.NormFloat64()
	}
	return &tanhSystem{d: d, theta: th, pre: make([]float64, d)}
}

func (s *tanhSystem) parts() (a, c, sc []float64) {
	d := s.d
	return s.theta[:d*d], s.theta[d*d : d*d+d], s.theta[d*d+d:]
}

func (s *tanhSystem) f(t float64, y, dy []float64) error {
	a, c, sc := s.parts()
	d := s.d
	for r := 0; r < len(y); r += d {
		for i := 0; i < d; i++ {
			z := t * c[i]
			for j := 0; j < d; j++ {
				z += a[i*d+j] * y[r+j]
			}
			dy[r+i] = sc[i] * math.Tanh(z)
		}
	}
	return nil
}

func (s *tanhSystem) vjp(t float64, y, w, gy, gp []float64) error {
	a, c, sc := s.parts()
	d := s.d
	ga, gc, gs := gp[:d*d], gp[d*d:d*d+d], gp[d*d+d:]
	q := s.pre
	for r := 0; r < len(y); r += d {
		for i := 0; i < d; i++ {
			z := t * c[i]
			for j := 0; j < d; j++ {
				z += a[i*d+j] * y[r+j]
			}
			th := math.Tanh(z)
			gs[i] += w[r+i] * th
			q[i] = w[r+i] * sc[i] * (1 - th*th)
			gc[i] += q[i] * t
			for j := 0; j < d; j++ {
				ga[i*d+j] += q[i] * y[r+j]
			}
		}
		for j := 0; j < d; j++ {
			var g float64
			for i := 0; i < d; i++ {
				g += a[i*d+j] * q[i]
			}
			gy[r+j] = g
		}
	}
	return nil
}

// TestBackpropFiniteDifferences checks the discrete adjoint against central
// finite differences of L = wᵀ y(t1), with respect to y(t0) and θ.
func TestBackpropFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const d, n = 3, 2
	sys := newTanhSystem(d, rng)
	y0 := make([]float64, n*d)
	w := make([]float64, n*d)
	for i := range y0 {
		y0[i], w[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	ctx := context.Background()
	loss := func(opt Options, t0, t1 float64) float64 {
		y := append([]float64(nil), y0...)
		if _, err := Solve(ctx, sys.f, y, t0, t1, opt); err != nil {
			t.Fatal(err)
		}
		var l float64
		for i := range y {
			l += w[i] * y[i]
		}
		return l
	}
	for _, tc := range []struct {
		opt    Options
		t0, t1 float64
	}{
		{Options{Method: Euler, Steps: 7}, 0, 1},
		{Options{Method: Midpoint, Steps: 5}, 0, 1},
		{Options{Method: RK4, Steps: 3}, 0, 1},
		{Options{Method: RK4, Steps: 4}, 1.5, 0.25},
	} {
		y := append([]float64(nil), y0...)
		tr, st, err := SolveRecord(ctx, sys.f, y, tc.t0, tc.t1, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Steps() != tc.opt.Steps || st.Steps != tc.opt.Steps {
			t.Errorf("%v: recorded %d steps, stats %+v", tc.opt.Method, tr.Steps(), st)
		}
		// The recorded solve gives the same y(t1) as Solve.
		var l float64
		for i := range y {
			l += w[i] * y[i]
		}
		if want := loss(tc.opt, tc.t0, tc.t1); l != want {
			t.Errorf("%v: recorded loss %v, Solve loss %v", tc.opt.Method, l, want)
		}
		gy0 := make([]float64, n*d)
		gp := make([]float64, len(sys.theta))
		if err := tr.Backprop(sys.vjp, w, gy0, gp); err != nil {
			t.Fatal(err)
		}
		const eps = 1e-6
		for i := range y0 {
			old := y0[i]
			y0[i] = old + eps
			lp := loss(tc.opt, tc.t0, tc.t1)
			y0[i] = old - eps
			lm := loss(tc.opt, tc.t0, tc.t1)
			y0[i] = old
			if fd := (lp - lm) / (2 * eps); math.Abs(fd-gy0[i]) > 1e-7*(1+math.Abs(fd)) {
				t.Errorf("%v: ∂L/∂y0[%d] = %.10g, finite difference %.10g", tc.opt.Method, i, gy0[i], fd)
			}
		}
		for i := range sys.theta {
			old := sys.theta[i]
			sys.theta[i] = old + eps
			lp := loss(tc.opt, tc.t0, tc.t1)
			sys.theta[i] = old - eps
			lm := loss(tc.opt, tc.t0, tc.t1)
			sys.theta[i] = old
			if fd := (lp - lm) / (2 * eps); math.Abs(fd-gp[i]) > 1e-7*(1+math.Abs(fd)) {
				t.Errorf("%v: ∂L/∂θ[%d] = %.10g, finite difference %.10g", tc.opt.Method, i, gp[i], fd)
			}
		}
		// gy0 may alias gy1, and Backprop accumulates into gp.
		g := append([]float64(nil), w...)
		gp2 := append([]float64(nil), gp...)
		if err := tr.Backprop(sys.vjp, g, g, gp2); err != nil {
			t.Fatal(err)
		}
		for i := range g {
			if g[i] != gy0[i] {
				t.Fatalf("%v: aliased Backprop gave %v, want %v", tc.opt.Method, g, gy0)
			}
		}
		for i := range gp2 {
			if math.Abs(gp2[i]-2*gp[i]) > 1e-12*(1+math.Abs(gp[i])) {
				t.Fatalf("%v: gp not accumulated: %v vs 2×%v", tc.opt.Method, gp2[i], gp[i])
			}
		}
	}
}

func TestBackpropErrors(t *testing.T) {
	var empty Trajectory[float64]
	vjp := func(_ float64, _, _, gy, _ []float64) error { clear(gy); return nil }
	if err := empty.Backprop(vjp, []float64{1}, []float64{1}, nil); err == nil || err.Error() != "ode: Backprop: no recorded trajectory" {
		t.Errorf("empty trajectory: %v", err)
	}
	f := func(_ float64, _, dy []float64) error { dy[0], dy[1] = 1, 1; return nil }
	tr, _, err := SolveRecord(context.Background(), f, []float64{0, 0}, 0, 1, Options{Method: Midpoint, Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gy1, gy0 []float64
		want     string
	}{
		{[]float64{1}, []float64{1, 2}, "ode: Backprop: len(gy1) = 1, want the state length 2"},
		{[]float64{1, 2}, []float64{1, 2, 3}, "ode: Backprop: len(gy0) = 3, want the state length 2"},
	} {
		if err := tr.Backprop(vjp, tc.gy1, tc.gy0, nil); err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	bad := func(float64, []float64, []float64, []float64, []float64) error { return context.DeadlineExceeded }
	err = tr.Backprop(bad, []float64{1, 1}, make([]float64, 2), nil)
	if want := "ode: Backprop: midpoint step 1 stage 1 (t = 0.75): context deadline exceeded"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestRecordReuseAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sys := newTanhSystem(2, rng)
	y := make([]float64, 8)
	g := make([]float64, 8)
	gp := make([]float64, len(sys.theta))
	var tr Trajectory[float64]
	ctx := context.Background()
	opt := Options{Method: RK4, Steps: 5}
	f, vjp := Func[float64](sys.f), VJPFunc[float64](sys.vjp)
	allocs := testing.AllocsPerRun(10, func() {
		for i := range y {
			y[i], g[i] = 0.1*float64(i), 1
		}
		if _, err := tr.Record(ctx, f, y, 0, 1, opt); err != nil {
			t.Fatal(err)
		}
		if err := tr.Backprop(vjp, g, g, gp); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Record+Backprop on a warm Trajectory, want 0", allocs)
	}
}
