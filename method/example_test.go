package method_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Train Local Flow Matching on 2D samples: two OU blocks and a free block,
// then evaluate log-densities through the chain.
func ExampleTrainLFM() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d = 1000, 2
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()*0.5 + float64(i%2)
	}
	cfg := method.LFMConfig{
		Gammas: []float64{0.2, 0.4}, FreeBlock: true,
		Net:         nn.Spec{Hidden: []int{32, 32}, Act: nn.Softplus, Beta: 1},
		Interpolant: interp.Trig, Time: interp.Uniform,
		Push:  ode.Options{Method: ode.RK4, Steps: 5},
		Optim: method.Optim{Iters: 100, BatchSize: 128, LR: 1e-3, Clip: 1, WarmStart: true, Seed: 1},
	}
	res, err := method.TrainLFM(context.Background(), x, n, nil, 0, d, cfg, nil)
	if err != nil {
		panic(err)
	}
	for _, b := range res.Blocks {
		fmt.Printf("block %d: %s γ=%g\n", b.Index, b.Kind, b.Gamma)
	}
	lp, st, err := res.Chain().LogProb(context.Background(), x[:2*d], 2,
		flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-6, ATol: 1e-6}, Trace: flow.Exact})
	fmt.Println(len(lp), st.NFE > 0, err)
	// Output:
	// block 0: ou γ=0.2
	// block 1: ou γ=0.4
	// block 2: free γ=0
	// 2 true <nil>
}
