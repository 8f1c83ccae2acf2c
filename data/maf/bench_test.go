package maf

import "testing"

func BenchmarkPreprocessPower(b *testing.B) {
	const n = 100000
	raw := make([]float64, n*powerCols)
	g := lcg(1)
	for i := range raw {
		raw[i] = g.next()
	}
	b.SetBytes(int64(8 * len(raw)))
	for b.Loop() {
		preprocessPower(raw, n, NewRandomState(42))
	}
}

func BenchmarkCorrCounts(b *testing.B) {
	const n, d = 100000, 16
	x := make([]float64, n*d)
	g := lcg(2)
	for i := range x {
		x[i] = g.next()
	}
	for b.Loop() {
		corrCounts(x, n, d, gasCorrThreshold)
	}
}
