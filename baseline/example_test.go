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
	// At the mean: −log 2π − ½ log det Σ, det Σ = 2·2.75 − 2² = 1.5.
	fmt.Printf("%.4f nats\n", lp[0])
	// Output:
	// [1 2.5] [2 2 2 2.75] 0
	// -2.0406 nats
}

func ExampleFitGMM() {
	// Two clusters on the line: 20 points around −5 and 60 around +5.
	x := make([]float64, 0, 80)
	for i := 0; i < 20; i++ {
		x = append(x, -5+float64(i%5-2)*0.1)
	}
	for i := 0; i < 60; i++ {
		x = append(x, 5+float64(i%3-1)*0.2)
	}
	g, err := baseline.FitGMM(x, 80, 1, baseline.DefaultGMMOptions(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Component order depends on the k-means++ seed.
	for k := 0; k < g.K(); k++ {
		fmt.Printf("weight %.2f  mean %+.2f  variance %.4f\n", g.Weights[k], g.Means[k], g.Covs[k])
	}
	// Output:
	// weight 0.75  mean +5.00  variance 0.0267
	// weight 0.25  mean -5.00  variance 0.0200
}

func ExampleSelectKDE() {
	// Training and validation points on a regular grid of [−2, 2].
	train := make([]float64, 41)
	val := make([]float64, 40)
	for i := range train {
		train[i] = -2 + 0.1*float64(i)
	}
	for i := range val {
		val[i] = -1.95 + 0.1*float64(i)
	}
	k, scores, err := baseline.SelectKDE(train, val, 41, 40, 1, []float64{0.01, 0.1, 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range scores {
		fmt.Printf("h = %-4g validation NLL %.3f nats\n", s.Bandwidth, s.ValNLL)
	}
	fmt.Println("chosen h =", k.H)
	// Output:
	// h = 0.01 validation NLL 11.834 nats
	// h = 0.1  validation NLL 1.420 nats
	// h = 1    validation NLL 1.633 nats
	// chosen h = 0.1
}
