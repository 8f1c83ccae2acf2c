package nn

import (
	"runtime"
	"sync"
)

// Elementwise kernels of the tangent (exact-trace) and backward passes. Each
// has a Go reference implementation here (the …Go functions, used by the
// pure-Go build and by the tests of the fast build) and a vectorized C
// implementation in tkern_cgo.go (build tag openblas with cgo); tkern_pure.go
// and tkern_cgo.go define tanInitK, scaleRowsK and traceDotK, the
// single-goroutine kernels the dispatchers below split across goroutines.
// All are allocation-free; results agree up to the order of floating-point
// sums (the C reductions are reassociated for vectorization).

// tanInitGo writes the first-layer tangents of the identity directions for
// points lo ≤ i < hi: out[(i·d+j)·w + c] = wx[j·w+c]·s[i·w+c], where wx is
// the d×w block of W_0 that multiplies x and s (rows×w) holds σ′(a_1).
func tanInitGo[T Float](out, wx, s []T, lo, hi, d, w int) {
	for i := lo; i < hi; i++ {
		si := s[i*w : i*w+w]
		for j := 0; j < d; j++ {
			o := out[(i*d+j)*w : (i*d+j)*w+w]
			wj := wx[j*w : j*w+w]
			for c, sv := range si {
				o[c] = wj[c] * sv
			}
		}
	}
}

// scaleRowsGo multiplies each of the k rows (width w) of block i of t
// elementwise by row i of s, for lo ≤ i < hi: t[(i·k+j)·w + c] *= s[i·w+c].
func scaleRowsGo[T Float](t, s []T, lo, hi, k, w int) {
	for i := lo; i < hi; i++ {
		si := s[i*w : i*w+w]
		for j := 0; j < k; j++ {
			row := t[(i*k+j)*w : (i*k+j)*w+w]
			for c, sv := range si {
				row[c] *= sv
			}
		}
	}
}

// traceDotGo forms the exact divergence from the unscaled last-hidden-layer
// tangents for lo ≤ i < hi:
//
//	div[i] = Σ_j Σ_c tan[(i·d+j)·w + c] · s[i·w+c] · wlt[j·w+c],
//
// where wlt (d×w) is W_Lᵀ (row j is column j of the output weight) and s
// holds σ′ of the last hidden layer (nil means all ones).
func traceDotGo[T Float](div, tan, s, wlt []T, lo, hi, d, w int) {
	for i := lo; i < hi; i++ {
		var acc0, acc1 T
		for j := 0; j < d; j++ {
			tr := tan[(i*d+j)*w : (i*d+j)*w+w]
			col := wlt[j*w : j*w+w]
			if s == nil {
				for c, tv := range tr {
					acc0 += tv * col[c]
				}
				continue
			}
			si := s[i*w : i*w+w]
			c := 0
			for ; c+1 < w; c += 2 {
				acc0 += tr[c] * si[c] * col[c]
				acc1 += tr[c+1] * si[c+1] * col[c+1]
			}
			if c < w {
				acc0 += tr[c] * si[c] * col[c]
			}
		}
		div[i] = acc0 + acc1
	}
}

// parts returns the number of goroutines a pass over r points touching
// elems elements is split across: 1 below parMinElems elements, else up to
// GOMAXPROCS.
func parts(r, elems int) int {
	if elems < parMinElems {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), r))
}

// splitPoints runs f(lo, hi) over [0, r) in p contiguous parts, the last on
// the calling goroutine; all parts have finished on return.
func splitPoints(r, p int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	step := (r + p - 1) / p
	lo := 0
	for ; lo+step < r; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, lo+step)
	}
	f(lo, r)
	wg.Wait()
}

// tanInit is tanInitGo's contract over all rows points, through the build's
// kernel, split across goroutines.
func tanInit[T Float](out, wx, s []T, rows, d, w int) {
	if p := parts(rows, rows*d*w); p > 1 {
		splitPoints(rows, p, func(lo, hi int) { tanInitK(out, wx, s, lo, hi, d, w) })
		return
	}
	tanInitK(out, wx, s, 0, rows, d, w)
}

// mulRows multiplies each of the r·k rows of t (width w) elementwise by row
// i of s (r×w), where row i·k + j of t pairs with row i of s. With k = 1 it is
// a plain elementwise product of two r×w matrices.
func mulRows[T Float](t, s []T, r, k, w int) {
	if p := parts(r, r*k*w); p > 1 {
		splitPoints(r, p, func(lo, hi int) { scaleRowsK(t, s, lo, hi, k, w) })
		return
	}
	scaleRowsK(t, s, 0, r, k, w)
}

// traceDot is traceDotGo's contract over all rows points, through the
// build's kernel, split across goroutines.
func traceDot[T Float](div, tan, s, wlt []T, rows, d, w int) {
	if p := parts(rows, rows*d*w); p > 1 {
		splitPoints(rows, p, func(lo, hi int) { traceDotK(div, tan, s, wlt, lo, hi, d, w) })
		return
	}
	traceDotK(div, tan, s, wlt, 0, rows, d, w)
}
