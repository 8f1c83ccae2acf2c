package method_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/ode"
)

// One linear JKO-iFlow block with h = 1 on N(0, [[7,5],[5,7]]) learns the
// exact JKO step, whose law has covariance [[2.62275, 1.31374],[1.31374,
// 2.62275]] (methods.md §5.2).
func ExampleTrainJKO() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		// (u + v, u − v) with u ~ N(0, 6), v ~ N(0, 1): variances 7, covariance 5.
		u, v := math.Sqrt(6)*rng.NormFloat64(), rng.NormFloat64()
		x[2*i], x[2*i+1] = u+v, u-v
	}
	cfg := method.JKOConfig{
		Steps: []float64{1}, Linear: true, Probe: flow.Rademacher,
		Optim: method.Optim{Iters: 300, BatchSize: 1000, LR: 0.02, LRDecay: 0.3, LRDecayEvery: 100, Seed: 1},
	}
	res, err := method.TrainJKO(context.Background(), x, n, nil, 0, 2, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Push the data with the training discretization (rk4, 3 steps).
	z, _, err := res.Chain().Forward(context.Background(), x, n, flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var s00, s01, s11 float64
	for i := 0; i < n; i++ {
		s00 += z[2*i] * z[2*i] / n
		s01 += z[2*i] * z[2*i+1] / n
		s11 += z[2*i+1] * z[2*i+1] / n
	}
	b := res.Blocks[0]
	fmt.Printf("%d block (%s, h = %g)\n", len(res.Blocks), b.Kind, b.H)
	exact := []float64{2.62275, 1.31374, 2.62275}
	var worst float64
	for k, s := range []float64{s00, s01, s11} {
		worst = max(worst, math.Abs(s-exact[k])/exact[k])
	}
	fmt.Println("pushed covariance within 5% of the exact JKO step:", worst < 0.05)
	// Output:
	// 1 block (jko, h = 1)
	// pushed covariance within 5% of the exact JKO step: true
}
