package interp

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// SqEuclideanCost fills cost (n×m, row-major) with the squared Euclidean
// distances |x0_i − x1_j|² between the rows of x0 (n×d) and x1 (m×d). It is
// the ground cost of minibatch OT-CFM (Tong et al., arXiv 2302.00482 §3.2).
// It panics if a slice is shorter than its shape says (a programming error,
// not a data error); callers that take user input check lengths first.
func SqEuclideanCost(x0, x1 []float64, n, m, d int, cost []float64) {
	sqEuclidean(x0, x1, n, m, d, cost)
}

// CenteredSqEuclideanCost fills cost (n×m, row-major) with
// |(x0_i − μ0) − (x1_j − μ1)|², the squared Euclidean cost after centering
// each point cloud on its own mean (μ0 of x0's rows, μ1 of x1's). It differs
// from SqEuclideanCost by a_i + b_j + const (a_i = −2 x0_i·s, b_j = 2 x1_j·s
// + …, s = μ0 − μ1), so every assignment has the same optimum under both
// costs, but a sparse solver's nearest-neighbour candidates are far better
// when the clouds are apart: Assigner.Solve takes about as long on two
// clouds shifted by several standard deviations as on overlapping ones with
// this cost, and 100× longer with the plain cost. Use SqEuclideanCost on the
// chosen pairs for the transport cost itself.
func CenteredSqEuclideanCost(x0, x1 []float64, n, m, d int, cost []float64) {
	centeredSqEuclidean(x0, x1, n, m, d, cost, nil)
}

// centeredSqEuclidean is CenteredSqEuclideanCost for either element type;
// shift (length d, or nil to allocate) receives μ0 − μ1.
func centeredSqEuclidean[T Float](x0, x1 []T, n, m, d int, cost []float64, shift []float64) {
	if n < 0 || m < 0 || d < 0 || len(x0) < n*d || len(x1) < m*d || len(cost) < n*m {
		panic(fmt.Sprintf("interp: CenteredSqEuclideanCost: slice shorter than its shape (n=%d, m=%d, d=%d)", n, m, d))
	}
	if len(shift) < d {
		shift = make([]float64, d)
	}
	shift = shift[:d]
	clear(shift)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			shift[k] += float64(x0[i*d+k]) / float64(n)
		}
	}
	for j := 0; j < m; j++ {
		for k := 0; k < d; k++ {
			shift[k] -= float64(x1[j*d+k]) / float64(m)
		}
	}
	costRows(x0, x1, n, m, d, cost, shift)
}

// sqEuclidean is SqEuclideanCost for either element type; the cost is always
// accumulated in float64.
func sqEuclidean[T Float](x0, x1 []T, n, m, d int, cost []float64) {
	if n < 0 || m < 0 || d < 0 || len(x0) < n*d || len(x1) < m*d || len(cost) < n*m {
		panic(fmt.Sprintf("interp: SqEuclideanCost: slice shorter than its shape (n=%d, m=%d, d=%d)", n, m, d))
	}
	costRows(x0, x1, n, m, d, cost, nil)
}

