package maf

import (
	"testing"
)

// The C++ standard fixes the 10000th output of mt19937 seeded with 5489.
func TestMT19937Reference(t *testing.T) {
	r := NewRandomState(5489)
	var v uint32
	for i := 0; i < 10000; i++ {
		v = r.Uint32()
	}
	if v != 4123659995 {
		t.Fatalf("10000th output = %d, want 4123659995", v)
	}
	if got := NewRandomState(42).Uint32(); got != 1608637542 {
		t.Fatalf("first output for seed 42 = %d, want 1608637542", got)
	}
}

// numpy.random.RandomState(42).rand(3) = [0.3745401188473625, 0.9507143064099162, 0.7319939418114051].
func TestRandomStateRand(t *testing.T) {
	r := NewRandomState(42)
	want := []float64{0.3745401188473625, 0.9507143064099162, 0.7319939418114051}
	for i, w := range want {
		if got := r.Float64(); got != w {
			t.Fatalf("draw %d = %.17g, want %.17g", i, got, w)
		}
	}
}

// numpy.random.RandomState(42).permutation(10) = [8 1 5 0 7 2 9 4 3 6].
func TestRandomStateShuffle(t *testing.T) {
	r := NewRandomState(42)
	x := make([]float64, 10*2)
	for i := 0; i < 10; i++ {
		x[2*i], x[2*i+1] = float64(i), float64(-i)
	}
	r.ShuffleRows(x, 10, 2)
	want := []float64{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}
	for i, w := range want {
		if x[2*i] != w || x[2*i+1] != -w {
			t.Fatalf("row %d = (%v, %v), want (%v, %v); all %v", i, x[2*i], x[2*i+1], w, -w, x)
		}
	}
}

func TestIntervalRange(t *testing.T) {
	r := NewRandomState(1)
	for _, max := range []uint64{0, 1, 2, 5, 1000, 1 << 33} {
		for k := 0; k < 200; k++ {
			if v := r.Interval(max); v > max {
				t.Fatalf("Interval(%d) = %d", max, v)
			}
		}
	}
}
