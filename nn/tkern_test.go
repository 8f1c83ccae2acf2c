package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTangentKernels holds the build's tangent kernels (C in the openblas
// build), split across goroutines, to the Go reference kernels: products are
// bitwise equal, the trace reductions agree to 1e-13 relative (the C sums
// are reassociated). Sizes cross parMinElems, so the goroutine split runs.
func TestTangentKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ rows, d, w int }{{3, 2, 5}, {37, 11, 64}, {100, 43, 33}} {
		rows, d, w := c.rows, c.d, c.w
		wx := randSlice(rng, d*w, 1)
		s := randSlice(rng, rows*w, 1)
		wlt := randSlice(rng, d*w, 1)

		got, want := make([]float64, rows*d*w), make([]float64, rows*d*w)
		tanInit(got, wx, s, rows, d, w)
		tanInitGo(want, wx, s, 0, rows, d, w)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v: tanInit[%d] = %g, reference %g", c, i, got[i], want[i])
			}
		}
		copy(got, want)
		mulRows(got, s, rows, d, w)
		scaleRowsGo(want, s, 0, rows, d, w)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v: mulRows[%d] = %g, reference %g", c, i, got[i], want[i])
			}
		}
		for _, sv := range [][]float64{s, nil} {
			dg, dw := make([]float64, rows), make([]float64, rows)
			traceDot(dg, want, sv, wlt, rows, d, w)
			traceDotGo(dw, want, sv, wlt, 0, rows, d, w)
			for i := range dw {
				// Scale: the sum of absolute terms bounds the rounding error.
				var scale float64
				for j := 0; j < d; j++ {
					for k := 0; k < w; k++ {
						term := want[(i*d+j)*w+k] * wlt[j*w+k]
						if sv != nil {
							term *= sv[i*w+k]
						}
						scale += math.Abs(term)
					}
				}
				if math.Abs(dg[i]-dw[i]) > 1e-13*scale {
					t.Fatalf("%v (s nil: %v): traceDot[%d] = %.17g, reference %.17g", c, sv == nil, i, dg[i], dw[i])
				}
			}
		}
	}
}

// TestVelocityTraceDeep checks the exact trace of a network with three hidden
// layers (σ′ products in the middle, folded into the output at the end)
// against the trace assembled from d Jacobian-vector products.
func TestVelocityTraceDeep(t *testing.T) {
	for _, a := range []Activation{Softplus, Tanh, SiLU} {
		const d, n, tm = 5, 300, 0.3
		m := newTestMLP(t, Spec{Dim: d, Hidden: []int{9, 8, 7}, Act: a, TimeInput: true}, 5)
		rng := rand.New(rand.NewPCG(5, 6))
		x := randSlice(rng, n*d, 2)
		v, div := make([]float64, n*d), make([]float64, n)
		m.VelocityTrace(tm, x, n, v, div)
		jtr := traceFromJVPs(m, tm, x, n, d)
		for i := range div {
			if !closeTo(div[i], jtr[i], 1e-12) {
				t.Fatalf("%v row %d: trace %.15g, from JVPs %.15g", a, i, div[i], jtr[i])
			}
		}
	}
}
