package interp

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectSmallest checks the quickselect against sorting, on random keys
// and on keys with heavy ties, for buffer lengths on both sides of
// selectBuf (the branch-free partition and the in-place Hoare fallback):
// the returned value is the k-th smallest key, key[:k] holds the k smallest
// (as a multiset), and idx moved with its keys.
func TestSelectSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 1))
	for it := 0; it < 3000; it++ {
		m := 1 + rng.IntN(2*selectBuf)
		if it%2 == 0 {
			m = 1 + rng.IntN(120) // the common sizes: 2k–4k+8 at k = 24
		}
		k := 1 + rng.IntN(m)
		key := make([]float64, m)
		idx := make([]int32, m)
		for q := range key {
			switch it % 3 {
			case 0:
				key[q] = float64(rng.IntN(4)) // heavy ties
			case 1:
				key[q] = rng.NormFloat64()
			default:
				key[q] = -float64(q) // descending
			}
			idx[q] = int32(q)
		}
		orig := slices.Clone(key)
		sorted := slices.Clone(key)
		slices.Sort(sorted)
		got := selectSmallest(key, idx, k)
		if got != sorted[k-1] {
			t.Fatalf("m=%d k=%d: selectSmallest = %v, want the k-th smallest %v", m, k, got, sorted[k-1])
		}
		low := slices.Clone(key[:k])
		slices.Sort(low)
		if !slices.Equal(low, sorted[:k]) {
			t.Fatalf("m=%d k=%d: key[:k] = %v, want the k smallest %v", m, k, low, sorted[:k])
		}
		seen := make([]bool, m)
		for q, x := range key {
			if seen[idx[q]] || orig[idx[q]] != x {
				t.Fatalf("m=%d k=%d: idx[%d] = %d does not follow its key %v", m, k, q, idx[q], x)
			}
			seen[idx[q]] = true
		}
	}
}

// TestLeastTwo checks the bid scan against a direct two-pass computation:
// the least reduced cost c − v[j], its first position, and the least of the
// others (equal to the least on a tie), for list lengths 1–40 (every
// remainder of the four-way unroll) and tied values.
func TestLeastTwo(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 2))
	const n = 64
	v := make([]float64, n)
	for it := 0; it < 5000; it++ {
		for j := range v {
			v[j] = float64(rng.IntN(3))
			if it%2 == 0 {
				v[j] = rng.NormFloat64()
			}
		}
		m := 1 + it%40
		js := make([]int32, m)
		cs := make([]float64, m)
		for e := range js {
			js[e] = int32(rng.IntN(n))
			cs[e] = float64(rng.IntN(4))
			if it%2 == 0 {
				cs[e] = rng.NormFloat64()
			}
		}
		want1, wantE := math.Inf(1), -1
		for e, j := range js {
			if r := cs[e] - v[j]; r < want1 {
				want1, wantE = r, e
			}
		}
		want2 := math.Inf(1)
		for e, j := range js {
			if e != wantE {
				want2 = min(want2, cs[e]-v[j])
			}
		}
		r1, r2, e1 := leastTwo(js, cs, v)
		if r1 != want1 || r2 != want2 || e1 != wantE {
			t.Fatalf("len %d: leastTwo = (%v, %v, %d), want (%v, %v, %d)", m, r1, r2, e1, want1, want2, wantE)
		}
	}
}
