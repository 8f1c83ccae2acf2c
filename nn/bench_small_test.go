package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkExactTraceSmall times VelocityTrace in float64 on the shape of the
// likelihood-speed benchmark (ifbench lbench): 100 points, MLP [x (d), t] →
// 256 → 256 → 256 → d (softplus), for d = 2, 11, 43 and 64. It reports ms
// per evaluation (one NFE of the exact-trace LogProb).
func BenchmarkExactTraceSmall(b *testing.B) {
	for _, d := range []int{2, 11, 43, 64} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			spec := Spec{Dim: d, Hidden: []int{256, 256, 256}, Act: Softplus, Beta: 1, TimeInput: true}
			rng := rand.New(rand.NewPCG(3, 4))
			m, err := NewMLP[float64](spec, rng)
			if err != nil {
				b.Fatal(err)
			}
			const n = 100
			x := benchNormals[float64](rng, n*d)
			v, div := make([]float64, n*d), make([]float64, n)
			b.ReportAllocs()
			for b.Loop() {
				m.VelocityTrace(0.5, x, n, v, div)
			}
			benchReport(b)
		})
	}
}
