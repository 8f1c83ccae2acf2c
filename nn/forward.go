package nn

import "fmt"

// checkLen panics with a message naming the method and the slice when a
// batch slice is shorter than its shape requires.
func checkLen(op, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("nn: %s: len(%s) = %d, want >= %d", op, name, got, want))
	}
}

// checkN panics on a negative batch size and reports whether there is work.
func checkN(op string, n int) bool {
	if n < 0 {
		panic(fmt.Sprintf("nn: %s: n = %d, want >= 0", op, n))
	}
	return n > 0
}

// maxWidth returns the widest layer input or output.
func (m *MLP[T]) maxWidth() int {
	w := m.Spec.inDim()
	for _, l := range m.layers {
		w = max(w, l.out)
	}
	return w
}

// evalBufs sizes the per-layer evaluation buffers for rows rows; dh is nil
// unless withD.
func (m *MLP[T]) evalBufs(rows int, withD bool) (h, dh [][]T) {
	for i := range m.ws.eh {
		w := m.layers[i].out
		grow(&m.ws.eh[i], rows*w)
		if withD {
			grow(&m.ws.ed[i], rows*w)
		}
	}
	if withD {
		return m.ws.eh, m.ws.ed
	}
	return m.ws.eh, nil
}

// fillBias0 writes the first-layer pre-activation offset into the rows×w0
// matrix pre: b_0, plus tc·w_t when the network has a time input that is not
// a column of the input matrix (withT false).
func (m *MLP[T]) fillBias0(pre []T, rows int, tc T, withT bool) {
	l := m.layers[0]
	w, b := weights(l, m.params)
	if !m.Spec.TimeInput || withT {
		fillRows(pre, b, rows)
		return
	}
	wt := w[m.Spec.Dim*l.out : (m.Spec.Dim+1)*l.out]
	b0 := grow(&m.ws.bias0, l.out)
	for j := range b0 {
		b0[j] = b[j] + tc*wt[j]
	}
	fillRows(pre, b0, rows)
}

// fillRows copies the vector b into each of the rows rows of dst.
func fillRows[T Float](dst, b []T, rows int) {
	w := len(b)
	for r := 0; r < rows; r++ {
		copy(dst[r*w:r*w+w], b)
	}
}

// forwardCore evaluates the network on rows rows of x (rows×Dim) at time tc,
// or, when withT is set, on the rows×inDim input matrix x whose rows are
// [x_r, t_r] (t as a column, one product for the whole first layer), storing
// σ(a_l) in h[l] and, when dh is non-nil, σ'(a_l) in dh[l] for each hidden
// layer l. The output goes to v (rows×Dim) unless v is nil.
func (m *MLP[T]) forwardCore(x []T, tc T, withT bool, rows int, h, dh [][]T, v []T) {
	d := m.Spec.Dim
	kin := d // columns of x that multiply W_0
	if withT {
		kin = m.Spec.inDim()
	}
	act, beta := m.Spec.Act, m.Spec.beta()
	nl := len(m.layers)
	for li := 0; li < nl-1; li++ {
		l := m.layers[li]
		w, b := weights(l, m.params)
		pre := grow(&m.ws.pre, rows*l.out)
		if li == 0 {
			m.fillBias0(pre, rows, tc, withT)
			gemm(false, false, rows, l.out, kin, 1, x[:rows*kin], kin, w[:kin*l.out], l.out, 1, pre, l.out)
		} else {
			fillRows(pre, b, rows)
			gemm(false, false, rows, l.out, l.in, 1, h[li-1][:rows*l.in], l.in, w, l.out, 1, pre, l.out)
		}
		var dl []T
		if dh != nil {
			dl = dh[li][:rows*l.out]
		}
		actPar(act, beta, pre, h[li][:rows*l.out], dl, nil)
	}
	if v == nil {
		return
	}
	l := m.layers[nl-1]
	w, b := weights(l, m.params)
	out := v[:rows*d]
	fillRows(out, b, rows)
	gemm(false, false, rows, d, l.in, 1, h[nl-2][:rows*l.in], l.in, w, d, 1, out, d)
}

