package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/iterflow/iterflow/nn"
)

// cmdTrainStep times one flow-matching training step of the MLP
// [x, t] → hidden → d (softplus): forward, MSE loss, backward, gradient-norm
// clipping and Adam, on a fixed batch; it reports the median over steps.
func cmdTrainStep(args []string) error {
	fs := flag.NewFlagSet("trainstep", flag.ContinueOnError)
	d := fs.Int("d", 2, "dimension")
	batch := fs.Int("batch", 4096, "rows per step")
	hid := fs.String("hidden", "256,256,256", "hidden widths")
	steps := fs.Int("steps", 20, "timed steps (after 3 warm-up steps)")
	prec := fs.String("prec", "f32", "f32 or f64")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hidden, err := parseInts(*hid)
	if err != nil {
		return err
	}
	spec := nn.Spec{Dim: *d, Hidden: hidden, Act: nn.Softplus, Beta: 1, TimeInput: true}
	var times []float64
	switch *prec {
	case "f32":
		times, err = trainSteps[float32](spec, *batch, *steps)
	case "f64":
		times, err = trainSteps[float64](spec, *batch, *steps)
	default:
		return fmt.Errorf("trainstep: -prec %q, want f32 or f64", *prec)
	}
	if err != nil {
		return err
	}
	sort.Float64s(times)
	return printJSON(map[string]any{"d": *d, "batch": *batch, "hidden": hidden, "prec": *prec, "steps": *steps,
		"median_ms": 1e3 * times[len(times)/2], "min_ms": 1e3 * times[0],
		"backend": nn.Backend(), "blas_core": nn.BLASCore(), "blas_threads": nn.BLASThreads()})
}

func trainSteps[T nn.Float](spec nn.Spec, n, steps int) ([]float64, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := nn.NewMLP[T](spec, rng)
	if err != nil {
		return nil, err
	}
	d := spec.Dim
	x := make([]T, n*d)
	tgt := make([]T, n*d)
	tt := make([]T, n)
	for i := range x {
		x[i], tgt[i] = T(rng.NormFloat64()), T(rng.NormFloat64())
	}
	for i := range tt {
		tt[i] = T(rng.Float64())
	}
	v := make([]T, n*d)
	dv := make([]T, n*d)
	grad := make([]T, m.NumParams())
	opt := nn.NewAdam[T](m.NumParams(), 1e-3)
	var times []float64
	for s := 0; s < steps+3; s++ {
		t0 := time.Now()
		clear(grad)
		m.Forward(x, tt, n, v)
		nn.MSELoss(v, tgt, dv, n)
		m.Backward(dv, grad, nil)
		nn.ClipGradNorm(grad, 1)
		opt.Step(m.Params(), grad)
		if s >= 3 {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	return times, nil
}
