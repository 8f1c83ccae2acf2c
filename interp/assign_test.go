package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// bruteForceAssignment returns the minimum of Σ_i cost[i, σ(i)] over all
// permutations σ (Heap's algorithm), for small n.
func bruteForceAssignment(cost []float64, n int) float64 {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	eval := func() float64 {
		s := 0.0
		for i, j := range p {
			s += cost[i*n+j]
		}
		return s
	}
	best := eval()
	c := make([]int, n)
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			if s := eval(); s < best {
				best = s
			}
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
	return best
}

// hungarian is a plain O(n³) Hungarian method with row/column potentials
// (Kuhn–Munkres in its shortest-path form), written independently of
// Assigner to cross-check its totals.
func hungarian(cost []float64, n int) float64 {
	inf := math.Inf(1)
	u := make([]float64, n+1)
	v := make([]float64, n+1)
	p := make([]int, n+1) // p[j]: row (1-based) matched to column j; column 0 is virtual
	way := make([]int, n+1)
	minv := make([]float64, n+1)
	used := make([]bool, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = inf
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], inf, 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost[(i0-1)*n+j-1] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	total := 0.0
	for j := 1; j <= n; j++ {
		total += cost[(p[j]-1)*n+j-1]
	}
	return total
}

// checkPerm verifies that perm is a permutation of 0..n−1 whose total is the
// reported one.
func checkPerm(t *testing.T, cost []float64, n int, perm []int, total float64) {
	t.Helper()
	seen := make([]bool, n)
	s := 0.0
	for i, j := range perm {
		if j < 0 || j >= n || seen[j] {
			t.Fatalf("n=%d: perm %v is not a permutation", n, perm)
		}
		seen[j] = true
		s += cost[i*n+j]
	}
	if math.Abs(s-total) > 1e-9*(1+math.Abs(total)) {
		t.Fatalf("n=%d: reported total %v, perm sums to %v", n, total, s)
	}
}

func randomPointsCost(rng *rand.Rand, n, d int) []float64 {
	x0 := make([]float64, n*d)
	x1 := make([]float64, n*d)
	for i := range x0 {
		x0[i] = rng.NormFloat64()
		x1[i] = rng.NormFloat64()
	}
	cost := make([]float64, n*n)
	SqEuclideanCost(x0, x1, n, n, d, cost)
	return cost
}

func TestAssignmentMatchesBruteForce(t *testing.T) {
	kinds := []struct {
		name string
		gen  func(rng *rand.Rand, n int) []float64
	}{
		{"uniform", func(rng *rand.Rand, n int) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = rng.Float64()
			}
			return c
		}},
		{"integer-ties", func(rng *rand.Rand, n int) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = float64(rng.IntN(4))
			}
			return c
		}},
		{"constant", func(rng *rand.Rand, n int) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = 7
			}
			return c
		}},
		{"negative-large", func(rng *rand.Rand, n int) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = float64(rng.IntN(2001)-1000) * 1e3
			}
			return c
		}},
		{"points-2d", func(rng *rand.Rand, n int) []float64 { return randomPointsCost(rng, n, 2) }},
	}
	var a Assigner // reused across sizes: exercises workspace regrowth
	for _, k := range kinds {
		for n := 1; n <= 8; n++ {
			seeds := 40
			if n == 8 {
				seeds = 6
			}
			for seed := 0; seed < seeds; seed++ {
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
				cost := k.gen(rng, n)
				perm := make([]int, n)
				total, err := a.Solve(cost, n, perm)
				if err != nil {
					t.Fatal(err)
				}
				checkPerm(t, cost, n, perm, total)
				want := bruteForceAssignment(cost, n)
				if math.Abs(total-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("%s n=%d seed=%d: total %v, brute force %v", k.name, n, seed, total, want)
				}
			}
		}
	}
}

