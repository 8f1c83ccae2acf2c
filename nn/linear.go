package nn

// Linear is the affine, time-independent velocity field f(x, t) = A x + b on
// R^d, generic over float32 (training) and float64 (likelihoods). Its time-1
// flow on [0, 1] is T(x) = e^{A} x + (∫₀¹ e^{sA} ds) b, with log|det ∂T/∂x| =
// tr A (methods.md §5.5). It is the block type of the closed-form Gaussian
// checks of JKO-iFlow (exact JKO step for Gaussian data, methods.md §5.2;
// Xu, Cheng, Xie, arXiv 2212.14424): for Gaussian data the exact JKO map is
// affine, so a linear block can represent it.
//
// Params is one flat slice: A (d×d, row-major, A[r·d+c] multiplies x_c in
// output r), then b (d). A Linear holds no work buffers and does not
// allocate; like MLP, its batch methods panic when a slice is shorter than
// the shapes given (a programming error).
type Linear[T Float] struct {
	d      int
	params []T
}

// NewLinear returns the d-dimensional linear field with A = 0 and b = 0 (the
// zero velocity, whose block is the identity map). d < 1 is a programming
// error and panics.
func NewLinear[T Float](d int) *Linear[T] {
	if d < 1 {
		panic("nn: NewLinear: d must be at least 1")
	}
	return &Linear[T]{d: d, params: make([]T, d*d+d)}
}

// Dim returns d, the dimension of x and of the velocity.
func (l *Linear[T]) Dim() int { return l.d }

// NumParams returns d² + d, len(Params()).
func (l *Linear[T]) NumParams() int { return len(l.params) }

// Params returns the flat parameter vector [A (d×d row-major) | b (d)]; the
// field reads it directly, so in-place changes take effect at once.
func (l *Linear[T]) Params() []T { return l.params }

// Clone returns a deep copy of l.
func (l *Linear[T]) Clone() *Linear[T] {
	return &Linear[T]{d: l.d, params: append([]T(nil), l.params...)}
}

// ConvertLinear returns a copy of l with element type U, each parameter
// converted (e.g. float32 training weights to a float64 field for
// likelihoods).
func ConvertLinear[U, T Float](l *Linear[T]) *Linear[U] {
	c := &Linear[U]{d: l.d, params: make([]U, len(l.params))}
	for i, p := range l.params {
		c.params[i] = U(p)
	}
	return c
}

// apply writes A·u_i (+ b when bias) into row i of out for the n rows of u.
func (l *Linear[T]) apply(u []T, n int, out []T, bias bool) {
	d := l.d
	a, b := l.params[:d*d], l.params[d*d:]
	for i := 0; i < n; i++ {
		ui := u[i*d : (i+1)*d]
		oi := out[i*d : (i+1)*d]
		for r := 0; r < d; r++ {
			ar := a[r*d : (r+1)*d]
			var s T
			if bias {
				s = b[r]
			}
			for c, x := range ui {
				s += ar[c] * x
			}
			oi[r] = s
		}
	}
}

// Velocity writes A x_i + b into row i of v for the n rows of x (x and v are
// n×Dim); t is ignored. It satisfies flow.VelocityField for T = float64.
func (l *Linear[T]) Velocity(t T, x []T, n int, v []T) {
	if !checkN("Linear.Velocity", n) {
		return
	}
	checkLen("Linear.Velocity", "x", len(x), n*l.d)
	checkLen("Linear.Velocity", "v", len(v), n*l.d)
	l.apply(x, n, v, true)
}

// Trace returns tr A, the divergence of the field at every x and t.
func (l *Linear[T]) Trace() T {
	var s T
	for r := 0; r < l.d; r++ {
		s += l.params[r*l.d+r]
	}
	return s
}

// VelocityTrace writes the velocity into v (n×Dim) as Velocity does and the
// exact divergence tr A into div[i] (length n). It satisfies flow.TraceField
// for T = float64.
func (l *Linear[T]) VelocityTrace(t T, x []T, n int, v, div []T) {
	if !checkN("Linear.VelocityTrace", n) {
		return
	}
	checkLen("Linear.VelocityTrace", "div", len(div), n)
	l.Velocity(t, x, n, v)
	tr := l.Trace()
	for i := range div[:n] {
		div[i] = tr
	}
}

// VelocityJVP writes the velocity into v and the Jacobian-vector products
// A u_i into row i of jv (u, v and jv are n×Dim). It satisfies
// flow.JVPField for T = float64.
func (l *Linear[T]) VelocityJVP(t T, x []T, n int, u, v, jv []T) {
	if !checkN("Linear.VelocityJVP", n) {
		return
	}
	checkLen("Linear.VelocityJVP", "u", len(u), n*l.d)
	checkLen("Linear.VelocityJVP", "jv", len(jv), n*l.d)
	l.Velocity(t, x, n, v)
	l.apply(u, n, jv, false)
}

// VJP has the contract of MLP.VJP: for the n rows of x (n×Dim) and the
// cotangents w (n×Dim) it adds Σ_i w_iᵀ ∂f(x_i)/∂θ to grad (length
// NumParams, layout of Params; skipped when nil), that is
// ∂A[r][c] += Σ_i w_ir x_ic and ∂b[r] += Σ_i w_ir, and writes w_iᵀ A into
// row i of dx (n×Dim, overwritten; skipped when nil).
func (l *Linear[T]) VJP(t T, x []T, n int, w []T, grad, dx []T) {
	if !checkN("Linear.VJP", n) {
		return
	}
	d := l.d
	checkLen("Linear.VJP", "x", len(x), n*d)
	checkLen("Linear.VJP", "w", len(w), n*d)
	a := l.params[:d*d]
	if grad != nil {
		checkLen("Linear.VJP", "grad", len(grad), len(l.params))
		ga, gb := grad[:d*d], grad[d*d:]
		for i := 0; i < n; i++ {
			xi := x[i*d : (i+1)*d]
			wi := w[i*d : (i+1)*d]
			for r, wr := range wi {
				gb[r] += wr
				gr := ga[r*d : (r+1)*d]
				for c, xc := range xi {
					gr[c] += wr * xc
				}
			}
		}
	}
	if dx != nil {
		checkLen("Linear.VJP", "dx", len(dx), n*d)
		for i := 0; i < n; i++ {
			wi := w[i*d : (i+1)*d]
			di := dx[i*d : (i+1)*d]
			clear(di)
			for r, wr := range wi {
				ar := a[r*d : (r+1)*d]
				for c := range di {
					di[c] += wr * ar[c]
				}
			}
		}
	}
}
