package flow

import (
	"math/rand/v2"
	"testing"

	"github.com/iterflow/iterflow/ode"
)

func benchLogProb(b *testing.B, opt Options) {
	const n, d = 4096, 2
	ch := &Chain{Blocks: []Block{{Field: linearField{d, []float64{0.3, -0.7, 0.5, 0.1}}}, {Field: linearField{d, []float64{0.1, 0.2, -0.3, 0.2}}, Reverse: true}}}
	x := randRows(rand.New(rand.NewPCG(1, 1)), n, d, 1)
	opt.Solver = ode.Options{Method: ode.RK4, Steps: 10}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ch.LogProb(ctx, x, n, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogProbExact4096x2(b *testing.B) { benchLogProb(b, Options{}) }
func BenchmarkLogProbHutchinson4096x2(b *testing.B) {
	benchLogProb(b, Options{Trace: Hutchinson, Probe: Rademacher, Rand: rand.New(rand.NewPCG(1, 2))})
}
func BenchmarkLogProbFDHutchinson4096x2(b *testing.B) {
	benchLogProb(b, Options{Trace: FDHutchinson, Rand: rand.New(rand.NewPCG(1, 2))})
}
