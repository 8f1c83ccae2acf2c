package ode

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// problem is an initial-value problem with a known solution.
type problem struct {
	name  string
	f     Func[float64]
	y0    []float64
	exact func(t float64) []float64
}

func problems() []problem {
	return []problem{
		{
			name: "decay", // dy/dt = −y
			f: func(_ float64, y, dy []float64) error {
				for i := range y {
					dy[i] = -y[i]
				}
				return nil
			},
			y0: []float64{1, -2, 0.5},
			exact: func(t float64) []float64 {
				e := math.Exp(-t)
				return []float64{e, -2 * e, 0.5 * e}
			},
		},
		{
			name: "cos", // dy/dt = cos t, y = sin t
			f: func(t float64, _, dy []float64) error {
				dy[0] = math.Cos(t)
				return nil
			},
			y0:    []float64{0},
			exact: func(t float64) []float64 { return []float64{math.Sin(t)} },
		},
		{
			name: "rotation", // dy/dt = [[0, −1], [1, 0]] y on a batch of 2 rows
			f: func(_ float64, y, dy []float64) error {
				for r := 0; r < len(y); r += 2 {
					dy[r], dy[r+1] = -y[r+1], y[r]
				}
				return nil
			},
			y0: []float64{1, 0, 0.3, -0.7},
			exact: func(t float64) []float64 {
				c, s := math.Cos(t), math.Sin(t)
				return []float64{c, s, c*0.3 + s*0.7, s*0.3 - c*0.7}
			},
		},
	}
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func solveErr(t *testing.T, p problem, t1 float64, opt Options) float64 {
	t.Helper()
	y := append([]float64(nil), p.y0...)
	if _, err := Solve(context.Background(), p.f, y, 0, t1, opt); err != nil {
		t.Fatalf("%s %v: %v", p.name, opt.Method, err)
	}
	return maxAbsDiff(y, p.exact(t1))
}

// TestOrder checks that halving the step size divides the global error by
// about 2^p for euler (p = 1), midpoint (2) and rk4 (4).
func TestOrder(t *testing.T) {
	for _, p := range problems() {
		for _, tc := range []struct {
			m     Method
			order float64
			steps int
		}{{Euler, 1, 40}, {Midpoint, 2, 40}, {RK4, 4, 10}} {
			e1 := solveErr(t, p, 2, Options{Method: tc.m, Steps: tc.steps})
			e2 := solveErr(t, p, 2, Options{Method: tc.m, Steps: 2 * tc.steps})
			got := math.Log2(e1 / e2)
			if math.Abs(got-tc.order) > 0.25 {
				t.Errorf("%s %v: observed order %.3f (errors %.3g, %.3g), want %v", p.name, tc.m, got, e1, e2, tc.order)
			}
		}
	}
}

func TestDopri5Tight(t *testing.T) {
	for _, p := range problems() {
		for _, t1 := range []float64{3, -3} {
			e := solveErr(t, p, t1, Options{Method: Dopri5, RTol: 1e-10, ATol: 1e-10})
			if e > 1e-8 {
				t.Errorf("%s to t = %v: error %.3g, want <= 1e-8", p.name, t1, e)
			}
		}
	}
}

func TestBackwardReturnsToStart(t *testing.T) {
	for _, p := range problems() {
		for _, tc := range []struct {
			opt Options
			tol float64
		}{
			{Options{Method: Dopri5, RTol: 1e-10, ATol: 1e-10}, 1e-8},
			{Options{Method: RK4, Steps: 200}, 1e-9},
		} {
			y := append([]float64(nil), p.y0...)
			if _, err := Solve(context.Background(), p.f, y, 0, 2, tc.opt); err != nil {
				t.Fatal(err)
			}
			if _, err := Solve(context.Background(), p.f, y, 2, 0, tc.opt); err != nil {
				t.Fatal(err)
			}
			if e := maxAbsDiff(y, p.y0); e > tc.tol {
				t.Errorf("%s %v: round trip error %.3g, want <= %.0e", p.name, tc.opt.Method, e, tc.tol)
			}
		}
	}
}

func TestFixedStepCountsAndTimes(t *testing.T) {
	for _, tc := range []struct {
		m      Method
		steps  int
		t0, t1 float64
		times  []float64
	}{
		{Euler, 4, 0, 1, []float64{0, 0.25, 0.5, 0.75}},
		{Midpoint, 2, 0, 1, []float64{0, 0.25, 0.5, 0.75}},
		{RK4, 3, 0, 3, []float64{0, 0.5, 0.5, 1, 1, 1.5, 1.5, 2, 2, 2.5, 2.5, 3}},
		{RK4, 1, 1, 0, []float64{1, 0.5, 0.5, 0}},
	} {
		var times []float64
		f := func(t float64, _, dy []float64) error {
			times = append(times, t)
			dy[0] = 1
			return nil
		}
		y := []float64{0}
		st, err := Solve(context.Background(), f, y, tc.t0, tc.t1, Options{Method: tc.m, Steps: tc.steps})
		if err != nil {
			t.Fatal(err)
		}
		want := Stats{NFE: len(tc.times), Steps: tc.steps}
		if st != want {
			t.Errorf("%v Steps=%d: stats %+v, want %+v", tc.m, tc.steps, st, want)
		}
		if maxAbsDiff(times, tc.times) > 1e-15 || len(times) != len(tc.times) {
			t.Errorf("%v: evaluation times %v, want %v", tc.m, times, tc.times)
		}
		if math.Abs(y[0]-(tc.t1-tc.t0)) > 1e-14 {
			t.Errorf("%v: y(t1) = %v, want %v", tc.m, y[0], tc.t1-tc.t0)
		}
	}
}

func TestDopri5NFE(t *testing.T) {
	p := problems()[2]
	for _, init := range []float64{0, 0.1} {
		y := append([]float64(nil), p.y0...)
		st, err := Solve(context.Background(), p.f, y, 0, 5, Options{Method: Dopri5, RTol: 1e-7, ATol: 1e-9, InitialStep: init})
		if err != nil {
			t.Fatal(err)
		}
		extra := 2 // f(t0, y0) and the initial-step probe
		if init > 0 {
			extra = 1
		}
		if want := extra + 6*(st.Steps+st.Rejected); st.NFE != want {
			t.Errorf("InitialStep %v: NFE %d, want 1 + %d + 6×(%d accepted + %d rejected) = %d", init, st.NFE, extra-1, st.Steps, st.Rejected, want)
		}
		if st.Steps < 5 || st.Steps > 200 {
			t.Errorf("InitialStep %v: %d accepted steps, want a moderate number", init, st.Steps)
		}
	}
}

func TestFloat32(t *testing.T) {
	f := func(_ float32, y, dy []float32) error {
		for i := range y {
			dy[i] = -y[i]
		}
		return nil
	}
	for _, opt := range []Options{{Method: RK4, Steps: 20}, {Method: Dopri5, RTol: 1e-6, ATol: 1e-6}} {
		y := []float32{1, 2}
		if _, err := Solve(context.Background(), f, y, 0, 1, opt); err != nil {
			t.Fatal(err)
		}
		e := math.Exp(-1)
		if math.Abs(float64(y[0])-e) > 2e-6 || math.Abs(float64(y[1])-2*e) > 4e-6 {
			t.Errorf("%v float32: y(1) = %v, want %v", opt.Method, y, []float64{e, 2 * e})
		}
	}
}

func TestBlowUp(t *testing.T) {
	f := func(_ float64, y, dy []float64) error {
		for i := range y {
			dy[i] = y[i] * y[i]
		}
		return nil
	}
	y := []float64{2, 2}
	st, err := Solve(context.Background(), f, y, 0, 1, Options{Method: Dopri5})
	var se *SolveError
	if !errors.As(err, &se) {
		t.Fatalf("dy/dt = y²: error %v, want a *SolveError", err)
	}
	if math.Abs(se.T-0.5) > 1e-3 || se.Method != Dopri5 || se.Reason != "step size underflow" {
		t.Errorf("got %+v, want dopri5 step size underflow at t ≈ 0.5", se)
	}
	if st.NFE > 20000 {
		t.Errorf("NFE %d before failing, want a quick failure", st.NFE)
	}
	if !strings.HasPrefix(err.Error(), "ode: dopri5 failed at t = 0.5") {
		t.Errorf("message %q", err)
	}
	t.Logf("%v (%+v)", err, st)
}

func TestNaNAfter(t *testing.T) {
	f := func(t float64, y, dy []float64) error {
		for i := range y {
			dy[i] = -y[i]
			if t > 0.3 {
				dy[i] = math.NaN()
			}
		}
		return nil
	}
	for _, opt := range []Options{{Method: Dopri5}, {Method: Dopri5, RTol: 1e-9, ATol: 1e-9}, {Method: RK4, Steps: 100}, {Method: Euler, Steps: 1000}} {
		y := []float64{1, 2, 3}
		_, err := Solve(context.Background(), f, y, 0, 1, opt)
		var se *SolveError
		if !errors.As(err, &se) {
			t.Fatalf("%v: error %v, want a *SolveError", opt.Method, err)
		}
		if se.T < 0.3 || se.T > 0.31 || !strings.Contains(se.Reason, "non-finite derivative: f(t, y)[0] = NaN") {
			t.Errorf("%v: T = %v, reason %q; want T in [0.3, 0.31] and a NaN derivative", opt.Method, se.T, se.Reason)
		}
	}
}

func TestNonFiniteState(t *testing.T) {
	f := func(_ float64, y, dy []float64) error {
		dy[0] = 1e308
		return nil
	}
	y := []float64{1e308}
	_, err := Solve(context.Background(), f, y, 0, 10, Options{Method: Euler, Steps: 1})
	want := "ode: euler failed at t = 10 (step size 10, state norm +Inf): non-finite state: y[0] = +Inf"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	y = []float64{math.NaN()}
	_, err = Solve(context.Background(), f, y, 0, 1, Options{Method: Dopri5})
	want = "ode: dopri5 failed at t = 0 (step size 0, state norm NaN): non-finite initial state: y[0] = NaN"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestFuncError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	f := func(_ float64, _, dy []float64) error {
		calls++
		if calls == 6 {
			return boom
		}
		dy[0], dy[1] = 0, 0
		return nil
	}
	y := []float64{0.6, 0.8}
	st, err := Solve(context.Background(), f, y, 0, 1, Options{Method: RK4, Steps: 4})
	want := "ode: rk4 failed at t = 0.375 (step size 0.25, state norm 1): right-hand side failed: boom"
	if err == nil || err.Error() != want || !errors.Is(err, boom) {
		t.Errorf("error %v, want %q wrapping boom", err, want)
	}
	if st.NFE != 6 || st.Steps != 1 {
		t.Errorf("stats %+v, want NFE 6, Steps 1", st)
	}
	calls = 0
	_, err = Solve(context.Background(), f, y, 0, 1, Options{Method: Dopri5})
	if !errors.Is(err, boom) {
		t.Errorf("dopri5: error %v, want one wrapping boom", err)
	}
}

func TestCancel(t *testing.T) {
	for _, opt := range []Options{{Method: RK4, Steps: 100}, {Method: Dopri5, RTol: 1e-12, ATol: 1e-12}} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		f := func(t float64, y, dy []float64) error {
			calls++
			if calls == 10 {
				cancel()
			}
			dy[0] = math.Cos(10 * t)
			return nil
		}
		y := []float64{0}
		st, err := Solve(ctx, f, y, 0, 10, opt)
		var se *SolveError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Reason != "canceled" {
			t.Errorf("%v: error %v, want a canceled *SolveError", opt.Method, err)
		}
		if st.NFE > 16 {
			t.Errorf("%v: NFE %d after cancel at call 10, want the solve to stop within a step", opt.Method, st.NFE)
		}
		cancel()
	}
}

