package ode

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/iterflow/iterflow/nn"
)

// Func is the right-hand side of dy/dt = f(t, y): it writes f(t, y) into dy,
// which has the same length as y. The state y is flat (for example an n×d
// row-major batch, or such rows followed by log-density entries) and must not
// be modified. An error from Func aborts the solve and is wrapped in the
// *SolveError returned.
type Func[T nn.Float] func(t T, y, dy []T) error

// Method names an ODE integration method.
type Method int

const (
	// Euler is the explicit Euler method: order 1, one evaluation per step.
	Euler Method = iota
	// Midpoint is the explicit midpoint rule: order 2, two evaluations per step.
	Midpoint
	// RK4 is the classical Runge–Kutta method: order 4, four evaluations per step.
	RK4
	// Dopri5 is the adaptive Dormand–Prince 5(4) method with first-same-as-last
	// stages: six evaluations per attempted step after the first.
	Dopri5
)

var methodNames = [...]string{Euler: "euler", Midpoint: "midpoint", RK4: "rk4", Dopri5: "dopri5"}

// String returns the lower-case name of m ("euler", "midpoint", "rk4",
// "dopri5"), or "Method(k)" for an unknown value.
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Fixed reports whether m is a fixed-step method (euler, midpoint, rk4).
func (m Method) Fixed() bool { return m == Euler || m == Midpoint || m == RK4 }

// ParseMethod returns the Method named name ("euler", "midpoint", "rk4" or
// "dopri5", case-insensitive). It returns an error naming the unknown name.
func ParseMethod(name string) (Method, error) {
	for i, s := range methodNames {
		if strings.EqualFold(name, s) {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("ode: unknown method %q (want euler, midpoint, rk4 or dopri5)", name)
}

// MarshalText implements encoding.TextMarshaler with the name of m.
func (m Method) MarshalText() ([]byte, error) {
	if !(m >= 0 && int(m) < len(methodNames)) {
		return nil, fmt.Errorf("ode: cannot marshal unknown method %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler through ParseMethod.
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Default tolerances and step cap of dopri5, used where Options leaves them 0.
const (
	DefaultRTol     = 1e-5
	DefaultATol     = 1e-5
	DefaultMaxSteps = 10000
)

// Options configures a solve. The zero value selects Euler with no steps and
// is rejected; set Method and, for fixed-step methods, Steps.
type Options struct {
	// Method is the integration method.
	Method Method
	// Steps is the number of equal steps over [t0, t1] taken by the fixed-step
	// methods (must be >= 1); dopri5 ignores it.
	Steps int
	// RTol and ATol are dopri5's relative and absolute tolerances (0 selects
	// DefaultRTol and DefaultATol; negative values are rejected). A step is
	// accepted when the RMS over all components of
	// err_i / (ATol + RTol·max(|y_i|, |y_new_i|)) is at most 1.
	RTol, ATol float64
	// MaxSteps caps the attempted (accepted plus rejected) steps of dopri5
	// (0 selects DefaultMaxSteps; negative values are rejected).
	MaxSteps int
	// InitialStep is the magnitude of dopri5's first trial step in units of t;
	// 0 selects it automatically by Hairer's heuristic (Hairer, Nørsett,
	// Wanner, Sec. II.4). Negative values are rejected.
	InitialStep float64
}

// Validate checks o and returns an error naming the first bad field.
func (o Options) Validate() error {
	switch {
	case o.Method.Fixed():
		if o.Steps < 1 {
			return fmt.Errorf("ode: %v needs Options.Steps >= 1, got %d", o.Method, o.Steps)
		}
	case o.Method == Dopri5:
		if !(o.RTol >= 0) || math.IsInf(o.RTol, 0) {
			return fmt.Errorf("ode: dopri5 needs a finite Options.RTol >= 0, got %g", o.RTol)
		}
		if !(o.ATol >= 0) || math.IsInf(o.ATol, 0) {
			return fmt.Errorf("ode: dopri5 needs a finite Options.ATol >= 0, got %g", o.ATol)
		}
		if o.MaxSteps < 0 {
			return fmt.Errorf("ode: dopri5 needs Options.MaxSteps >= 0, got %d", o.MaxSteps)
		}
		if !(o.InitialStep >= 0) || math.IsInf(o.InitialStep, 0) {
			return fmt.Errorf("ode: dopri5 needs a finite Options.InitialStep >= 0, got %g", o.InitialStep)
		}
	default:
		return fmt.Errorf("ode: unknown method %v", o.Method)
	}
	return nil
}

// Stats counts the work of a solve.
type Stats struct {
	// NFE is the number of calls of the right-hand side Func.
	NFE int
	// Steps is the number of accepted steps.
	Steps int
	// Rejected is the number of rejected steps (dopri5 only).
	Rejected int
}

// Add returns the field-wise sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{NFE: s.NFE + o.NFE, Steps: s.Steps + o.Steps, Rejected: s.Rejected + o.Rejected}
}

// SolveError reports a failed solve: where it stopped and why.
type SolveError struct {
	// Method is the method that failed.
	Method Method
	// T is the time at which the solve failed: the time of the evaluation that
	// produced a non-finite derivative or a Func error, otherwise the time of
	// the last accepted state.
	T float64
	// H is the signed step size in use when the solve failed.
	H float64
	// StateNorm is the Euclidean norm of the state at T (possibly +Inf or NaN).
	StateNorm float64
	// Reason says what went wrong, for example "step size underflow".
	Reason string
	// Err is the underlying error (from Func or the context), or nil.
	Err error
}

// Error formats e, for example
// "ode: dopri5 failed at t = 0.499999 (step size 2.2e-15, state norm 3.4e+12): step size underflow".
func (e *SolveError) Error() string {
	s := fmt.Sprintf("ode: %v failed at t = %.6g (step size %.3g, state norm %.3g): %s",
		e.Method, e.T, e.H, e.StateNorm, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *SolveError) Unwrap() error { return e.Err }

// Solve integrates dy/dt = f(t, y) in place from t0 to t1 (t1 < t0 integrates
// backward in time): on success y holds y(t1). Fixed-step methods take exactly
// opt.Steps steps of size (t1 − t0)/opt.Steps (NFE = Steps × stages); dopri5
// adapts its step size. t0 == t1 returns at once with y unchanged.
//
// Solve returns an error for invalid options, an empty y or non-finite
// times, and a *SolveError when the state or a derivative becomes non-finite,
// the step size underflows (dopri5), more than MaxSteps steps are attempted
// (dopri5), f returns an error, or ctx is canceled (checked every step). Stats
// count the work done, also on failure. Solve allocates its stage buffers
// once per call; reuse a Solver to avoid that.
func Solve[T nn.Float](ctx context.Context, f Func[T], y []T, t0, t1 T, opt Options) (Stats, error) {
	var s Solver[T]
	return s.Solve(ctx, f, y, t0, t1, opt)
}
