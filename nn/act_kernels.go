package nn

// Elementwise activation kernels. Two implementations exist:
//   act_pure.go (build tag !openblas || !cgo): Go, using package math;
//   act_cgo.go  (build tag openblas && cgo):   a vectorized C kernel.
// Both define, with identical semantics:
//
//	func actEval32(a Activation, beta float32, x, y, d, dd []float32)
//	func actEval64(a Activation, beta float64, x, y, d, dd []float64)
//
// For every i < len(x): y[i] = σ(x[i]); if d != nil, d[i] = σ'(x[i]);
// if dd != nil, dd[i] = σ''(x[i]). y, d and dd have len(x) when non-nil; y may
// alias x only when d and dd are nil. The kernels are single-threaded and
// allocation-free; callers split long slices across goroutines.