func TestMaxSteps(t *testing.T) {
	p := problems()[1]
	y := []float64{0}
	st, err := Solve(context.Background(), p.f, y, 0, 100, Options{Method: Dopri5, RTol: 1e-12, ATol: 1e-12, MaxSteps: 5})
	var se *SolveError
	if !errors.As(err, &se) || se.Reason != "more than MaxSteps = 5 steps" {
		t.Errorf("error %v, want MaxSteps failure", err)
	}
	if st.Steps+st.Rejected != 5 {
		t.Errorf("stats %+v, want 5 attempted steps", st)
	}
}

func TestValidation(t *testing.T) {
	f := func(_ float64, _, dy []float64) error { dy[0] = 0; return nil }
	nan := math.NaN()
	for _, tc := range []struct {
		y      []float64
		f      Func[float64]
		t0, t1 float64
		opt    Options
		want   string
	}{
		{[]float64{1}, f, 0, 1, Options{Method: RK4}, "ode: rk4 needs Options.Steps >= 1, got 0"},
		{[]float64{1}, f, 0, 1, Options{}, "ode: euler needs Options.Steps >= 1, got 0"},
		{[]float64{1}, f, 0, 1, Options{Method: Midpoint, Steps: -2}, "ode: midpoint needs Options.Steps >= 1, got -2"},
		{[]float64{1}, f, 0, 1, Options{Method: Dopri5, RTol: -1}, "ode: dopri5 needs a finite Options.RTol >= 0, got -1"},
		{[]float64{1}, f, 0, 1, Options{Method: Dopri5, ATol: nan}, "ode: dopri5 needs a finite Options.ATol >= 0, got NaN"},
		{[]float64{1}, f, 0, 1, Options{Method: Dopri5, MaxSteps: -1}, "ode: dopri5 needs Options.MaxSteps >= 0, got -1"},
		{[]float64{1}, f, 0, 1, Options{Method: Dopri5, InitialStep: -0.1}, "ode: dopri5 needs a finite Options.InitialStep >= 0, got -0.1"},
		{[]float64{1}, f, 0, 1, Options{Method: 9}, "ode: unknown method Method(9)"},
		{nil, f, 0, 1, Options{Method: Euler, Steps: 1}, "ode: empty state y"},
		{[]float64{1}, nil, 0, 1, Options{Method: Euler, Steps: 1}, "ode: nil right-hand side Func"},
		{[]float64{1}, f, 0, math.Inf(1), Options{Method: Euler, Steps: 1}, "ode: non-finite time interval [0, +Inf]"},
	} {
		_, err := Solve(context.Background(), tc.f, tc.y, tc.t0, tc.t1, tc.opt)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %q", tc.opt, err, tc.want)
		}
	}
	_, _, err := SolveRecord(context.Background(), f, []float64{1}, 0, 1, Options{Method: Dopri5})
	if want := "ode: SolveRecord needs a fixed-step method (euler, midpoint or rk4), got dopri5"; err == nil || err.Error() != want {
		t.Errorf("SolveRecord dopri5: error %v, want %q", err, want)
	}
}

