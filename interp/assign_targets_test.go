package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iterflow/iterflow/data/toy"
)

// targetNames are the 2D toy targets of the OT-CFM minibatch benchmarks;
// "gaussian" stands for N(0, I) itself.
var targetNames = []string{"moons", "8gaussians", "checkerboard", "rose", "2spirals", "gaussian"}

// standardize centers the n×d rows of x on their mean and divides each
// coordinate by its standard deviation, as the training pipeline does.
func standardize(x []float64, n, d int) {
	for k := 0; k < d; k++ {
		m, s := 0.0, 0.0
		for i := 0; i < n; i++ {
			m += x[i*d+k]
		}
		m /= float64(n)
		for i := 0; i < n; i++ {
			e := x[i*d+k] - m
			s += e * e
		}
		s = math.Sqrt(s / float64(n))
		if s == 0 {
			s = 1
		}
		for i := 0; i < n; i++ {
			x[i*d+k] = (x[i*d+k] - m) / s
		}
	}
}

// targetCost returns the centered squared Euclidean cost (n×n) between n
// N(0, I) 2D source points and n standardized points of the named toy target,
// the exact-plan cost of OTPairer.
func targetCost(tb testing.TB, name string, n int, rng *rand.Rand) []float64 {
	tb.Helper()
	x0 := make([]float64, 2*n)
	for i := range x0 {
		x0[i] = rng.NormFloat64()
	}
	x1, err := toy.Sample(name, n, rng)
	if err != nil {
		tb.Fatal(err)
	}
	standardize(x1, n, 2)
	cost := make([]float64, n*n)
	CenteredSqEuclideanCost(x0, x1, n, n, 2, cost)
	return cost
}

// mixtureCost returns the centered squared Euclidean cost (n×n) between n
// N(0, I) points in d dimensions and n standardized points of a mixture of
// comps Gaussians (means N(0, 9I), unit-variance components).
func mixtureCost(rng *rand.Rand, n, d, comps int) []float64 {
	mu := make([]float64, comps*d)
	for i := range mu {
		mu[i] = 3 * rng.NormFloat64()
	}
	x0 := make([]float64, n*d)
	x1 := make([]float64, n*d)
	for i := range x0 {
		x0[i] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		c := rng.IntN(comps)
		for k := 0; k < d; k++ {
			x1[i*d+k] = mu[c*d+k] + rng.NormFloat64()
		}
	}
	standardize(x1, n, d)
	cost := make([]float64, n*n)
	CenteredSqEuclideanCost(x0, x1, n, n, d, cost)
	return cost
}

// BenchmarkDenseJVTargets times plain dense JV (column reduction, augmenting
// row reduction, dense shortest augmenting paths) on the instances of
// BenchmarkAssignmentTargets, the reference Solve must never be slower than.
func BenchmarkDenseJVTargets(b *testing.B) {
	const n = 1024
	for _, name := range targetNames {
		b.Run(name, func(b *testing.B) {
			cost := targetCost(b, name, n, rand.New(rand.NewPCG(6, n)))
			var a Assigner
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.grow(n, candidatesPerRow(n))
				a.solveDense(cost)
			}
		})
	}
}

// TestAssignmentTargetsMatchHungarian solves, at n = 512, the OT-CFM
// minibatch assignments of BenchmarkAssignmentTargets (N(0, I) 2D sources to
// standardized toy targets, and 8-component Gaussian mixtures in d = 11 and
// 43), where the nearest-neighbour candidates miss most optimal columns. The
// totals must equal the independent Hungarian method and the duals must
// certify optimality.
func TestAssignmentTargetsMatchHungarian(t *testing.T) {
	const n = 512
	type inst struct {
		name string
		cost []float64
	}
	var insts []inst
	for s, name := range targetNames {
		insts = append(insts, inst{name, targetCost(t, name, n, rand.New(rand.NewPCG(7, uint64(s))))})
	}
	for _, d := range []int{11, 43} {
		insts = append(insts, inst{"mixture-d" + fmt.Sprint(d), mixtureCost(rand.New(rand.NewPCG(8, uint64(d))), n, d, 8)})
	}
	var a Assigner
	perm := make([]int, n)
	for _, in := range insts {
		total, err := a.Solve(in.cost, n, perm)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		checkPerm(t, in.cost, n, perm, total)
		want := hungarian(in.cost, n)
		if math.Abs(total-want) > 1e-9*math.Abs(want) {
			t.Errorf("%s: total %.12g, Hungarian %.12g", in.name, total, want)
		}
		checkDuals(t, in.name, &a, in.cost, n, perm, total)
	}
}
