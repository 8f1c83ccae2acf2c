package interp

// Two-goroutine passes. The O(n²) passes of Solve that are independent per
// row (the reselect pass, the fast candidate pass, the dense check's scan)
// or per column (the c-transform of coarseDuals) are split in two halves
// when n ≥ parMinN: the second half runs on a fresh goroutine, the first on
// the caller's, each with its own scratch buffers, and every half writes
// only its own rows or columns. What the halves produce together (sums,
// flags) is merged afterwards in row order by the caller, so the result is
// bitwise the same as a one-goroutine run whatever the scheduling
// (TestParallelPassesMatchSerial).

// parMinN is the least n whose O(n²) passes are split between two
// goroutines: a pass over a 512×512 matrix takes about 0.2 ms, far above
// the cost of starting a goroutine (about 1 µs).
const parMinN = 512

// passKind names a pass that runs in two halves.
type passKind uint8

const (
	passReselect   passKind = iota + 1 // selectRow on rows [lo, hi)
	passCTransform                     // coarseDuals' c-transform on columns [lo, hi)
	passCheck                          // repair's scan for violated reduced costs on rows [lo, hi)
	passCandidates                     // fastCandidates' per-row selection on rows [lo, hi)
)

// passScratch is the scratch space of one half of a split pass.
type passScratch struct {
	bufK []float64 // candidate selection buffer (4k+scanSlack keys)
	bufJ []int32   // their columns
	samp []float64 // row sample for the threshold guess (64)
	red  []float64 // one row of reduced costs (n), for the rare widening
	ok   bool      // false: the half met a NaN or ±Inf
}

// passState is the pass the second goroutine runs.
type passState struct {
	kind   passKind
	lo, hi int
	cost   []float64
	// The second half's entry point: the method value a.secondHalf, made
	// once per Assigner (owner) so that starting it allocates nothing.
	run   func()
	owner *Assigner
	done  chan struct{}
}

// growScratch sizes both halves' scratch buffers for n and k, and the
// read-only zeros (the column potentials of a scan of raw costs).
func (a *Assigner) growScratch(n, k int) {
	if cap(a.zeros) < n {
		a.zeros = make([]float64, n)
	}
	for w := range a.ps {
		ps := &a.ps[w]
		nb := 4*k + scanSlack
		if cap(ps.bufK) < nb {
			ps.bufK = make([]float64, nb)
			ps.bufJ = make([]int32, nb)
		}
		ps.bufK, ps.bufJ = ps.bufK[:nb], ps.bufJ[:nb]
		if ps.samp == nil {
			ps.samp = make([]float64, 64)
		}
		if cap(ps.red) < n {
			ps.red = make([]float64, n)
		}
		ps.red = ps.red[:n]
	}
}

// split runs pass kind over the index range [0, m) (rows or columns): in
// two halves on two goroutines when the problem is large enough and the
// Assigner is not forced serial, else in one call. It returns when both
// halves are done.
func (a *Assigner) split(kind passKind, cost []float64, m int) {
	if a.serial || a.n < parMinN || m < 2 {
		a.runPass(kind, cost, 0, 0, m)
		a.ps[1].ok = true
		return
	}
	p := &a.par
	if p.owner != a {
		p.run, p.owner = a.secondHalf, a
		p.done = make(chan struct{}, 1)
	}
	mid := m / 2
	p.kind, p.cost, p.lo, p.hi = kind, cost, mid, m
	go p.run()
	a.runPass(kind, cost, 0, 0, mid)
	<-p.done
	p.cost = nil
}

// secondHalf runs the second half of the pass in a.par and signals done.
func (a *Assigner) secondHalf() {
	p := &a.par
	a.runPass(p.kind, p.cost, 1, p.lo, p.hi)
	p.done <- struct{}{}
}

// runPass runs pass kind on [lo, hi) with worker w's scratch.
func (a *Assigner) runPass(kind passKind, cost []float64, w, lo, hi int) {
	ps := &a.ps[w]
	ps.ok = true
	switch kind {
	case passReselect:
		for i := lo; i < hi; i++ {
			a.dense[i] = false
			if !a.selectRow(cost, i, ps) {
				ps.ok = false
				return
			}
		}
	case passCTransform:
		a.cTransform(cost, lo, hi)
	case passCheck:
		a.checkRows(cost, lo, hi)
	case passCandidates:
		ps.ok = a.fastCandidateRows(cost, lo, hi, ps)
	}
}

// splitOK reports whether neither half of the last split pass met a NaN or
// ±Inf.
func (a *Assigner) splitOK() bool {
	return a.ps[0].ok && a.ps[1].ok
}
