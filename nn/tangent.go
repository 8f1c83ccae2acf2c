package nn

// VelocityTrace writes v(x_i, t) into row i of v (n×Dim) and the exact
// divergence tr(∂v/∂x)(x_i, t) into div[i] (length n), as needed by the
// instantaneous change of variables d log p/dt = −tr(∂v/∂x) (Chen et al.,
// Neural ODEs, arXiv:1806.07366, Thm. 1).
//
// The trace is computed by forward-mode tangent propagation: for each sample
// the Dim identity tangents e_j are pushed through the hidden layers together
// as a (chunk·Dim)×width matrix (one GEMM per layer and an elementwise σ'
// product; the first-layer tangent of e_j is row j of W_0 times σ'(a_1)), and
// only the diagonal of the output Jacobian is formed. Samples are processed
// in chunks with chunk·Dim ≈ 8192 tangent rows, so the n·Dim tangents are
// never held at once. Cost ≈ Dim forward passes. It satisfies
// flow.TraceField for T = float64.
func (m *MLP[T]) VelocityTrace(t T, x []T, n int, v, div []T) {
	if !checkN("VelocityTrace", n) {
		return
	}
	d := m.Spec.Dim
	checkLen("VelocityTrace", "x", len(x), n*d)
	checkLen("VelocityTrace", "v", len(v), n*d)
	checkLen("VelocityTrace", "div", len(div), n)

	nl := len(m.layers)
	last := m.layers[nl-1]
	wl, _ := weights(last, m.params)
	wlt := grow(&m.ws.wlt, d*last.in) // W_Lᵀ: row j is column j of W_L
	for k := 0; k < last.in; k++ {
		for j := 0; j < d; j++ {
			wlt[j*last.in+k] = wl[k*d+j]
		}
	}
	l0 := m.layers[0]
	w0, _ := weights(l0, m.params)
	wx := w0[:d*l0.out]
	mw := m.maxWidth()

	chunk := max(1, traceTangentRows/d)
	for lo := 0; lo < n; lo += chunk {
		rows := min(chunk, n-lo)
		h, dh := m.evalBufs(rows, true)
		m.forwardCore(x[lo*d:(lo+rows)*d], t, nil, rows, h, dh, v[lo*d:(lo+rows)*d])

		bufs := [2][]T{grow(&m.ws.g1, rows*d*mw), grow(&m.ws.g2, rows*d*mw)}
		// Layer 0: tangent of e_j for sample i is W_x[j,:] ⊙ σ'(a_1[i,:]).
		cur := bufs[0][:rows*d*l0.out]
		for i := 0; i < rows; i++ {
			copy(cur[i*d*l0.out:(i+1)*d*l0.out], wx)
		}
		mulRows(cur, dh[0], rows, d, l0.out)
		for li := 1; li < nl-1; li++ {
			l := m.layers[li]
			w, _ := weights(l, m.params)
			next := bufs[li&1][:rows*d*l.out]
			gemm(false, false, rows*d, l.out, l.in, 1, cur, l.in, w, l.out, 0, next, l.out)
			mulRows(next, dh[li], rows, d, l.out)
			cur = next
		}
		// Output: div_i = Σ_j <tangent (i, j), column j of W_L>.
		wi := last.in
		for i := 0; i < rows; i++ {
			var s T
			for j := 0; j < d; j++ {
				tr := cur[(i*d+j)*wi : (i*d+j)*wi+wi]
				col := wlt[j*wi : j*wi+wi]
				for k, tv := range tr {
					s += tv * col[k]
				}
			}
			div[lo+i] = s
		}
	}
}

// VelocityJVP writes v(x_i, t) into row i of v and the Jacobian-vector
// product (∂v/∂x)(x_i, t)·u_i into row i of jv; x, u, v and jv are n×Dim.
// It runs the forward pass and one tangent pass (forward mode), in chunks of
// at most 2048 rows; cost ≈ 2 forward passes. This is what the Hutchinson
// trace estimator needs (Grathwohl et al., FFJORD, arXiv:1810.01367). It
// satisfies flow.JVPField for T = float64.
func (m *MLP[T]) VelocityJVP(t T, x []T, n int, u, v, jv []T) {
	if !checkN("VelocityJVP", n) {
		return
	}
	d := m.Spec.Dim
	checkLen("VelocityJVP", "x", len(x), n*d)
	checkLen("VelocityJVP", "u", len(u), n*d)
	checkLen("VelocityJVP", "v", len(v), n*d)
	checkLen("VelocityJVP", "jv", len(jv), n*d)
	nl := len(m.layers)
	mw := m.maxWidth()
	for lo := 0; lo < n; lo += evalRows {
		rows := min(evalRows, n-lo)
		h, dh := m.evalBufs(rows, true)
		m.forwardCore(x[lo*d:(lo+rows)*d], t, nil, rows, h, dh, v[lo*d:(lo+rows)*d])
		bufs := [2][]T{grow(&m.ws.g1, rows*mw), grow(&m.ws.g2, rows*mw)}
		l0 := m.layers[0]
		w0, _ := weights(l0, m.params)
		cur := bufs[0][:rows*l0.out]
		gemm(false, false, rows, l0.out, d, 1, u[lo*d:(lo+rows)*d], d, w0[:d*l0.out], l0.out, 0, cur, l0.out)
		mulRows(cur, dh[0], rows, 1, l0.out)
		for li := 1; li < nl-1; li++ {
			l := m.layers[li]
			w, _ := weights(l, m.params)
			next := bufs[li&1][:rows*l.out]
			gemm(false, false, rows, l.out, l.in, 1, cur, l.in, w, l.out, 0, next, l.out)
			mulRows(next, dh[li], rows, 1, l.out)
			cur = next
		}
		last := m.layers[nl-1]
		wl, _ := weights(last, m.params)
		gemm(false, false, rows, d, last.in, 1, cur, last.in, wl, d, 0, jv[lo*d:(lo+rows)*d], d)
	}
}
