//go:build openblas && cgo

package nn

/*
#cgo CFLAGS: -O3 -march=haswell -ffast-math
#cgo LDFLAGS: -lmvec -lm
#include <math.h>
#include <stddef.h>

// Elementwise activation kernels; the contract is in act_kernels.go.
//
// The loops are branch-free (selects only) so that gcc if-converts and
// vectorizes them with AVX2, calling glibc's libmvec vector math
// (_ZGVdN4v_exp, _ZGVdN8v_expf, _ZGVdN4v_log1p, ...). -ffast-math assumes
// finite math, so every exponential is taken of a non-positive argument
// (exp(-|z|) lies in [0, 1]): no overflow, Inf or NaN for any finite input.
//
// A body reads xi and defines Y, D and DD; what a loop does not store is dead
// code. ACT_LOOPS expands one loop per combination of d and dd being NULL,
// plus an in-place loop for y == x, so that restrict holds in every loop.
#define ACT_LOOPS(T, BODY)                                                   \
	if (d != NULL && dd != NULL) {                                           \
		const T *restrict xr = x; T *restrict yr = y;                        \
		T *restrict dr = d; T *restrict ddr = dd;                            \
		for (ptrdiff_t i = 0; i < n; i++) {                                  \
			T xi = xr[i]; BODY; yr[i] = Y; dr[i] = D; ddr[i] = DD;           \
		}                                                                    \
	} else if (d != NULL) {                                                  \
		const T *restrict xr = x; T *restrict yr = y; T *restrict dr = d;    \
		for (ptrdiff_t i = 0; i < n; i++) {                                  \
			T xi = xr[i]; BODY; yr[i] = Y; dr[i] = D; (void)DD;              \
		}                                                                    \
	} else if (dd != NULL) {                                                 \
		const T *restrict xr = x; T *restrict yr = y; T *restrict ddr = dd;  \
		for (ptrdiff_t i = 0; i < n; i++) {                                  \
			T xi = xr[i]; BODY; yr[i] = Y; ddr[i] = DD; (void)D;             \
		}                                                                    \
	} else if (x == y) {                                                     \
		T *restrict yr = y;                                                  \
		for (ptrdiff_t i = 0; i < n; i++) {                                  \
			T xi = yr[i]; BODY; yr[i] = Y; (void)D; (void)DD;                \
		}                                                                    \
	} else {                                                                 \
		const T *restrict xr = x; T *restrict yr = y;                        \
		for (ptrdiff_t i = 0; i < n; i++) {                                  \
			T xi = xr[i]; BODY; yr[i] = Y; (void)D; (void)DD;                \
		}                                                                    \
	}

// Softplus: log(1 + exp(βx))/β = max(x, 0) + log1p(e)/β with e = exp(-|βx|),
// which is exactly x once e/β is below half an ulp of x;
// σ' = sigmoid(βx) = 1/(1+e) (βx ≥ 0) or e/(1+e); σ'' = β·e/(1+e)².
#define SOFTPLUS_BODY(T, EXP, LOG1P, ABS)                                    \
	T z = beta * xi; T e = EXP(-ABS(z)); T r = (T)1 / ((T)1 + e);           \
	T Y = (xi > 0 ? xi : (T)0) + LOG1P(e) * ib;                              \
	T D = z >= 0 ? r : e * r;                                                \
	T DD = beta * e * r * r

// Tanh: σ' = 1 − tanh² formed as 4e/(1+e)² with e = exp(-2|x|), without
// cancellation in the tails; σ'' = −2·tanh·σ'.
#define TANH_BODY(T, EXP, TANH, ABS)                                         \
	T Y = TANH(xi); T e = EXP((T)-2 * ABS(xi)); T q = (T)1 / ((T)1 + e);    \
	T D = (T)4 * e * q * q;                                                  \
	T DD = (T)-2 * Y * D

// ELU (α = 1): x for x > 0, exp(x) − 1 otherwise; at x = 0 the second branch
// holds (σ' = σ'' = 1), following "x > 0" in the definition.
#define ELU_BODY(T, EXP, EXPM1)                                              \
	T m = xi > 0 ? (T)0 : xi; T e = EXP(m);                                  \
	T Y = xi > 0 ? xi : EXPM1(m);                                            \
	T D = xi > 0 ? (T)1 : e;                                                 \
	T DD = xi > 0 ? (T)0 : e

// SiLU: x·s with s = sigmoid(x); with e = exp(-|x|), s and c = 1 − s are
// 1/(1+e) and e/(1+e) in the order fixed by the sign of x (no cancellation).
// σ' = s·(1 + x·c); σ'' = s·c·(2 + x·(c − s)).
#define SILU_BODY(T, EXP, ABS)                                               \
	T e = EXP(-ABS(xi)); T r = (T)1 / ((T)1 + e);                           \
	T s = xi >= 0 ? r : e * r; T c = xi >= 0 ? e * r : r;                   \
	T Y = xi * s;                                                            \
	T D = s * ((T)1 + xi * c);                                               \
	T DD = s * c * ((T)2 + xi * (c - s))

// ReLU: max(x, 0); σ' = 1 for x > 0, else 0; σ'' = 0.
#define RELU_BODY(T)                                                         \
	T Y = xi > 0 ? xi : (T)0;                                                \
	T D = xi > 0 ? (T)1 : (T)0;                                              \
	T DD = (T)0

#define DEFINE_ACT(T, SFX, EXP, EXPM1, LOG1P, TANH, ABS, ATTR)               \
static ATTR void softplus_##SFX(T beta, const T *x, T *y, T *d, T *dd,           \
	ptrdiff_t n) {                                                           \
	T ib = (T)1 / beta;                                                      \
	ACT_LOOPS(T, SOFTPLUS_BODY(T, EXP, LOG1P, ABS))                          \
}                                                                            \
static ATTR void tanh_##SFX(const T *x, T *y, T *d, T *dd, ptrdiff_t n) {       \
	ACT_LOOPS(T, TANH_BODY(T, EXP, TANH, ABS))                               \
}                                                                            \
static ATTR void elu_##SFX(const T *x, T *y, T *d, T *dd, ptrdiff_t n) {        \
	ACT_LOOPS(T, ELU_BODY(T, EXP, EXPM1))                                    \
}                                                                            \
static ATTR void silu_##SFX(const T *x, T *y, T *d, T *dd, ptrdiff_t n) {       \
	ACT_LOOPS(T, SILU_BODY(T, EXP, ABS))                                     \
}                                                                            \
static ATTR void relu_##SFX(const T *x, T *y, T *d, T *dd, ptrdiff_t n) {       \
	ACT_LOOPS(T, RELU_BODY(T))                                               \
}                                                                            \
static ATTR int iterflow_act_##SFX(int a, T beta, const T *x, T *y, T *d, T *dd, \
	ptrdiff_t n) {                                                           \
	switch (a) {                                                             \
	case 0: softplus_##SFX(beta, x, y, d, dd, n); return 0;                  \
	case 1: tanh_##SFX(x, y, d, dd, n); return 0;                            \
	case 2: elu_##SFX(x, y, d, dd, n); return 0;                             \
	case 3: silu_##SFX(x, y, d, dd, n); return 0;                            \
	case 4: relu_##SFX(x, y, d, dd, n); return 0;                            \
	}                                                                        \
	return -1;                                                               \
}

// Each kernel is built twice: for AVX2 (the -march=haswell default) and, with
// a target attribute, for AVX-512, where gcc calls libmvec's 8- and 16-lane
// variants (_ZGVeN8v_exp, ...): about 2.3× faster for softplus on CPUs that
// have it. The Go side picks one per call from the CPU's features.
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma,avx2,prefer-vector-width=512")))
DEFINE_ACT(double, f64, exp, expm1, log1p, tanh, fabs, )
DEFINE_ACT(float, f32, expf, expm1f, log1pf, tanhf, fabsf, )
DEFINE_ACT(double, f64w, exp, expm1, log1p, tanh, fabs, AVX512)
DEFINE_ACT(float, f32w, expf, expm1f, log1pf, tanhf, fabsf, AVX512)

static int iterflow_act64(int wide, int a, double beta, const double *x, double *y, double *d, double *dd,
	ptrdiff_t n) {
	return wide ? iterflow_act_f64w(a, beta, x, y, d, dd, n) : iterflow_act_f64(a, beta, x, y, d, dd, n);
}
static int iterflow_act32(int wide, int a, float beta, const float *x, float *y, float *d, float *dd,
	ptrdiff_t n) {
	return wide ? iterflow_act_f32w(a, beta, x, y, d, dd, n) : iterflow_act_f32(a, beta, x, y, d, dd, n);
}
*/
import "C"

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX512 selects the AVX-512 builds of the activation kernels; it is set
// once from the CPU's features (x/sys/cpu also checks that the OS saves the
// AVX-512 registers) and never changes.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW

// wide is hasAVX512 as the C kernels' flag.
var wide = func() C.int {
	if hasAVX512 {
		return 1
	}
	return 0
}()

// The C switch numbers the activations; keep it in step with activation.go.
var (
	_ = [1]struct{}{}[Softplus-0]
	_ = [1]struct{}{}[Tanh-1]
	_ = [1]struct{}{}[ELU-2]
	_ = [1]struct{}{}[SiLU-3]
	_ = [1]struct{}{}[ReLU-4]
)

// actEval64 is the float64 activation kernel of the fast build: one cgo call
// per slice into a vectorized C loop. See act_kernels.go for the contract;
// as in the pure build, beta = 0 means 1. Short y, d or dd slices panic in Go
// before any C code runs, as does an unknown activation.
func actEval64(a Activation, beta float64, x, y, d, dd []float64) {
	n := len(x)
	if n == 0 {
		return
	}
	if beta == 0 {
		beta = 1
	}
	_ = y[n-1]
	var dp, ddp *C.double
	if d != nil {
		_ = d[n-1]
		dp = (*C.double)(unsafe.Pointer(&d[0]))
	}
	if dd != nil {
		_ = dd[n-1]
		ddp = (*C.double)(unsafe.Pointer(&dd[0]))
	}
	if C.iterflow_act64(wide, C.int(a), C.double(beta), (*C.double)(unsafe.Pointer(&x[0])),
		(*C.double)(unsafe.Pointer(&y[0])), dp, ddp, C.ptrdiff_t(n)) != 0 {
		panic("nn: actEval64: unknown activation " + a.String())
	}
}

// actEval32 is the float32 activation kernel of the fast build; see actEval64.
func actEval32(a Activation, beta float32, x, y, d, dd []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	if beta == 0 {
		beta = 1
	}
	_ = y[n-1]
	var dp, ddp *C.float
	if d != nil {
		_ = d[n-1]
		dp = (*C.float)(unsafe.Pointer(&d[0]))
	}
	if dd != nil {
		_ = dd[n-1]
		ddp = (*C.float)(unsafe.Pointer(&dd[0]))
	}
	if C.iterflow_act32(wide, C.int(a), C.float(beta), (*C.float)(unsafe.Pointer(&x[0])),
		(*C.float)(unsafe.Pointer(&y[0])), dp, ddp, C.ptrdiff_t(n)) != 0 {
		panic("nn: actEval32: unknown activation " + a.String())
	}
}
