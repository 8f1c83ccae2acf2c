package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestParallelPassesMatchSerial solves the same minibatches with the O(n²)
// passes split between two goroutines and with every pass on one goroutine
// (the serial switch): the permutations, totals, duals and the solver's
// statistics must agree bitwise, so the result does not depend on
// scheduling. Both starts are covered (multiscale on moons and a d = 11
// mixture, the nearest-neighbour start on random clouds), at n = 1024 and
// at n = 600 (odd halves at the coarse level).
func TestParallelPassesMatchSerial(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		start startMode
		cost  func(n int) []float64
	}{
		{"moons", 1024, startMultiscale, func(n int) []float64 { return targetCost(t, "moons", n, rand.New(rand.NewPCG(31, 1))) }},
		{"checkerboard", 600, startMultiscale, func(n int) []float64 {
			return targetCost(t, "checkerboard", n, rand.New(rand.NewPCG(31, 2)))
		}},
		{"mixture-d11", 1024, startMultiscale, func(n int) []float64 { return mixtureCost(rand.New(rand.NewPCG(31, 3)), n, 11, 8) }},
		{"random", 1024, startNearest, func(n int) []float64 { return randomPointsCost(rand.New(rand.NewPCG(31, 4)), n, 2) }},
	}
	for _, c := range cases {
		n := c.n
		cost := c.cost(n)
		type result struct {
			total                        float64
			perm                         []int
			u, v                         []float64
			bids, extended, rounds, wide int
		}
		run := func(serial bool) result {
			a := Assigner{start: c.start, serial: serial}
			r := result{perm: make([]int, n), u: make([]float64, n), v: make([]float64, n)}
			var err error
			if r.total, err = a.Solve(cost, n, r.perm); err != nil {
				t.Fatalf("%s (serial %v): %v", c.name, serial, err)
			}
			if err := a.Duals(r.u, r.v); err != nil {
				t.Fatal(err)
			}
			r.bids, r.extended, r.rounds, r.wide = a.bids, a.extended, a.rounds, a.widened
			if c.start == startMultiscale && !a.multiscale {
				t.Errorf("%s: the multiscale start was not taken", c.name)
			}
			return r
		}
		s, p := run(true), run(false)
		if math.Float64bits(s.total) != math.Float64bits(p.total) {
			t.Errorf("%s n=%d: total %.17g serial, %.17g parallel", c.name, n, s.total, p.total)
		}
		if s.bids != p.bids || s.extended != p.extended || s.rounds != p.rounds || s.wide != p.wide {
			t.Errorf("%s n=%d: bids/extended/rounds/widened %d/%d/%d/%d serial, %d/%d/%d/%d parallel",
				c.name, n, s.bids, s.extended, s.rounds, s.wide, p.bids, p.extended, p.rounds, p.wide)
		}
		for i := 0; i < n; i++ {
			if s.perm[i] != p.perm[i] || math.Float64bits(s.u[i]) != math.Float64bits(p.u[i]) ||
				math.Float64bits(s.v[i]) != math.Float64bits(p.v[i]) {
				t.Errorf("%s n=%d: index %d: perm %d/%d, u %.17g/%.17g, v %.17g/%.17g (serial/parallel)",
					c.name, n, i, s.perm[i], p.perm[i], s.u[i], p.u[i], s.v[i], p.v[i])
				break
			}
		}
		if want := denseJVTotal(cost, n); math.Abs(p.total-want) > 1e-9*math.Abs(want) {
			t.Errorf("%s n=%d: total %.12g, dense JV %.12g", c.name, n, p.total, want)
		}
	}
}

// TestParallelNotFinite checks the error for a NaN or ±Inf entry in either
// half of a split pass at n = 512, for both starts: the reported entry is
// the first in row-major order.
func TestParallelNotFinite(t *testing.T) {
	const n = 512
	base := randomPointsCost(rand.New(rand.NewPCG(32, 1)), n, 2)
	cases := []struct {
		i, j int
		x    float64
		want string
	}{
		{3, 500, math.NaN(), "interp: assignment: cost[3, 500] = NaN is not finite"},
		{301, 7, math.Inf(1), "interp: assignment: cost[301, 7] = +Inf is not finite"},
		{511, 511, math.Inf(-1), "interp: assignment: cost[511, 511] = -Inf is not finite"},
	}
	perm := make([]int, n)
	for _, c := range cases {
		for _, start := range []startMode{startMultiscale, startNearest} {
			cost := append([]float64(nil), base...)
			cost[c.i*n+c.j] = c.x
			a := Assigner{start: start}
			_, err := a.Solve(cost, n, perm)
			if err == nil || err.Error() != c.want {
				t.Errorf("start %d, entry [%d,%d] = %v: error %v, want %q", start, c.i, c.j, c.x, err, c.want)
			}
		}
	}
}

// TestParallelNoAllocAfterFirst checks that the split passes (n = 512, both
// starts) allocate nothing after the first Solve.
func TestParallelNoAllocAfterFirst(t *testing.T) {
	const n = 512
	for _, start := range []startMode{startMultiscale, startNearest} {
		cost := targetCost(t, "moons", n, rand.New(rand.NewPCG(33, 1)))
		perm := make([]int, n)
		a := Assigner{start: start}
		if _, err := a.Solve(cost, n, perm); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := a.Solve(cost, n, perm); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("start %d: Solve allocates %v objects per call after the first", start, allocs)
		}
	}
}
