package interp

import (
	"errors"
	"fmt"
	"math"
)

// SqEuclideanCost fills cost (n×m, row-major) with the squared Euclidean
// distances |x0_i − x1_j|² between the rows of x0 (n×d) and x1 (m×d). It is
// the ground cost of minibatch OT-CFM (Tong et al., arXiv 2302.00482 §3.2).
// It panics if a slice is shorter than its shape says (a programming error,
// not a data error); callers that take user input check lengths first.
func SqEuclideanCost(x0, x1 []float64, n, m, d int, cost []float64) {
	sqEuclidean(x0, x1, n, m, d, cost)
}

// sqEuclidean is SqEuclideanCost for either element type; the cost is always
// accumulated in float64.
func sqEuclidean[T Float](x0, x1 []T, n, m, d int, cost []float64) {
	if n < 0 || m < 0 || d < 0 || len(x0) < n*d || len(x1) < m*d || len(cost) < n*m {
		panic(fmt.Sprintf("interp: SqEuclideanCost: slice shorter than its shape (n=%d, m=%d, d=%d)", n, m, d))
	}
	if d == 2 { // the common 2D case, unrolled
		for i := 0; i < n; i++ {
			a0, a1 := float64(x0[2*i]), float64(x0[2*i+1])
			row := cost[i*m : (i+1)*m]
			for j := range row {
				e0 := a0 - float64(x1[2*j])
				e1 := a1 - float64(x1[2*j+1])
				row[j] = e0*e0 + e1*e1
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		a := x0[i*d : (i+1)*d]
		row := cost[i*m : (i+1)*m]
		for j := range row {
			b := x1[j*d : (j+1)*d]
			s := 0.0
			for k, ak := range a {
				e := float64(ak) - float64(b[k])
				s += e * e
			}
			row[j] = s
		}
	}
}

// Assigner solves square linear assignment problems exactly,
//
//	min over permutations σ of Σ_i cost[i, σ(i)],
//
// with the shortest-augmenting-path method of Jonker and Volgenant ("A
// shortest augmenting path algorithm for dense and sparse linear assignment
// problems", Computing 38, 1987): column reduction, reduction transfer, two
// passes of augmenting row reduction, then one Dijkstra-like augmentation per
// row still free. The worst case is O(n³); dense random instances are much
// faster. The zero value is ready to use; its workspace is kept between calls,
// so Solve allocates nothing after the first call for a given n (or a larger
// one). An Assigner is not safe for concurrent use.
type Assigner struct {
	n       int
	rowOf   []int     // rowOf[j]: row assigned to column j, or −1
	colOf   []int     // colOf[i]: column assigned to row i, or −1
	v       []float64 // column dual potentials
	dist    []float64 // shortest-path labels of the augmentation
	pred    []int     // predecessor row of each column on the shortest path
	cols    []int     // columns split into ready | to scan | untouched
	free    []int     // free rows
	matches []int     // column reduction: how many columns chose each row
	u       []float64 // row dual potentials of the last Solve
	solved  bool
}

func (a *Assigner) grow(n int) {
	a.n = n
	if cap(a.rowOf) < n {
		a.rowOf = make([]int, n)
		a.colOf = make([]int, n)
		a.v = make([]float64, n)
		a.dist = make([]float64, n)
		a.pred = make([]int, n)
		a.cols = make([]int, n)
		a.free = make([]int, n)
		a.matches = make([]int, n)
		a.u = make([]float64, n)
	}
	a.rowOf, a.colOf, a.v = a.rowOf[:n], a.colOf[:n], a.v[:n]
	a.dist, a.pred, a.cols = a.dist[:n], a.pred[:n], a.cols[:n]
	a.free, a.matches, a.u = a.free[:n], a.matches[:n], a.u[:n]
}

// Solve finds an optimal assignment for the square n×n cost matrix cost
// (row-major): perm[i] is the column assigned to row i (perm has length n and
// is a permutation of 0..n−1 on return) and total = Σ_i cost[i, perm[i]]. Ties
// are broken arbitrarily but deterministically. cost is not modified.
//
// Errors: n < 1, len(cost) ≠ n², len(perm) ≠ n, or a NaN or ±Inf entry (the
// error names its row and column).
func (a *Assigner) Solve(cost []float64, n int, perm []int) (total float64, err error) {
	a.solved = false
	if n < 1 {
		return 0, fmt.Errorf("interp: assignment: n = %d, want n ≥ 1", n)
	}
	if len(cost) != n*n {
		return 0, fmt.Errorf("interp: assignment: cost has %d entries, want n² = %d for n = %d", len(cost), n*n, n)
	}
	if len(perm) != n {
		return 0, fmt.Errorf("interp: assignment: perm has length %d, want n = %d", len(perm), n)
	}
	for k, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return 0, fmt.Errorf("interp: assignment: cost[%d, %d] = %v is not finite", k/n, k%n, c)
		}
	}
	a.grow(n)
	if n == 1 {
		a.colOf[0], a.rowOf[0], a.v[0] = 0, 0, cost[0]
	} else {
		nfree := a.columnReduction(cost)
		for pass := 0; pass < 2 && nfree > 0; pass++ {
			nfree = a.augmentingRowReduction(cost, nfree)
		}
		for _, f := range a.free[:nfree] {
			a.augment(cost, f)
		}
	}
	for i := 0; i < n; i++ {
		j := a.colOf[i]
		perm[i] = j
		total += cost[i*n+j]
		a.u[i] = cost[i*n+j] - a.v[j]
	}
	a.solved = true
	return total, nil
}

