package interp

import (
	"math"
	"slices"
)

// auction runs Bertsekas' forward auction with ε-scaling (D. P. Bertsekas,
// "The auction algorithm: a distributed relaxation method for the assignment
// problem", Annals of Operations Research 14, 1988; Gauss–Seidel bidding from
// a FIFO queue) on the candidate graph, in min-cost form: an unassigned row i
// bids for the column j1 of least reduced cost c_ij − v_j and lowers v_j1 so
// that j1 ends ε worse than the row's second best, displacing j1's owner. It
// starts from v = colMin; each phase keeps the rows still in ε-complementary
// slackness for the new ε and queues the others; the last phase has ε =
// epsEnd, the first the largest epsEnd·θ^p ≤ eps0. The result only seeds
// JV's potentials and is not required to be optimal. It returns false if the
// bids exceed maxBids (the candidate graph may lack a perfect matching: a
// price war), leaving v, rowOf and colOf to be reset by the caller.
func (a *Assigner) auction(cost []float64, eps0, epsEnd, theta float64, maxBids int, warm bool) bool {
	n := a.n
	v, rowOf, colOf := a.v, a.rowOf, a.colOf
	for j := range v {
		if !warm {
			v[j] = a.colMin[j]
		}
		rowOf[j], colOf[j] = -1, -1
	}
	if !(epsEnd > 0) || !(eps0 >= epsEnd) {
		return false // no ε-scaling schedule: the caller starts without the auction
	}
	bound := warm && a.bound // redThr bounds the reduced costs off the candidate lists
	q := a.free              // ring buffer of unassigned rows
	bids := a.bids
	phases := 1
	for e := epsEnd; e*theta <= eps0; e *= theta {
		phases++
	}
	eps := epsEnd * math.Pow(theta, float64(phases-1))
	for ph := 0; ph < phases; ph, eps = ph+1, eps/theta {
		if ph == phases-1 {
			eps = epsEnd
		}
		// Keep the assignments still in ε-CS; queue the others.
		head, cnt := 0, 0
		for i := 0; i < n; i++ {
			j0 := colOf[i]
			if j0 >= 0 {
				js, cs := a.adjJ[i], a.adjC[i]
				cs = cs[:len(js)]
				r0 := a.ca[i] - v[j0]
				ok := true
				for e, j := range js {
					if cs[e]-v[j]+eps < r0 {
						ok = false
						break
					}
				}
				if ok && !(bound && r0 > a.redThr[i]+2*eps) {
					continue
				}
				colOf[i], rowOf[j0] = -1, -1
			}
			q[cnt] = i
			cnt++
		}
		tail := cnt % n
		limit := bids + maxBids
		for cnt > 0 {
			i := q[head]
			head++
			if head == n {
				head = 0
			}
			cnt--
			fresh := false
		bid:
			js, cs := a.adjJ[i], a.adjC[i]
			r1, r2, e1 := leastTwo(js, cs, v)
			j1 := js[e1]
			if bound && !fresh {
				t := a.redThr[i]
				if r1 > t+eps {
					// A column off the list may be more than ε better
					// now: give the row the columns of least reduced
					// cost on the full matrix.
					a.extendRow(cost, i, r1)
					a.extended++
					fresh = true
					goto bid
				}
				r2 = max(r1, min(r2, t))
			} else if bound {
				r2 = max(r1, min(r2, a.redThr[i]))
			}
			if math.IsInf(r2, 1) {
				r2 = r1 + eps0
			}
			v[j1] -= r2 - r1 + eps
			old := rowOf[j1]
			rowOf[j1], colOf[i] = i, int(j1)
			a.ca[i] = cs[e1]
			if old >= 0 {
				colOf[old] = -1
				q[tail] = old
				tail++
				if tail == n {
					tail = 0
				}
				cnt++
			}
			bids++
			if bids > limit {
				a.bids = bids
				return false
			}
		}
	}
	a.bids, a.auctioned = bids, true
	return true
}

