package ode

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/iterflow/iterflow/nn"
)

// Solver integrates ODEs like Solve while keeping its stage buffers between
// calls, so repeated solves of states of the same length allocate nothing. The
// zero value is ready to use. A Solver is not safe for concurrent use.
type Solver[T nn.Float] struct {
	k          [7][]T
	ytmp, ynew []T
}

// grow makes the stage buffers at least n long.
func (s *Solver[T]) grow(n int) {
	for i := range s.k {
		s.k[i] = growSlice(s.k[i], n)
	}
	s.ytmp = growSlice(s.ytmp, n)
	s.ynew = growSlice(s.ynew, n)
}

func growSlice[T nn.Float](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Solve integrates dy/dt = f(t, y) in place from t0 to t1; see the package
// function Solve for the contract and errors.
func (s *Solver[T]) Solve(ctx context.Context, f Func[T], y []T, t0, t1 T, opt Options) (Stats, error) {
	if err := checkArgs(f, y, float64(t0), float64(t1), opt); err != nil {
		return Stats{}, err
	}
	if t0 == t1 {
		return Stats{}, nil
	}
	s.grow(len(y))
	if opt.Method == Dopri5 {
		return s.dopri5(ctx, f, y, float64(t0), float64(t1), opt)
	}
	return s.fixed(ctx, f, y, float64(t0), float64(t1), opt, nil)
}

func checkArgs[T nn.Float](f Func[T], y []T, t0, t1 float64, opt Options) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	if f == nil {
		return errors.New("ode: nil right-hand side Func")
	}
	if len(y) == 0 {
		return errors.New("ode: empty state y")
	}
	if math.IsNaN(t0) || math.IsInf(t0, 0) || math.IsNaN(t1) || math.IsInf(t1, 0) {
		return fmt.Errorf("ode: non-finite time interval [%g, %g]", t0, t1)
	}
	return nil
}

// tableau is the Butcher tableau of an explicit Runge–Kutta method.
type tableau struct {
	a [][]float64 // a[i][j], j < i
	b []float64
	c []float64
}

var (
	tabEuler    = tableau{a: [][]float64{{}}, b: []float64{1}, c: []float64{0}}
	tabMidpoint = tableau{a: [][]float64{{}, {0.5}}, b: []float64{0, 1}, c: []float64{0, 0.5}}
	tabRK4      = tableau{
		a: [][]float64{{}, {0.5}, {0, 0.5}, {0, 0, 1}},
		b: []float64{1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6},
		c: []float64{0, 0.5, 0.5, 1},
	}
)