func TestAssignmentLargeMatchesHungarianAndDuals(t *testing.T) {
	var a Assigner
	const n = 200
	gens := []struct {
		name string
		gen  func(rng *rand.Rand) []float64
	}{
		{"points-2d", func(rng *rand.Rand) []float64 { return randomPointsCost(rng, n, 2) }},
		{"points-8d", func(rng *rand.Rand) []float64 { return randomPointsCost(rng, n, 8) }},
		{"uniform", func(rng *rand.Rand) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = rng.Float64()
			}
			return c
		}},
		{"integer-ties", func(rng *rand.Rand) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = float64(rng.IntN(10))
			}
			return c
		}},
	}
	for _, g := range gens {
		for seed := uint64(0); seed < 3; seed++ {
			rng := rand.New(rand.NewPCG(seed, 99))
			cost := g.gen(rng)
			perm := make([]int, n)
			total, err := a.Solve(cost, n, perm)
			if err != nil {
				t.Fatal(err)
			}
			checkPerm(t, cost, n, perm, total)
			want := hungarian(cost, n)
			if math.Abs(total-want) > 1e-9*(1+math.Abs(want)) {
				t.Fatalf("%s seed %d: total %v, Hungarian %v", g.name, seed, total, want)
			}
			// Complementary slackness with the solver's own duals.
			u, v := make([]float64, n), make([]float64, n)
			if err := a.Duals(u, v); err != nil {
				t.Fatal(err)
			}
			scale := 1e-9 * (1 + math.Abs(total)/n)
			dual := 0.0
			for i := 0; i < n; i++ {
				dual += u[i] + v[i]
				for j := 0; j < n; j++ {
					r := cost[i*n+j] - u[i] - v[j]
					if r < -scale {
						t.Fatalf("%s: reduced cost [%d,%d] = %g < 0", g.name, i, j, r)
					}
					if j == perm[i] && math.Abs(r) > scale {
						t.Fatalf("%s: assigned pair [%d,%d] not tight: %g", g.name, i, j, r)
					}
				}
			}
			if math.Abs(dual-total) > 1e-9*(1+math.Abs(total)) {
				t.Fatalf("%s: dual objective %v ≠ primal %v", g.name, dual, total)
			}
		}
	}
}

func TestAssignmentErrors(t *testing.T) {
	var a Assigner
	nan := []float64{0, 1, math.NaN(), 2}
	inf := []float64{0, 1, 2, math.Inf(-1)}
	cases := []struct {
		cost []float64
		n    int
		perm []int
		want string
	}{
		{nil, 0, nil, "interp: assignment: n = 0, want n ≥ 1"},
		{make([]float64, 3), 2, make([]int, 2), "interp: assignment: cost has 3 entries, want n² = 4 for n = 2"},
		{make([]float64, 4), 2, make([]int, 3), "interp: assignment: perm has length 3, want n = 2"},
		{nan, 2, make([]int, 2), "interp: assignment: cost[1, 0] = NaN is not finite"},
		{inf, 2, make([]int, 2), "interp: assignment: cost[1, 1] = -Inf is not finite"},
	}
	for _, c := range cases {
		_, err := a.Solve(c.cost, c.n, c.perm)
		if err == nil || err.Error() != c.want {
			t.Errorf("Solve(n=%d): error %v, want %q", c.n, err, c.want)
		}
	}
	if err := a.Duals(nil, nil); err == nil || !strings.Contains(err.Error(), "no successful Solve") {
		t.Errorf("Duals after failed Solve: %v", err)
	}
}

func TestAssignmentNoAllocAfterFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 64
	cost := randomPointsCost(rng, n, 2)
	perm := make([]int, n)
	var a Assigner
	if _, err := a.Solve(cost, n, perm); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := a.Solve(cost, n, perm); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Solve allocates %v objects per call after the first", allocs)
	}
}

func TestSqEuclideanCost(t *testing.T) {
	for _, d := range []int{1, 2, 3} {
		rng := rand.New(rand.NewPCG(uint64(d), 0))
		n, m := 3, 4
		x0 := make([]float64, n*d)
		x1 := make([]float64, m*d)
		for i := range x0 {
			x0[i] = rng.NormFloat64()
		}
		for i := range x1 {
			x1[i] = rng.NormFloat64()
		}
		cost := make([]float64, n*m)
		SqEuclideanCost(x0, x1, n, m, d, cost)
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				want := 0.0
				for k := 0; k < d; k++ {
					e := x0[i*d+k] - x1[j*d+k]
					want += e * e
				}
				if math.Abs(cost[i*m+j]-want) > 1e-14 {
					t.Fatalf("d=%d: cost[%d,%d] = %v, want %v", d, i, j, cost[i*m+j], want)
				}
			}
		}
	}
}

// checkDuals verifies the certificate of the last Solve: reduced costs
// cost[i, j] − u_i − v_j ≥ 0 everywhere, 0 on the assignment, and
// Σu + Σv = total.
func checkDuals(t *testing.T, name string, a *Assigner, cost []float64, n int, perm []int, total float64) {
	t.Helper()
	u, v := make([]float64, n), make([]float64, n)
	if err := a.Duals(u, v); err != nil {
		t.Fatal(err)
	}
	scale := 1e-9 * (1 + math.Abs(total)/float64(n))
	dual := 0.0
	for i := 0; i < n; i++ {
		dual += u[i] + v[i]
		for j := 0; j < n; j++ {
			r := cost[i*n+j] - u[i] - v[j]
			if r < -scale {
				t.Fatalf("%s: reduced cost [%d,%d] = %g < 0", name, i, j, r)
			}
			if j == perm[i] && math.Abs(r) > scale {
				t.Fatalf("%s: assigned pair [%d,%d] not tight: %g", name, i, j, r)
			}
		}
	}
	if math.Abs(dual-total) > 1e-9*(1+math.Abs(total)) {
		t.Fatalf("%s: dual objective %v ≠ primal %v", name, dual, total)
	}
}

