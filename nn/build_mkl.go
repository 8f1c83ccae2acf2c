//go:build openblas && cgo && mkl

package nn

/*
#cgo LDFLAGS: -lmkl_intel_lp64 -lmkl_gnu_thread -lmkl_core -lgomp -lpthread -lm -ldl
void MKL_Set_Num_Threads(int);
int MKL_Get_Max_Threads(void);
*/
import "C"

// Backend names the numerical backend this binary was built with: "mkl"
// (build tags openblas and mkl, cgo enabled: Intel oneMKL's matrix products
// with GNU OpenMP threading, and the vectorized C activations and tangent
// kernels of the fast build). Benchmarks and run reports record it.
func Backend() string { return "mkl" }

// SetBLASThreads sets the number of OpenMP threads MKL uses for each matrix
// product (MKL_Set_Num_Threads); values below 1 are taken as 1. It affects
// the whole process. The initial count comes from MKL_NUM_THREADS or
// OMP_NUM_THREADS (or the number of cores).
func SetBLASThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.MKL_Set_Num_Threads(C.int(n))
}

// BLASThreads reports the number of threads an MKL matrix product may use
// (MKL_Get_Max_Threads).
func BLASThreads() int { return int(C.MKL_Get_Max_Threads()) }

// BLASCore names the kernel set of the BLAS library; MKL chooses its code
// path at run time and does not name it, so this build returns "mkl".
func BLASCore() string { return "mkl" }
