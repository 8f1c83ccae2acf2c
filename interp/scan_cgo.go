//go:build openblas && cgo

package interp

/*
#cgo CFLAGS: -O3 -march=haswell
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { ptrdiff_t j, cnt; double z; } scan_res;

// scan_below: the C loop of scanBelow (contract in scan.go). From column j
// on, appends every x = row[c] - v[c] < thr to bk, bj at index cnt, eight
// columns per iteration (AVX2: two compares, one movemask); it returns the
// column where it stopped (n, or the end of the first group after which
// the count has reached nb: the caller cuts the buffer and calls again),
// the new count, and z, the sum of x*0 over the columns read: NaN iff some
// x is NaN or ±Inf. No fast-math: x*0 must not fold. (A struct result, not
// pointers to the caller's locals, which cgo would move to the heap.)
static scan_res scan_below(const double *row, const double *v, ptrdiff_t j, ptrdiff_t n,
		double thr, double *bk, int32_t *bj, ptrdiff_t cnt, ptrdiff_t nb) {
	ptrdiff_t c = cnt;
	const __m256d t = _mm256_set1_pd(thr);
	const __m256d zero = _mm256_setzero_pd();
	__m256d za = zero, zb = zero;
	double xs[8];
	int stop = 0;
	for (; j + 8 <= n; j += 8) {
		__m256d x0 = _mm256_sub_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(v + j));
		__m256d x1 = _mm256_sub_pd(_mm256_loadu_pd(row + j + 4), _mm256_loadu_pd(v + j + 4));
		za = _mm256_add_pd(za, _mm256_mul_pd(x0, zero));
		zb = _mm256_add_pd(zb, _mm256_mul_pd(x1, zero));
		int m = _mm256_movemask_pd(_mm256_cmp_pd(x0, t, _CMP_LT_OQ)) |
			(_mm256_movemask_pd(_mm256_cmp_pd(x1, t, _CMP_LT_OQ)) << 4);
		if (m) {
			_mm256_storeu_pd(xs, x0);
			_mm256_storeu_pd(xs + 4, x1);
			while (m) {
				int b = __builtin_ctz(m);
				m &= m - 1;
				bk[c] = xs[b];
				bj[c] = (int32_t)(j + b);
				c++;
			}
			if (c >= nb) {
				j += 8;
				stop = 1;
				break;
			}
		}
	}
	double s = 0;
	if (!stop) {
		for (; j < n; j++) {
			double x = row[j] - v[j];
			s += x * 0;
			if (x < thr) {
				bk[c] = x;
				bj[c] = (int32_t)j;
				c++;
				if (c >= nb) {
					j++;
					break;
				}
			}
		}
	}
	za = _mm256_add_pd(za, zb);
	_mm256_storeu_pd(xs, za);
	scan_res r = {j, c, ((xs[0] + xs[1]) + (xs[2] + xs[3])) + s};
	return r;
}
*/
import "C"

// scanBelow is the row scan (see scan.go): the C loop, eight columns per
// iteration, called again after each cut of the buffer.
func scanBelow(row, v []float64, thr float64, bk []float64, bj []int32, nb, k int) (cnt int, _ float64, finite bool) {
	n := len(row)
	if n == 0 {
		return 0, thr, true
	}
	v = v[:n]
	_ = bk[nb+scanSlack-1]
	_ = bj[nb+scanSlack-1]
	z := 0.0
	for j := 0; j < n; {
		r := C.scan_below((*C.double)(&row[0]), (*C.double)(&v[0]), C.ptrdiff_t(j), C.ptrdiff_t(n),
			C.double(thr), (*C.double)(&bk[0]), (*C.int32_t)(&bj[0]), C.ptrdiff_t(cnt), C.ptrdiff_t(nb))
		j, cnt = int(r.j), int(r.cnt)
		z += float64(r.z)
		if cnt >= nb {
			thr = selectSmallest(bk[:cnt], bj[:cnt], k)
			cnt = k
		}
	}
	return cnt, thr, z == 0
}
