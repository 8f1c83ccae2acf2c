package interp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Coupling selects how the source and target samples of a flow-matching
// minibatch are paired.
type Coupling int

const (
	// Independent keeps the pairs as drawn (x0 and x1 independent): plain CFM.
	Independent Coupling = iota
	// ExactOT re-pairs the minibatch by an exact optimal assignment for the
	// squared Euclidean cost (OT-CFM, Tong et al., arXiv 2302.00482 §3.2).
	ExactOT
	// SinkhornOT samples, for each source row, a target row from the row of
	// the entropic OT plan (OT-CFM with Sinkhorn, arXiv 2302.00482).
	SinkhornOT
)

var couplingNames = [...]string{"independent", "exact", "sinkhorn"}

// String returns the name used in configs and flags ("independent", "exact",
// "sinkhorn").
func (c Coupling) String() string {
	if c < 0 || int(c) >= len(couplingNames) {
		return fmt.Sprintf("Coupling(%d)", int(c))
	}
	return couplingNames[c]
}

// ParseCoupling maps "independent", "exact" or "sinkhorn" (case-insensitive)
// to a Coupling; any other name is an error listing the valid ones.
func ParseCoupling(s string) (Coupling, error) {
	for i, n := range couplingNames {
		if strings.EqualFold(s, n) {
			return Coupling(i), nil
		}
	}
	return 0, fmt.Errorf("unknown coupling %q (want one of %s)", s, strings.Join(couplingNames[:], ", "))
}

// OTPairer re-pairs flow-matching minibatches by minibatch optimal transport
// for the squared Euclidean cost (OT-CFM, Tong et al., arXiv 2302.00482):
// after Pair, row i of x0 is paired with row i of the rewritten x1, which is
// row Perm()[i] of the x1 given.
//
//   - Independent: nothing moves (Perm is the identity).
//   - ExactOT: the rows of x1 are permuted by an optimal assignment
//     (Assigner), minimizing Σ_i |x0_i − x1_σ(i)|².
//   - SinkhornOT: the entropic plan P is computed with regularization
//     Eps × mean(C) (Eps is relative to the minibatch's mean cost, so it
//     does not depend on the data's scale; 0.05 is a typical value), then for
//     each row i a partner j is drawn from P_ij / Σ_j P_ij. Partners are drawn
//     with replacement, as torchcfm does: a target row may appear twice.
//
// If Sinkhorn has not reached Tol after MaxIter iterations, partners are
// drawn from the plan reached (LastSinkhorn reports its marginal error).
//
// The zero value with Kind set is ready to use (Eps must be > 0 for
// SinkhornOT). The workspace is kept between calls, so after the first call
// for a batch size Pair allocates nothing. Not safe for concurrent use.
type OTPairer struct {
	// Kind is the coupling.
	Kind Coupling
	// Eps is the Sinkhorn regularization relative to the mean cost of the
	// minibatch (SinkhornOT only; must be finite and > 0).
	Eps float64
	// Tol is the Sinkhorn L1 marginal tolerance; 0 means 1e-6.
	Tol float64
	// MaxIter bounds the Sinkhorn iterations; 0 means 1000.
	MaxIter int

	assign  Assigner
	sk      sinkhornWork
	cost    []float64
	shift   []float64 // μ0 − μ1 of the last exact pairing
	plan    []float64
	perm    []int
	buf64   []float64
	buf32   []float32
	bufLab  []int
	lastSk  SinkhornResult
	lastTot float64
}

// Perm returns the partner map of the last Pair: row i of the re-paired x1 is
// row Perm()[i] of the x1 passed in. Use it to move any other per-row payload
// of x1 along. The slice is owned by the pairer and overwritten by the next
// call.
func (p *OTPairer) Perm() []int { return p.perm }

// LastSinkhorn returns the iterations and marginal error of the last
// SinkhornOT pairing.
func (p *OTPairer) LastSinkhorn() SinkhornResult { return p.lastSk }

// LastCost returns the mean squared distance (1/b)·Σ_i |x0_i − x1_i|² of the
// pairs produced by the last Pair (the minibatch transport cost).
func (p *OTPairer) LastCost() float64 { return p.lastTot }

// Pair re-pairs a float64 minibatch in place: x0 is b0×d, x1 is b1×d, labels
// (optional, nil or length b1) are the labels attached to the rows of x1 and
// move with them. rng is used by SinkhornOT only (it may be nil otherwise).
//
// Errors: b0 ≠ b1 ("minibatch sizes differ: source 128 rows, target 100
// rows"), b0 < 1 or d < 1, len(x0) ≠ b0·d or len(x1) ≠ b1·d, labels of the
// wrong length, a non-finite coordinate, an unknown Kind, Eps ≤ 0 or a nil
// rng for SinkhornOT, or a Sinkhorn failure.
func (p *OTPairer) Pair(x0, x1 []float64, b0, b1, d int, labels []int, rng *rand.Rand) error {
	if err := p.check(len(x0), len(x1), b0, b1, d, labels, rng); err != nil {
		return err
	}
	if err := matchRows(p, x0, x1, b0, d, rng); err != nil {
		return err
	}
	p.buf64 = gatherRows(x1, p.perm, d, p.buf64)
	p.moveLabels(labels)
	p.lastTot = meanPairCost(x0, x1, b0, d)
	return nil
}

