package flow

// VelocityField is a time-dependent velocity field f(x, t) on R^d, evaluated on
// a batch: x and v are row-major n×d slices. Implementations are not required
// to be safe for concurrent use.
type VelocityField interface {
	// Dim returns d.
	Dim() int
	// Velocity writes f(x_i, t) into row i of v for each of the n rows of x.
	Velocity(t float64, x []float64, n int, v []float64)
}

// TraceField is a VelocityField that also gives the exact divergence
// div f = tr(∂f/∂x) per row, in the same pass as the velocity.
type TraceField interface {
	VelocityField
	// VelocityTrace writes f(x_i, t) into row i of v (n×d) and tr ∂f/∂x at
	// (x_i, t) into div[i] (length n).
	VelocityTrace(t float64, x []float64, n int, v, div []float64)
}

// JVPField is a VelocityField that also gives Jacobian-vector products, as
// needed by the Hutchinson trace estimator.
type JVPField interface {
	VelocityField
	// VelocityJVP writes f(x_i, t) into row i of v and (∂f/∂x)(x_i, t)·u_i into
	// row i of jv; u, v and jv are n×d.
	VelocityJVP(t float64, x []float64, n int, u, v, jv []float64)
}
