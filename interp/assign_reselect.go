package interp

import (
	"math"
	"slices"
)

// coarseMinN is the least n solved from a coarse problem's duals.
const coarseMinN = 256

// reselect replaces every row's candidates by its k columns of least reduced
// cost c_ij − v_j under the current column potentials (one pass over the
// matrix; see selectRow). After a price war (the nearest-neighbour graph of
// a multimodal target lacks a perfect matching: many sources share few
// nearby targets) or from a coarse problem's duals, the potentials of the
// contested columns are low, so the new lists reach the columns an optimal
// assignment uses. Columns that are a candidate of fewer than two rows get
// their colCandidates rows of least cost too. adjC keeps the raw costs. It
// returns false if some c_ij − v_j is NaN or ±Inf.
func (a *Assigner) reselect(cost []float64) bool {
	n := a.n
	if cap(a.redRow) < n {
		a.redRow = make([]float64, n)
		a.redThr = make([]float64, n)
		a.redSpread = make([]float64, n)
	}
	a.redRow, a.redThr, a.redSpread = a.redRow[:n], a.redThr[:n], a.redSpread[:n]
	spread := 0.0
	for i := 0; i < n; i++ {
		a.dense[i] = false
		lo, hi, ok := a.selectRow(cost, i)
		if !ok {
			return false
		}
		spread += hi - lo
	}
	a.scale = spread / float64(n) // runAuction checks it
	a.bound = true
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
	return true
}

// selectRow sets row i's candidates to its k columns of least reduced cost
// c_ij − v_j (a threshold guessed from a strided sample feeds a buffer of 4k
// entries cut back by quickselect, as in fastCandidates) and redThr[i] to
// the largest of those k reduced costs, below which no other column of the
// row lies. It returns the least and largest reduced cost kept, and false if
// some reduced cost of the row is NaN or ±Inf.
func (a *Assigner) selectRow(cost []float64, i int) (lo, hi float64, ok bool) {
	n, k, v := a.n, a.k, a.v
	nb := 4 * k
	bk, bj := a.bufK[:nb+4], a.bufJ[:nb+4]
	r := a.redRow[:n]
	row := cost[i*n : (i+1)*n]
	row = row[:len(r)]
	v = v[:len(r)]
	var z float64 // Σ r·0: NaN iff some c − v_j is NaN or ±Inf
	for j, c := range row {
		x := c - v[j]
		r[j] = x
		z += x * 0
	}
	if z != 0 {
		return 0, 0, false
	}
	const s = 64
	stride := n / s
	t := 2 * k * s / n
	thr := math.Inf(1)
	if stride >= 2 && t < s {
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
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range bk[:cnt] {
		lo, hi = min(lo, x), max(hi, x)
	}
	a.redThr[i] = hi
	a.redSpread[i] = hi - lo
	js := a.adjJ[i][:cnt]
	cs := a.adjC[i][:cnt]
	a.adjJ[i], a.adjC[i] = js, cs
	copy(js, bj[:cnt])
	for e, j := range js {
		cs[e] = row[j]
	}
	return lo, hi, true
}

// extendRow replaces row i's candidates, during the auction, by its columns
// of least reduced cost c_ij − v_j on the full row: those below m + s, m the
// least reduced cost of the row and s the spread of its list at the last
// selection, or its k least if more. The caller has found r1, the least
// reduced cost on the current list, above redThr[i] (so m ≥ redThr[i] and
// m ≤ r1): one fused pass keeps the entries below r1 + s in a buffer of 4k
// (cut back to the k least by quickselect when it fills), and the buffer is
// then cut to m + s. redThr[i] becomes the bound that the columns left off
// do not go below. The reduced costs are finite (reselect checked them).
func (a *Assigner) extendRow(cost []float64, i int, r1 float64) {
	n, k := a.n, a.k
	row := cost[i*n : (i+1)*n]
	v := a.v[:len(row)]
	sp := a.redSpread[i]
	if !(sp > 0) {
		sp = a.scale
	}
	thr := r1 + sp
	nb := 4 * k
	bk, bj := a.bufK[:nb+4], a.bufJ[:nb+4]
	cnt := 0
	m := math.Inf(1)
	j := 0
	for ; j+4 <= len(row); j += 4 {
		c := row[j : j+4 : j+4]
		w := v[j : j+4 : j+4]
		x0, x1, x2, x3 := c[0]-w[0], c[1]-w[1], c[2]-w[2], c[3]-w[3]
		if x0 < thr || x1 < thr || x2 < thr || x3 < thr {
			if x0 < thr {
				bk[cnt], bj[cnt] = x0, int32(j)
				cnt++
			}
			if x1 < thr {
				bk[cnt], bj[cnt] = x1, int32(j+1)
				cnt++
			}
			if x2 < thr {
				bk[cnt], bj[cnt] = x2, int32(j+2)
				cnt++
			}
			if x3 < thr {
				bk[cnt], bj[cnt] = x3, int32(j+3)
				cnt++
			}
			if cnt >= nb {
				thr = selectSmallest(bk[:cnt], bj[:cnt], k)
				cnt = k
			}
		}
	}
	for ; j < len(row); j++ {
		if x := row[j] - v[j]; x < thr {
			bk[cnt], bj[cnt] = x, int32(j)
			cnt++
			if cnt >= nb {
				thr = selectSmallest(bk[:cnt], bj[:cnt], k)
				cnt = k
			}
		}
	}
	for _, x := range bk[:cnt] {
		if x < m {
			m = x
		}
	}
	if t := m + sp; t < thr {
		thr = t
		w := 0
		for e, x := range bk[:cnt] {
			if x < thr {
				bk[w], bj[w] = x, bj[e]
				w++
			}
		}
		cnt = w
	}
	if cnt > k {
		thr = selectSmallest(bk[:cnt], bj[:cnt], k)
		cnt = k
	}
	a.redThr[i] = thr
	js := a.adjJ[i][:cnt]
	cs := a.adjC[i][:cnt]
	a.adjJ[i], a.adjC[i] = js, cs
	copy(js, bj[:cnt])
	for e, j := range js {
		cs[e] = row[j]
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
