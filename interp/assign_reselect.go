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
	if cap(a.redThr) < n {
		a.redThr = make([]float64, n)
		a.redSpread = make([]float64, n)
	}
	a.redThr, a.redSpread = a.redThr[:n], a.redSpread[:n]
	a.split(passReselect, cost, n)
	if !a.splitOK() {
		return false
	}
	spread := 0.0
	for _, sp := range a.redSpread {
		spread += sp // in row order, whatever the split
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
// c_ij − v_j, redThr[i] to the largest of them (below which no other column
// of the row lies) and redSpread[i] to their spread (largest − least). One
// fused pass, unrolled by four, computes each c_ij − v_j and feeds those
// below a threshold into a buffer of 4k entries (cut back to the k least by
// quickselect when it fills); the threshold starts at an order statistic of
// a strided sample of the row's reduced costs, placed so that about 2k
// entries pass, and a row left with fewer than k is widened on the stored
// row of reduced costs (rare). ps is the calling half's scratch. It returns
// false if some reduced cost of the row is NaN or ±Inf (their sum times 0
// is then NaN).
func (a *Assigner) selectRow(cost []float64, i int, ps *passScratch) bool {
	n, k := a.n, a.k
	nb := 4 * k
	bk, bj := ps.bufK[:nb+scanSlack], ps.bufJ[:nb+scanSlack]
	row := cost[i*n : (i+1)*n]
	v := a.v[:len(row)]
	const s = 64
	stride := n / s
	t := 2 * k * s / n
	thr := math.Inf(1)
	if stride >= 2 && t < s {
		thr = sampleOrder(ps.samp, row, v, s, stride, t)
	}
	cnt, thr, finite := scanBelow(row, v, thr, bk, bj, nb, k)
	if !finite {
		return false
	}
	if cnt < k {
		r := ps.red[:len(row)]
		for j, c := range row {
			r[j] = c - v[j]
		}
		cnt = widenCandidates(r, bk, bj, cnt, k, nb, thr, func(lo float64) float64 { return lo + 4*math.Abs(lo) + 1 })
	}
	if cnt > k {
		selectSmallest(bk[:cnt], bj[:cnt], k)
		cnt = k
	}
	ka := cnt
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range bk[:ka] {
		lo, hi = min(lo, x), max(hi, x)
	}
	a.redThr[i] = hi
	a.redSpread[i] = hi - lo
	a.storeList(i, row, bj[:ka])
	return true
}

// extendRow replaces row i's candidates, during the auction, by its columns
// of least reduced cost c_ij − v_j on the full row: those below m + s, m the
// least reduced cost of the row and s the spread of its list at the last
// selection, or its k least if more. The caller has found r1, the least
// reduced cost on the current list, above redThr[i] (so m ≥ redThr[i] and
// m ≤ r1): one fused pass, unrolled by four, keeps the entries below
// r1 + s in a buffer of 4k (cut back to the k least by quickselect when it
// fills), and the buffer is then cut to m + s (see takeList). redThr[i]
// becomes the bound that the columns left off do not go below. The
// reduced costs are finite (reselect checked them).
func (a *Assigner) extendRow(cost []float64, i int, r1 float64) {
	n, k := a.n, a.k
	row := cost[i*n : (i+1)*n]
	v := a.v[:len(row)]
	// A list of near-duplicate columns (a target batch with repeated
	// points) has almost no spread; the floor of 1e-6 of the cost scale
	// keeps such a row from rescanning at every bid.
	sp := a.redSpread[i]
	if !(sp > 1e-6*a.scale) {
		sp = a.scale
	}
	thr := r1 + sp
	if !(thr > r1) {
		thr = math.Nextafter(r1, math.Inf(1)) // keep the column at r1
	}
	nb := 4 * k
	ps := &a.ps[0] // the auction runs on one goroutine
	bk, bj := ps.bufK[:nb+scanSlack], ps.bufJ[:nb+scanSlack]
	cnt, thr, _ := scanBelow(row, v, thr, bk, bj, nb, k) // finite: reselect checked the row
	a.takeList(cost, i, bk[:cnt], bj[:cnt], thr, sp)
}

// takeList sets row i's candidates, in extendRow, from the buffer bk, bj of
// reduced costs and columns that holds every column of the row below thr:
// the entries below min(thr, m + sp), m the least of them, or the k least
// if more; redThr[i] becomes the cut.
func (a *Assigner) takeList(cost []float64, i int, bk []float64, bj []int32, thr, sp float64) {
	k := a.k
	m := math.Inf(1)
	for _, x := range bk {
		m = min(m, x)
	}
	cnt := len(bk)
	if t := m + sp; t < thr && t > m {
		thr = t
		w := 0
		for e, x := range bk {
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
	a.storeList(i, cost[i*a.n:(i+1)*a.n], bj[:cnt])
}

// storeList makes cols (at most the arena's width) row i's candidate list,
// with their costs from row (row i of the cost matrix).
func (a *Assigner) storeList(i int, row []float64, cols []int32) {
	js := a.adjJ[i][:len(cols)]
	cs := a.adjC[i][:len(cols)]
	a.adjJ[i], a.adjC[i] = js, cs
	copy(js, cols)
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
	c.serial, c.isCoarse = a.serial, true
	if _, err := c.solve(sub, m, a.coarseP[:m], candidatesPerRow(m)); err != nil {
		return false
	}
	a.split(passCTransform, cost, n)
	return true
}

// cTransform sets v_j = min over the coarse rows r of c_rj − u_r for the
// columns j in [lo, hi) (the c-transform of the coarse row potentials in
// a.coarse.u; see coarseDuals). The minimum is exact, so the result does
// not depend on how the columns are split.
func (a *Assigner) cTransform(cost []float64, lo, hi int) {
	n := a.n
	v := a.v[lo:hi]
	for j := range v {
		v[j] = math.Inf(1)
	}
	cu := a.coarse.u
	for p, i := range a.coarseI[:len(a.coarse.u)] {
		row := cost[i*n+lo : i*n+hi]
		row = row[:len(v)]
		up := cu[p]
		for j, x := range row {
			v[j] = min(v[j], x-up)
		}
	}
}