// Assigner solves square linear assignment problems exactly,
//
//	min over permutations σ of Σ_i cost[i, σ(i)],
//
// with the shortest-augmenting-path method of Jonker and Volgenant ("A
// shortest augmenting path algorithm for dense and sparse linear assignment
// problems", Computing 38, 1987), seeded by an ε-scaling auction (Bertsekas,
// Annals of Operations Research 14, 1988), run on a sparse candidate graph
// and then certified on the dense matrix:
//
//  1. For n < 256 (see step 2 for larger n), one pass over the matrix
//     keeps, for each row, its k cheapest columns
//     (k = 24 at n = 1024, see candidatesPerRow; n when n is smaller).
//     Columns that are a candidate of fewer than two rows get their 3
//     cheapest rows, which take the column as a candidate too, so that
//     every column can be reached. (Below n = 64 the pass records the 3
//     cheapest rows of every column and the column minima instead.)
//  2. For n ≥ coarseMinN (256), when more than half of this Assigner's
//     recent cold auctions below ended in a price war (see
//     multiscaleFirst; N(0, I) to a multimodal target does so on almost
//     every minibatch, random clouds of one shape about one in five), the
//     start is multiscale; otherwise the cold auction of step 1's graph
//     runs first and the multiscale start follows only after a war
//     (Schmitzer, "A
//     sparse multiscale algorithm for dense optimal transport", arXiv
//     1510.05466; Mérigot, Computer Graphics Forum 30, 2011): the
//     (n/2)×(n/2) assignment of every other row and column is solved by
//     Solve itself (recursively, 1024 → 512 → 256 → 128), its row duals
//     are extended to every column by the c-transform (see coarseDuals),
//     each row's candidates become its k columns of least reduced cost
//     c_ij − v_j (see reselect and selectRow: one fused pass per row;
//     this pass replaces step 1 and checks the matrix for NaN and ±Inf),
//     and a forward auction with ε-scaling (a factor 8 per phase; on the
//     coarse levels, whose duals are only a start, the last ε is 4×
//     coarser) runs from those potentials. Every column off row i's list then has
//     reduced cost ≥ redThr[i] (prices only decrease), so a bidding row
//     whose best listed reduced cost exceeds redThr[i] + ε rescans its full
//     row for the columns of least reduced cost (see extendRow: one fused
//     pass, about n ns) instead of bidding on a list that may lack a
//     perfect matching: the price wars of the nearest-neighbour graph
//     (N(0, I) against a standardized multimodal OT-CFM target, where the
//     k nearest columns miss the optimal one for 30–70% of the rows) do
//     not occur, at the cost of about 5n row rescans at n = 1024. For
//     64 ≤ n < 256 (or when the start below is not taken), a forward
//     auction with ε-scaling on the nearest-neighbour candidates (ε from
//     the mean k-th candidate cost down to 1/100 of it, a factor 4 per
//     phase) gives near-optimal column potentials v; a phase that runs
//     past 16n bids (a price war) stops it, and for n ≥ 256 the coarse
//     start above follows. For n < 64, or when the candidate costs have no
//     spread, JV's column reduction and reduction transfer start instead.
//     Each row is then made tight on its column or freed (see
//     auctionStart); if the auction after a coarse start runs past 48n
//     bids in a phase, JV starts from the coarse potentials with every row
//     free. Then two passes of augmenting row reduction and one Dijkstra
//     shortest augmenting path (4-ary heap; only the columns reached are
//     touched) per free row, all on the candidate edges. A free row whose
//     search reaches no free column gets its full row as candidates.
//  3. Optimality check on the dense matrix with the dual potentials: with
//     u_i = cost[i, σ(i)] − v_σ(i), every reduced cost cost[i, j] − u_i − v_j
//     must be ≥ 0 (up to a rounding tolerance of 1e-12 times the largest
//     |u|, |v|). The violating pairs of a row join its candidates (its full
//     row once it holds more than n/4), the row is freed and re-augmented
//     from the current duals, and the check repeats, on the rows whose u
//     has changed (column potentials only decrease), until no pair violates.
//
// Step 3 makes the result exact: at the end the duals are feasible for the
// whole matrix and tight on the assignment (LP duality), as Duals reports.
// Each repair round adds at least one new candidate edge, so the loop ends.
// When more than max(8, n/16) rows have needed their full row (far-apart
// clusters of unequal sizes, costs with heavy ties), the sparse graph is
// misleading and Solve restarts with plain dense JV (column minima, steps
// 2–3 on full rows, JV's linear-scan Dijkstra), which costs about what dense
// JV alone does; after a coarse start it finishes densely from the coarse
// potentials instead (solveDenseWarm: rows take a column of least reduced
// cost, free columns' potentials are raised, dense augmenting paths for
// the rest), which costs a fraction of dense JV. The worst case is O(n³)
// either way.
//
// Timing (BenchmarkAssignmentSequence: mean over 20 fresh minibatches per
// target, one Assigner, the 2-core development machine at a load average of
// about 1.4, old and new binaries back to back, two runs each): at n = 1024,
// N(0, I) 2D sources to standardized moons, 8gaussians, checkerboard, rose,
// 2spirals and a correlated Gaussian took 54–148 ms per solve with the
// nearest-neighbour start alone (cold auction, price war, coarse restart,
// often the dense finish) and take 27–37 ms with the automatic start (2–5×
// faster; the dense check certifies in one round, with no repairs); random
// N(0, I) clouds took 23–27 ms and take 15–17 ms; 8-Gaussian mixtures in
// d = 11 and 43 took 25–29 ms and take 21–26 ms. At n = 256 every target
// takes 2–5 ms (2–7 before); at n = 4096 moons takes 0.48 s (3.6 s before)
// and random clouds 0.12 s (0.15 s). Where the time goes at n = 1024
// (profile): the auction's row rescans 28%, its bids 20%, the reselect pass
// 18% with its selections 10%, the coarse levels together about 30% (each
// costs about a quarter of the next), the shortest-path searches and the
// dense check under 10%. Plain dense JV takes 145–350 ms.
//
// Two goroutines (n ≥ parMinN = 512): the O(n²) passes that are
// independent per row or per column — the reselect pass, the c-transform
// of coarseDuals, the dense check's scan and the nearest-neighbour
// candidate pass — run in two halves, each with its own scratch buffers
// and writing only its own rows or columns; sums and flags are merged in
// row order afterwards, so perm, total and duals are bitwise the same as
// on one goroutine (see split). The auction, the shortest-path searches and
// the repairs stay sequential. With them, a fused one-pass selectRow, and
// the warm auction's factor 8 per phase (4 before) with a 4× coarser last ε
// on the coarse levels, BenchmarkAssignmentSequence at n = 1024 (best of
// five back-to-back runs of old and new binaries, load average 1.3–2.6
// with another process holding about one core) went from 32.6 to 30.1 ms
// per solve on moons, 30.9 to 26.8 on 8gaussians, 29.3 to 27.3 on
// checkerboard, 28.6 to 24.8 on rose, 30.8 to 26.2 on 2spirals, 37.6 to
// 30.8 on the Gaussian, 15.6 to 12.8 on random clouds, 23.0 to 17.6 and
// 22.5 to 18.3 on the d = 11 and 43 mixtures; n = 256 is unchanged (2.4–4.6
// ms); at n = 4096 moons went from 0.52 to 0.46 s, the Gaussian from 0.66
// to 0.57 s, random clouds from 0.13 to 0.10 s. The profile at n = 1024 is
// now dominated by the sequential auction: its row rescans about 37% of a
// solve (memory-bound: one cost row per rescan), its bids 25%, the reselect
// pass 13%, the dense check 2%. Tried and dropped as slower: a reserve of
// each row's 4k least reduced costs that rescans read before the full row
// (it served 63% of them, but the larger selections cost more than that
// saved), per-row minima over blocks of 8 columns to skip blocks in a
// rescan, a smaller first warm ε (20–60% slower), and wider lists after a
// rescan.
//
// Later, with the row scan in C (AVX2), the auction's bid scan on four
// independent min/max chains (leastTwo; Go's float min is a three-instruction
// latency chain) and a branch-free quickselect (selectSmallest; Hoare's
// partition mispredicted about one comparison in two): each measured in one
// process against the code it replaced, both Assigners solving the same 20
// minibatches back to back (least time per batch, so that another process
// on the 2-core machine cancels out), the bid scan made a solve at n = 1024
// 5–7% faster on every target (moons, 8gaussians, Gaussian, random clouds,
// d = 11 mixture) and the selection 1–8%; at n = 256 the two together
// 5–13% (moons 3.16 → 2.96 ms, 8gaussians 2.0 → 1.72, Gaussian 2.93 →
// 2.62, random 1.71 → 1.56, d = 11 mixture 1.93 → 1.82). The results are
// bitwise those of the old scans (the selection up to ties). Measured the
// same way and dropped: a last warm ε of 0.03 or 0.02 of the spread instead
// of 0.01 (1–11% slower on four of the five targets, 2–3% faster on the
// mixture); a float32 copy of the cost matrix, written by reselect, for the
// rescans (4 bytes a column instead of 8, candidates re-checked exactly
// with a margin of 2⁻²² of max|c| + |thr|; same lists and result, but 2–4%
// slower: writing the copy costs more than the rescans save, the rows are
// read from the last-level cache, not memory); and a running minimum to
// lower a rescan's threshold to m + spread while scanning (a rescan keeps
// only about 20 entries on average and one in four needs a cut, so there
// is little to save). The C row scan reads a random 1024-entry row in
// 0.57–0.64 µs against 0.96–1.0 µs for the Go loop (0.29 against 0.70 µs
// for a row in L1). With all of these, BenchmarkAssignmentSequence on the
// quiet machine (fast build): n = 1024 moons 26 ms per solve, 8gaussians
// 23, checkerboard 21, rose 23, 2spirals 22, Gaussian 26, random clouds
// 14, the d = 11 and 43 mixtures 19 and 17; n = 256 2.0–4.0 ms; n = 4096
// moons 0.36 s, Gaussian 0.42 s, random clouds 0.14 s.
//
// The zero value is ready to use; its workspace is kept between calls, so
// Solve allocates nothing after the first call for a given n unless a later
// call needs longer candidate lists than any before. An Assigner is not safe
// for concurrent use.
type Assigner struct {
	n, k     int
	rowOf    []int     // rowOf[j]: row assigned to column j, or −1
	colOf    []int     // colOf[i]: column assigned to row i, or −1
	v        []float64 // column dual potentials
	u        []float64 // row dual potentials of the last Solve
	free     []int     // free rows
	matches  []int32   // column reduction: how many columns chose each row
	colMin   []float64 // minimum of each column
	colArg   []int32   // a row attaining it
	colBestC []float64 // the m cheapest costs of each column (n×m)
	colBestR []int32   // their rows (−1: none)
	colThr   []float64 // the m-th cheapest cost of each column
	rowThr   []float64 // the largest cost among each row's k cheapest candidates

	// Candidate graph: row i's candidate columns adjJ[i] with their costs
	// adjC[i], or all columns when dense[i].
	adjJ     [][]int32
	adjC     [][]float64
	arenaJ   []int32
	arenaC   []float64
	dense    []bool
	dirty    []bool    // row potential changed since the last dense check
	checkAll bool      // the next check scans every row
	iota     []int32   // 0, 1, …, n−1
	bufK     []float64 // candidate selection buffer (4k keys)
	bufJ     []int32
	sampK    []float64 // row sample for the threshold guess
	scratch  []float64 // keys for the cut to k

	// Shortest-path search workspace.
	dist    []float64 // labels of the columns reached
	pred    []int32   // predecessor row of each column on the shortest path
	heap    []int32   // 4-ary min-heap of columns keyed by dist
	pos     []int32   // pos[j]: index of j in heap, or posUnseen, posScanned
	seen    []uint32  // seen[j] == stamp: column j marked (repair's membership test)
	stamp   uint32
	touched []int32   // columns reached in this search
	cols    []int     // dense search: columns split into ready | to scan | untouched
	ca      []float64 // ca[i]: cost of row i's assigned column

	// Statistics of the last Solve, for tests.
	rounds        int  // dense optimality checks made
	repairs       int  // rows freed by a failed check
	widened       int  // rows switched to their full row
	denseFallback bool // the sparse phase was abandoned for solveDense
	bids          int  // auction bids made
	extended      int  // auction: rows whose candidates were reselected (extendRow)
	multiscale    bool // the solve started from the coarse problem
	auctioned     bool // the auction finished all its phases

	// Coarse start (n ≥ coarseMinN).
	scale     float64   // the auction's cost scale (mean candidate spread)
	zeros     []float64 // n zeros: the potentials under which scanBelow reads raw costs
	redThr    []float64 // reselect: every non-candidate column j of row i has c_ij − v_j ≥ redThr[i]
	redSpread []float64 // reselect: the spread of row i's reduced costs on its list
	bound     bool      // redThr holds (candidates by reduced cost; v only decreases since)
	coarse    *Assigner // solves the coarse problem
	v0        []float64 // the column potentials extended from the coarse duals
	coarseC   []float64 // the coarse cost matrix (m×m)
	coarseI   []int     // the rows and columns it samples
	coarseP   []int     // its assignment

	// start chooses the first phase for n ≥ coarseMinN: startAuto (the
	// zero value) picks by warRate, tests force one of the others.
	start startMode
	// warRate is an exponential average (weight 1/4 per solve) of whether
	// the cold auction on the nearest-neighbour graph ended in a price war
	// in the solves that tried it; solves counts the solves at n ≥
	// coarseMinN. See solve.
	warRate float64
	solves  int

	// Two-goroutine passes (see split).
	ps       [2]passScratch // each half's scratch
	par      passState      // the pass the second goroutine runs
	viol     []bool         // dense check: row i has a violated reduced cost
	checkTol float64        // dense check: the rounding tolerance
	serial   bool           // tests: run every pass on one goroutine
	isCoarse bool           // solves another Assigner's coarse problem (only its duals are used)

	solved bool
}