// backwardCore propagates the output signal g (rows×Dim) back through the
// network whose forward values h and derivatives dh were stored by
// forwardCore on the same x, tc and withT. It adds the parameter gradient to
// grad (skipped when nil) and writes the input gradient to dx (rows×Dim,
// skipped when nil).
func (m *MLP[T]) backwardCore(x []T, tc T, withT bool, rows int, h, dh [][]T, g, grad, dx []T) {
	d := m.Spec.Dim
	kin := d
	if withT {
		kin = m.Spec.inDim()
	}
	mw := m.maxWidth()
	bufs := [2][]T{grow(&m.ws.g1, rows*mw), grow(&m.ws.g2, rows*mw)}
	ones := m.onesBuf(rows)
	cur := g[:rows*d]
	for li := len(m.layers) - 1; li >= 0; li-- {
		l := m.layers[li]
		w, _ := weights(l, m.params)
		if grad != nil {
			gw, gb := weights(l, grad)
			if li > 0 {
				gemm(true, false, l.in, l.out, rows, 1, h[li-1][:rows*l.in], l.in, cur, l.out, 1, gw, l.out)
			} else {
				gemm(true, false, kin, l.out, rows, 1, x[:rows*kin], kin, cur, l.out, 1, gw[:kin*l.out], l.out)
				if m.Spec.TimeInput && !withT {
					// ∂/∂w_t = tc · column sums of the signal.
					gemv(true, rows, l.out, tc, cur, l.out, ones, 1, 1, gw[d*l.out:(d+1)*l.out], 1)
				}
			}
			gemv(true, rows, l.out, 1, cur, l.out, ones, 1, 1, gb, 1) // column sums
		}
		if li > 0 {
			next := bufs[li&1][:rows*l.in]
			gemm(false, true, rows, l.in, l.out, 1, cur, l.out, w, l.out, 0, next, l.in)
			mulRows(next, dh[li-1][:rows*l.in], rows, 1, l.in)
			cur = next
		} else if dx != nil {
			gemm(false, true, rows, d, l.out, 1, cur, l.out, w[:d*l.out], l.out, 0, dx[:rows*d], d)
		}
	}
}

// onesBuf returns a slice of n ones (the vector that turns a matrix-vector
// product into column sums), kept in the workspace.
func (m *MLP[T]) onesBuf(n int) []T {
	if len(m.ws.ones) < n {
		m.ws.ones = make([]T, n)
		for i := range m.ws.ones {
			m.ws.ones[i] = 1
		}
	}
	return m.ws.ones[:n]
}

// Velocity writes v(x_i, t) into row i of v for each of the n rows of x;
// x and v are n×Dim. Any n >= 0 works: the batch is processed in chunks of
// at most 2048 rows, so work memory stays bounded. With TimeInput false, t is
// ignored. It satisfies flow.VelocityField for T = float64.
func (m *MLP[T]) Velocity(t T, x []T, n int, v []T) {
	if !checkN("Velocity", n) {
		return
	}
	d := m.Spec.Dim
	checkLen("Velocity", "x", len(x), n*d)
	checkLen("Velocity", "v", len(v), n*d)
	for lo := 0; lo < n; lo += evalRows {
		rows := min(evalRows, n-lo)
		h, _ := m.evalBufs(rows, false)
		m.forwardCore(x[lo*d:(lo+rows)*d], t, false, rows, h, nil, v[lo*d:(lo+rows)*d])
	}
}

// VJP computes vector-Jacobian products of the velocity at time t for the n
// rows of x (n×Dim) with the cotangents w (n×Dim): it adds
// Σ_i w_iᵀ ∂v(x_i, t)/∂θ to grad (length NumParams, in the layout of Params;
// skipped when nil) and writes w_iᵀ ∂v(x_i, t)/∂x into row i of dx (n×Dim,
// overwritten; skipped when nil). The forward pass is recomputed in chunks of
// at most 2048 rows. This is the building block of gradients through ODE
// solves (the adjoint of a step).
func (m *MLP[T]) VJP(t T, x []T, n int, w []T, grad, dx []T) {
	if !checkN("VJP", n) {
		return
	}
	d := m.Spec.Dim
	checkLen("VJP", "x", len(x), n*d)
	checkLen("VJP", "w", len(w), n*d)
	if grad != nil {
		checkLen("VJP", "grad", len(grad), len(m.params))
	}
	if dx != nil {
		checkLen("VJP", "dx", len(dx), n*d)
	}
	for lo := 0; lo < n; lo += evalRows {
		rows := min(evalRows, n-lo)
		h, dh := m.evalBufs(rows, true)
		xc := x[lo*d : (lo+rows)*d]
		m.forwardCore(xc, t, false, rows, h, dh, nil)
		var dxc []T
		if dx != nil {
			dxc = dx[lo*d : (lo+rows)*d]
		}
		m.backwardCore(xc, t, false, rows, h, dh, w[lo*d:(lo+rows)*d], grad, dxc)
	}
}

