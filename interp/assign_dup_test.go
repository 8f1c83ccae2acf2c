package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAssignmentRepeatedTargets solves OT-CFM minibatches whose targets
// repeat (rows drawn with replacement from a small table, as a batch of 512
// from a 1,437-row table does): a row's reduced costs on its list then tie
// to within rounding, and the auction's full-row rescan once kept no column
// at all (an index out of range). The totals must match dense JV.
func TestAssignmentRepeatedTargets(t *testing.T) {
	const n, d, distinct, steps = 512, 64, 300, 12
	rng := rand.New(rand.NewPCG(31, 4))
	table := make([]float64, distinct*d)
	for i := range table {
		table[i] = math.Round(4*rng.NormFloat64()) / 4 // integer-like pixels
	}
	x0, x1 := make([]float64, n*d), make([]float64, n*d)
	cost := make([]float64, n*n)
	perm := make([]int, n)
	var a Assigner
	for s := 0; s < steps; s++ {
		for i := range x0 {
			x0[i] = rng.NormFloat64()
		}
		for r := 0; r < n; r++ {
			copy(x1[r*d:(r+1)*d], table[rng.IntN(distinct)*d:])
		}
		CenteredSqEuclideanCost(x0, x1, n, n, d, cost)
		total, err := a.Solve(cost, n, perm)
		if err != nil {
			t.Fatalf("step %d: %v", s, err)
		}
		checkPerm(t, cost, n, perm, total)
		if want := denseJVTotal(cost, n); math.Abs(total-want) > 1e-9*math.Abs(want) {
			t.Fatalf("step %d: total %.12g, dense JV %.12g", s, total, want)
		}
	}
}