// leastTwo returns the least and the second least (equal to the least on a
// tie) of the reduced costs cs[e] − v[js[e]] of a candidate list, and e1,
// the first position of the least; js must not be empty and the reduced
// costs finite. It is the scan of every auction bid: four independent
// min/max chains (merged at the end) instead of one, because a single
// chain is bound by the latency of Go's float min (two MINSD and a POR),
// and e1 is found afterwards by one pass that stops at the least, instead
// of a branch per new minimum that mispredicts about ln(len(js)) times.
// At n = 1024 a whole solve got 5–7% faster (paired runs of both scans on
// the same minibatches); the result is bitwise that of the one-chain scan.
func leastTwo(js []int32, cs, v []float64) (r1, r2 float64, e1 int) {
	cs = cs[:len(js)]
	inf := math.Inf(1)
	a1, a2, b1, b2 := inf, inf, inf, inf
	c1, c2, d1, d2 := inf, inf, inf, inf
	e := 0
	for ; e+4 <= len(js); e += 4 {
		j := js[e : e+4 : e+4]
		c := cs[e : e+4 : e+4]
		ra, rb, rc, rd := c[0]-v[j[0]], c[1]-v[j[1]], c[2]-v[j[2]], c[3]-v[j[3]]
		a2, b2 = min(a2, max(ra, a1)), min(b2, max(rb, b1))
		c2, d2 = min(c2, max(rc, c1)), min(d2, max(rd, d1))
		a1, b1, c1, d1 = min(a1, ra), min(b1, rb), min(c1, rc), min(d1, rd)
	}
	for ; e < len(js); e++ {
		r := cs[e] - v[js[e]]
		a2 = min(a2, max(r, a1))
		a1 = min(a1, r)
	}
	// Merge the top two of each chain: the least of the leasts, and the
	// least of the larger least and the second leasts.
	x1, x2 := min(a1, b1), min(max(a1, b1), a2, b2)
	y1, y2 := min(c1, d1), min(max(c1, d1), c2, d2)
	r1, r2 = min(x1, y1), min(max(x1, y1), x2, y2)
	for e1 = 0; e1 < len(js)-1; e1++ {
		if cs[e1]-v[js[e1]] == r1 {
			break
		}
	}
	return r1, r2, e1
}

// auctionStart turns the auction's assignment and potentials into a start for
// JV's augmentation: each assigned column's potential is raised by its row's
// slack (at most ε), which makes the row tight on its column, and then every
// row whose column is no longer of least reduced cost among its candidates
// is freed. Afterwards every assigned row is tight on a column of least
// reduced cost, as the shortest-path phase requires. It lists the free rows
// in a.free and returns their number.
func (a *Assigner) auctionStart() int {
	n := a.n
	v := a.v
	// Raise each assigned column's potential by its row's slack, then free
	// the rows whose column is no longer a least reduced cost.
	for i := 0; i < n; i++ {
		j0 := a.colOf[i]
		if j0 < 0 {
			continue
		}
		js, cs := a.adjJ[i], a.adjC[i]
		cs = cs[:len(js)]
		m := math.Inf(1)
		for e, j := range js {
			m = min(m, cs[e]-v[j])
		}
		if s := a.ca[i] - v[j0] - m; s > 0 {
			v[j0] += s
		}
	}
	nfree := 0
	for i := 0; i < n; i++ {
		j0 := a.colOf[i]
		if j0 < 0 {
			a.free[nfree] = i
			nfree++
			continue
		}
		js, cs := a.adjJ[i], a.adjC[i]
		cs = cs[:len(js)]
		r0 := a.ca[i] - v[j0]
		for e, j := range js {
			if cs[e]-v[j] < r0 {
				a.colOf[i], a.rowOf[j0] = -1, -1
				a.free[nfree] = i
				nfree++
				break
			}
		}
	}
	return nfree
}

// runAuction runs auction with ε measured in units of the mean spread
// between a row's cheapest and k-th cheapest candidate (the cost scale of the
// candidate graph); after a coarse start (warm) with the warm settings, and
// a coarser last ε when this Assigner solves a coarse level. It returns
// false, running nothing, if that spread is not positive and finite (ties
// everywhere, or costs too large to subtract).
func (a *Assigner) runAuction(cost []float64, warm bool) bool {
	if warm {
		s := a.scale
		if !(s > 0) || math.IsInf(s, 0) {
			return false
		}
		end := warmEpsEnd * s
		if a.isCoarse {
			end *= coarseEpsEndFactor
		}
		return a.auction(cost, warmEps0*s, end, warmTheta, warmMaxBids*a.n, true)
	}
	s := 0.0
	for i, t := range a.rowThr {
		m := t
		for _, c := range a.adjC[i] {
			m = min(m, c)
		}
		s += t - m
	}
	s /= float64(a.n)
	if !(s > 0) || math.IsInf(s, 0) {
		return false
	}
	a.scale = s
	return a.auction(cost, auctionEps0*s, auctionEpsEnd*s, auctionTheta, auctionMaxBids*a.n, false)
}

// fastCandidates is candidates without the per-entry column bookkeeping,
// for n ≥ auctionMinN: one pass keeps each row's k cheapest columns (same
// threshold filter and buffer as candidates, unrolled by four; non-finite
// entries are caught by summing c·0, which is NaN iff some c is NaN or ±Inf),
// then every column with fewer than two candidate rows gets its
// colCandidates cheapest rows by a column scan (rare on point clouds).
// colMin/colArg hold the least candidate cost of each column, not the dense
// column minimum (solveDense recomputes that). It returns false if the
// matrix holds a NaN or ±Inf.
func (a *Assigner) fastCandidates(cost []float64) bool {
	n := a.n
	a.split(passCandidates, cost, n)
	if !a.splitOK() {
		return false
	}
	// Column side: in-degrees and least candidate costs.
	deg, colMin, colArg := a.matches, a.colMin, a.colArg
	for j := range deg {
		deg[j], colMin[j], colArg[j] = 0, math.Inf(1), -1
	}
	for i := 0; i < n; i++ {
		cs := a.adjC[i]
		for e, j := range a.adjJ[i] {
			deg[j]++
			if cs[e] < colMin[j] {
				colMin[j], colArg[j] = cs[e], int32(i)
			}
		}
	}
	for j := 0; j < n; j++ {
		if deg[j] >= 2 {
			continue
		}
		bc, br := a.cheapestRows(cost, n, j)
		for q, r := range br {
			if r < 0 {
				continue
			}
			c := bc[q]
			if c < a.rowThr[r] || (c == a.rowThr[r] && slices.Contains(a.adjJ[r], int32(j))) {
				continue
			}
			a.adjJ[r] = append(a.adjJ[r], int32(j))
			a.adjC[r] = append(a.adjC[r], c)
			if c < colMin[j] {
				colMin[j], colArg[j] = c, r
			}
		}
	}
	return true
}

