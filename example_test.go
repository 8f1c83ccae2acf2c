package iterflow_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow"
)

// sample draws n points of a correlated 2D Gaussian.
func sample(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([][]float64, n)
	for i := range x {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		x[i] = []float64{1 + 2*z0, -3 + 1.2*z0 + 0.8*z1}
	}
	return x
}

// tiny are options that train in a fraction of a second (real data want the
// defaults: Options{}).
var tiny = iterflow.Options{Blocks: 2, Hidden: []int{16, 16}, Iters: 100, BatchSize: 128, Seed: 1}

func ExampleFit() {
	ctx := context.Background()
	x := sample(500, 1) // 500 rows of 2 values
	m, err := iterflow.Fit(ctx, x, tiny)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("method:", m.Method())
	fmt.Println("dimension:", m.Dim())
	fmt.Println("blocks:", m.Blocks())
	// Output:
	// method: lfm
	// dimension: 2
	// blocks: 2
}

func ExampleModel_LogProb() {
	ctx := context.Background()
	m, err := iterflow.Fit(ctx, sample(500, 1), tiny)
	if err != nil {
		log.Fatal(err)
	}
	// log p(x) in nats, one value per row, in the units of the data.
	lp, err := m.LogProb(ctx, [][]float64{{1, -3}, {9, 9}})
	if err != nil {
		log.Fatal(err)
	}
	// The data's true log-density at its mean (1, −3) is
	// −log(2π) − log|det L| = −log(2π) − log 1.6 = −2.31 nats; this tiny
	// model is within a nat of it. Points far from the data are much less
	// likely.
	fmt.Println("near the truth at the mean:", math.Abs(lp[0]-(-2.31)) < 1)
	fmt.Println("far away is less likely:", lp[1] < lp[0]-10)
	// Output:
	// near the truth at the mean: true
	// far away is less likely: true
}

func ExampleModel_Sample() {
	ctx := context.Background()
	m, err := iterflow.Fit(ctx, sample(500, 1), tiny)
	if err != nil {
		log.Fatal(err)
	}
	xs, err := m.Sample(ctx, 1000, 42) // 1000 rows; the same seed gives the same rows
	if err != nil {
		log.Fatal(err)
	}
	var mean float64
	for _, row := range xs {
		mean += row[0] / float64(len(xs))
	}
	fmt.Println(len(xs), "rows of", len(xs[0]), "values")
	fmt.Printf("mean of column 0: %.0f\n", math.Round(mean))
	// Output:
	// 1000 rows of 2 values
	// mean of column 0: 1
}

func ExampleModel_Save() {
	ctx := context.Background()
	m, err := iterflow.Fit(ctx, sample(500, 1), tiny)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer // or a file, a network connection, ...
	if err := m.Save(&buf); err != nil {
		log.Fatal(err)
	}
	m2, err := iterflow.Load(&buf)
	if err != nil {
		log.Fatal(err)
	}
	x := [][]float64{{0, -2}, {3, -1}}
	a, _ := m.LogProb(ctx, x)
	b, _ := m2.LogProb(ctx, x)
	fmt.Println("identical log-densities:", a[0] == b[0] && a[1] == b[1])
	// Output:
	// identical log-densities: true
}
