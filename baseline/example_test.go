package baseline_test

import (
	"fmt"

	"github.com/iterflow/iterflow/baseline"
)

func ExampleFitGaussian() {
	x := []float64{-1, 0, 1, 2, 3, 4, 1, 4} // 4 samples in 2-D
	g, err := baseline.FitGaussian(x, 4, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Mean, g.Cov, g.Jitter)
	lp := make([]float64, 1)
	_ = g.LogProb([]float64{1, 2.5}, 1, lp)
	fmt.Printf("%.4f nats\n", lp[0])
	// At the mean: −log 2π − ½ log det Σ, det Σ = 2·2.75 − 2² = 1.5.
	// Output:
	// [1 2.5] [2 2 2 2.75] 0
	// -2.0406 nats
}
