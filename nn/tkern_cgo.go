//go:build openblas && cgo

package nn

/*
#cgo CFLAGS: -O3 -march=haswell -ffast-math
#include <stddef.h>

// Vectorized C versions of the kernels of tkern.go (same contracts; see the
// …Go functions there). Built with -ffast-math so that gcc vectorizes the
// reductions of trace_dot (reassociated sums).
#define DEFINE_TKERN(T, SFX, ATTR)                                           \
static ATTR void tan_init_##SFX(T *out, const T *wx, const T *s, ptrdiff_t lo,   \
	ptrdiff_t hi, ptrdiff_t d, ptrdiff_t w) {                                \
	for (ptrdiff_t i = lo; i < hi; i++) {                                    \
		const T *restrict si = s + i * w;                                    \
		for (ptrdiff_t j = 0; j < d; j++) {                                  \
			T *restrict o = out + (i * d + j) * w;                           \
			const T *restrict wj = wx + j * w;                               \
			for (ptrdiff_t c = 0; c < w; c++) o[c] = wj[c] * si[c];          \
		}                                                                    \
	}                                                                        \
}                                                                            \
static ATTR void scale_rows_##SFX(T *t, const T *s, ptrdiff_t lo, ptrdiff_t hi,  \
	ptrdiff_t k, ptrdiff_t w) {                                              \
	for (ptrdiff_t i = lo; i < hi; i++) {                                    \
		const T *restrict si = s + i * w;                                    \
		for (ptrdiff_t j = 0; j < k; j++) {                                  \
			T *restrict row = t + (i * k + j) * w;                           \
			for (ptrdiff_t c = 0; c < w; c++) row[c] *= si[c];               \
		}                                                                    \
	}                                                                        \
}                                                                            \
static ATTR void trace_dot_##SFX(T *div, const T *tan, const T *s, const T *wlt, \
	ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t d, ptrdiff_t w) {                  \
	for (ptrdiff_t i = lo; i < hi; i++) {                                    \
		T acc = 0;                                                           \
		for (ptrdiff_t j = 0; j < d; j++) {                                  \
			const T *restrict tr = tan + (i * d + j) * w;                    \
			const T *restrict col = wlt + j * w;                             \
			if (s == NULL) {                                                 \
				for (ptrdiff_t c = 0; c < w; c++) acc += tr[c] * col[c];     \
			} else {                                                         \
				const T *restrict si = s + i * w;                            \
				for (ptrdiff_t c = 0; c < w; c++)                            \
					acc += tr[c] * si[c] * col[c];                           \
			}                                                                \
		}                                                                    \
		div[i] = acc;                                                        \
	}                                                                        \
}

// As the activation kernels (act_cgo.go), each is built for AVX2 and, with a
// target attribute, for AVX-512; the Go side passes wide to choose.
#define TK_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma,avx2,prefer-vector-width=512")))
DEFINE_TKERN(double, f64n, )
DEFINE_TKERN(float, f32n, )
DEFINE_TKERN(double, f64w, TK_AVX512)
DEFINE_TKERN(float, f32w, TK_AVX512)

#define DISPATCH(NAME, SFX, PARAMS, ARGS)                                    \
static void NAME##_##SFX PARAMS {                                            \
	if (wide) NAME##_##SFX##w ARGS; else NAME##_##SFX##n ARGS;               \
}
#define DISPATCH_ALL(T, SFX)                                                 \
DISPATCH(tan_init, SFX, (int wide, T *out, const T *wx, const T *s,          \
	ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t d, ptrdiff_t w),                   \
	(out, wx, s, lo, hi, d, w))                                              \
DISPATCH(scale_rows, SFX, (int wide, T *t, const T *s, ptrdiff_t lo,         \
	ptrdiff_t hi, ptrdiff_t k, ptrdiff_t w), (t, s, lo, hi, k, w))           \
DISPATCH(trace_dot, SFX, (int wide, T *div, const T *tan, const T *s,        \
	const T *wlt, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t d, ptrdiff_t w),     \
	(div, tan, s, wlt, lo, hi, d, w))
DISPATCH_ALL(double, f64)
DISPATCH_ALL(float, f32)
*/
import "C"

import "unsafe"

// cp64 returns a C pointer to the first element of s, or nil for an empty s.
func cp64(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&s[0]))
}

// cp32 is cp64 for float32.
func cp32(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// Bounds are checked in Go (by slicing the last element touched) before any
// C code runs, so a short slice panics as in the pure-Go build.

func tanInitK[T Float](out, wx, s []T, lo, hi, d, w int) {
	if hi <= lo || d == 0 || w == 0 {
		return
	}
	_, _, _ = out[hi*d*w-1], wx[d*w-1], s[hi*w-1]
	if is32[T]() {
		C.tan_init_f32(wide, cp32(as32(out)), cp32(as32(wx)), cp32(as32(s)), C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(d), C.ptrdiff_t(w))
		return
	}
	C.tan_init_f64(wide, cp64(as64(out)), cp64(as64(wx)), cp64(as64(s)), C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(d), C.ptrdiff_t(w))
}

func scaleRowsK[T Float](t, s []T, lo, hi, k, w int) {
	if hi <= lo || k == 0 || w == 0 {
		return
	}
	_, _ = t[hi*k*w-1], s[hi*w-1]
	if is32[T]() {
		C.scale_rows_f32(wide, cp32(as32(t)), cp32(as32(s)), C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(k), C.ptrdiff_t(w))
		return
	}
	C.scale_rows_f64(wide, cp64(as64(t)), cp64(as64(s)), C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(k), C.ptrdiff_t(w))
}

func traceDotK[T Float](div, tan, s, wlt []T, lo, hi, d, w int) {
	if hi <= lo {
		return
	}
	_ = div[hi-1]
	if d > 0 && w > 0 {
		_, _ = tan[hi*d*w-1], wlt[d*w-1]
		if s != nil {
			_ = s[hi*w-1]
		}
	}
	if is32[T]() {
		C.trace_dot_f32(wide, cp32(as32(div)), cp32(as32(tan)), cp32(as32(s)), cp32(as32(wlt)),
			C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(d), C.ptrdiff_t(w))
		return
	}
	C.trace_dot_f64(wide, cp64(as64(div)), cp64(as64(tan)), cp64(as64(s)), cp64(as64(wlt)),
		C.ptrdiff_t(lo), C.ptrdiff_t(hi), C.ptrdiff_t(d), C.ptrdiff_t(w))
}
