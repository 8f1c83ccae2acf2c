package ode_test

import (
	"context"
	"fmt"
	"math"

	"github.com/iterflow/iterflow/ode"
)

// Solve dy/dt = −y from y(0) = 1 to t = 1 with rk4 and with dopri5.
func ExampleSolve() {
	f := func(_ float64, y, dy []float64) error {
		for i := range y {
			dy[i] = -y[i]
		}
		return nil
	}
	for _, opt := range []ode.Options{
		{Method: ode.RK4, Steps: 10},
		{Method: ode.Dopri5, RTol: 1e-9, ATol: 1e-9},
	} {
		y := []float64{1}
		st, err := ode.Solve(context.Background(), f, y, 0, 1, opt)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v: |y(1) − e⁻¹| < 1e-6: %v (steps %d)\n", opt.Method, math.Abs(y[0]-math.Exp(-1)) < 1e-6, st.Steps)
	}
	// Output:
	// rk4: |y(1) − e⁻¹| < 1e-6: true (steps 10)
	// dopri5: |y(1) − e⁻¹| < 1e-6: true (steps 16)
}
