package flow

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/ode"
)

// nanAfter is the velocity −x until time T, NaN after it.
type nanAfter struct {
	d int
	T float64
}

func (f nanAfter) Dim() int { return f.d }

func (f nanAfter) Velocity(t float64, x []float64, n int, v []float64) {
	for i := range v[:n*f.d] {
		v[i] = -x[i]
		if t > f.T {
			v[i] = math.NaN()
		}
	}
}

func (f nanAfter) VelocityTrace(t float64, x []float64, n int, v, div []float64) {
	f.Velocity(t, x, n, v)
	for i := range div[:n] {
		div[i] = -float64(f.d)
		if t > f.T {
			div[i] = math.NaN()
		}
	}
}

// A velocity that turns NaN after t = 0.3 gives an error naming the block and
// the time, never NaN output, for the solvers of training and evaluation.
func TestNaNVelocityErrorNamesTheTime(t *testing.T) {
	c, err := NewChain(Block{Field: nanAfter{d: 2, T: 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.1, 0.2, -0.3, 0.4}
	for _, tc := range []struct {
		solver ode.Options
		want   string
	}{
		{ode.Options{Method: ode.Dopri5}, "flow: Forward: block 0: ode: dopri5 failed at t = 0.3 ("},
		{ode.Options{Method: ode.RK4, Steps: 10}, "flow: Forward: block 0: ode: rk4 failed at t = 0.3 ("},
	} {
		z, _, err := c.Forward(context.Background(), x, 2, Options{Solver: tc.solver})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), "non-finite derivative") {
			t.Errorf("%v: output %v, error %v; want prefix %q", tc.solver.Method, z, err, tc.want)
		}
	}
}

// One-dimensional data: forward, inverse and LogProb work for d = 1 and
// match the closed form of the field −x (z = x·e^{−1}, log p = log N(z) − 1).
func TestOneDimensionalChain(t *testing.T) {
	c, err := NewChain(Block{Field: nanAfter{d: 1, T: 2}})
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{-1.5, 0, 0.7}
	opt := Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-10, ATol: 1e-10}}
	lp, _, err := c.LogProb(context.Background(), x, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		z := v * math.Exp(-1)
		want := -0.5*z*z - 0.5*math.Log(2*math.Pi) - 1
		if math.Abs(lp[i]-want) > 1e-7 {
			t.Errorf("log p(%v) = %v, want %v", v, lp[i], want)
		}
	}
	z, _, err := c.Forward(context.Background(), x, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := c.Inverse(context.Background(), z, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(back[i]-x[i]) > 1e-8 {
			t.Errorf("inverse(forward(%v)) = %v", x[i], back[i])
		}
	}
}