func TestZeroInterval(t *testing.T) {
	y := []float64{1}
	st, err := Solve(context.Background(), problems()[0].f, y, 0.5, 0.5, Options{Method: RK4, Steps: 3})
	if err != nil || st != (Stats{}) || y[0] != 1 {
		t.Errorf("t0 == t1: stats %+v, err %v, y %v; want nothing done", st, err, y)
	}
}

func TestParseMethod(t *testing.T) {
	for _, m := range []Method{Euler, Midpoint, RK4, Dopri5} {
		got, err := ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var u Method
		if err := u.UnmarshalText(b); err != nil || u != m {
			t.Errorf("text round trip of %v gave %v, %v", m, u, err)
		}
	}
	if got, err := ParseMethod("RK4"); err != nil || got != RK4 {
		t.Errorf("ParseMethod(RK4) = %v, %v", got, err)
	}
	_, err := ParseMethod("rk45")
	if want := `ode: unknown method "rk45" (want euler, midpoint, rk4 or dopri5)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if s := Method(7).String(); s != "Method(7)" {
		t.Errorf("String of unknown = %q", s)
	}
}

func TestSolverAllocs(t *testing.T) {
	p := problems()[2]
	var s Solver[float64]
	y := make([]float64, len(p.y0))
	ctx := context.Background()
	for _, opt := range []Options{{Method: RK4, Steps: 10}, {Method: Dopri5}} {
		allocs := testing.AllocsPerRun(20, func() {
			copy(y, p.y0)
			if _, err := s.Solve(ctx, p.f, y, 0, 1, opt); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per solve on a warm Solver, want 0", opt.Method, allocs)
		}
	}
}