// candidatesPerRow returns k, the number of cheapest columns kept per row:
// 24 for 512 < n ≤ 1024, 8 more for each doubling of n (the distance an
// optimal assignment of random points travels grows with log n), at least
// 16 and at most 64. Tuned on 2D Gaussian point clouds: fewer candidates make
// the dual check repair more rows, more make every search scan more edges.
func candidatesPerRow(n int) int {
	k := 24 + 8*(bits.Len(uint(n-1))-10) // bits.Len(n−1) = ⌈log2 n⌉
	return min(64, max(16, k))
}

// colCandidates is m, the number of cheapest rows of each column that get
// the column as a candidate.
const colCandidates = 3

func (a *Assigner) grow(n, k int) {
	if cap(a.rowOf) < n {
		a.rowOf = make([]int, n)
		a.colOf = make([]int, n)
		a.v = make([]float64, n)
		a.v0 = make([]float64, n)
		a.u = make([]float64, n)
		a.free = make([]int, n)
		a.matches = make([]int32, n)
		a.colMin = make([]float64, n)
		a.colArg = make([]int32, n)
		a.colBestC = make([]float64, n*colCandidates)
		a.colBestR = make([]int32, n*colCandidates)
		a.colThr = make([]float64, n)
		a.rowThr = make([]float64, n)
		a.dense = make([]bool, n)
		a.dirty = make([]bool, n)
		a.iota = make([]int32, n)
		a.dist = make([]float64, n)
		a.pred = make([]int32, n)
		a.heap = make([]int32, 0, n)
		a.pos = make([]int32, n)
		a.seen = make([]uint32, n)
		a.touched = make([]int32, 0, n)
		a.cols = make([]int, n)
		a.ca = make([]float64, n)
		a.stamp = 0
	}
	a.rowOf, a.colOf, a.v, a.u, a.v0 = a.rowOf[:n], a.colOf[:n], a.v[:n], a.u[:n], a.v0[:n]
	a.free, a.matches, a.colMin, a.colArg = a.free[:n], a.matches[:n], a.colMin[:n], a.colArg[:n]
	a.dense, a.iota, a.dist, a.pred = a.dense[:n], a.iota[:n], a.dist[:n], a.pred[:n]
	a.dirty, a.cols = a.dirty[:n], a.cols[:n]
	a.pos, a.seen, a.ca = a.pos[:n], a.seen[:n], a.ca[:n]
	for j := range a.pos {
		a.dist[j], a.pos[j] = math.Inf(1), posUnseen
	}
	a.colBestC, a.colBestR = a.colBestC[:n*colCandidates], a.colBestR[:n*colCandidates]
	a.colThr, a.rowThr = a.colThr[:n], a.rowThr[:n]
	for j := range a.iota {
		a.iota[j] = int32(j)
	}
	if a.n != n || a.k != k || len(a.adjJ) != n {
		w := k + 2*colCandidates // room for a few column-side candidates
		if cap(a.arenaJ) < n*w {
			a.arenaJ = make([]int32, n*w)
			a.arenaC = make([]float64, n*w)
		}
		if cap(a.adjJ) < n {
			a.adjJ = make([][]int32, n)
			a.adjC = make([][]float64, n)
		}
		a.adjJ, a.adjC = a.adjJ[:n], a.adjC[:n]
		for i := 0; i < n; i++ {
			lo, hi := i*w, (i+1)*w
			a.adjJ[i] = a.arenaJ[lo:hi:hi]
			a.adjC[i] = a.arenaC[lo:hi:hi]
		}
	}
	if cap(a.bufK) < 4*k+4 {
		a.bufK = make([]float64, 4*k+4)
		a.bufJ = make([]int32, 4*k+4)
	}
	a.bufK, a.bufJ = a.bufK[:4*k], a.bufJ[:4*k]
	if a.sampK == nil {
		a.sampK = make([]float64, 64)
	}
	if cap(a.scratch) < 4*k {
		a.scratch = make([]float64, 4*k)
	}
	if cap(a.viol) < n {
		a.viol = make([]bool, n)
	}
	a.viol = a.viol[:n]
	a.growScratch(n, k)
	a.n, a.k = n, k
}

