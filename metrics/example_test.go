package metrics_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/metrics"
)

func ExampleNLL() {
	logp := []float64{-1.2, -0.8, -1.0, -1.4} // nats, e.g. from LogProb
	mean, se := metrics.NLL(logp)
	fmt.Printf("NLL %.3f ± %.3f nats, %.3f bits/dim (d = 2)\n", mean, se, metrics.BitsPerDim(mean, 2))
	// Output: NLL 1.100 ± 0.129 nats, 0.793 bits/dim (d = 2)
}

func ExampleBitsPerDim() {
	// A model of 8-bit 28×28 images seen as x/256 in [0, 1): add d·ln 256 to
	// its NLL to get bits/dim of the 0..255 data. A uniform model has NLL 0
	// on [0, 1)^d, i.e. 8 bits/dim.
	const d = 784
	nllScaled := 0.0
	fmt.Printf("%.3f bits/dim\n", metrics.BitsPerDim(nllScaled+d*math.Log(256), d))
	// Output: 8.000 bits/dim
}

func ExampleEnergyDistance() {
	x := []float64{0, 1} // two 1D samples, n×d = 2×1
	y := []float64{2, 3}
	e, _ := metrics.EnergyDistance(x, y, 2, 2, 1)
	fmt.Println(e) // 2·2 − 1/2 − 1/2
	// Output: 3
}

func ExampleW2Exact() {
	// Two 1D samples: the optimal matching pairs them in sorted order,
	// (0, 1) and (3, 2), so W2² = (1 + 1)/2.
	w, _ := metrics.W2Exact([]float64{3, 0}, []float64{1, 2}, 2, 1, 1000, nil)
	fmt.Println(w)
	// Output: 1
}

func ExampleMMDTest() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	x := make([]float64, n)
	y := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()       // N(0, 1)
		y[i] = rng.NormFloat64() + 0.5 // N(0.5, 1)
	}
	bws, _ := metrics.DefaultBandwidths(x, y, n, n, 1)
	res, err := metrics.MMDTest(x, y, n, n, 1, bws, 200, 0.05, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("reject: %v, p = %.3f\n", res.Reject, res.PValue)
	// Output: reject: true, p = 0.005
}

func ExampleInversionError() {
	x := []float64{0, 0, 1, 1} // 2×2
	xr := []float64{0, 0.1, 1, 0.7}
	maxAbs, rms, _ := metrics.InversionError(x, xr, 2, 2)
	fmt.Printf("max %.2f, rms %.4f\n", maxAbs, rms)
	// Output: max 0.30, rms 0.1581
}

func ExampleCost() {
	c := metrics.Cost{NFE: 120, Seconds: 1.5, Rows: 4096}
	fmt.Println(c)
	// Output: NFE 120, 1.5 s, 4096 rows (2731 rows/s)
}
