package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func meanOf(x []float64) float64 {
	s := 0.0
	for _, e := range x {
		s += e
	}
	return s / float64(len(x))
}

// marginalErrors returns the max deviation of the row sums from 1/n and of
// the column sums from 1/m, and the total mass.
func marginalErrors(plan []float64, n, m int) (rowErr, colErr, mass float64) {
	cols := make([]float64, m)
	for i := 0; i < n; i++ {
		r := 0.0
		for j := 0; j < m; j++ {
			q := plan[i*m+j]
			r += q
			cols[j] += q
			mass += q
		}
		rowErr = math.Max(rowErr, math.Abs(r-1/float64(n)))
	}
	for _, c := range cols {
		colErr = math.Max(colErr, math.Abs(c-1/float64(m)))
	}
	return
}

func TestSinkhornMarginals(t *testing.T) {
	cases := []struct {
		n, m  int
		scale float64 // cost scale: eps is absolute, so it must work at any scale
		rel   float64 // eps relative to the mean cost
	}{
		{50, 50, 1, 0.05},
		{40, 70, 1, 0.1},
		{70, 40, 1e4, 0.01},
		{30, 30, 1e-4, 0.01}, // forces absorption of the scalings
		{1, 5, 1, 0.1},
		{5, 1, 1, 0.1},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.m)))
		x0 := make([]float64, c.n*2)
		x1 := make([]float64, c.m*2)
		for i := range x0 {
			x0[i] = rng.NormFloat64()
		}
		for i := range x1 {
			x1[i] = rng.NormFloat64() + 1
		}
		cost := make([]float64, c.n*c.m)
		SqEuclideanCost(x0, x1, c.n, c.m, 2, cost)
		for i := range cost {
			cost[i] *= c.scale
		}
		plan := make([]float64, c.n*c.m)
		res, err := Sinkhorn(cost, c.n, c.m, c.rel*meanOf(cost), 1e-7, 100000, plan)
		if err != nil {
			t.Fatal(err)
		}
		rowErr, colErr, mass := marginalErrors(plan, c.n, c.m)
		if rowErr > 1e-6 || colErr > 1e-6 || math.Abs(mass-1) > 1e-6 || res.MarginalErr > 1e-7 {
			t.Errorf("%d×%d scale %g: row err %g, col err %g, mass %v, result %+v", c.n, c.m, c.scale, rowErr, colErr, mass, res)
		}
		for k, q := range plan {
			if !(q >= 0) {
				t.Fatalf("plan[%d] = %v", k, q)
			}
		}
	}
}

func TestSinkhornApproachesExactOT(t *testing.T) {
	const n = 16
	rng := rand.New(rand.NewPCG(7, 7))
	cost := randomPointsCost(rng, n, 2)
	var a Assigner
	perm := make([]int, n)
	exact, err := a.Solve(cost, n, perm)
	if err != nil {
		t.Fatal(err)
	}
	exact /= n
	mean := meanOf(cost)
	plan := make([]float64, n*n)
	prev := math.Inf(1)
	var last float64
	for _, rel := range []float64{1, 0.3, 0.1, 0.03, 0.01, 0.005} {
		res, err := Sinkhorn(cost, n, n, rel*mean, 1e-6, 1000000, plan)
		if err != nil {
			t.Fatal(err)
		}
		if res.MarginalErr > 1e-6 {
			t.Fatalf("eps %g×mean: not converged: %+v", rel, res)
		}
		tc := 0.0
		for k, q := range plan {
			tc += q * cost[k]
		}
		if tc < exact*(1-1e-6) {
			t.Fatalf("eps %g×mean: transport cost %v below the exact OT cost %v", rel, tc, exact)
		}
		if tc > prev*(1+1e-6) {
			t.Fatalf("eps %g×mean: transport cost %v rose from %v as eps shrank", rel, tc, prev)
		}
		t.Logf("eps = %5g × mean cost: <P,C> = %.6f (exact %.6f), %d iterations", rel, tc, exact, res.Iters)
		prev, last = tc, tc
	}
	if last > exact*1.01 {
		t.Fatalf("at eps = 0.005×mean the transport cost %v is not within 1%% of the exact %v", last, exact)
	}
}

func TestSinkhornErrors(t *testing.T) {
	plan := make([]float64, 4)
	good := []float64{0, 1, 1, 0}
	cases := []struct {
		cost    []float64
		n, m    int
		eps     float64
		tol     float64
		maxIter int
		plan    []float64
		want    string
	}{
		{good, 0, 2, 1, 1e-6, 10, plan, "interp: sinkhorn: shape 0×2, want n, m ≥ 1"},
		{good, 2, 3, 1, 1e-6, 10, plan, "interp: sinkhorn: cost has 4 entries, want 2×3 = 6"},
		{good, 2, 2, 1, 1e-6, 10, plan[:3], "interp: sinkhorn: plan has 3 entries, want 2×2 = 4"},
		{good, 2, 2, 0, 1e-6, 10, plan, "interp: sinkhorn: eps = 0, want a finite eps > 0"},
		{good, 2, 2, math.NaN(), 1e-6, 10, plan, "interp: sinkhorn: eps = NaN, want a finite eps > 0"},
		{good, 2, 2, 1, -1, 10, plan, "interp: sinkhorn: tol = -1, want tol ≥ 0"},
		{good, 2, 2, 1, 1e-6, 0, plan, "interp: sinkhorn: maxIter = 0, want ≥ 1"},
		{[]float64{0, 1, math.Inf(1), 0}, 2, 2, 1, 1e-6, 10, plan, "interp: sinkhorn: cost[1, 0] = +Inf is not finite"},
	}
	for _, c := range cases {
		_, err := Sinkhorn(c.cost, c.n, c.m, c.eps, c.tol, c.maxIter, c.plan)
		if err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
