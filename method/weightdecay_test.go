package method

import (
	"context"
	"math"
	"testing"

	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// With a zero gradient Adam's moments stay zero, so a step of the block
// optimizer only applies the decoupled weight decay: every parameter is
// multiplied by exactly 1 − lr_s·λ, with lr_s the StepLR rate of step s
// (AdamW, arXiv:1711.05101; nn.Adam does the product in float64).
func TestBlockOptimWeightDecayZeroGradient(t *testing.T) {
	o := Optim{Iters: 3, BatchSize: 1, LR: 0.1, LRDecay: 0.5, LRDecayEvery: 1, Clip: 1, WeightDecay: 0.5}
	params := []float32{1, -2, 3, 0.25}
	want := append([]float32(nil), params...)
	op := o.newBlockOptim(params)
	for step, lr := range []float64{0.1, 0.05, 0.025} {
		clear(op.grad)
		op.step(step)
		f := 1 - lr*o.WeightDecay
		for i := range want {
			want[i] = float32(float64(want[i]) * f)
		}
		for i := range params {
			if params[i] != want[i] {
				t.Fatalf("step %d: param %d = %v, want %v (factor 1 − %g·%g = %g per step)", step, i, params[i], want[i], lr, o.WeightDecay, f)
			}
		}
	}
	// λ = 0 leaves the parameters exactly where a zero gradient puts them.
	o.WeightDecay = 0
	p0 := []float32{1, -2, 3, 0.25}
	op = o.newBlockOptim(p0)
	op.step(0)
	for i, v := range []float32{1, -2, 3, 0.25} {
		if p0[i] != v {
			t.Errorf("λ = 0: param %d = %v, want unchanged %v", i, p0[i], v)
		}
	}
}

// weightNorm returns the L2 norm of p in float64.
func weightNorm(p []float32) float64 {
	var s float64
	for _, v := range p {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// Every trainer passes Optim.WeightDecay to its Adam: a short run with λ > 0
// ends with a smaller weight norm than the same run with λ = 0, and λ = 0
// gives bitwise the weights of a run that leaves the field at its default.
func TestTrainersApplyWeightDecay(t *testing.T) {
	const n, nv, d = 200, 50, 2
	x := make([]float64, n*d)
	for i := range x {
		x[i] = float64(i%17)/8 - 1
	}
	val := x[:nv*d]
	net := nn.Spec{Hidden: []int{16}, Act: nn.Tanh, Beta: 1, TimeInput: true}
	optim := func(wd float64) Optim {
		return Optim{Iters: 40, BatchSize: 32, LR: 1e-2, WeightDecay: wd, Seed: 3}
	}
	ctx := context.Background()
	trainers := []struct {
		name  string
		train func(o Optim) ([]float32, error)
	}{
		{"lfm", func(o Optim) ([]float32, error) {
			r, err := TrainLFM(ctx, x, n, val, nv, d, LFMConfig{Optim: o, Gammas: []float64{0.1}, Net: net, Push: ode.Options{Method: ode.Euler, Steps: 1}}, nil)
			if err != nil {
				return nil, err
			}
			return r.Nets[0].Params(), nil
		}},
		{"fm", func(o Optim) ([]float32, error) {
			r, err := TrainFM(ctx, x, n, val, nv, d, FMConfig{Optim: o, Net: net}, nil)
			if err != nil {
				return nil, err
			}
			return r.Net.Params(), nil
		}},
		{"mle", func(o Optim) ([]float32, error) {
			r, err := TrainMLE(ctx, x, n, val, nv, d, MLEConfig{Optim: o, Blocks: 1, Net: net, RK4Steps: 1}, nil)
			if err != nil {
				return nil, err
			}
			return r.Fields[0].Params(), nil
		}},
		{"jko", func(o Optim) ([]float32, error) {
			r, err := TrainJKO(ctx, x, n, val, nv, d, JKOConfig{Optim: o, Steps: []float64{0.5}, Net: net, Push: ode.Options{Method: ode.RK4, Steps: 1}}, nil)
			if err != nil {
				return nil, err
			}
			return r.Fields[0].Params(), nil
		}},
	}
	for _, tr := range trainers {
		t.Run(tr.name, func(t *testing.T) {
			// The settings of optim(0) without the WeightDecay field.
			p0, err := tr.train(Optim{Iters: 40, BatchSize: 32, LR: 1e-2, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			pz, err := tr.train(optim(0))
			if err != nil {
				t.Fatal(err)
			}
			for i := range p0 {
				if math.Float32bits(p0[i]) != math.Float32bits(pz[i]) {
					t.Fatalf("λ = 0: param %d = %v, want bitwise the default run's %v", i, pz[i], p0[i])
				}
			}
			// lr·λ = 0.2: the weights shrink by 0.8 per step before Adam's
			// update of at most about lr per weight.
			pw, err := tr.train(optim(20))
			if err != nil {
				t.Fatal(err)
			}
			n0, nw := weightNorm(p0), weightNorm(pw)
			t.Logf("weight norm: λ = 0: %.4g, λ = 20: %.4g", n0, nw)
			if !(nw < 0.5*n0) {
				t.Errorf("weight norm with λ = 20 is %g, want below half of %g (λ = 0)", nw, n0)
			}
		})
	}
}

// Optim.validate rejects a weight decay that is negative, NaN or infinite,
// or whose factor 1 − lr·λ is not positive; every trainer reports it with its
// own prefix.
func TestWeightDecayValidation(t *testing.T) {
	for _, tc := range []struct {
		lr, wd float64
		want   string
	}{
		{1e-3, -0.1, "lfm: weight decay must be finite and >= 0, got -0.1"},
		{1e-3, math.NaN(), "lfm: weight decay must be finite and >= 0, got NaN"},
		{1e-3, math.Inf(1), "lfm: weight decay must be finite and >= 0, got +Inf"},
		{0.5, 2, "lfm: weight decay must be below 1/lr = 2 (each step multiplies the weights by 1 − lr·λ), got 2"},
		{1e-2, 150, "lfm: weight decay must be below 1/lr = 100 (each step multiplies the weights by 1 − lr·λ), got 150"},
		{1e-2, 99, ""},
		{1e-3, 0, ""},
	} {
		o := Optim{Iters: 1, BatchSize: 1, LR: tc.lr, WeightDecay: tc.wd}
		err := o.validate("lfm")
		if tc.want == "" {
			if err != nil {
				t.Errorf("lr %g, λ %g: unexpected error %v", tc.lr, tc.wd, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("lr %g, λ %g: error %v, want %q", tc.lr, tc.wd, err, tc.want)
		}
	}
	bad := Optim{Iters: 2, BatchSize: 2, LR: 1e-3, WeightDecay: -1}
	x := []float64{0, 1, 1, 0}
	net := nn.Spec{Hidden: []int{4}, Act: nn.Tanh, Beta: 1}
	ctx := context.Background()
	const want = "weight decay must be finite and >= 0, got -1"
	_, errLFM := TrainLFM(ctx, x, 2, nil, 0, 2, LFMConfig{Optim: bad, Gammas: []float64{0.1}, Net: net}, nil)
	_, errFM := TrainFM(ctx, x, 2, nil, 0, 2, FMConfig{Optim: bad, Net: net}, nil)
	_, errMLE := TrainMLE(ctx, x, 2, nil, 0, 2, MLEConfig{Optim: bad, Linear: true}, nil)
	_, errJKO := TrainJKO(ctx, x, 2, nil, 0, 2, JKOConfig{Optim: bad, Steps: []float64{0.5}, Net: net}, nil)
	for _, c := range []struct {
		err    error
		prefix string
	}{{errLFM, "lfm"}, {errFM, "fm"}, {errMLE, "mle"}, {errJKO, "jko"}} {
		if c.err == nil || c.err.Error() != c.prefix+": "+want {
			t.Errorf("%s: error %v, want %q", c.prefix, c.err, c.prefix+": "+want)
		}
	}
}