// Solve finds an optimal assignment for the square n×n cost matrix cost
// (row-major): perm[i] is the column assigned to row i (perm has length n and
// is a permutation of 0..n−1 on return) and total = Σ_i cost[i, perm[i]]. Ties
// are broken arbitrarily but deterministically. cost is not modified.
//
// Errors: n < 1, len(cost) ≠ n², len(perm) ≠ n, or a NaN or ±Inf entry (the
// error names its row and column).
func (a *Assigner) Solve(cost []float64, n int, perm []int) (total float64, err error) {
	return a.solve(cost, n, perm, candidatesPerRow(n))
}

// solve is Solve with the number k of candidates per row as a parameter
// (tests use small k to force the repair path).
func (a *Assigner) solve(cost []float64, n int, perm []int, k int) (total float64, err error) {
	a.solved = false
	a.rounds, a.repairs, a.widened, a.denseFallback = 0, 0, 0, false
	a.bids, a.auctioned = 0, false
	a.extended = 0
	a.bound = false
	if n < 1 {
		return 0, fmt.Errorf("interp: assignment: n = %d, want n ≥ 1", n)
	}
	if len(cost) != n*n {
		return 0, fmt.Errorf("interp: assignment: cost has %d entries, want n² = %d for n = %d", len(cost), n*n, n)
	}
	if len(perm) != n {
		return 0, fmt.Errorf("interp: assignment: perm has length %d, want n = %d", len(perm), n)
	}
	k = max(1, min(k, n))
	a.grow(n, k)
	useAuction := n >= auctionMinN
	coarse := false
	a.multiscale = a.multiscaleFirst(useAuction && n >= coarseMinN)
	if a.multiscale {
		// Multiscale start: the coarse problem's duals, candidates by
		// reduced cost, and the auction from those potentials.
		if !a.coarseDuals(cost, n/2) || !a.reselect(cost) {
			return 0, notFinite(cost, n)
		}
		coarse = true
		copy(a.v0, a.v)
		a.runAuction(cost, true)
	} else {
		var ok bool
		if useAuction {
			ok = a.fastCandidates(cost)
		} else {
			ok = a.candidates(cost)
		}
		if !ok {
			return 0, notFinite(cost, n)
		}
		if useAuction {
			a.runAuction(cost, false)
		}
		// A price war on the nearest-neighbour graph (typical when the two
		// clouds differ in shape): restart from the duals of a coarse
		// problem, with candidates by reduced cost.
		if useAuction && n >= coarseMinN {
			war := 0.0
			if !a.auctioned {
				war = 1
			}
			a.warRate = 0.75*a.warRate + 0.25*war
		}
		coarse = useAuction && !a.auctioned && n >= coarseMinN && a.coarseDuals(cost, n/2)
		if coarse {
			copy(a.v0, a.v)
			a.reselect(cost)
			a.runAuction(cost, true)
		}
	}
	var nfree int
	if coarse && !a.auctioned {
		// A price war: the auction's potentials are worse than the coarse ones.
		copy(a.v, a.v0)
		for i := range a.colOf {
			a.colOf[i], a.rowOf[i] = -1, -1
			a.free[i] = i
		}
		nfree = n
	} else if useAuction && (a.auctioned || a.bids > 0) {
		nfree = a.auctionStart()
	} else {
		nfree = a.columnReduction(cost)
	}
	for pass := 0; pass < 2 && nfree > 0; pass++ {
		nfree = a.augmentingRowReduction(cost, nfree)
	}
	a.checkAll = true
	// The sparse graph misleads when many rows need their full row (far
	// clusters, heavy ties): then solve the dense problem from scratch.
	widenLimit := max(8, n/16)
sparse:
	for {
		for _, f := range a.free[:nfree] {
			a.augment(cost, f)
			if a.widened > widenLimit {
				break sparse
			}
		}
		a.rounds++
		if nfree = a.repair(cost); nfree == 0 {
			break
		}
		a.repairs += nfree
		if a.widened > widenLimit {
			break
		}
	}
	if nfree > 0 || a.widened > widenLimit {
		if coarse {
			copy(a.v, a.v0)
			a.solveDenseWarm(cost, true)
		} else {
			a.solveDense(cost)
		}
	}
	for i := 0; i < n; i++ {
		j := a.colOf[i]
		perm[i] = j
		total += cost[i*n+j]
	}
	a.solved = true
	return total, nil
}

// notFinite returns the error for the first NaN or ±Inf entry of cost
// (n×n), or a generic one if there is none (which a caller rules out).
// startMode selects how Solve starts for n ≥ coarseMinN.
type startMode uint8

const (
	startAuto       startMode = iota // by warRate (the default)
	startMultiscale                  // always the multiscale start
	startNearest                     // always the nearest-neighbour graph first
)

// multiscaleFirst reports whether this solve starts from the coarse
// problem (eligible: n ≥ coarseMinN with the auction). The multiscale start
// avoids the cold auction's price war on clouds of different shapes
// (N(0, I) against a multimodal target wars on almost every minibatch) but
// is pure extra work where the cold auction succeeds (random clouds of the
// same shape: about 4 solves in 5, and there it costs 1.3–3× more). So in
// startAuto it is taken when more than half of the recent cold attempts
// warred (warRate > 1/2), except on every 8th solve, which tries the cold
// start again so that the average follows the data. Either way the result
// is exact; only the time depends on the choice.
func (a *Assigner) multiscaleFirst(eligible bool) bool {
	if !eligible {
		return false
	}
	a.solves++
	switch a.start {
	case startMultiscale:
		return true
	case startNearest:
		return false
	}
	return a.warRate > 0.5 && a.solves%8 != 0
}

func notFinite(cost []float64, n int) error {
	for idx, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("interp: assignment: cost[%d, %d] = %v is not finite", idx/n, idx%n, c)
		}
	}
	return fmt.Errorf("interp: assignment: the coarse start failed on a finite %d×%d cost matrix", n, n)
}

// solveDense restarts from scratch with every row's full row: JV's column
// reduction, two passes of augmenting row reduction and a dense shortest
// augmenting path per free row. The duals are feasible for the whole matrix
// by construction, so no check follows.
func (a *Assigner) solveDense(cost []float64) {
	n := a.n
	a.denseFallback = true
	for i := range a.dense {
		a.dense[i] = true
	}
	a.denseColumnMinima(cost)
	nfree := a.columnReduction(cost)
	for pass := 0; pass < 2 && nfree > 0; pass++ {
		nfree = a.augmentingRowReduction(cost, nfree)
	}
	for _, f := range a.free[:nfree] {
		a.denseAugment(cost, f)
	}
	for j := 0; j < n; j++ {
		i := a.rowOf[j]
		a.u[i] = cost[i*n+j] - a.v[j]
	}
}

