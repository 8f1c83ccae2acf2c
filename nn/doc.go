// Package nn holds the velocity-field networks of iterflow: an MLP with a time
// input, its forward pass, reverse-mode gradients (with respect to inputs and
// parameters), forward-mode Jacobian-vector products and the exact Jacobian
// trace, together with the Adam optimizer, learning-rate schedules, gradient
// clipping and an exponential moving average of the weights.
//
// Data are row-major n×d slices (one sample per row). Networks are generic over
// float32 (training, by default) and float64 (likelihoods).
//
// An MLP reuses work buffers between calls and is therefore not safe for
// concurrent use; give each goroutine its own Clone. Large batches are
// processed in chunks (at most 2048 rows for Velocity, VelocityJVP and VJP;
// about 8192 tangent rows for the exact trace), so evaluation memory does not
// grow with n. Shape mismatches in batch slices are programming errors and
// panic with a message naming the method and the slice; invalid
// architectures are reported as errors by Spec.Validate and NewMLP.
//
// The default build is pure Go (gonum's BLAS). Building with the tag
// "openblas" (and cgo) routes matrix products to OpenBLAS through gonum's
// netlib package and evaluates activations with a small vectorized C kernel.
// Adding the tag "mkl" (tags "openblas mkl", `make build-mkl`) keeps those
// kernels and links Intel oneMKL instead of OpenBLAS for the matrix
// products; on the AVX-512 development machine its float64 GEMM of a
// 4096×256 by 256×256 product runs at about 150 GFLOP/s against OpenBLAS
// 0.3.21's 90 (benchmarks/README.md).
package nn

// Float is the set of floating-point element types a network can use.
type Float interface{ ~float32 | ~float64 }
