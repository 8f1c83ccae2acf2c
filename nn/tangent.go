package nn

import (
	"runtime"
	"sync"
)

// VelocityTrace writes v(x_i, t) into row i of v (n×Dim) and the exact
// divergence tr(∂v/∂x)(x_i, t) into div[i] (length n), as needed by the
// instantaneous change of variables d log p/dt = −tr(∂v/∂x) (Chen et al.,
// Neural ODEs, arXiv:1806.07366, Thm. 1).
//
// The trace is computed by forward-mode tangent propagation: for each sample
// the Dim identity tangents e_j are pushed through the hidden layers together
// as a (chunk·Dim)×width matrix, one GEMM per hidden-to-hidden layer (the
// ≈ 2·Dim·width² multiply-adds per sample that dominate the cost). The
// first-layer tangent of e_j is row j of W_0 times σ'(a_1), written in one
// pass; the σ' product of the last hidden layer is folded into the output,
// where only the diagonal of the Jacobian is formed (row j of the tangents
// against column j of W_L). Samples are processed in chunks of about 1024
// tangent rows (cache-sized), so the n·Dim tangents are never held at once.
// With one hidden layer no tangents are needed: div_i = Σ_c σ'(a_1)[i,c]·q_c
// with q_c = Σ_j W_0[j,c]·W_L[c,j]. The matrix products use the BLAS
// threads; with one BLAS thread (SetBLASThreads(1)) the samples are instead
// split across GOMAXPROCS goroutines when each gets at least one chunk. It
// does not allocate after warm-up except for those goroutines. It satisfies
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
	p := traceWorkers(n, d)
	if p == 1 {
		m.traceRange(t, x, n, v, div, wlt, true)
		return
	}
	// One matrix-product thread: split the points across p goroutines, each
	// with its own work buffers (siblings share the parameters), so that each
	// core keeps its chunk's tangents in its own cache.
	for len(m.ws.sib) < p-1 {
		m.ws.sib = append(m.ws.sib, m.sibling())
	}
	var wg sync.WaitGroup
	step := (n + p - 1) / p
	for k := 1; k < p; k++ {
		lo, hi := k*step, min((k+1)*step, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(s *MLP[T]) {
			defer wg.Done()
			s.traceRange(t, x[lo*d:hi*d], hi-lo, v[lo*d:hi*d], div[lo:hi], wlt, false)
		}(m.ws.sib[k-1])
	}
	m.traceRange(t, x[:step*d], step, v[:step*d], div[:step], wlt, false)
	wg.Wait()
}

// traceWorkers is the number of goroutines VelocityTrace splits n points of
// dimension d across: GOMAXPROCS when matrix products run on one thread
// (BLASThreads() == 1, as with SetBLASThreads(1)) and there are at least
// traceTangentRows tangent rows per goroutine, else 1 (the matrix products
// then use the BLAS threads).
func traceWorkers(n, d int) int {
	if BLASThreads() != 1 {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n*d/traceTangentRows, n))
}

// sibling returns an MLP that shares m's parameters but has its own work
// buffers (for a goroutine of VelocityTrace).
func (m *MLP[T]) sibling() *MLP[T] {
	nh := len(m.Spec.Hidden)
	return &MLP[T]{Spec: m.Spec, params: m.params, layers: m.layers, ws: workspace[T]{
		fh: make([][]T, nh), fd: make([][]T, nh), eh: make([][]T, nh), ed: make([][]T, nh)}}
}

// traceRange is VelocityTrace on n points, given W_Lᵀ (wlt,
// Dim×width_last); its elementwise passes are split across goroutines only
// when par is set (otherwise all runs on the calling goroutine).
func (m *MLP[T]) traceRange(t T, x []T, n int, v, div, wlt []T, par bool) {
	d := m.Spec.Dim
	nl := len(m.layers)
	last := m.layers[nl-1]
	l0 := m.layers[0]
	w0, _ := weights(l0, m.params)
	wx := w0[:d*l0.out]
	mw := m.maxWidth()

	chunk := max(1, traceTangentRows/d)
	for lo := 0; lo < n; lo += chunk {
		rows := min(chunk, n-lo)
		h, dh := m.evalBufs(rows, true)
		m.forwardCore(x[lo*d:(lo+rows)*d], t, false, rows, h, dh, v[lo*d:(lo+rows)*d])
		if nl == 2 {
			// One hidden layer: div_i = Σ_c σ'(a_1)[i,c] · q_c with
			// q_c = Σ_j W_x[j,c]·W_L[c,j], no tangents needed.
			w0 := l0.out
			q := grow(&m.ws.bias0, w0)
			clear(q)
			for j := 0; j < d; j++ {
				for c := range q {
					q[c] += wx[j*w0+c] * wlt[j*w0+c]
				}
			}
			for i := 0; i < rows; i++ {
				var s T
				for c, sv := range dh[0][i*w0 : i*w0+w0] {
					s += sv * q[c]
				}
				div[lo+i] = s
			}
			continue
		}
		bufs := [2][]T{grow(&m.ws.g1, rows*d*mw), grow(&m.ws.g2, rows*d*mw)}
		// Layer 0: tangent of e_j for sample i is W_x[j,:] ⊙ σ'(a_1[i,:]).
		cur := bufs[0][:rows*d*l0.out]
		if par {
			tanInit(cur, wx, dh[0], rows, d, l0.out)
		} else {
			tanInitK(cur, wx, dh[0], 0, rows, d, l0.out)
		}
		for li := 1; li < nl-1; li++ {
			l := m.layers[li]
			w, _ := weights(l, m.params)
			next := bufs[li&1][:rows*d*l.out]
			gemm(false, false, rows*d, l.out, l.in, 1, cur, l.in, w, l.out, 0, next, l.out)
			if li < nl-2 && par {
				mulRows(next, dh[li], rows, d, l.out)
			} else if li < nl-2 {
				scaleRowsK(next, dh[li], 0, rows, d, l.out)
			}
			cur = next
		}
		// Output: div_i = Σ_j <tangent (i, j) ⊙ σ'(a_last), column j of W_L>;
		// the σ' product of the last hidden layer is folded in here.
		if par {
			traceDot(div[lo:lo+rows], cur, dh[nl-2], wlt, rows, d, last.in)
		} else {
			traceDotK(div[lo:lo+rows], cur, dh[nl-2], wlt, 0, rows, d, last.in)
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
		m.forwardCore(x[lo*d:(lo+rows)*d], t, false, rows, h, dh, v[lo*d:(lo+rows)*d])
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
