package flow_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/ode"
)

// contraction is the velocity field f(x, t) = −x/2 on R², with exact
// divergence −1.
type contraction struct{}

func (contraction) Dim() int { return 2 }

func (contraction) Velocity(_ float64, x []float64, n int, v []float64) {
	for i := range x[:2*n] {
		v[i] = -0.5 * x[i]
	}
}

func (c contraction) VelocityTrace(t float64, x []float64, n int, v, div []float64) {
	c.Velocity(t, x, n, v)
	for i := range div[:n] {
		div[i] = -1
	}
}

// A one-block chain that contracts data by e^{−1/2} on its way to the latent
// side: log p(x) = log N(e^{−1/2}x; 0, I) − 1.
func ExampleChain_LogProb() {
	chain, err := flow.NewChain(flow.Block{Field: contraction{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-10, ATol: 1e-10}}
	logp, _, err := chain.LogProb(context.Background(), []float64{1, 1, 0, 0}, 2, opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("log p(1, 1) = %.6f nats\nlog p(0, 0) = %.6f nats\n", logp[0], logp[1])

	// Samples with their log-densities, in one solve.
	opt.Rand = rand.New(rand.NewPCG(1, 2))
	x, lp, _, err := chain.SampleAndLogProb(context.Background(), 3, opt)
	fmt.Println(len(x), len(lp), err)
	// Output:
	// log p(1, 1) = -3.205757 nats
	// log p(0, 0) = -2.837877 nats
	// 6 3 <nil>
}
