package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// denseJVTotal solves cost (n×n) by plain dense JV (solveDense, the
// reference of BenchmarkDenseJVTargets) and returns the optimal total.
func denseJVTotal(cost []float64, n int) float64 {
	var a Assigner
	a.grow(n, candidatesPerRow(n))
	a.solveDense(cost)
	total := 0.0
	for i, j := range a.colOf[:n] {
		total += cost[i*n+j]
	}
	return total
}

// TestMultiscaleMatchesDenseJV solves fresh n = 1024 OT-CFM minibatches
// (N(0, I) 2D sources to standardized moons, 8gaussians, 2spirals, random
// N(0, I) points, and an 8-component mixture in d = 11) with the multiscale
// start; the totals must equal dense JV's and the duals certify optimality.
// The fine auction must have extended some rows' candidate lists (the branch
// that replaced the price-war restart) and finished all its phases.
func TestMultiscaleMatchesDenseJV(t *testing.T) {
	const n = 1024
	insts := []struct {
		name string
		cost []float64
	}{
		{"moons", targetCost(t, "moons", n, rand.New(rand.NewPCG(21, 1)))},
		{"8gaussians", targetCost(t, "8gaussians", n, rand.New(rand.NewPCG(21, 2)))},
		{"2spirals", targetCost(t, "2spirals", n, rand.New(rand.NewPCG(21, 3)))},
		{"random", randomPointsCost(rand.New(rand.NewPCG(21, 4)), n, 2)},
		{"mixture-d11", mixtureCost(rand.New(rand.NewPCG(21, 5)), n, 11, 8)},
	}
	a := Assigner{start: startMultiscale}
	perm := make([]int, n)
	extended := 0
	for _, in := range insts {
		total, err := a.Solve(in.cost, n, perm)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		checkPerm(t, in.cost, n, perm, total)
		if want := denseJVTotal(in.cost, n); math.Abs(total-want) > 1e-9*math.Abs(want) {
			t.Errorf("%s: total %.12g, dense JV %.12g", in.name, total, want)
		}
		checkDuals(t, in.name, &a, in.cost, n, perm, total)
		if a.coarse == nil || !a.bound {
			t.Errorf("%s: the multiscale start was not taken", in.name)
		}
		if !a.auctioned {
			t.Errorf("%s: the auction after the coarse start ran out of bids", in.name)
		}
		extended += a.extended
	}
	if extended == 0 {
		t.Error("no row extended its candidate list during the auction")
	}
}

// TestAssignmentPathsMatchHungarian checks both starts at n = 512 against
// the Hungarian method on every OT-CFM target and on the misleading
// instances (far clusters of unequal sizes; integer costs with heavy ties): the multiscale
// start (startMultiscale) and the nearest-neighbour start with the coarse
// restart after a price war (startNearest).
func TestAssignmentPathsMatchHungarian(t *testing.T) {
	const n = 512
	type inst struct {
		name string
		cost []float64
	}
	var insts []inst
	for s, name := range targetNames {
		insts = append(insts, inst{name, targetCost(t, name, n, rand.New(rand.NewPCG(22, uint64(s))))})
	}
	insts = append(insts, inst{"clusters-70/30", clusteredCost(rand.New(rand.NewPCG(23, 1)), n, 0.7, 0.3)})
	ties := make([]float64, n*n)
	rng := rand.New(rand.NewPCG(23, 2))
	for i := range ties {
		ties[i] = float64(rng.IntN(10))
	}
	insts = append(insts, inst{"ties-0..9", ties})
	perm := make([]int, n)
	for _, in := range insts {
		want := hungarian(in.cost, n)
		for _, start := range []startMode{startMultiscale, startNearest} {
			a := Assigner{start: start}
			total, err := a.Solve(in.cost, n, perm)
			if err != nil {
				t.Fatalf("%s (start %d): %v", in.name, start, err)
			}
			checkPerm(t, in.cost, n, perm, total)
			if math.Abs(total-want) > 1e-9*math.Abs(want) {
				t.Errorf("%s (start %d): total %.12g, Hungarian %.12g", in.name, start, total, want)
			}
			checkDuals(t, in.name, &a, in.cost, n, perm, total)
		}
	}
}

// TestAssignmentNotFiniteMultiscale checks the error for a NaN or ±Inf entry
// at n = 256 (the multiscale start), both in a row and column of the coarse
// problem (even indices) and outside it.
func TestAssignmentNotFiniteMultiscale(t *testing.T) {
	const n = 256
	base := randomPointsCost(rand.New(rand.NewPCG(24, 1)), n, 2)
	cases := []struct {
		i, j int
		x    float64
		want string
	}{
		{0, 2, math.NaN(), "interp: assignment: cost[0, 2] = NaN is not finite"},
		{7, 3, math.NaN(), "interp: assignment: cost[7, 3] = NaN is not finite"},
		{4, 9, math.Inf(1), "interp: assignment: cost[4, 9] = +Inf is not finite"},
		{255, 254, math.Inf(-1), "interp: assignment: cost[255, 254] = -Inf is not finite"},
	}
	perm := make([]int, n)
	for _, c := range cases {
		cost := append([]float64(nil), base...)
		cost[c.i*n+c.j] = c.x
		var a Assigner
		_, err := a.Solve(cost, n, perm)
		if err == nil || err.Error() != c.want {
			t.Errorf("entry [%d,%d] = %v: error %v, want %q", c.i, c.j, c.x, err, c.want)
		}
	}
}

// TestAutoStartFollowsWars checks the automatic choice of the start on
// sequences of fresh n = 512 minibatches: N(0, I) to standardized moons
// wars on the nearest-neighbour graph, so after a few solves the
// multiscale start is taken (except on every 8th solve, which retries the
// cold start); random clouds of one shape mostly do not, so most of their
// solves start cold. Every total must still match the Hungarian method.
func TestAutoStartFollowsWars(t *testing.T) {
	const n, steps = 512, 12
	for _, c := range []struct {
		name    string
		gen     func(rng *rand.Rand) []float64
		minMult int // solves that must start multiscale
		maxMult int
	}{
		{"moons", func(rng *rand.Rand) []float64 { return targetCost(t, "moons", n, rng) }, 7, steps},
		{"random", func(rng *rand.Rand) []float64 { return randomPointsCost(rng, n, 2) }, 0, 4},
	} {
		var a Assigner
		perm := make([]int, n)
		rng := rand.New(rand.NewPCG(23, 7))
		mult := 0
		for s := 0; s < steps; s++ {
			cost := c.gen(rng)
			total, err := a.Solve(cost, n, perm)
			if err != nil {
				t.Fatalf("%s solve %d: %v", c.name, s, err)
			}
			if want := hungarian(cost, n); math.Abs(total-want) > 1e-9*math.Abs(want) {
				t.Errorf("%s solve %d: total %.12g, Hungarian %.12g", c.name, s, total, want)
			}
			if a.multiscale {
				mult++
				if s == 0 {
					t.Errorf("%s: the first solve started multiscale without any war seen", c.name)
				}
			}
		}
		t.Logf("%s: %d of %d solves started multiscale (war rate %.2f)", c.name, mult, steps, a.warRate)
		if mult < c.minMult || mult > c.maxMult {
			t.Errorf("%s: %d of %d solves started multiscale, want %d to %d (war rate %.2f)",
				c.name, mult, steps, c.minMult, c.maxMult, a.warRate)
		}
	}
}