// columnReduction sets v[j] to the minimum of column j, assigns each column to
// its minimizing row when that row is still unassigned, transfers the slack of
// rows matched once to their column potential, and lists the free rows in
// a.free. It returns the number of free rows.
func (a *Assigner) columnReduction(cost []float64) int {
	n := a.n
	for i := range a.colOf {
		a.colOf[i], a.rowOf[i], a.matches[i] = -1, -1, 0
	}
	for j := n - 1; j >= 0; j-- {
		imin, cmin := 0, cost[j]
		for i := 1; i < n; i++ {
			if c := cost[i*n+j]; c < cmin {
				imin, cmin = i, c
			}
		}
		a.v[j] = cmin
		a.matches[imin]++
		if a.colOf[imin] < 0 {
			a.colOf[imin], a.rowOf[j] = j, imin
		}
	}
	nfree := 0
	for i := 0; i < n; i++ {
		switch {
		case a.colOf[i] < 0:
			a.free[nfree] = i
			nfree++
		case a.matches[i] == 1:
			// Reduction transfer: lower v of the assigned column until the
			// row's reduced cost there equals its second-best reduced cost.
			j1 := a.colOf[i]
			row := cost[i*n : (i+1)*n]
			mu := math.Inf(1)
			for j, c := range row {
				if j != j1 {
					if h := c - a.v[j]; h < mu {
						mu = h
					}
				}
			}
			a.v[j1] -= mu - (row[j1] - a.v[j1])
		}
	}
	return nfree
}

// augmentingRowReduction runs one pass of JV's augmenting row reduction over
// the nfree free rows in a.free: each free row takes its best column (by
// reduced cost), lowering that column's potential to the row's second-best
// reduced cost and displacing the previous owner. It returns the number of
// rows left free, listed again in a.free.
func (a *Assigner) augmentingRowReduction(cost []float64, nfree int) int {
	n := a.n
	k, prev := 0, nfree
	nfree = 0
	budget := 8 * n // bound on immediate re-processing (guards against float cycling)
	for k < prev {
		i := a.free[k]
		k++
		row := cost[i*n : (i+1)*n]
		u1, u2 := math.Inf(1), math.Inf(1)
		j1, j2 := -1, -1
		for j, c := range row {
			h := c - a.v[j]
			if h < u2 {
				if h >= u1 {
					u2, j2 = h, j
				} else {
					u2, j2 = u1, j1
					u1, j1 = h, j
				}
			}
		}
		i0 := a.rowOf[j1]
		strict := u1 < u2
		if strict {
			a.v[j1] -= u2 - u1
		} else if i0 >= 0 {
			j1 = j2
			i0 = a.rowOf[j2]
		}
		a.colOf[i], a.rowOf[j1] = j1, i
		if i0 >= 0 {
			a.colOf[i0] = -1
			if strict && budget > 0 {
				budget--
				k--
				a.free[k] = i0
			} else {
				a.free[nfree] = i0
				nfree++
			}
		}
	}
	return nfree
}

// augment assigns the free row f by a shortest augmenting path in the reduced
// costs (Dijkstra over columns) and updates the column potentials so that all
// reduced costs stay non-negative and assigned pairs stay tight.
func (a *Assigner) augment(cost []float64, f int) {
	n := a.n
	d, pred, cols, v := a.dist, a.pred, a.cols, a.v
	rowF := cost[f*n : (f+1)*n]
	for j := range cols {
		cols[j] = j
		d[j] = rowF[j] - v[j]
		pred[j] = f
	}
	// cols[:low] are ready (final labels), cols[low:up] hold the current
	// minimum label and wait to be scanned, cols[up:] are the rest.
	low, up, last := 0, 0, 0
	end := -1
	mind := 0.0
	for end < 0 {
		if low == up {
			last = low
			mind = math.Inf(1)
			for k := up; k < n; k++ {
				j := cols[k]
				h := d[j]
				if h <= mind {
					if h < mind {
						up = low
						mind = h
					}
					cols[k], cols[up] = cols[up], j
					up++
				}
			}
			for k := low; k < up; k++ {
				if a.rowOf[cols[k]] < 0 {
					end = cols[k]
					break
				}
			}
			if end >= 0 {
				break
			}
		}
		j1 := cols[low]
		low++
		i := a.rowOf[j1]
		row := cost[i*n : (i+1)*n]
		u1 := row[j1] - v[j1] - mind
		rest := cols[up:]
		for k, j := range rest {
			h := row[j] - v[j] - u1
			if h < d[j] {
				d[j] = h
				pred[j] = i
				if h == mind {
					if a.rowOf[j] < 0 {
						end = j
						break
					}
					// Move j into the to-scan block cols[low:up].
					rest[k] = cols[up]
					cols[up] = j
					up++
				}
			}
		}
	}
	for _, j := range cols[:last] {
		v[j] += d[j] - mind
	}
	// Flip the alternating path back to f.
	for {
		i := pred[end]
		a.rowOf[end] = i
		next := a.colOf[i]
		a.colOf[i] = end
		if i == f {
			break
		}
		end = next
	}
}

// Duals writes the dual potentials of the last Solve: u (length n, one per
// row) and v (length n, one per column) satisfy cost[i, j] ≥ u[i] + v[j] for
// all i, j (up to rounding) with equality on the assignment, so Σu + Σv equals
// the optimal total (LP duality; complementary slackness certifies
// optimality). Errors: no successful Solve yet, or a length ≠ n.
func (a *Assigner) Duals(u, v []float64) error {
	if !a.solved {
		return errors.New("interp: assignment duals: no successful Solve yet")
	}
	n := a.n
	if len(u) != n || len(v) != n {
		return fmt.Errorf("interp: assignment duals: len(u) = %d, len(v) = %d, want n = %d", len(u), len(v), n)
	}
	copy(u, a.u)
	copy(v, a.v)
	return nil
}