// PairF32 is Pair for float32 minibatches (training runs in float32); the cost
// matrix and the plan are computed in float64.
func (p *OTPairer) PairF32(x0, x1 []float32, b0, b1, d int, labels []int, rng *rand.Rand) error {
	if err := p.check(len(x0), len(x1), b0, b1, d, labels, rng); err != nil {
		return err
	}
	if err := matchRows(p, x0, x1, b0, d, rng); err != nil {
		return err
	}
	p.buf32 = gatherRows(x1, p.perm, d, p.buf32)
	p.moveLabels(labels)
	p.lastTot = meanPairCost(x0, x1, b0, d)
	return nil
}

func (p *OTPairer) check(n0, n1, b0, b1, d int, labels []int, rng *rand.Rand) error {
	switch {
	case b0 != b1:
		return fmt.Errorf("minibatch sizes differ: source %d rows, target %d rows", b0, b1)
	case b0 < 1:
		return fmt.Errorf("interp: OT pairing: empty minibatch (%d rows)", b0)
	case d < 1:
		return fmt.Errorf("interp: OT pairing: dimension d = %d, want d ≥ 1", d)
	case n0 != b0*d:
		return fmt.Errorf("interp: OT pairing: source has %d values, want %d rows × %d = %d", n0, b0, d, b0*d)
	case n1 != b1*d:
		return fmt.Errorf("interp: OT pairing: target has %d values, want %d rows × %d = %d", n1, b1, d, b1*d)
	case labels != nil && len(labels) != b1:
		return fmt.Errorf("interp: OT pairing: %d labels for %d target rows", len(labels), b1)
	}
	switch p.Kind {
	case Independent, ExactOT:
	case SinkhornOT:
		if !(p.Eps > 0) || math.IsInf(p.Eps, 0) {
			return fmt.Errorf("interp: OT pairing: sinkhorn needs a finite Eps > 0 (relative to the mean cost), got %v", p.Eps)
		}
		if rng == nil {
			return errors.New("interp: OT pairing: sinkhorn sampling needs a non-nil rng")
		}
	default:
		return fmt.Errorf("interp: OT pairing: unknown coupling %v", p.Kind)
	}
	return nil
}

// matchRows fills p.perm with the partner of each source row.
func matchRows[T Float](p *OTPairer, x0, x1 []T, b, d int, rng *rand.Rand) error {
	if cap(p.perm) < b {
		p.perm = make([]int, b)
	}
	p.perm = p.perm[:b]
	if p.Kind == Independent {
		for i := range p.perm {
			p.perm[i] = i
		}
		return nil
	}
	for k, x := range x0 {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("interp: OT pairing: source row %d, coordinate %d is %v", k/d, k%d, f)
		}
	}
	for k, x := range x1 {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("interp: OT pairing: target row %d, coordinate %d is %v", k/d, k%d, f)
		}
	}
	if cap(p.cost) < b*b {
		p.cost = make([]float64, b*b)
	}
	cost := p.cost[:b*b]
	if p.Kind == ExactOT {
		// Centering each minibatch leaves the optimal pairing unchanged and
		// keeps the sparse solver fast when source and target are apart.
		if cap(p.shift) < d {
			p.shift = make([]float64, d)
		}
		centeredSqEuclidean(x0, x1, b, b, d, cost, p.shift[:d])
		if _, err := p.assign.Solve(cost, b, p.perm); err != nil {
			return fmt.Errorf("interp: OT pairing: %w", err)
		}
		return nil
	}
	// SinkhornOT.
	sqEuclidean(x0, x1, b, b, d, cost)
	mean := 0.0
	for _, c := range cost {
		mean += c
	}
	mean /= float64(len(cost))
	if mean == 0 { // all points coincide: every pairing is optimal
		for i := range p.perm {
			p.perm[i] = i
		}
		return nil
	}
	tol, maxIter := p.Tol, p.MaxIter
	if tol == 0 {
		tol = 1e-6
	}
	if maxIter == 0 {
		maxIter = 1000
	}
	if cap(p.plan) < b*b {
		p.plan = make([]float64, b*b)
	}
	plan := p.plan[:b*b]
	res, err := p.sk.solve(cost, b, b, p.Eps*mean, tol, maxIter, plan)
	p.lastSk = res
	if err != nil {
		return fmt.Errorf("interp: OT pairing: %w", err)
	}
	for i := 0; i < b; i++ {
		row := plan[i*b : (i+1)*b]
		total := 0.0
		for _, q := range row {
			total += q
		}
		r := rng.Float64() * total
		j, acc := b-1, 0.0
		for k, q := range row {
			acc += q
			if r < acc {
				j = k
				break
			}
		}
		p.perm[i] = j
	}
	return nil
}

// gatherRows rewrites x (b×d) so that row i becomes old row perm[i], using buf
// (grown if needed and returned) as scratch.
func gatherRows[T Float](x []T, perm []int, d int, buf []T) []T {
	if cap(buf) < len(x) {
		buf = make([]T, len(x))
	}
	buf = buf[:len(x)]
	copy(buf, x)
	for i, j := range perm {
		copy(x[i*d:(i+1)*d], buf[j*d:(j+1)*d])
	}
	return buf
}

func (p *OTPairer) moveLabels(labels []int) {
	if labels == nil {
		return
	}
	p.bufLab = gatherRows1(labels, p.perm, p.bufLab)
}

func gatherRows1(x, perm, buf []int) []int {
	if cap(buf) < len(x) {
		buf = make([]int, len(x))
	}
	buf = buf[:len(x)]
	copy(buf, x)
	for i, j := range perm {
		x[i] = buf[j]
	}
	return buf
}

func meanPairCost[T Float](x0, x1 []T, b, d int) float64 {
	s := 0.0
	for k := range x0[:b*d] {
		e := float64(x0[k]) - float64(x1[k])
		s += e * e
	}
	return s / float64(b)
}