// clusteredCost puts the sources in two far-apart clusters with a fraction
// fa in the first, and the targets with a fraction fb there, so that a
// share |fa − fb| of the rows must cross to the other cluster although all
// their nearest columns lie in their own: the nearest-neighbour candidates
// are misleading.
func clusteredCost(rng *rand.Rand, n int, fa, fb float64) []float64 {
	x0 := make([]float64, 2*n)
	x1 := make([]float64, 2*n)
	place := func(x []float64, frac float64) {
		na := int(frac * float64(n))
		for i := 0; i < n; i++ {
			off := 0.0
			if i >= na {
				off = 50
			}
			x[2*i] = off + 0.3*rng.NormFloat64()
			x[2*i+1] = 0.3 * rng.NormFloat64()
		}
		rng.Shuffle(n, func(i, j int) {
			x[2*i], x[2*j] = x[2*j], x[2*i]
			x[2*i+1], x[2*j+1] = x[2*j+1], x[2*i+1]
		})
	}
	place(x0, fa)
	place(x1, fb)
	cost := make([]float64, n*n)
	SqEuclideanCost(x0, x1, n, n, 2, cost)
	return cost
}

// TestAssignmentSparseRepairIsExact runs the solver with few candidates per
// row (k = 1, 2, 4, and the default) on instances where the candidate graph
// misleads: clustered points with unequal cluster sizes, costs with many
// ties, uniform costs not from points, a rank-one cost (every permutation of
// equal total), and costs whose cheapest entries all sit in a few columns.
// The totals must equal the independent Hungarian method, the duals must
// certify optimality, the repair path must have run where k is small, and
// both ways out (the sparse phase certified after repairs, and the dense
// restart when too many rows need their full row) must have been taken.
func TestAssignmentSparseRepairIsExact(t *testing.T) {
	const n = 120
	gens := []struct {
		name string
		gen  func(rng *rand.Rand) []float64
	}{
		{"clusters-70/30-vs-30/70", func(rng *rand.Rand) []float64 { return clusteredCost(rng, n, 0.7, 0.3) }},
		{"clusters-90/10-vs-50/50", func(rng *rand.Rand) []float64 { return clusteredCost(rng, n, 0.9, 0.5) }},
		{"integer-ties-0..2", func(rng *rand.Rand) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = float64(rng.IntN(3))
			}
			return c
		}},
		{"uniform", func(rng *rand.Rand) []float64 {
			c := make([]float64, n*n)
			for i := range c {
				c[i] = rng.Float64()
			}
			return c
		}},
		{"rank-one", func(rng *rand.Rand) []float64 {
			// cost[i, j] = a_i + b_j: every permutation is optimal.
			c := make([]float64, n*n)
			for i := 0; i < n; i++ {
				ai := rng.Float64()
				for j := 0; j < n; j++ {
					c[i*n+j] = ai + float64(j)
				}
			}
			return c
		}},
		{"cheap-columns", func(rng *rand.Rand) []float64 {
			// Every row's cheapest entries are in columns 0..4.
			c := make([]float64, n*n)
			for i := range c {
				c[i] = 10 + rng.Float64()
				if i%n < 5 {
					c[i] = rng.Float64()
				}
			}
			return c
		}},
	}
	var a Assigner
	perm := make([]int, n)
	repairedSparse, fellBack := 0, 0
	for _, g := range gens {
		for seed := uint64(0); seed < 2; seed++ {
			rng := rand.New(rand.NewPCG(seed, 7))
			cost := g.gen(rng)
			want := hungarian(cost, n)
			for _, k := range []int{1, 2, 4, candidatesPerRow(n)} {
				name := fmt.Sprintf("%s seed %d k %d", g.name, seed, k)
				total, err := a.solve(cost, n, perm, k)
				if err != nil {
					t.Fatal(err)
				}
				checkPerm(t, cost, n, perm, total)
				if math.Abs(total-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("%s: total %v, Hungarian %v", name, total, want)
				}
				checkDuals(t, name, &a, cost, n, perm, total)
				if k <= 2 && g.name != "rank-one" && a.repairs == 0 && a.widened == 0 {
					t.Errorf("%s: the dual check never repaired anything (rounds %d)", name, a.rounds)
				}
				if a.denseFallback {
					fellBack++
				} else if a.repairs > 0 {
					repairedSparse++
				}
			}
		}
	}
	if repairedSparse == 0 || fellBack == 0 {
		t.Errorf("%d instances certified after sparse repairs, %d restarted dense: want both > 0", repairedSparse, fellBack)
	}
}

