package interp

import (
	"fmt"
	"math"
)

// SinkhornResult reports how a Sinkhorn solve ended: Iters is the number of
// full (column + row) scaling iterations done, MarginalErr the final L1
// marginal error Σ_i |Σ_j P_ij − 1/n| (the column marginals are exact after
// each iteration, up to rounding). Iters counts all annealing stages.
type SinkhornResult struct {
	Iters       int
	MarginalErr float64
}

// absorbLimit bounds |log u|, |log v| of the scalings before they are
// absorbed into the log-domain potentials (keeps u, v within e^±200).
const absorbLimit = 200

// sinkhornWork holds the buffers of a Sinkhorn solve, reused by OTPairer.
type sinkhornWork struct {
	f, g, u, v, s []float64
}

func (w *sinkhornWork) grow(n, m int) {
	if cap(w.f) < n {
		w.f, w.u = make([]float64, n), make([]float64, n)
	}
	if cap(w.g) < m {
		w.g, w.v = make([]float64, m), make([]float64, m)
	}
	if cap(w.s) < max(n, m) {
		w.s = make([]float64, max(n, m))
	}
	w.f, w.u, w.g, w.v = w.f[:n], w.u[:n], w.g[:m], w.v[:m]
}

// Sinkhorn computes the entropic optimal-transport plan between the uniform
// marginals a = (1/n, …, 1/n) and b = (1/m, …, 1/m) for the cost matrix cost
// (n×m, row-major):
//
//	P = argmin_{P ≥ 0, P1 = a, Pᵀ1 = b} ⟨P, C⟩ − eps·H(P),
//
// written into plan (n×m; its entries sum to 1). eps > 0 is absolute, in the
// units of the cost (it is not rescaled here; OTPairer scales it by the mean
// cost). Small eps approaches the exact OT plan. The solve is stabilized in
// the log domain (Cuturi, arXiv 1306.0895; Schmitzer, arXiv 1610.06519):
// P_ij = u_i·exp((f_i + g_j − C_ij)/eps)·v_j, with the scalings u, v
// absorbed into the potentials f, g whenever they leave e^±200 or a scaling
// would divide by an underflowed sum, so no entry overflows and no row or
// column vanishes. To converge fast at small eps it anneals: it solves first
// at eps0 = mean cost (when that exceeds eps) and divides eps by 4 per stage
// down to the target, warm-starting the potentials; intermediate stages stop
// at an L1 marginal error of max(tol, 1e-3). It iterates until the L1 row-marginal error (columns are
// exact after each iteration) is below tol, or maxIter iterations; reaching
// maxIter is not an error, the result reports the error reached.
//
// Errors: n < 1 or m < 1, len(cost) or len(plan) ≠ n·m, eps not finite and
// > 0, tol < 0 or NaN, maxIter < 1, or a NaN or ±Inf cost entry (named).
func Sinkhorn(cost []float64, n, m int, eps, tol float64, maxIter int, plan []float64) (SinkhornResult, error) {
	var w sinkhornWork
	return w.solve(cost, n, m, eps, tol, maxIter, plan)
}

