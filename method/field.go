package method

// TrainableField is what the JKO-iFlow trainer needs of a block's velocity
// field f(x, t; θ) in float32: its dimension d, its flat parameter vector θ
// (updated in place by the optimizer), batched velocities on n×d row-major
// slices, and vector-Jacobian products with respect to θ and x (the contract
// of nn.MLP.VJP: add Σ_i w_iᵀ ∂f(x_i, t)/∂θ into grad, overwrite dx with
// w_iᵀ ∂f(x_i, t)/∂x). Both *nn.MLP[float32] and *nn.Linear[float32]
// satisfy it.
type TrainableField interface {
	// Dim returns d.
	Dim() int
	// NumParams returns len(Params()).
	NumParams() int
	// Params returns the flat parameter vector, read by the field directly.
	Params() []float32
	// Velocity writes f(x_i, t) into row i of v (x and v are n×d).
	Velocity(t float32, x []float32, n int, v []float32)
	// VJP adds Σ_i w_iᵀ ∂f(x_i, t)/∂θ into grad (length NumParams; skipped
	// when nil) and writes w_iᵀ ∂f(x_i, t)/∂x into row i of dx (n×d; skipped
	// when nil); x and w are n×d.
	VJP(t float32, x []float32, n int, w []float32, grad, dx []float32)
}
