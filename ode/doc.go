// Package ode holds batched solvers for ordinary differential equations
// dy/dt = f(t, y) on flat states, generic over float32 and float64: the
// fixed-step explicit Runge–Kutta methods euler, midpoint and rk4, and the
// adaptive Dormand–Prince 5(4) method dopri5 with relative and absolute
// tolerances. Solves run forward or backward in time, count evaluations of the
// right-hand side (NFE), fail with a *SolveError that says where and why, and
// reuse their stage buffers between steps. Fixed-step solves can be recorded
// and differentiated exactly by the discrete adjoint (Trajectory.Backprop).
//
// References: E. Hairer, S. P. Nørsett, G. Wanner, Solving Ordinary
// Differential Equations I, 2nd ed., Springer 1993, Sec. II.1, II.4 (step-size
// control, initial step) and II.5 (Dormand–Prince 5(4)); J. R. Dormand,
// P. J. Prince, "A family of embedded Runge–Kutta formulae", J. Comput. Appl.
// Math. 6 (1980).
package ode