func (w *sinkhornWork) solve(cost []float64, n, m int, eps, tol float64, maxIter int, plan []float64) (SinkhornResult, error) {
	switch {
	case n < 1 || m < 1:
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: shape %d×%d, want n, m ≥ 1", n, m)
	case len(cost) != n*m:
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: cost has %d entries, want %d×%d = %d", len(cost), n, m, n*m)
	case len(plan) != n*m:
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: plan has %d entries, want %d×%d = %d", len(plan), n, m, n*m)
	case !(eps > 0) || math.IsInf(eps, 0):
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: eps = %v, want a finite eps > 0", eps)
	case !(tol >= 0):
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: tol = %v, want tol ≥ 0", tol)
	case maxIter < 1:
		return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: maxIter = %d, want ≥ 1", maxIter)
	}
	for k, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return SinkhornResult{}, fmt.Errorf("interp: sinkhorn: cost[%d, %d] = %v is not finite", k/m, k%m, c)
		}
	}
	w.grow(n, m)
	a, b := 1/float64(n), 1/float64(m)
	f, u, v := w.f, w.u, w.v
	// Start from f_i = min_j C_ij, then exact log-domain column and row
	// updates, so that every row and column of the kernel has mass.
	for i := range f {
		row := cost[i*m : (i+1)*m]
		mn := row[0]
		for _, c := range row[1:] {
			mn = math.Min(mn, c)
		}
		f[i] = mn
	}
	// eps-scaling (annealing): solve at eps0 = mean cost (if larger than
	// eps), then divide eps by 4 per stage, warm-starting the potentials,
	// down to the target; intermediate stages stop at a loose tolerance.
	epsK := eps
	if mc := meanCost(cost); mc > eps {
		epsK = mc
	}
	w.logColumnUpdate(cost, n, m, epsK, b)
	w.logRowUpdate(cost, n, m, epsK, a)
	w.kernel(cost, n, m, epsK, plan)
	var res SinkhornResult
	for {
		final := epsK <= eps
		stageTol := tol
		if !final {
			stageTol = math.Max(tol, 1e-3)
		}
		w.iterate(cost, n, m, epsK, stageTol, maxIter, plan, &res)
		if final || res.Iters >= maxIter {
			if !final { // out of iterations before the target eps: finish there
				w.absorb(epsK)
				w.logColumnUpdate(cost, n, m, eps, b)
				w.kernel(cost, n, m, eps, plan)
				rowSums(plan, w.v, n, m, w.s[:n])
				res.MarginalErr = 0
				for i := range w.u {
					res.MarginalErr += math.Abs(w.s[i] - a)
				}
			}
			break
		}
		w.absorb(epsK)
		epsK = math.Max(eps, epsK/4)
		w.kernel(cost, n, m, epsK, plan)
	}
	// plan_ij = u_i K_ij v_j.
	for i := 0; i < n; i++ {
		row := plan[i*m : (i+1)*m]
		ui := u[i]
		for j := range row {
			row[j] *= ui * v[j]
		}
	}
	if math.IsNaN(res.MarginalErr) || math.IsInf(res.MarginalErr, 0) {
		return res, fmt.Errorf("interp: sinkhorn: marginal error is NaN after %d iterations (eps = %v)", res.Iters, eps)
	}
	return res, nil
}

// iterate runs scaling iterations at regularization eps until the L1 row
// marginal error is at most tol or res.Iters reaches maxIter; the kernel in k
// must match the potentials f, g at this eps.
func (w *sinkhornWork) iterate(cost []float64, n, m int, eps, tol float64, maxIter int, plan []float64, res *SinkhornResult) {
	a, b := 1/float64(n), 1/float64(m)
	u, v, s := w.u, w.v, w.s
	for res.Iters < maxIter {
		res.Iters++
		// Column update: v_j = b / Σ_i K_ij u_i.
		colSums(plan, u, n, m, s[:m])
		if !allPositiveFinite(s[:m]) {
			w.absorb(eps)
			w.logColumnUpdate(cost, n, m, eps, b)
			w.kernel(cost, n, m, eps, plan)
		} else {
			for j := range v {
				v[j] = b / s[j]
			}
		}
		// Row sums of the current plan and the marginal error.
		rowSums(plan, v, n, m, s[:n])
		errSum := 0.0
		for i := range u {
			errSum += math.Abs(u[i]*s[i] - a)
		}
		res.MarginalErr = errSum
		if errSum <= tol || res.Iters == maxIter {
			return
		}
		if !allPositiveFinite(s[:n]) {
			w.absorb(eps)
			w.logRowUpdate(cost, n, m, eps, a)
			w.kernel(cost, n, m, eps, plan)
			continue
		}
		big := false
		for i := range u {
			u[i] = a / s[i]
			big = big || math.Abs(math.Log(u[i])) > absorbLimit
		}
		for _, vj := range v {
			big = big || math.Abs(math.Log(vj)) > absorbLimit
		}
		if big {
			w.absorb(eps)
			w.kernel(cost, n, m, eps, plan)
		}
	}
}