// TestAssignmentFewCandidatesMatchesBruteForce repeats the brute-force check
// for n ≤ 7 with one and two candidates per row, so that almost every
// instance goes through widening and repair.
func TestAssignmentFewCandidatesMatchesBruteForce(t *testing.T) {
	var a Assigner
	widened := 0
	for n := 2; n <= 7; n++ {
		for seed := 0; seed < 30; seed++ {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(100+n)))
			cost := make([]float64, n*n)
			for i := range cost {
				if seed%2 == 0 {
					cost[i] = float64(rng.IntN(5))
				} else {
					cost[i] = rng.NormFloat64()
				}
			}
			want := bruteForceAssignment(cost, n)
			perm := make([]int, n)
			for _, k := range []int{1, 2} {
				total, err := a.solve(cost, n, perm, k)
				if err != nil {
					t.Fatal(err)
				}
				checkPerm(t, cost, n, perm, total)
				if math.Abs(total-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("n=%d seed=%d k=%d: total %v, brute force %v", n, seed, k, total, want)
				}
				checkDuals(t, fmt.Sprintf("n=%d seed=%d k=%d", n, seed, k), &a, cost, n, perm, total)
				widened += a.widened
			}
		}
	}
	if widened == 0 {
		t.Error("no row was ever widened to its full row: the fallback path went untested")
	}
}

func TestCandidatesPerRow(t *testing.T) {
	for _, c := range []struct{ n, k int }{
		{1, 16}, {256, 16}, {512, 16}, {513, 24}, {1000, 24}, {1024, 24}, {2048, 32}, {4096, 40}, {1 << 20, 64},
	} {
		if got := candidatesPerRow(c.n); got != c.k {
			t.Errorf("candidatesPerRow(%d) = %d, want %d", c.n, got, c.k)
		}
	}
}

// TestAssignmentPointsMatchHungarian checks random point clouds at sizes
// where the default candidate lists are much shorter than a row, in 2D and
// 8D, against the Hungarian method.
func TestAssignmentPointsMatchHungarian(t *testing.T) {
	var a Assigner
	for _, c := range []struct{ n, d int }{{300, 2}, {300, 8}, {500, 2}} {
		rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.d)))
		cost := randomPointsCost(rng, c.n, c.d)
		perm := make([]int, c.n)
		total, err := a.Solve(cost, c.n, perm)
		if err != nil {
			t.Fatal(err)
		}
		checkPerm(t, cost, c.n, perm, total)
		if want := hungarian(cost, c.n); math.Abs(total-want) > 1e-9*(1+math.Abs(want)) {
			t.Fatalf("n=%d d=%d: total %v, Hungarian %v", c.n, c.d, total, want)
		}
		checkDuals(t, fmt.Sprintf("n=%d d=%d", c.n, c.d), &a, cost, c.n, perm, total)
		if a.bids < c.n {
			t.Errorf("n=%d d=%d: auction start not used (%d bids)", c.n, c.d, a.bids)
		}
	}
}

// TestCenteredCostSameOptimum checks that the centered squared Euclidean cost
// gives an assignment with the same (optimal) plain cost as the plain cost
// itself, on clouds shifted apart, where the centered cost is also the fast
// one.
func TestCenteredCostSameOptimum(t *testing.T) {
	const n, d = 300, 2
	rng := rand.New(rand.NewPCG(9, 9))
	x, y := make([]float64, n*d), make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
		y[i] = rng.NormFloat64() + 4
	}
	plain, centered := make([]float64, n*n), make([]float64, n*n)
	SqEuclideanCost(x, y, n, n, d, plain)
	CenteredSqEuclideanCost(x, y, n, n, d, centered)
	// The difference is separable: c − c' = a_i + b_j.
	for i := 1; i < n; i++ {
		for j := 1; j < n; j++ {
			dd := (plain[i*n+j] - centered[i*n+j]) - (plain[i*n] - centered[i*n]) - (plain[j] - centered[j]) + (plain[0] - centered[0])
			if math.Abs(dd) > 1e-9 {
				t.Fatalf("difference not separable at (%d, %d): %g", i, j, dd)
			}
		}
	}
	var a, b Assigner
	p1, p2 := make([]int, n), make([]int, n)
	want, err := a.Solve(plain, n, p1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Solve(centered, n, p2); err != nil {
		t.Fatal(err)
	}
	got := 0.0
	for i, j := range p2 {
		got += plain[i*n+j]
	}
	if math.Abs(got-want) > 1e-9*want {
		t.Errorf("plain cost of the centered optimum %.12g, optimum %.12g", got, want)
	}
}