// solveDenseWarm finishes on the dense matrix from the current column
// potentials v and assignment, without discarding them: every row is made
// dense, each assigned row that is not tight on a column of least reduced
// cost c_ij − v_j (over its full row) is freed, each free column's potential
// is raised to the most that keeps every assigned row's reduced costs
// non-negative (so that the searches reach it early), and each free row gets
// a dense shortest augmenting path. The duals are then feasible for the whole
// matrix by construction, so no check follows. With the near-optimal
// potentials of the sparse phase few rows are freed and the searches are
// short, so this costs a few dense passes instead of a dense JV from scratch.
func (a *Assigner) solveDenseWarm(cost []float64, reset bool) {
	n := a.n
	a.denseFallback = true
	v, u := a.v, a.u
	nfree := 0
	if reset {
		// Each row takes a column of least reduced cost if it is still free.
		for j := range a.rowOf {
			a.rowOf[j], a.colOf[j] = -1, -1
		}
		for i := 0; i < n; i++ {
			row := cost[i*n : (i+1)*n]
			row = row[:len(v)]
			m, jm := math.Inf(1), -1
			for j, c := range row {
				if r := c - v[j]; r < m {
					m, jm = r, j
				}
			}
			if jm >= 0 && a.rowOf[jm] < 0 {
				a.rowOf[jm], a.colOf[i] = i, jm
			}
		}
	}
	for i := 0; i < n; i++ {
		a.dense[i] = true
		j0 := a.colOf[i]
		if j0 < 0 {
			a.free[nfree] = i
			nfree++
			continue
		}
		row := cost[i*n : (i+1)*n]
		row = row[:len(v)]
		r0 := row[j0] - v[j0]
		m := r0
		for j, c := range row {
			m = min(m, c-v[j])
		}
		if m < r0 {
			a.colOf[i], a.rowOf[j0] = -1, -1
			a.free[nfree] = i
			nfree++
			continue
		}
		u[i] = r0
	}
	if nfree == 0 {
		return
	}
	// Raise each free column's potential to min over assigned rows of
	// c_ij − u_i (column-wise minimum, accumulated row by row).
	raise := a.dist // +Inf between searches; restored below
	for i := 0; i < n; i++ {
		if a.colOf[i] < 0 {
			continue
		}
		row := cost[i*n : (i+1)*n]
		row = row[:len(raise)]
		ui := u[i]
		for j, c := range row {
			raise[j] = min(raise[j], c-ui)
		}
	}
	for j := range raise {
		if a.rowOf[j] < 0 && raise[j] > v[j] && !math.IsInf(raise[j], 1) {
			v[j] = raise[j]
		}
		raise[j] = math.Inf(1)
	}
	for _, f := range a.free[:nfree] {
		a.denseAugment(cost, f)
	}
	for j := 0; j < n; j++ {
		i := a.rowOf[j]
		a.u[i] = cost[i*n+j] - a.v[j]
	}
}

// denseAugment assigns the free row f by a shortest augmenting path in the
// reduced costs of the whole matrix (JV's Dijkstra over columns with a
// linear scan for the minimum, which beats a heap when every row is full)
// and updates the column potentials so that all reduced costs stay
// non-negative and assigned pairs stay tight.
func (a *Assigner) denseAugment(cost []float64, f int) {
	n := a.n
	d, pred, cols, v := a.dist, a.pred, a.cols, a.v
	rowF := cost[f*n : (f+1)*n]
	for j := range cols {
		cols[j] = j
		d[j] = rowF[j] - v[j]
		pred[j] = int32(f)
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
				pred[j] = int32(i)
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
		i := int(pred[end])
		a.rowOf[end] = i
		next := a.colOf[i]
		a.colOf[i] = end
		if i == f {
			break
		}
		end = next
	}
}

// edges returns row i's candidate columns and their costs.
func (a *Assigner) edges(cost []float64, i int) ([]int32, []float64) {
	if a.dense[i] {
		return a.iota, cost[i*a.n : (i+1)*a.n]
	}
	return a.adjJ[i], a.adjC[i]
}

// candidates resets the candidate lists and the dense flags in one pass over
// the matrix. It keeps, for each row, its k cheapest columns: a threshold
// filter feeds a buffer of 4k entries that is cut back to the k best by
// quickselect whenever it fills. The threshold starts at an order statistic
// of a strided sample of the row, placed so that about 2k entries pass; a
// row left with fewer than k is scanned again for the entries between the
// threshold and 4 times it (or +Inf), until k pass. At the end the buffer is
// cut to exactly k (the k-th smallest cost by quickselect on a copy). The same
// pass records the m = 3 cheapest rows of each column (the first gives the
// column minimum); those rows get the column as a candidate too, so that
// every column can be reached. It returns false if the matrix holds a NaN or
// ±Inf.
func (a *Assigner) candidates(cost []float64) bool {
	n, k := a.n, a.k
	const m = colCandidates
	colMin, colArg := a.colMin, a.colArg
	bestC, bestR, colThr := a.colBestC, a.colBestR, a.colThr
	for j := range colThr {
		colThr[j] = math.Inf(1)
	}
	for t := range bestC {
		bestC[t], bestR[t] = math.Inf(1), -1
	}
	finite := true
	bk, bj := a.bufK, a.bufJ
	// Threshold guess for each row: an order statistic of a strided sample
	// of s entries, chosen so that about 2k entries fall below it.
	const s = 64
	stride := n / s
	t := 2 * k * s / n
	useGuess := stride >= 2 && t < s
	for i := 0; i < n; i++ {
		a.dense[i] = false
		row := cost[i*n : (i+1)*n]
		row = row[:len(colThr)]
		thr := math.Inf(1)
		if useGuess {
			thr = a.sampleThreshold(row, s, stride, t)
		}
		cnt := 0
		for j, c := range row {
			if c-c != 0 { // NaN or ±Inf
				finite = false
			}
			if c < colThr[j] {
				bc, br := bestC[j*m:j*m+m], bestR[j*m:j*m+m]
				p := m - 1
				for p > 0 && bc[p-1] > c {
					bc[p], br[p] = bc[p-1], br[p-1]
					p--
				}
				bc[p], br[p] = c, int32(i)
				colThr[j] = bc[m-1]
			}
			if c < thr {
				bk[cnt], bj[cnt] = c, int32(j)
				cnt++
				if cnt == len(bk) {
					thr = selectSmallest(bk, bj, k)
					cnt = k
				}
			}
		}
		if !finite {
			return false
		}
		cnt = widenCandidates(row, bk, bj, cnt, k, len(bk), thr, func(lo float64) float64 { return 4 * lo })
		if cnt > k {
			// Cut back to the k best: find the k-th smallest key on a
			// scratch copy, then keep the keys below it and enough ties.
			sc := a.scratch[:cnt]
			copy(sc, bk[:cnt])
			thr = kthSmallest(sc, k)
			below := 0
			for _, x := range bk[:cnt] {
				if x < thr {
					below++
				}
			}
			ties := k - below
			w := 0
			for e, x := range bk[:cnt] {
				if x < thr || (x == thr && ties > 0) {
					if x == thr {
						ties--
					}
					bk[w], bj[w] = x, bj[e]
					w++
				}
			}
			cnt = k
		} else {
			thr = math.Inf(-1)
			for _, x := range bk[:cnt] {
				thr = max(thr, x)
			}
		}
		a.setCandidates(i, thr, bj[:cnt], bk[:cnt])
	}
	for j := range colMin {
		colMin[j], colArg[j] = bestC[j*m], bestR[j*m]
	}
	// Column-side candidates.
	for j := 0; j < n; j++ {
		for _, r := range bestR[j*m : j*m+m] {
			if r < 0 {
				continue
			}
			c := cost[int(r)*n+j]
			if c < a.rowThr[r] {
				continue // among the row's k best already
			}
			if c == a.rowThr[r] && slices.Contains(a.adjJ[r], int32(j)) {
				continue
			}
			a.adjJ[r] = append(a.adjJ[r], int32(j))
			a.adjC[r] = append(a.adjC[r], c)
		}
	}
	return true
}

