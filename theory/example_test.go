package theory_test

import (
	"fmt"

	"github.com/iterflow/iterflow/theory"
)

// One exact JKO step with h = 10 from N(0, [[7,5],[5,7]]) towards N(0, I).
func ExampleJKOStep() {
	m := []float64{0, 0}
	cov := []float64{7, 5, 5, 7}
	before, _ := theory.KLToStdNormal(m, cov, 2)
	r, err := theory.JKOStep(m, cov, 2, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	after, _ := theory.KLToStdNormal(r.Mean, r.Cov, 2)
	fmt.Printf("Σ' = [[%.5f, %.5f], [%.5f, %.5f]]\n", r.Cov[0], r.Cov[1], r.Cov[2], r.Cov[3])
	fmt.Printf("A  = [[%.5f, %.5f], [%.5f, %.5f]]\n", r.A[0], r.A[1], r.A[2], r.A[3])
	fmt.Printf("KL %.5f -> %.5f, E½|x − Tx|² = %.5f\n", before, after, r.HalfMovement)
	// Output:
	// Σ' = [[1.15161, 0.11140], [0.11140, 1.15161]]
	// A  = [[0.52280, -0.19838], [-0.19838, 0.52280]]
	// KL 4.41097 -> 0.01515, E½|x − Tx|² = 2.81616
}

// The exact Local Flow Matching velocity v*(x, t) = K x + b for Gaussian data.
func ExampleLFMVelocity() {
	K, b, err := theory.LFMVelocity([]float64{1, -2}, []float64{7, 5, 5, 7}, 2, 0.25, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("K = [[%.5f, %.5f], [%.5f, %.5f]], b = (%.5f, %.5f)\n", K[0], K[1], K[2], K[3], b[0], b[1])
	// Output:
	// K = [[-0.17136, -0.05428], [-0.05428, -0.17136]], b = (-0.16535, 0.18587)
}

func ExampleGaussianEntropy() {
	h, _ := theory.GaussianEntropy([]float64{7, 5, 5, 7}, 2)
	fmt.Printf("%.6f nats\n", h)
	// Output: 4.426904 nats
}
