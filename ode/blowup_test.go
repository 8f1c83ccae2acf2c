package ode

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// The case: dx/dt = x² from (2, 2) blows up at t = 1/2; every
// tolerance fails fast with an error naming t ≈ 0.5.
func TestBlowUpFailsFastAtTheBlowUpTime(t *testing.T) {
	f := func(_ float64, y, dy []float64) error {
		for i := range y {
			dy[i] = y[i] * y[i]
		}
		return nil
	}
	for _, tol := range []float64{1e-1, 1e-3, 1e-5, 1e-9, 1e-12} {
		y := []float64{2, 2}
		start := time.Now()
		_, err := Solve(context.Background(), f, y, 0, 1, Options{Method: Dopri5, RTol: tol, ATol: tol})
		el := time.Since(start)
		var se *SolveError
		if !errors.As(err, &se) {
			t.Fatalf("tol %g: error %v, want a *SolveError", tol, err)
		}
		// At rtol 0.1 the numerical solution blows up a little late.
		if win := map[bool]float64{true: 0.01, false: 1e-3}[tol > 1e-2]; math.Abs(se.T-0.5) > win {
			t.Errorf("tol %g: failed at t = %v, want ≈ 0.5 (%v)", tol, se.T, err)
		}
		if el > time.Second {
			t.Errorf("tol %g: took %v to fail", tol, el)
		}
	}
}

// A state beyond MaxStateAbs stops the solve with the time and the value.
func TestStateBoundStopsGrowth(t *testing.T) {
	f := func(_ float64, y, dy []float64) error {
		dy[0] = 1e100 * y[0]
		return nil
	}
	y := []float64{1}
	_, err := Solve(context.Background(), f, y, 0, 1, Options{Method: Euler, Steps: 10})
	want := "ode: euler failed at t = 0.2 (step size 0.1, state norm 1e+198): state beyond 1e+150 in magnitude: y[0] = 1e+198 (the solution blows up)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %q", err, want)
	}
	// The bound scales with a large initial state.
	g := func(_ float64, y, dy []float64) error { dy[0] = 0; return nil }
	y = []float64{1e200}
	if _, err := Solve(context.Background(), g, y, 0, 1, Options{Method: RK4, Steps: 3}); err != nil {
		t.Errorf("constant state 1e200: %v", err)
	}
}

// A velocity that turns NaN after t = 0.3: the error names the time.
func TestNaNVelocityNamesTheTime(t *testing.T) {
	f := func(t float64, y, dy []float64) error {
		for i := range y {
			dy[i] = math.Sin(y[i])
			if t > 0.3 {
				dy[i] = math.NaN()
			}
		}
		return nil
	}
	y := []float64{0.5, -1}
	_, err := Solve(context.Background(), f, y, 0, 1, Options{Method: Dopri5})
	var se *SolveError
	if !errors.As(err, &se) || se.T < 0.3 || se.T > 0.3+1e-6 {
		t.Fatalf("error %v, want a *SolveError at t ≈ 0.3", err)
	}
	const prefix = "ode: dopri5 failed at t = 0.3 ("
	if got := err.Error(); len(got) < len(prefix) || got[:len(prefix)] != prefix {
		t.Errorf("error %q, want prefix %q", got, prefix)
	}
}