// kthSmallest reorders key and returns its k-th smallest element (Hoare
// quickselect with a median-of-three pivot). It needs 1 ≤ k ≤ len(key).
func kthSmallest(key []float64, k int) float64 {
	lo, hi := 0, len(key)-1
	t := k - 1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if key[mid] < key[lo] {
			key[mid], key[lo] = key[lo], key[mid]
		}
		if key[hi] < key[mid] {
			key[mid], key[hi] = key[hi], key[mid]
			if key[mid] < key[lo] {
				key[mid], key[lo] = key[lo], key[mid]
			}
		}
		p := key[mid]
		l, r := lo, hi
		for l <= r {
			for key[l] < p {
				l++
			}
			for key[r] > p {
				r--
			}
			if l <= r {
				key[l], key[r] = key[r], key[l]
				l++
				r--
			}
		}
		switch {
		case t <= r:
			hi = r
		case t >= l:
			lo = l
		default:
			return key[t]
		}
	}
	return key[t]
}

// selectSmallest reorders key (and idx alongside) so that key[:k] holds the k
// smallest keys, and returns the largest of them. It needs 1 ≤ k ≤ len(key).
// Quickselect with a median-of-three pivot and a branch-free partition
// (partitionInto, through a stack buffer; buffers longer than selectBuf use
// the in-place selectSmallestHoare), down to 8 entries, which insertion
// sort settles. The callers cut buffers of 2k–4k+8 reduced costs to k, some
// 10⁴ times per solve at n = 1024; Hoare's partition mispredicts about one
// branch in two there, and this one none: about 25% less time per cut on
// random keys (40–104 keys, k = 24).
func selectSmallest(key []float64, idx []int32, k int) float64 {
	if len(key) > selectBuf {
		return selectSmallestHoare(key, idx, k)
	}
	idx = idx[:len(key)]
	var sk [selectBuf]float64
	var sj [selectBuf]int32
	lo, hi := 0, len(key) // the range [lo, hi) holds position t
	t := k - 1
	for hi-lo > 8 {
		mid := lo + (hi-lo)/2
		x, y, z := key[lo], key[mid], key[hi-1]
		p := max(min(x, y), min(max(x, y), z)) // the median of three
		ks, js := key[lo:hi], idx[lo:hi]
		l := partitionInto(ks, js, p, &sk, &sj) // ks[:l] < p ≤ ks[l:]
		switch {
		case t < lo+l:
			hi = lo + l
		case l > 0:
			lo += l
		default:
			// p is the least of the range: move its copies to the front
			// (at least one), which settles them.
			e := 0
			for q, c := range ks {
				if c == p {
					ks[q], ks[e] = ks[e], c
					js[q], js[e] = js[e], js[q]
					e++
				}
			}
			if t < lo+e {
				lo, hi = t, t
			} else {
				lo += e
			}
		}
	}
	// Insertion sort of the last few.
	for q := lo + 1; q < hi; q++ {
		c, cj := key[q], idx[q]
		r := q
		for r > lo && key[r-1] > c {
			key[r], idx[r] = key[r-1], idx[r-1]
			r--
		}
		key[r], idx[r] = c, cj
	}
	m := key[0]
	for _, x := range key[1:k] {
		m = max(m, x)
	}
	return m
}

// selectBuf is the longest buffer that selectSmallest partitions through
// its stack buffer (4k+scanSlack for k ≤ 62; a power of two, so that masked
// indices need no bounds check).
const selectBuf = 256

// partitionInto reorders ks (and js alongside) so that the keys below p come
// first, and returns their number: each key is written to both ends of the
// stack buffers sk, sj and one of the two ends advances, with no branch on
// the comparison; the result is copied back. len(ks) ≤ selectBuf.
func partitionInto(ks []float64, js []int32, p float64, sk *[selectBuf]float64, sj *[selectBuf]int32) int {
	js = js[:len(ks)]
	l, h := 0, len(ks)-1
	for q, x := range ks {
		xj := js[q]
		sk[l&(selectBuf-1)], sj[l&(selectBuf-1)] = x, xj
		sk[h&(selectBuf-1)], sj[h&(selectBuf-1)] = x, xj
		d := b2i(x < p)
		l += d
		h += d - 1
	}
	copy(ks, sk[:len(ks)])
	copy(js, sj[:len(ks)])
	return l
}

// b2i is 1 for true and 0 for false (compiled to SETcc, no branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// selectSmallestHoare is selectSmallest in place (Hoare quickselect with a
// median-of-three pivot), for buffers longer than selectBuf.
func selectSmallestHoare(key []float64, idx []int32, k int) float64 {
	lo, hi := 0, len(key)-1
	t := k - 1 // the position to settle
	for hi > lo {
		mid := lo + (hi-lo)/2
		// Median of three into key[mid].
		if key[mid] < key[lo] {
			key[mid], key[lo], idx[mid], idx[lo] = key[lo], key[mid], idx[lo], idx[mid]
		}
		if key[hi] < key[mid] {
			key[mid], key[hi], idx[mid], idx[hi] = key[hi], key[mid], idx[hi], idx[mid]
			if key[mid] < key[lo] {
				key[mid], key[lo], idx[mid], idx[lo] = key[lo], key[mid], idx[lo], idx[mid]
			}
		}
		p := key[mid]
		l, r := lo, hi
		for l <= r {
			for key[l] < p {
				l++
			}
			for key[r] > p {
				r--
			}
			if l <= r {
				key[l], key[r], idx[l], idx[r] = key[r], key[l], idx[r], idx[l]
				l++
				r--
			}
		}
		switch {
		case t <= r:
			hi = r
		case t >= l:
			lo = l
		default:
			lo, hi = t, t
		}
	}
	m := key[0]
	for _, x := range key[1:k] {
		m = max(m, x)
	}
	return m
}

