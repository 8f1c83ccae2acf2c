//go:build !openblas || !cgo

package interp

// This file is the pure-Go row scan of the assignment solver; scan_cgo.go
// is the vectorized C one of the fast build. The contract is scanBelow's.

// appendBelow appends to bk, bj (from index cnt) those of the four values
// x0…x3, at columns j…j+3, that are below thr, and returns the new count.
// The candidate scans call it only for a group with some value below thr,
// so the test of the common case stays in their loops.
func appendBelow(bk []float64, bj []int32, cnt, j int, x0, x1, x2, x3, thr float64) int {
	if x0 < thr {
		bk[cnt], bj[cnt] = x0, int32(j)
		cnt++
	}
	if x1 < thr {
		bk[cnt], bj[cnt] = x1, int32(j+1)
		cnt++
	}
	if x2 < thr {
		bk[cnt], bj[cnt] = x2, int32(j+2)
		cnt++
	}
	if x3 < thr {
		bk[cnt], bj[cnt] = x3, int32(j+3)
		cnt++
	}
	return cnt
}

// scanBelow is the row scan (see scan.go): one pass, unrolled by four.
func scanBelow(row, v []float64, thr float64, bk []float64, bj []int32, nb, k int) (cnt int, _ float64, finite bool) {
	v = v[:len(row)]
	var z0, z1, z2, z3 float64 // Σ x·0: NaN iff some x is NaN or ±Inf
	j := 0
	for ; j+4 <= len(row); j += 4 {
		c := row[j : j+4 : j+4]
		w := v[j : j+4 : j+4]
		x0, x1, x2, x3 := c[0]-w[0], c[1]-w[1], c[2]-w[2], c[3]-w[3]
		z0 += x0 * 0
		z1 += x1 * 0
		z2 += x2 * 0
		z3 += x3 * 0
		if x0 < thr || x1 < thr || x2 < thr || x3 < thr {
			cnt = appendBelow(bk, bj, cnt, j, x0, x1, x2, x3, thr)
			if cnt >= nb {
				thr = selectSmallest(bk[:cnt], bj[:cnt], k)
				cnt = k
			}
		}
	}
	for ; j < len(row); j++ {
		x := row[j] - v[j]
		z0 += x * 0
		if x < thr {
			bk[cnt], bj[cnt] = x, int32(j)
			cnt++
			if cnt >= nb {
				thr = selectSmallest(bk[:cnt], bj[:cnt], k)
				cnt = k
			}
		}
	}
	return cnt, thr, z0+z1+z2+z3 == 0
}
