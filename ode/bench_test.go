package ode

import (
	"context"
	"testing"
)

// linear2D is dy/dt = C y on an n×2 batch, C = [[0.3, −0.7], [0.5, 0.1]].
func linear2D(_ float64, y, dy []float64) error {
	for r := 0; r < len(y); r += 2 {
		a, b := y[r], y[r+1]
		dy[r], dy[r+1] = 0.3*a-0.7*b, 0.5*a+0.1*b
	}
	return nil
}

func benchSolve(b *testing.B, opt Options) {
	y0 := make([]float64, 4096*2)
	for i := range y0 {
		y0[i] = float64(i%7) - 3
	}
	y := make([]float64, len(y0))
	var s Solver[float64]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		copy(y, y0)
		if _, err := s.Solve(ctx, linear2D, y, 0, 1, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRK4Batch4096x2Steps10(b *testing.B) { benchSolve(b, Options{Method: RK4, Steps: 10}) }
func BenchmarkDopri5Batch4096x2(b *testing.B) {
	benchSolve(b, Options{Method: Dopri5, RTol: 1e-7, ATol: 1e-7})
}
