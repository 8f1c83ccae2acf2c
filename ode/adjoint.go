package ode

import (
	"context"
	"errors"
	"fmt"

	"github.com/iterflow/iterflow/nn"
)

// VJPFunc gives vector–Jacobian products of a right-hand side f(t, y; θ) at
// (t, y): it overwrites gy (same length as y) with wᵀ ∂f/∂y and adds
// wᵀ ∂f/∂θ into gp (the caller's flat parameter gradient, any length). w has
// the length of y. An error aborts Backprop and is wrapped in its error.
type VJPFunc[T nn.Float] func(t T, y, w []T, gy []T, gp []T) error

// Trajectory stores the stage inputs of a fixed-step solve (euler, midpoint or
// rk4), steps × stages × len(y) values, so that Backprop can differentiate the
// discrete solve exactly (discrete adjoint, "discretize then optimize"). The
// zero value is ready for Record; a Trajectory reuses its storage across
// Record calls of the same size and is not safe for concurrent use.
type Trajectory[T nn.Float] struct {
	method   Method
	t0, h    float64
	steps, n int
	stages   []T // (step·stages + stage)·n + i
	solver   Solver[T]
	lam      []T   // adjoint of the state, length n
	kbar     []T   // adjoint of one stage derivative, length n
	ybar     [][]T // adjoints of the stage inputs, stages × n
}

// SolveRecord is Solve for the fixed-step methods that also records what
// Backprop needs: y is overwritten by y(t1). It returns an error for dopri5
// (adaptive steps are not recorded), and the errors of Solve.
func SolveRecord[T nn.Float](ctx context.Context, f Func[T], y []T, t0, t1 T, opt Options) (*Trajectory[T], Stats, error) {
	tr := new(Trajectory[T])
	st, err := tr.Record(ctx, f, y, t0, t1, opt)
	if err != nil {
		return nil, st, err
	}
	return tr, st, nil
}

// Record solves like SolveRecord into tr, reusing tr's storage. On error tr
// holds no usable trajectory.
func (tr *Trajectory[T]) Record(ctx context.Context, f Func[T], y []T, t0, t1 T, opt Options) (Stats, error) {
	tr.steps = 0
	if opt.Method == Dopri5 {
		return Stats{}, errors.New("ode: SolveRecord needs a fixed-step method (euler, midpoint or rk4), got dopri5")
	}
	if err := checkArgs(f, y, float64(t0), float64(t1), opt); err != nil {
		return Stats{}, err
	}
	n, ns := len(y), len(tableauOf(opt.Method).b)
	tr.stages = growSlice(tr.stages, opt.Steps*ns*n)
	tr.solver.grow(n)
	st, err := tr.solver.fixed(ctx, f, y, float64(t0), float64(t1), opt, tr.stages)
	if err != nil {
		return st, err
	}
	tr.method, tr.n, tr.steps = opt.Method, n, opt.Steps
	tr.t0, tr.h = float64(t0), (float64(t1)-float64(t0))/float64(opt.Steps)
	return st, nil
}

// Steps returns the number of recorded steps (0 before a successful Record).
func (tr *Trajectory[T]) Steps() int { return tr.steps }

// Backprop runs the discrete adjoint of the recorded solve. Given
// gy1 = ∂L/∂y(t1) it overwrites gy0 with ∂L/∂y(t0) and adds ∂L/∂θ into gp,
// the exact gradient of the discrete solve: for a step
// y' = y + h Σ b_i k_i, k_i = f(t + c_i h, Y_i), Y_i = y + h Σ_{j<i} a_ij k_j,
// it takes, for i from the last stage down,
// k̄_i = h b_i ȳ' + h Σ_{j>i} a_ji Ȳ_j and Ȳ_i = k̄_iᵀ ∂f/∂y(Y_i), and sets
// ȳ = ȳ' + Σ_i Ȳ_i. vjp is called once per stage and step (NFE of the solve).
// gy0 may alias gy1. Backprop returns an error when nothing is recorded, when
// the lengths of gy1 or gy0 differ from the state length, or when vjp fails
// (naming the step and stage).
func (tr *Trajectory[T]) Backprop(vjp VJPFunc[T], gy1, gy0, gp []T) error {
	if tr.steps == 0 {
		return errors.New("ode: Backprop: no recorded trajectory")
	}
	if vjp == nil {
		return errors.New("ode: Backprop: nil VJPFunc")
	}
	n := tr.n
	if len(gy1) != n {
		return fmt.Errorf("ode: Backprop: len(gy1) = %d, want the state length %d", len(gy1), n)
	}
	if len(gy0) != n {
		return fmt.Errorf("ode: Backprop: len(gy0) = %d, want the state length %d", len(gy0), n)
	}
	tab := tableauOf(tr.method)
	ns := len(tab.b)
	tr.lam = growSlice(tr.lam, n)
	tr.kbar = growSlice(tr.kbar, n)
	if len(tr.ybar) < ns {
		tr.ybar = make([][]T, ns)
	}
	for i := 0; i < ns; i++ {
		tr.ybar[i] = growSlice(tr.ybar[i], n)
	}
	lam, kbar := tr.lam, tr.kbar
	copy(lam, gy1)
	h := tr.h
	hT := T(h)
	for step := tr.steps - 1; step >= 0; step-- {
		t := tr.t0 + float64(step)*h
		for i := ns - 1; i >= 0; i-- {
			hb := hT * T(tab.b[i])
			for l := range kbar {
				kbar[l] = hb * lam[l]
			}
			for j := i + 1; j < ns; j++ {
				a := tab.a[j][i]
				if a == 0 {
					continue
				}
				ha := hT * T(a)
				yb := tr.ybar[j]
				for l := range kbar {
					kbar[l] += ha * yb[l]
				}
			}
			yi := tr.stages[(step*ns+i)*n : (step*ns+i+1)*n]
			ti := t + tab.c[i]*h
			if err := vjp(T(ti), yi, kbar, tr.ybar[i], gp); err != nil {
				return fmt.Errorf("ode: Backprop: %v step %d stage %d (t = %.6g): %w", tr.method, step, i, ti, err)
			}
		}
		for i := 0; i < ns; i++ {
			yb := tr.ybar[i]
			for l := range lam {
				lam[l] += yb[l]
			}
		}
	}
	copy(gy0, lam)
	return nil
}