// denseColumnMinima sets colMin/colArg to the minimum of each column of the
// whole matrix and a row attaining it.
func (a *Assigner) denseColumnMinima(cost []float64) {
	n := a.n
	colMin, colArg := a.colMin, a.colArg
	copy(colMin, cost[:n])
	for j := range colArg {
		colArg[j] = 0
	}
	for i := 1; i < n; i++ {
		row := cost[i*n : (i+1)*n]
		row = row[:len(colMin)]
		for j, c := range row {
			if c < colMin[j] {
				colMin[j], colArg[j] = c, int32(i)
			}
		}
	}
}

// Auction settings, tuned on 2D Gaussian point clouds at n = 1024 and 4096;
// the warm ones (after a coarse start) on N(0, I) to the OT-CFM toy targets
// at n = 1024 (BenchmarkAssignmentSequence; a factor 8 per phase and a 4×
// coarser last ε on the coarse levels measured about 5% faster than 4 and
// 1×, a smaller first ε 20–60% slower).
const (
	auctionMinN        = 64   // smaller problems skip the auction
	auctionEps0        = 1    // first ε, in units of the mean k-th candidate cost
	auctionEpsEnd      = 0.01 // last ε, same units
	auctionTheta       = 4    // ε shrinks by this factor per phase
	auctionMaxBids     = 16   // bid budget per row and phase; past it JV starts from the auction's state
	warmMaxBids        = 48   // the same after a coarse start, where rows extend their lists instead of warring
	warmEps0           = 1    // first ε after a coarse start, in units of the mean spread of the reduced costs on the lists
	warmEpsEnd         = 0.01 // last ε after a coarse start, same units
	warmTheta          = 8    // ε shrinks by this factor per phase after a coarse start
	coarseEpsEndFactor = 4    // a coarse level (only its duals are used) ends at this multiple of warmEpsEnd
)

// cheapestRows fills and returns column j's colCandidates cheapest costs and
// their rows (cost ascending; row −1 where the column has fewer rows).
func (a *Assigner) cheapestRows(cost []float64, n, j int) ([]float64, []int32) {
	const m = colCandidates
	bc, br := a.colBestC[j*m:j*m+m], a.colBestR[j*m:j*m+m]
	for q := range bc {
		bc[q], br[q] = math.Inf(1), -1
	}
	for i := 0; i < n; i++ {
		c := cost[i*n+j]
		if c < bc[m-1] {
			p := m - 1
			for p > 0 && bc[p-1] > c {
				bc[p], br[p] = bc[p-1], br[p-1]
				p--
			}
			bc[p], br[p] = c, int32(i)
		}
	}
	return bc, br
}

// fastCandidateRows is fastCandidates' per-row selection for the rows in
// [lo, hi), with the calling half's scratch ps. It returns false if one of
// those rows holds a NaN or ±Inf.
func (a *Assigner) fastCandidateRows(cost []float64, lo, hi int, ps *passScratch) bool {
	n, k := a.n, a.k
	nb := 4 * k
	bk, bj := ps.bufK[:nb+scanSlack], ps.bufJ[:nb+scanSlack]
	const s = 64
	stride := n / s
	t := 2 * k * s / n
	useGuess := stride >= 2 && t < s
	for i := lo; i < hi; i++ {
		a.dense[i] = false
		row := cost[i*n : (i+1)*n]
		thr := math.Inf(1)
		if useGuess {
			thr = sampleOrder(ps.samp, row, nil, s, stride, t)
		}
		cnt, thr, finite := scanBelow(row, a.zeros[:n], thr, bk, bj, nb, k)
		if !finite {
			return false
		}
		cnt = widenCandidates(row, bk, bj, cnt, k, nb, thr, func(lo float64) float64 { return 4 * lo })
		if cnt > k {
			thr = selectSmallest(bk[:cnt], bj[:cnt], k)
			cnt = k
		} else {
			thr = math.Inf(-1)
			for _, x := range bk[:cnt] {
				thr = max(thr, x)
			}
		}
		a.setCandidates(i, thr, bj[:cnt], bk[:cnt])
	}
	return true
}
