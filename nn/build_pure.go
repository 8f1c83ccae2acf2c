//go:build !openblas || !cgo

package nn

import "runtime"

// Backend names the numerical backend this binary was built with: "pure-go"
// (gonum's Go BLAS and Go math activations) or "openblas" (build tag
// openblas with cgo enabled: OpenBLAS matrix products and vectorized C
// activations). Benchmarks and run reports record it.
func Backend() string { return "pure-go" }

// SetBLASThreads sets the number of OpenBLAS threads in the openblas build;
// in this pure-Go build it does nothing (gonum's Go BLAS parallelizes over
// GOMAXPROCS goroutines).
func SetBLASThreads(n int) {}

// BLASThreads reports the number of threads a matrix product may use:
// GOMAXPROCS in this pure-Go build, the OpenBLAS thread count in the openblas
// build.
func BLASThreads() int { return runtime.GOMAXPROCS(0) }

// BLASCore names the CPU kernel set OpenBLAS chose at load time in the
// openblas build (e.g. "Haswell"); in this pure-Go build it returns "".
func BLASCore() string { return "" }