// Forward evaluates the network on the n rows of x (n×Dim) with a per-row
// time t (length n; ignored, and may be nil, when TimeInput is false), writes
// the velocities to v (n×Dim), and caches what Backward needs (including
// copies of x and t). It is the training pass of flow matching, where each
// sample has its own t. The cache holds the whole batch: memory grows with
// n·Σ Hidden.
func (m *MLP[T]) Forward(x []T, t []T, n int, v []T) {
	if !checkN("Forward", n) {
		m.ws.fn = 0
		return
	}
	d := m.Spec.Dim
	checkLen("Forward", "x", len(x), n*d)
	checkLen("Forward", "v", len(v), n*d)
	var ft []T
	if m.Spec.TimeInput {
		if t == nil {
			panic("nn: Forward: t is nil but Spec.TimeInput is set")
		}
		checkLen("Forward", "t", len(t), n)
		ft = t[:n]
	}
	// The cache holds the input matrix: rows [x_r, t_r] with a time input.
	kin := m.Spec.inDim()
	fx := grow(&m.ws.fx, n*kin)
	if ft == nil {
		copy(fx, x[:n*d])
	} else {
		for r := 0; r < n; r++ {
			copy(fx[r*kin:r*kin+d], x[r*d:r*d+d])
			fx[r*kin+d] = ft[r]
		}
	}
	for i := range m.ws.fh {
		w := m.layers[i].out
		grow(&m.ws.fh[i], n*w)
		grow(&m.ws.fd[i], n*w)
	}
	m.forwardCore(fx, 0, true, n, m.ws.fh, m.ws.fd, v)
	m.ws.fn = n
}

// Backward follows Forward on the same batch: given dv = ∂L/∂v (n×Dim) it
// adds ∂L/∂θ to grad (length NumParams, layout of Params; skipped when nil)
// and, if dx is non-nil, writes ∂L/∂x (n×Dim) into dx, overwriting it. Other
// methods may run between Forward and Backward; a second Forward replaces the
// cache. It panics if Forward has not run.
func (m *MLP[T]) Backward(dv []T, grad []T, dx []T) {
	n := m.ws.fn
	if n == 0 {
		panic("nn: Backward: no batch cached; call Forward first")
	}
	d := m.Spec.Dim
	checkLen("Backward", "dv", len(dv), n*d)
	if grad != nil {
		checkLen("Backward", "grad", len(grad), len(m.params))
	}
	if dx != nil {
		checkLen("Backward", "dx", len(dx), n*d)
	}
	m.backwardCore(m.ws.fx, 0, true, n, m.ws.fh, m.ws.fd, dv, grad, dx)
}

// MSELoss returns the flow-matching regression loss
// L = (1/n) Σ_i |v_i − target_i|², summed over the columns of each row and
// averaged over the n rows, accumulated in float64. v and target hold exactly
// the n rows (len(v) = len(target) = n·d). If dv is non-nil it receives
// ∂L/∂v = 2(v − target)/n (same shape). It panics if n < 1 or the lengths
// disagree.
func MSELoss[T Float](v, target, dv []T, n int) float64 {
	if n < 1 {
		panic(fmt.Sprintf("nn: MSELoss: n = %d, want >= 1", n))
	}
	if len(target) != len(v) || (dv != nil && len(dv) != len(v)) || len(v)%n != 0 {
		panic(fmt.Sprintf("nn: MSELoss: len(v) = %d, len(target) = %d, len(dv) = %d, n = %d: want equal lengths, a multiple of n",
			len(v), len(target), len(dv), n))
	}
	var s float64
	scale := 2 / float64(n)
	for i, vi := range v {
		e := float64(vi) - float64(target[i])
		s += e * e
		if dv != nil {
			dv[i] = T(scale * e)
		}
	}
	return s / float64(n)
}
