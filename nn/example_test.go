package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iterflow/iterflow/nn"
)

// A velocity field on R² with time input, its velocity and exact divergence
// at t = 0.5 for a batch of three points.
func ExampleMLP_VelocityTrace() {
	spec := nn.Spec{Dim: 2, Hidden: []int{64, 64}, Act: nn.Softplus, TimeInput: true}
	m, err := nn.NewMLP[float64](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float64{0, 0, 1, -1, 2, 0.5} // 3×2, row-major
	v := make([]float64, 3*2)
	div := make([]float64, 3)
	m.VelocityTrace(0.5, x, 3, v, div)
	fmt.Println(m.LayerShapes(), m.NumParams(), len(v), len(div))
	// Output: [[3 64] [64 64] [64 2]] 4546 6 3
}

// One flow-matching training step: per-row times, MSE loss, gradient
// clipping and an Adam update, in float32.
func ExampleMLP_Backward() {
	spec := nn.Spec{Dim: 2, Hidden: []int{32}, Act: nn.SiLU, TimeInput: true}
	m, _ := nn.NewMLP[float32](spec, rand.New(rand.NewPCG(1, 2)))
	opt := nn.NewAdam[float32](m.NumParams(), 1e-3)
	const n = 4
	x := []float32{0, 0, 1, 1, -1, 0, 0.5, 2}
	t := []float32{0.1, 0.4, 0.7, 0.9}
	target := []float32{1, 0, 0, 1, 1, 1, -1, 0}
	v := make([]float32, n*2)
	dv := make([]float32, n*2)
	grad := make([]float32, m.NumParams())

	m.Forward(x, t, n, v)
	before := nn.MSELoss(v, target, dv, n)
	m.Backward(dv, grad, nil)
	nn.ClipGradNorm(grad, 1)
	opt.Step(m.Params(), grad)

	m.Forward(x, t, n, v)
	after := nn.MSELoss(v, target, nil, n)
	fmt.Println(after < before)
	// Output: true
}