func tableauOf(m Method) *tableau {
	switch m {
	case Euler:
		return &tabEuler
	case Midpoint:
		return &tabMidpoint
	case RK4:
		return &tabRK4
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or ±Inf in v, or -1.
func firstNonFinite[T nn.Float](v []T) int {
	for i, x := range v {
		if x-x != 0 { // NaN or ±Inf
			return i
		}
	}
	return -1
}

// MaxStateAbs bounds the magnitude of every state component: a solve whose
// state exceeds max(MaxStateAbs, 1e10·max|y(t0)|) in some component fails
// with a *SolveError naming the time, so that a solution blowing up in finite
// time (dy/dt = y²) stops there instead of creeping towards overflow.
const MaxStateAbs = 1e150

// stateBound returns the magnitude beyond which the state of a solve from y
// counts as blown up.
func stateBound[T nn.Float](y []T) float64 {
	var m float64
	for _, v := range y {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return math.Max(MaxStateAbs, 1e10*m)
}

// firstBeyond returns the index of the first component of v with magnitude
// above bound, or -1.
func firstBeyond[T nn.Float](v []T, bound float64) int {
	for i, x := range v {
		if math.Abs(float64(x)) > bound {
			return i
		}
	}
	return -1
}

// blowUpReason describes a state component beyond the bound.
func blowUpReason[T nn.Float](v []T, i int, bound float64) string {
	return fmt.Sprintf("state beyond %.3g in magnitude: y[%d] = %.3g (the solution blows up)", bound, i, float64(v[i]))
}

// norm2 returns the Euclidean norm of v, scaled so that it does not overflow
// while it is representable (states near 1e200 are reported as such).
func norm2[T nn.Float](v []T) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	if m == 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	var s float64
	for _, x := range v {
		r := float64(x) / m
		s += r * r
	}
	return m * math.Sqrt(s)
}

// machEps returns the machine epsilon of T.
func machEps[T nn.Float]() float64 {
	one := T(1)
	if one+T(0x1p-30) == one {
		return 0x1p-23
	}
	return 0x1p-52
}

func canceled(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}

// fixed takes opt.Steps steps of a fixed-step method. When rec is non-nil it
// receives the stage inputs, steps × stages × len(y) values.
func (s *Solver[T]) fixed(ctx context.Context, f Func[T], y []T, t0, t1 float64, opt Options, rec []T) (Stats, error) {
	tab := tableauOf(opt.Method)
	ns := len(tab.b)
	n := len(y)
	h := (t1 - t0) / float64(opt.Steps)
	hT := T(h)
	var st Stats
	fail := func(t float64, norm float64, reason string, err error) (Stats, error) {
		return st, &SolveError{Method: opt.Method, T: t, H: h, StateNorm: norm, Reason: reason, Err: err}
	}
	if i := firstNonFinite(y); i >= 0 {
		return fail(t0, norm2(y), fmt.Sprintf("non-finite initial state: y[%d] = %v", i, y[i]), nil)
	}
	bound := stateBound(y)
	for step := 0; step < opt.Steps; step++ {
		t := t0 + float64(step)*h
		if err := canceled(ctx); err != nil {
			return fail(t, norm2(y), "canceled", err)
		}
		for i := 0; i < ns; i++ {
			in := y
			if i > 0 {
				in = s.ytmp
				copy(in, y)
				for j, a := range tab.a[i] {
					if a == 0 {
						continue
					}
					ha := hT * T(a)
					kj := s.k[j][:n]
					for l := range in {
						in[l] += ha * kj[l]
					}
				}
			}
			if rec != nil {
				copy(rec[(step*ns+i)*n:(step*ns+i+1)*n], in)
			}
			ti := t + tab.c[i]*h
			st.NFE++
			if err := f(T(ti), in, s.k[i][:n]); err != nil {
				return fail(ti, norm2(in), "right-hand side failed", err)
			}
			if l := firstNonFinite(s.k[i][:n]); l >= 0 {
				return fail(ti, norm2(in), fmt.Sprintf("non-finite derivative: f(t, y)[%d] = %v", l, s.k[i][l]), nil)
			}
		}
		for i, b := range tab.b {
			if b == 0 {
				continue
			}
			hb := hT * T(b)
			ki := s.k[i][:n]
			for l := range y {
				y[l] += hb * ki[l]
			}
		}
		st.Steps++
		if l := firstNonFinite(y); l >= 0 {
			return fail(t+h, norm2(y), fmt.Sprintf("non-finite state: y[%d] = %v", l, y[l]), nil)
		}
		if l := firstBeyond(y, bound); l >= 0 {
			return fail(t+h, norm2(y), blowUpReason(y, l, bound), nil)
		}
	}
	return st, nil
}

// Dormand–Prince 5(4) coefficients (Hairer, Nørsett, Wanner, Table II.5.2).
const (
	dpC2, dpC3, dpC4, dpC5 = 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9

	dpA21 = 1.0 / 5

	dpA31, dpA32 = 3.0 / 40, 9.0 / 40

	dpA41, dpA42, dpA43 = 44.0 / 45, -56.0 / 15, 32.0 / 9

	dpA51, dpA52, dpA53, dpA54 = 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729

	dpA61, dpA62, dpA63, dpA64, dpA65 = 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656

	// 5th-order weights (also the last stage row, first-same-as-last).
	dpB1, dpB3, dpB4, dpB5, dpB6 = 35.0 / 384, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84

	// Error weights: 5th-order minus embedded 4th-order weights.
	dpE1, dpE3, dpE4, dpE5, dpE6, dpE7 = 71.0 / 57600, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40
)

// Step-size controller constants.
const (
	safety    = 0.9
	minFactor = 0.2
	maxFactor = 10
)

func (s *Solver[T]) dopri5(ctx context.Context, f Func[T], y []T, t0, t1 float64, opt Options) (Stats, error) {
	n := len(y)
	rtol, atol, maxSteps := opt.RTol, opt.ATol, opt.MaxSteps
	if rtol == 0 {
		rtol = DefaultRTol
	}
	if atol == 0 {
		atol = DefaultATol
	}
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	dir := 1.0
	if t1 < t0 {
		dir = -1
	}
	span := math.Abs(t1 - t0)
	eps := machEps[T]()
	hminScale := 10 * eps * math.Max(math.Abs(t0), math.Abs(t1))

	k1, k2, k3, k4, k5, k6, k7 := s.k[0][:n], s.k[1][:n], s.k[2][:n], s.k[3][:n], s.k[4][:n], s.k[5][:n], s.k[6][:n]
	ytmp, ynew := s.ytmp[:n], s.ynew[:n]

	var st Stats
	t, h := t0, 0.0
	fail := func(tf, norm float64, reason string, err error) (Stats, error) {
		return st, &SolveError{Method: Dopri5, T: tf, H: h, StateNorm: norm, Reason: reason, Err: err}
	}
	// eval calls f and returns a description of a non-finite derivative ("" if none).
	lastT := t0 // time of the latest evaluation
	eval := func(te float64, in, out []T) (string, error) {
		st.NFE++
		lastT = te
		if err := f(T(te), in, out); err != nil {
			return "", err
		}
		if l := firstNonFinite(out); l >= 0 {
			return fmt.Sprintf("non-finite derivative: f(t, y)[%d] = %v", l, out[l]), nil
		}
		return "", nil
	}

	if i := firstNonFinite(y); i >= 0 {
		return fail(t0, norm2(y), fmt.Sprintf("non-finite initial state: y[%d] = %v", i, y[i]), nil)
	}
	bound := stateBound(y)
	bad, err := eval(t, y, k1)
	if err != nil {
		return fail(t, norm2(y), "right-hand side failed", err)
	}
	if bad != "" {
		return fail(t, norm2(y), bad, nil)
	}

	// Initial step.
	if opt.InitialStep > 0 {
		h = math.Min(opt.InitialStep, span)
	} else {
		var d0, d1 float64
		for i := range y {
			sc := atol + rtol*math.Abs(float64(y[i]))
			d0 += sq(float64(y[i]) / sc)
			d1 += sq(float64(k1[i]) / sc)
		}
		d0, d1 = math.Sqrt(d0/float64(n)), math.Sqrt(d1/float64(n))
		h0 := 1e-6
		if d0 >= 1e-5 && d1 >= 1e-5 {
			h0 = 0.01 * d0 / d1
		}
		h0 = math.Min(h0, span)
		h0T := T(dir * h0)
		for i := range y {
			ytmp[i] = y[i] + h0T*k1[i]
		}
		bad, err := eval(t+dir*h0, ytmp, k2)
		if err != nil {
			return fail(t+dir*h0, norm2(ytmp), "right-hand side failed", err)
		}
		h = h0
		if bad == "" {
			var d2 float64
			for i := range y {
				sc := atol + rtol*math.Abs(float64(y[i]))
				d2 += sq(float64(k2[i]-k1[i]) / sc)
			}
			d2 = math.Sqrt(d2/float64(n)) / h0
			var h1 float64
			if m := math.Max(d1, d2); m <= 1e-15 {
				h1 = math.Max(1e-6, h0*1e-3)
			} else {
				h1 = math.Pow(0.01/m, 1.0/5)
			}
			h = math.Min(math.Min(100*h0, h1), span)
		}
	}
	h *= dir

	rejectedLast := false
	lastBad := "" // description of the non-finite value behind the latest rejection
	lastBadT := t // time of that evaluation
	// reject records a step rejected for a non-finite value and shrinks h.
	reject := func(desc string, te float64) {
		st.Rejected++
		rejectedLast = true
		lastBad, lastBadT = desc, te
		h *= minFactor
	}
	// stage evaluates f at t + c·h on ytmp; false means the step was rejected.
	stage := func(c float64, out []T) (bool, error) {
		te := t + c*h
		bad, err := eval(te, ytmp, out)
		if err != nil {
			return false, err
		}
		if bad != "" {
			reject(bad, te)
			return false, nil
		}
		return true, nil
	}
	for dir*(t1-t) > 0 {
		if err := canceled(ctx); err != nil {
			return fail(t, norm2(y), "canceled", err)
		}
		if st.Steps+st.Rejected >= maxSteps {
			return fail(t, norm2(y), fmt.Sprintf("more than MaxSteps = %d steps", maxSteps), nil)
		}
		hmin := math.Max(hminScale, 10*eps*math.Abs(t))
		if math.Abs(h) < hmin && math.Abs(t1-t) >= hmin {
			if lastBad != "" {
				return fail(lastBadT, norm2(y), lastBad+" (step size shrunk to underflow)", nil)
			}
			return fail(t, norm2(y), "step size underflow", nil)
		}
		last := false
		if dir*(t+h-t1) >= 0 || math.Abs(t1-(t+h)) < hmin {
			// Land on t1, also instead of leaving a remainder below hmin.
			h = t1 - t
			last = true
		}
		hT := T(h)

		// Stages 2..7.
		for i := range y {
			ytmp[i] = y[i] + hT*(T(dpA21)*k1[i])
		}
		ok, err := stage(dpC2, k2)
		if err == nil && ok {
			for i := range y {
				ytmp[i] = y[i] + hT*(T(dpA31)*k1[i]+T(dpA32)*k2[i])
			}
			ok, err = stage(dpC3, k3)
		}
		if err == nil && ok {
			for i := range y {
				ytmp[i] = y[i] + hT*(T(dpA41)*k1[i]+T(dpA42)*k2[i]+T(dpA43)*k3[i])
			}
			ok, err = stage(dpC4, k4)
		}
		if err == nil && ok {
			for i := range y {
				ytmp[i] = y[i] + hT*(T(dpA51)*k1[i]+T(dpA52)*k2[i]+T(dpA53)*k3[i]+T(dpA54)*k4[i])
			}
			ok, err = stage(dpC5, k5)
		}
		if err == nil && ok {
			for i := range y {
				ytmp[i] = y[i] + hT*(T(dpA61)*k1[i]+T(dpA62)*k2[i]+T(dpA63)*k3[i]+T(dpA64)*k4[i]+T(dpA65)*k5[i])
			}
			ok, err = stage(1, k6)
		}
		if err == nil && ok {
			for i := range y {
				ynew[i] = y[i] + hT*(T(dpB1)*k1[i]+T(dpB3)*k3[i]+T(dpB4)*k4[i]+T(dpB5)*k5[i]+T(dpB6)*k6[i])
			}
			copy(ytmp, ynew)
			ok, err = stage(1, k7)
		}
		if err != nil {
			return fail(lastT, norm2(ytmp), "right-hand side failed", err)
		}
		if !ok {
			continue
		}

		// Error estimate: RMS of err_i / (atol + rtol·max(|y_i|, |ynew_i|)).
		var en float64
		badState := -1
		for i := range y {
			e := float64(hT * (T(dpE1)*k1[i] + T(dpE3)*k3[i] + T(dpE4)*k4[i] + T(dpE5)*k5[i] + T(dpE6)*k6[i] + T(dpE7)*k7[i]))
			sc := atol + rtol*math.Max(math.Abs(float64(y[i])), math.Abs(float64(ynew[i])))
			en += sq(e / sc)
			if badState < 0 && ynew[i]-ynew[i] != 0 {
				badState = i
			}
		}
		en = math.Sqrt(en / float64(n))
		if badState >= 0 || math.IsNaN(en) || math.IsInf(en, 0) {
			desc := "non-finite error estimate"
			if badState >= 0 {
				desc = fmt.Sprintf("non-finite state: y[%d] = %v", badState, ynew[badState])
			}
			reject(desc, t+h)
			continue
		}
		if en <= 1 {
			factor := float64(maxFactor)
			if en > 0 {
				factor = math.Min(maxFactor, math.Max(minFactor, safety*math.Pow(en, -1.0/5)))
			}
			if rejectedLast {
				factor = math.Min(factor, 1)
			}
			if last {
				t = t1
			} else {
				t += h
			}
			copy(y, ynew)
			k1, k7 = k7, k1 // first same as last
			st.Steps++
			if l := firstBeyond(y, bound); l >= 0 {
				return fail(t, norm2(y), blowUpReason(y, l, bound), nil)
			}
			rejectedLast, lastBad = false, ""
			h *= factor
		} else {
			st.Rejected++
			rejectedLast = true
			h *= math.Max(minFactor, safety*math.Pow(en, -1.0/5))
		}
	}
	return st, nil
}

func sq(x float64) float64 { return x * x }
