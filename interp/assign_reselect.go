package interp

import (
	"math"
	"slices"
)

// coarseMinN is the least n solved from a coarse problem's duals.
const coarseMinN = 256

// reselect replaces every row's candidates by its k columns of least reduced
// cost c_ij − v_j under the current column potentials (one pass over the
// matrix). After a price war (the nearest-neighbour graph of a multimodal
// target lacks a perfect matching: many sources share few nearby targets)
// the potentials of the contested columns have dropped, so the new lists
// reach the columns an optimal assignment uses. Columns that are a candidate
// of fewer than two rows get their colCandidates rows of least cost too.
// adjC keeps the raw costs.
func (a *Assigner) reselect(cost []float64) {
	n, k := a.n, a.k
	v := a.v
	nb := 4 * k
	bk, bj := a.bufK[:nb+4], a.bufJ[:nb+4]
	r := a.redRow
	if cap(r) < n {
		r = make([]float64, n)
		a.redRow = r
	}
	r = r[:n]
	const s = 64
	stride := n / s
	t := 2 * k * s / n
	useGuess := stride >= 2 && t < s
	spread := 0.0
	for i := 0; i < n; i++ {
		row := cost[i*n : (i+1)*n]
		row = row[:len(r)]
		for j, c := range row {
			r[j] = c - v[j]
		}
		thr := math.Inf(1)
		if useGuess {
			thr = a.sampleThreshold(r, s, stride, t)
		}
		cnt := 0
		for j, c := range r {
			if c < thr {
				bk[cnt], bj[cnt] = c, int32(j)
				cnt++
				if cnt >= nb {
					thr = selectSmallest(bk[:cnt], bj[:cnt], k)
					cnt = k
				}
			}
		}
		cnt = widenCandidates(r, bk, bj, cnt, k, nb, thr, func(lo float64) float64 { return lo + 4*math.Abs(lo) + 1 })
		if cnt > k {
			selectSmallest(bk[:cnt], bj[:cnt], k)
			cnt = k
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range bk[:cnt] {
			lo, hi = min(lo, x), max(hi, x)
		}
		spread += hi - lo
		js := a.adjJ[i][:cnt]
		cs := a.adjC[i][:cnt]
		a.adjJ[i], a.adjC[i] = js, cs
		copy(js, bj[:cnt])
		for e, j := range js {
			cs[e] = row[j]
		}
	}
	a.scale = spread / float64(n) // runAuction checks it
	deg := a.matches
	clear(deg)
	for i := 0; i < n; i++ {
		for _, j := range a.adjJ[i] {
			deg[j]++
		}
	}
	for j := 0; j < n; j++ {
		if deg[j] >= 2 {
			continue
		}
		bc, br := a.cheapestRows(cost, n, j)
		for q, r := range br {
			if r < 0 || slices.Contains(a.adjJ[r], int32(j)) {
				continue
			}
			a.adjJ[r] = append(a.adjJ[r], int32(j))
			a.adjC[r] = append(a.adjC[r], bc[q])
		}
	}
}

// coarseDuals sets the column potentials v from a coarse problem: the m×m
// assignment between m rows and m columns taken at a regular stride is solved
// exactly by dense JV, and v_j = min over the coarse rows r of c_rj − u_r (the
// c-transform of the coarse row potentials) extends its duals to every
// column. The coarse potentials approximate the Kantorovich potentials of
// the two point clouds (multiscale OT: Mérigot, Computer Graphics Forum 30,
// 2011; Schmitzer, SIAM J. Sci. Comput. 41, 2019), so the reduced costs
// c_ij − v_j rank an optimal column of each row among its first few even
// when the clouds differ in shape, where the raw nearest neighbours miss it.
// It returns false (leaving v unspecified) if the coarse solve fails, which
// a finite cost matrix rules out.
func (a *Assigner) coarseDuals(cost []float64, m int) bool {
	n := a.n
	if a.coarse == nil {
		a.coarse = new(Assigner)
	}
	if cap(a.coarseC) < m*m {
		a.coarseC = make([]float64, m*m)
		a.coarseI = make([]int, m)
		a.coarseP = make([]int, m)
	}
	sub, idx := a.coarseC[:m*m], a.coarseI[:m]
	for q := range idx {
		idx[q] = q * n / m
	}
	for p, i := range idx {
		row := cost[i*n : (i+1)*n]
		out := sub[p*m : (p+1)*m]
		for q, j := range idx {
			out[q] = row[j]
		}
	}
	c := a.coarse
	if _, err := c.solve(sub, m, a.coarseP[:m], candidatesPerRow(m)); err != nil {
		return false
	}
	v := a.v
	for j := range v {
		v[j] = math.Inf(1)
	}
	for p, i := range idx {
		row := cost[i*n : (i+1)*n]
		row = row[:len(v)]
		up := c.u[p]
		for j, x := range row {
			v[j] = min(v[j], x-up)
		}
	}
	return true
}
