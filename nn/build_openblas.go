//go:build openblas && cgo && !mkl

package nn

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
*/
import "C"

// Backend names the numerical backend this binary was built with: "openblas"
// (build tag openblas, cgo enabled: OpenBLAS matrix products and vectorized C
// activations) or "pure-go" (gonum's Go BLAS and Go math activations).
// Benchmarks and run reports record it.
func Backend() string { return "openblas" }

// SetBLASThreads sets the number of threads OpenBLAS uses for each matrix
// product (openblas_set_num_threads); values below 1 are taken as 1. It
// affects the whole process. On two cores, one OpenBLAS thread per goroutine
// is often fastest, since OpenBLAS threads and goroutines compete for the
// cores (see shared/reference/go-stack.md). In the pure-Go build it does
// nothing. The initial count comes from OPENBLAS_NUM_THREADS (or the number
// of cores).
func SetBLASThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}

// BLASThreads reports the number of threads a matrix product may use: the
// OpenBLAS thread count (openblas_get_num_threads) in this build, GOMAXPROCS
// in the pure-Go build.
func BLASThreads() int { return int(C.openblas_get_num_threads()) }

// BLASCore names the CPU kernel set OpenBLAS chose at load time
// (openblas_get_corename, e.g. "Haswell", "SkylakeX", "Zen"); "" in the
// pure-Go build. OpenBLAS 0.3.21 (Debian 12) does not recognise some newer or
// virtualised CPUs and then falls back to "Prescott" (SSE3 only), which runs
// matrix products 3–5× slower; set OPENBLAS_CORETYPE (Haswell on any AVX2
// CPU, SkylakeX or Cooperlake with AVX-512) before the program starts, since
// OpenBLAS reads it only when the library is loaded. Run reports should record
// it.
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }
