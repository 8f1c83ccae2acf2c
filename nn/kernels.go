package nn

import (
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// parMinElems is the slice length from which elementwise work is split
// across GOMAXPROCS goroutines.
const parMinElems = 16384

// is32 reports whether T is a 32-bit float type.
func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// as32 reinterprets a []T whose element type is 32 bits wide as []float32
// (T's underlying type is then float32). A nil slice stays nil.
func as32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// as64 reinterprets a []T whose element type is 64 bits wide as []float64.
func as64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func transpose(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices through
// the BLAS implementation registered at call time (blas32/blas64.Use).
func gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if is32[T]() {
		blas32.Implementation().Sgemm(transpose(tA), transpose(tB), m, n, k,
			float32(alpha), as32(a), lda, as32(b), ldb, float32(beta), as32(c), ldc)
		return
	}
	blas64.Implementation().Dgemm(transpose(tA), transpose(tB), m, n, k,
		float64(alpha), as64(a), lda, as64(b), ldb, float64(beta), as64(c), ldc)
}

// gemv computes y = alpha·op(A)·x + beta·y for the row-major m×n matrix A
// through the BLAS implementation registered at call time.
func gemv[T Float](tA bool, m, n int, alpha T, a []T, lda int, x []T, incx int, beta T, y []T, incy int) {
	if is32[T]() {
		blas32.Implementation().Sgemv(transpose(tA), m, n, float32(alpha), as32(a), lda, as32(x), incx,
			float32(beta), as32(y), incy)
		return
	}
	blas64.Implementation().Dgemv(transpose(tA), m, n, float64(alpha), as64(a), lda, as64(x), incx,
		float64(beta), as64(y), incy)
}

// actEval dispatches to actEval32 or actEval64 on a single goroutine.
func actEval[T Float](a Activation, beta float64, x, y, d, dd []T) {
	if is32[T]() {
		actEval32(a, float32(beta), as32(x), as32(y), as32(d), as32(dd))
		return
	}
	actEval64(a, beta, as64(x), as64(y), as64(d), as64(dd))
}

// actPar evaluates the activation as actEval does, splitting slices of at
// least parMinElems elements across GOMAXPROCS goroutines, all of which have
// finished when it returns.
func actPar[T Float](a Activation, beta float64, x, y, d, dd []T) {
	p := runtime.GOMAXPROCS(0)
	if len(x) < parMinElems || p < 2 {
		actEval(a, beta, x, y, d, dd)
		return
	}
	actSplit(a, beta, x, y, d, dd, p)
}

func actSplit[T Float](a Activation, beta float64, x, y, d, dd []T, p int) {
	n := len(x)
	if q := n / (parMinElems / 4); q < p {
		p = q
	}
	var wg sync.WaitGroup
	// Parts start at multiples of 64 elements, so that every element goes
	// through the same vector or tail code path (and the same alignment) as
	// in a serial call: the results are bitwise those of actEval.
	step := ((n+p-1)/p + 63) &^ 63
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		var ds, dds []T
		if d != nil {
			ds = d[lo:hi]
		}
		if dd != nil {
			dds = dd[lo:hi]
		}
		wg.Add(1)
		go func(x, y, d, dd []T) {
			defer wg.Done()
			actEval(a, beta, x, y, d, dd)
		}(x[lo:hi], y[lo:hi], ds, dds)
	}
	wg.Wait()
}

// grow returns (*buf)[:n], reallocating *buf only when its capacity is short.
func grow[T Float](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}