func meanCost(c []float64) float64 {
	s := 0.0
	for _, e := range c {
		s += e
	}
	return s / float64(len(c))
}

func allPositiveFinite(x []float64) bool {
	for _, e := range x {
		if !(e > 0) || math.IsInf(e, 1) {
			return false
		}
	}
	return true
}

// absorb moves the scalings into the potentials: f += eps·log u, g += eps·log v,
// u = v = 1.
func (w *sinkhornWork) absorb(eps float64) {
	for i, ui := range w.u {
		w.f[i] += eps * math.Log(ui)
		w.u[i] = 1
	}
	for j, vj := range w.v {
		w.g[j] += eps * math.Log(vj)
		w.v[j] = 1
	}
}

// kernel writes K_ij = exp((f_i + g_j − C_ij)/eps) into k (n×m).
func (w *sinkhornWork) kernel(cost []float64, n, m int, eps float64, k []float64) {
	inv := 1 / eps
	for i := 0; i < n; i++ {
		row, kr := cost[i*m:(i+1)*m], k[i*m:(i+1)*m]
		fi := w.f[i]
		for j, c := range row {
			kr[j] = math.Exp((fi + w.g[j] - c) * inv)
		}
	}
}

// logColumnUpdate sets g_j = eps·log b − eps·log Σ_i exp((f_i − C_ij)/eps)
// (an exact column projection in the log domain) and u = v = 1.
func (w *sinkhornWork) logColumnUpdate(cost []float64, n, m int, eps, b float64) {
	inv := 1 / eps
	mx := w.s[:m]
	for j := range mx {
		mx[j] = math.Inf(-1)
	}
	for i := 0; i < n; i++ {
		fi := w.f[i]
		for j, c := range cost[i*m : (i+1)*m] {
			mx[j] = math.Max(mx[j], (fi-c)*inv)
		}
	}
	g := w.g
	for j := range g {
		g[j] = 0
	}
	for i := 0; i < n; i++ {
		fi := w.f[i]
		for j, c := range cost[i*m : (i+1)*m] {
			g[j] += math.Exp((fi-c)*inv - mx[j])
		}
	}
	lb := math.Log(b)
	for j := range g {
		g[j] = eps * (lb - mx[j] - math.Log(g[j]))
	}
	for i := range w.u {
		w.u[i] = 1
	}
	for j := range w.v {
		w.v[j] = 1
	}
}

// logRowUpdate sets f_i = eps·log a − eps·log Σ_j exp((g_j − C_ij)/eps) and
// u = v = 1.
func (w *sinkhornWork) logRowUpdate(cost []float64, n, m int, eps, a float64) {
	inv := 1 / eps
	la := math.Log(a)
	for i := 0; i < n; i++ {
		row := cost[i*m : (i+1)*m]
		mx := math.Inf(-1)
		for j, c := range row {
			mx = math.Max(mx, (w.g[j]-c)*inv)
		}
		s := 0.0
		for j, c := range row {
			s += math.Exp((w.g[j]-c)*inv - mx)
		}
		w.f[i] = eps * (la - mx - math.Log(s))
	}
	for i := range w.u {
		w.u[i] = 1
	}
	for j := range w.v {
		w.v[j] = 1
	}
}

// colSums writes s_j = Σ_i K_ij u_i.
func colSums(k, u []float64, n, m int, s []float64) {
	for j := range s {
		s[j] = 0
	}
	for i := 0; i < n; i++ {
		ui := u[i]
		kr := k[i*m : (i+1)*m]
		s := s[:len(kr)]
		for j, kij := range kr {
			s[j] += kij * ui
		}
	}
}

// rowSums writes s_i = Σ_j K_ij v_j.
func rowSums(k, v []float64, n, m int, s []float64) {
	for i := 0; i < n; i++ {
		kr := k[i*m : (i+1)*m]
		v := v[:len(kr)]
		t := 0.0
		for j, kij := range kr {
			t += kij * v[j]
		}
		s[i] = t
	}
}