// columnReduction sets v[j] to the minimum of column j, assigns each column to
// its minimizing row when that row is still unassigned, transfers the slack of
// rows matched once to their column potential (over the row's candidates),
// and lists the free rows in a.free. It returns the number of free rows.
func (a *Assigner) columnReduction(cost []float64) int {
	n := a.n
	for i := range a.colOf {
		a.colOf[i], a.rowOf[i], a.matches[i] = -1, -1, 0
	}
	for j := n - 1; j >= 0; j-- {
		imin := int(a.colArg[j])
		a.v[j] = a.colMin[j]
		a.matches[imin]++
		if a.colOf[imin] < 0 {
			a.colOf[imin], a.rowOf[j] = j, imin
			a.ca[imin] = a.colMin[j]
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
			js, cs := a.edges(cost, i)
			mu := math.Inf(1)
			for e, j := range js {
				if int(j) != j1 {
					if h := cs[e] - a.v[j]; h < mu {
						mu = h
					}
				}
			}
			if !math.IsInf(mu, 1) {
				a.v[j1] -= mu - (cost[i*n+j1] - a.v[j1])
			}
		}
	}
	return nfree
}

// augmentingRowReduction runs one pass of JV's augmenting row reduction over
// the nfree free rows in a.free, on the candidate edges: each free row takes
// its best column (by reduced cost), lowering that column's potential to the
// row's second-best reduced cost and displacing the previous owner. It
// returns the number of rows left free, listed again in a.free.
func (a *Assigner) augmentingRowReduction(cost []float64, nfree int) int {
	k, prev := 0, nfree
	nfree = 0
	budget := 2 * a.n // bound on immediate re-processing (guards against float cycling; 2n measured best)
	for k < prev {
		i := a.free[k]
		k++
		js, cs := a.edges(cost, i)
		u1, u2 := math.Inf(1), math.Inf(1)
		j1, j2 := -1, -1
		for e, jj := range js {
			j := int(jj)
			h := cs[e] - a.v[j]
			if h < u2 {
				if h >= u1 {
					u2, j2 = h, j
				} else {
					u2, j2 = u1, j1
					u1, j1 = h, j
				}
			}
		}
		if j2 < 0 { // a single candidate: leave the row to the augmentation
			a.free[nfree] = i
			nfree++
			continue
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
		a.ca[i] = cost[i*a.n+j1]
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
// costs of the candidate graph (Dijkstra over columns with a 4-ary heap) and
// updates the potentials of the scanned columns so that reduced costs on the
// candidate edges stay non-negative and assigned pairs stay tight. If no free
// column is reachable, f gets its full row as candidates and the search is
// repeated (then one is). Between searches every dist is +Inf and every pos
// is −1; a search restores that for the columns it touched.
func (a *Assigner) augment(cost []float64, f int) {
	d, pred, pos, v, rowOf, ca := a.dist, a.pred, a.pos, a.v, a.rowOf, a.ca
	var end int32
	var mind float64
	for {
		a.heap = a.heap[:0]
		a.touched = a.touched[:0]
		end = -1
		js, cs := a.edges(cost, f)
		cs = cs[:len(js)]
		for e, j := range js {
			if h := cs[e] - v[j]; h < d[j] {
				if pos[j] == posUnseen {
					a.touched = append(a.touched, j)
					d[j], pred[j] = h, int32(f)
					a.push(j)
				} else {
					d[j], pred[j] = h, int32(f)
					a.up(int(pos[j]))
				}
			}
		}
		for len(a.heap) > 0 {
			j1 := a.pop()
			mind = d[j1]
			i := rowOf[j1]
			if i < 0 {
				end = j1
				break
			}
			u1 := ca[i] - v[j1] - mind
			js, cs := a.edges(cost, i)
			cs = cs[:len(js)]
			for e, j := range js {
				h := cs[e] - v[j] - u1
				if h >= d[j] {
					continue
				}
				p := pos[j]
				if p == posScanned {
					continue // a rounding-level improvement on a final label
				}
				d[j], pred[j] = h, int32(i)
				if p == posUnseen {
					a.touched = append(a.touched, j)
					if h <= mind && rowOf[j] < 0 {
						end = j
						break
					}
					a.push(j)
					continue
				}
				if h <= mind && rowOf[j] < 0 {
					end = j
					break
				}
				a.up(int(p))
			}
			if end >= 0 {
				mind = d[end]
				break
			}
		}
		if end >= 0 {
			break
		}
		// Every reachable column is taken: widen f to its full row.
		for _, j := range a.touched {
			d[j], pos[j] = math.Inf(1), posUnseen
		}
		a.dense[f] = true
		a.widened++
	}
	inf := math.Inf(1)
	for _, j := range a.touched {
		if pos[j] == posScanned {
			v[j] += d[j] - mind
			if i := rowOf[j]; i >= 0 {
				a.dirty[i] = true // its u changed
			}
		}
		d[j], pos[j] = inf, posUnseen
	}
	// Flip the alternating path back to f.
	j := int(end)
	n := a.n
	for {
		i := int(pred[j])
		rowOf[j] = i
		next := a.colOf[i]
		a.colOf[i] = j
		ca[i] = cost[i*n+j]
		a.dirty[i] = true
		if i == f {
			break
		}
		j = next
	}
}

// Heap positions of columns that are not in the heap.
const (
	posUnseen  = -1 // not reached in this search
	posScanned = -2 // label final
)

// push adds column j to the heap.
func (a *Assigner) push(j int32) {
	a.pos[j] = int32(len(a.heap))
	a.heap = append(a.heap, j)
	a.up(len(a.heap) - 1)
}

// up restores the (4-ary) heap order from index p towards the root.
func (a *Assigner) up(p int) {
	h, d, pos := a.heap, a.dist, a.pos
	j := h[p]
	dj := d[j]
	for p > 0 {
		q := (p - 1) / 4
		if d[h[q]] <= dj {
			break
		}
		h[p] = h[q]
		pos[h[p]] = int32(p)
		p = q
	}
	h[p] = j
	pos[j] = int32(p)
}

// pop removes and returns the column of smallest label, marking it scanned.
func (a *Assigner) pop() int32 {
	h, d, pos := a.heap, a.dist, a.pos
	top := h[0]
	pos[top] = posScanned
	last := h[len(h)-1]
	h = h[:len(h)-1]
	a.heap = h
	if len(h) == 0 {
		return top
	}
	dl := d[last]
	p := 0
	for {
		c := 4*p + 1
		if c >= len(h) {
			break
		}
		// The smallest of up to four children.
		best, bd := c, d[h[c]]
		for q := c + 1; q < min(c+4, len(h)); q++ {
			if dq := d[h[q]]; dq < bd {
				best, bd = q, dq
			}
		}
		if bd >= dl {
			break
		}
		h[p] = h[best]
		pos[h[p]] = int32(p)
		p = best
	}
	h[p] = last
	pos[last] = int32(p)
	return top
}

// repair computes the row potentials u_i = cost[i, σ(i)] − v_σ(i) and checks
// every reduced cost cost[i, j] − u_i − v_j on the dense matrix. The
// violating pairs of each row join its candidates (the full row once it holds
// more than n/4), and the row is freed and listed in a.free. It returns the
// number of freed rows (0: the assignment is optimal).
func (a *Assigner) repair(cost []float64) int {
	n := a.n
	u, v := a.u, a.v
	scale := 0.0
	for j := 0; j < n; j++ {
		i := a.rowOf[j]
		u[i] = cost[i*n+j] - v[j]
		scale = max(scale, math.Abs(u[i]), math.Abs(v[j]))
	}
	a.checkTol = 1e-12 * scale
	a.split(passCheck, cost, n)
	nfree := 0
	defer func() { a.checkAll = false }()
	for i := 0; i < n; i++ {
		if a.dense[i] || !(a.checkAll || a.dirty[i]) {
			// A dense row's search saw every column; a row whose u has
			// not changed since the last check cannot violate now (column
			// potentials only decrease).
			continue
		}
		a.dirty[i] = false
		if !a.viol[i] { // checkRows found none
			continue
		}
		thr := u[i] - a.checkTol
		row := cost[i*n : (i+1)*n]
		marked := false
		grown := false
		for j, c := range row {
			if c-v[j] >= thr {
				continue
			}
			if !marked {
				// Mark the current candidates (seen doubles as the mark).
				a.stamp++
				if a.stamp == 0 {
					for jj := range a.seen {
						a.seen[jj] = 0
					}
					a.stamp = 1
				}
				for _, jj := range a.adjJ[i] {
					a.seen[jj] = a.stamp
				}
				marked = true
			}
			if a.seen[j] == a.stamp {
				continue // a rounding-level violation on an edge already searched
			}
			a.seen[j] = a.stamp
			a.adjJ[i] = append(a.adjJ[i], int32(j))
			a.adjC[i] = append(a.adjC[i], c)
			grown = true
		}
		if !grown {
			continue
		}
		if len(a.adjJ[i]) > n/4 {
			a.dense[i] = true
			a.widened++
		}
		j := a.colOf[i]
		a.colOf[i], a.rowOf[j] = -1, -1
		a.free[nfree] = i
		nfree++
	}
	return nfree
}

// checkRows sets viol[i], for the rows i in [lo, hi) that the dense check
// scans (not dense, and checkAll or dirty), to whether some reduced cost
// cost[i, j] − u_i − v_j is below −checkTol, and to false for the others.
// It stops at a row's first violation; repair collects them all.
func (a *Assigner) checkRows(cost []float64, lo, hi int) {
	n := a.n
	u, v := a.u, a.v
	for i := lo; i < hi; i++ {
		a.viol[i] = false
		if a.dense[i] || !(a.checkAll || a.dirty[i]) {
			continue
		}
		thr := u[i] - a.checkTol
		row := cost[i*n : (i+1)*n]
		row = row[:len(v)]
		j := 0
		for ; j+4 <= len(row); j += 4 {
			c := row[j : j+4 : j+4]
			w := v[j : j+4 : j+4]
			if c[0]-w[0] < thr || c[1]-w[1] < thr || c[2]-w[2] < thr || c[3]-w[3] < thr {
				a.viol[i] = true
				break
			}
		}
		for ; j < len(row) && !a.viol[i]; j++ {
			if row[j]-v[j] < thr {
				a.viol[i] = true
			}
		}
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

// sampleThreshold returns the (t+1)-th smallest of the s values row[q·stride]
// (q < s), by insertion into a sorted prefix: a guess of a row's k-th
// smallest cost from a strided sample.
func (a *Assigner) sampleThreshold(row []float64, s, stride, t int) float64 {
	return sampleOrder(a.sampK, row, nil, s, stride, t)
}

// sampleOrder returns the (t+1)-th smallest of the s values row[q·stride] −
// v[q·stride] (q < s; v nil: row[q·stride]) by insertion into the sorted
// prefix sk[:t+1]: a guess of a row's k-th least (reduced) cost from a
// strided sample. NaN entries are skipped (the caller's pass reports them).
func sampleOrder(sk, row, v []float64, s, stride, t int) float64 {
	sk = sk[:t+1]
	for q := range sk {
		sk[q] = math.Inf(1)
	}
	for q := 0; q < s; q++ {
		c := row[q*stride]
		if v != nil {
			c -= v[q*stride]
		}
		if c < sk[t] {
			p := t
			for p > 0 && sk[p-1] > c {
				sk[p] = sk[p-1]
				p--
			}
			sk[p] = c
		}
	}
	return sk[t]
}

// setCandidates stores row i's candidate columns js with their costs cs (in
// the row's arena slices, which have room for them) and the largest cost
// among them, thr.
func (a *Assigner) setCandidates(i int, thr float64, js []int32, cs []float64) {
	a.rowThr[i] = thr
	a.adjJ[i], a.adjC[i] = a.adjJ[i][:len(js)], a.adjC[i][:len(cs)]
	copy(a.adjJ[i], js)
	copy(a.adjC[i], cs)
}

// costRows fills cost (n×m) with |x0_i − shift − x1_j|² (shift nil: zero),
// accumulated in float64; the 2D case is unrolled.
func costRows[T Float](x0, x1 []T, n, m, d int, cost, shift []float64) {
	if d == 2 {
		var s0, s1 float64
		if shift != nil {
			s0, s1 = shift[0], shift[1]
		}
		for i := 0; i < n; i++ {
			a0, a1 := float64(x0[2*i])-s0, float64(x0[2*i+1])-s1
			row := cost[i*m : (i+1)*m]
			for j := range row {
				e0 := a0 - float64(x1[2*j])
				e1 := a1 - float64(x1[2*j+1])
				row[j] = e0*e0 + e1*e1
			}
		}
		return
	}
	// The source row, shifted once, in float64 (on the stack up to d = 64);
	// two accumulators over coordinate pairs.
	var stack [64]float64
	a := stack[:0]
	if d > len(stack) {
		a = make([]float64, 0, d)
	}
	a = a[:d]
	for i := 0; i < n; i++ {
		for k := range a {
			a[k] = float64(x0[i*d+k])
			if shift != nil {
				a[k] -= shift[k]
			}
		}
		row := cost[i*m : (i+1)*m]
		for j := range row {
			b := x1[j*d : (j+1)*d]
			b = b[:len(a)]
			var s0, s1 float64
			k := 0
			for ; k+1 < len(a); k += 2 {
				e0 := a[k] - float64(b[k])
				e1 := a[k+1] - float64(b[k+1])
				s0 += e0 * e0
				s1 += e1 * e1
			}
			if k < len(a) {
				e := a[k] - float64(b[k])
				s0 += e * e
			}
			row[j] = s0 + s1
		}
	}
}

// widenCandidates adds to a row's candidate buffer (bk, bj, cnt entries
// below thr) the entries in [thr, grow(thr)), then in wider bands, until it
// holds at least k (a sampled threshold guess that was too tight); when the
// buffer reaches nb entries it keeps the k smallest. It returns the new count
// (callers take the row's threshold from the entries kept).
func widenCandidates(row, bk []float64, bj []int32, cnt, k, nb int, thr float64, grow func(float64) float64) int {
	for cnt < k {
		lo := thr
		thr = grow(lo)
		if !(thr > lo) || cnt == 0 {
			thr = math.Inf(1)
		}
		for j, c := range row {
			if c >= lo && c < thr {
				bk[cnt], bj[cnt] = c, int32(j)
				cnt++
				if cnt >= nb {
					thr = selectSmallest(bk[:cnt], bj[:cnt], k)
					cnt = k
				}
			}
		}
	}
	return cnt
}
