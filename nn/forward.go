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
// matrix pre: b_0, plus t·w_t with TimeInput (t = tv[r] per row when tv is
// non-nil, else the constant tc).
func (m *MLP[T]) fillBias0(pre []T, rows int, tc T, tv []T) {
	l := m.layers[0]
	w, b := weights(l, m.params)
	if !m.Spec.TimeInput {
		fillRows(pre, b, rows)
		return
	}
	wt := w[m.Spec.Dim*l.out : (m.Spec.Dim+1)*l.out]
	if tv == nil {
		b0 := grow(&m.ws.bias0, l.out)
		for j := range b0 {
			b0[j] = b[j] + tc*wt[j]
		}
		fillRows(pre, b0, rows)
		return
	}
	for r := 0; r < rows; r++ {
		row := pre[r*l.out : r*l.out+l.out]
		tr := tv[r]
		for j := range row {
			row[j] = b[j] + tr*wt[j]
		}
	}
}

// fillRows copies the vector b into each of the rows rows of dst.
func fillRows[T Float](dst, b []T, rows int) {
	w := len(b)
	for r := 0; r < rows; r++ {
		copy(dst[r*w:r*w+w], b)
	}
}

// forwardCore evaluates the network on rows rows of x (rows×Dim) at time tc
// (or tv[r] per row when tv is non-nil), storing σ(a_l) in h[l] and, when dh
// is non-nil, σ'(a_l) in dh[l] for each hidden layer l. The output goes to v
// (rows×Dim) unless v is nil.
func (m *MLP[T]) forwardCore(x []T, tc T, tv []T, rows int, h, dh [][]T, v []T) {
	d := m.Spec.Dim
	act, beta := m.Spec.Act, m.Spec.beta()
	nl := len(m.layers)
	for li := 0; li < nl-1; li++ {
		l := m.layers[li]
		w, b := weights(l, m.params)
		pre := grow(&m.ws.pre, rows*l.out)
		if li == 0 {
			m.fillBias0(pre, rows, tc, tv)
			gemm(false, false, rows, l.out, d, 1, x[:rows*d], d, w[:d*l.out], l.out, 1, pre, l.out)
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
// forwardCore on the same x and t. It adds the parameter gradient to grad
// (skipped when nil) and writes the input gradient to dx (rows×Dim, skipped
// when nil).
func (m *MLP[T]) backwardCore(x []T, tc T, tv []T, rows int, h, dh [][]T, g, grad, dx []T) {
	d := m.Spec.Dim
	mw := m.maxWidth()
	bufs := [2][]T{grow(&m.ws.g1, rows*mw), grow(&m.ws.g2, rows*mw)}
	cur := g[:rows*d]
	for li := len(m.layers) - 1; li >= 0; li-- {
		l := m.layers[li]
		w, _ := weights(l, m.params)
		if grad != nil {
			gw, gb := weights(l, grad)
			if li > 0 {
				gemm(true, false, l.in, l.out, rows, 1, h[li-1][:rows*l.in], l.in, cur, l.out, 1, gw, l.out)
			} else {
				gemm(true, false, d, l.out, rows, 1, x[:rows*d], d, cur, l.out, 1, gw[:d*l.out], l.out)
				if m.Spec.TimeInput {
					gwt := gw[d*l.out : (d+1)*l.out]
					if tv == nil {
						colSumAdd(gwt, cur, rows, l.out, tc)
					} else {
						for r := 0; r < rows; r++ {
							row := cur[r*l.out : r*l.out+l.out]
							tr := tv[r]
							for j, gv := range row {
								gwt[j] += tr * gv
							}
						}
					}
				}
			}
			colSumAdd(gb, cur, rows, l.out, 1)
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
		m.forwardCore(x[lo*d:(lo+rows)*d], t, nil, rows, h, nil, v[lo*d:(lo+rows)*d])
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
		m.forwardCore(xc, t, nil, rows, h, dh, nil)
		var dxc []T
		if dx != nil {
			dxc = dx[lo*d : (lo+rows)*d]
		}
		m.backwardCore(xc, t, nil, rows, h, dh, w[lo*d:(lo+rows)*d], grad, dxc)
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
	fx := grow(&m.ws.fx, n*d)
	copy(fx, x[:n*d])
	var ft []T
	if m.Spec.TimeInput {
		if t == nil {
			panic("nn: Forward: t is nil but Spec.TimeInput is set")
		}
		checkLen("Forward", "t", len(t), n)
		ft = grow(&m.ws.ft, n)
		copy(ft, t[:n])
	}
	for i := range m.ws.fh {
		w := m.layers[i].out
		grow(&m.ws.fh[i], n*w)
		grow(&m.ws.fd[i], n*w)
	}
	m.forwardCore(fx, 0, ft, n, m.ws.fh, m.ws.fd, v)
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
	var ft []T
	if m.Spec.TimeInput {
		ft = m.ws.ft
	}
	m.backwardCore(m.ws.fx, 0, ft, n, m.ws.fh, m.ws.fd, dv, grad, dx)
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
