package nn

import (
	"math"
	"testing"
)

// TestAdamFirstStep checks bias correction: the first step moves each
// coordinate by −LR·sign(g), whatever |g| (up to ε).
func TestAdamFirstStep(t *testing.T) {
	grad := []float64{3, -0.002, 1e5, -7}
	for _, eps := range []float64{0, 1e-8} {
		params := []float64{1, 2, 3, 4}
		a := NewAdam[float64](4, 0.01)
		a.Eps = eps
		a.Step(params, grad)
		for i, g := range grad {
			want := float64(i+1) - 0.01*math.Copysign(1, g)
			tol := 1e-15 + 0.01*eps/math.Abs(g)
			if math.Abs(params[i]-want) > tol {
				t.Errorf("ε=%g coord %d: %.17g, want %.17g", eps, i, params[i], want)
			}
		}
		if a.Steps() != 1 {
			t.Errorf("Steps = %d, want 1", a.Steps())
		}
	}
}

// TestAdamSecondStep checks the second update against the formula by hand.
func TestAdamSecondStep(t *testing.T) {
	p := []float64{0}
	a := NewAdam[float64](1, 0.1)
	a.Step(p, []float64{1})
	a.Step(p, []float64{3})
	m := 0.9*0.1*1 + 0.1*3
	v := 0.999*0.001*1 + 0.001*9
	mh, vh := m/(1-0.81), v/(1-0.999*0.999)
	want := -0.1/(1+1e-8) - 0.1*mh/(math.Sqrt(vh)+1e-8)
	if math.Abs(p[0]-want) > 1e-15 {
		t.Errorf("after two steps θ = %.17g, want %.17g", p[0], want)
	}
}

// TestAdamQuadratic minimises f(θ) = Σ c_k(θ_k − 3)² in float32.
func TestAdamQuadratic(t *testing.T) {
	p := []float32{0, -5, 10}
	c := []float32{1, 10, 0.1}
	g := make([]float32, 3)
	a := NewAdam[float32](3, 0.1)
	for it := 0; it < 2000; it++ {
		a.LR = StepLR{Base: 0.1, Gamma: 0.5, Every: 500}.At(it)
		for k := range p {
			g[k] = 2 * c[k] * (p[k] - 3)
		}
		a.Step(p, g)
	}
	for k, v := range p {
		if math.Abs(float64(v)-3) > 1e-3 {
			t.Errorf("θ_%d = %g, want 3", k, v)
		}
	}
}

// TestAdamWeightDecay checks the decoupled decay θ ← θ(1 − LR·λ) with a zero
// gradient (for which the Adam term is 0).
func TestAdamWeightDecay(t *testing.T) {
	p := []float64{2, -4}
	a := NewAdam[float64](2, 0.1)
	a.WeightDecay = 0.5
	a.Step(p, []float64{0, 0})
	if math.Abs(p[0]-1.9) > 1e-15 || math.Abs(p[1]+3.8) > 1e-15 {
		t.Errorf("after decay θ = %v, want [1.9 -3.8]", p)
	}
}

func TestAdamState(t *testing.T) {
	a := NewAdam[float32](2, 0.1)
	p := []float32{1, 1}
	a.Step(p, []float32{1, -2})
	m, v, step := a.State()
	b := NewAdam[float32](2, 0.1)
	if err := b.SetState(m, v, step); err != nil {
		t.Fatal(err)
	}
	q := append([]float32(nil), p...)
	a.Step(p, []float32{0.5, 0.5})
	b.Step(q, []float32{0.5, 0.5})
	if p[0] != q[0] || p[1] != q[1] || b.Steps() != 2 {
		t.Errorf("restored optimizer diverged: %v vs %v (steps %d)", q, p, b.Steps())
	}
	err := b.SetState(make([]float32, 3), v, 1)
	if want := "nn: Adam.SetState: len(m) = 3, len(v) = 2, want 2"; err == nil || err.Error() != want {
		t.Errorf("SetState error = %v, want %q", err, want)
	}
	err = b.SetState(m, v, -1)
	if want := "nn: Adam.SetState: step = -1, want >= 0"; err == nil || err.Error() != want {
		t.Errorf("SetState error = %v, want %q", err, want)
	}
}

func TestClipGradNorm(t *testing.T) {
	tests := []struct {
		grad    []float64
		max     float64
		norm    float64
		clipped []float64
	}{
		{[]float64{3, 4}, 1, 5, []float64{0.6, 0.8}},
		{[]float64{3, 4}, 10, 5, []float64{3, 4}},
		{[]float64{3, 4}, 0, 5, []float64{3, 4}},
		{[]float64{0, 0}, 1, 0, []float64{0, 0}},
	}
	for _, tc := range tests {
		g := append([]float64(nil), tc.grad...)
		if n := ClipGradNorm(g, tc.max); n != tc.norm {
			t.Errorf("ClipGradNorm(%v, %g) = %g, want %g", tc.grad, tc.max, n, tc.norm)
		}
		for i := range g {
			if math.Abs(g[i]-tc.clipped[i]) > 1e-15 {
				t.Errorf("ClipGradNorm(%v, %g): grad = %v, want %v", tc.grad, tc.max, g, tc.clipped)
				break
			}
		}
	}
	g := []float32{1, 2, 3, 4, 5}
	ClipGradNorm(g, 0.5)
	if n := ClipGradNorm(g, 0); math.Abs(n-0.5) > 1e-7 {
		t.Errorf("norm after clipping = %g, want 0.5", n)
	}
	g64 := []float64{math.NaN(), 1}
	if n := ClipGradNorm(g64, 1); !math.IsNaN(n) || g64[1] != 1 {
		t.Errorf("NaN gradient: norm %g, grad %v; want NaN and grad untouched", n, g64)
	}
}

func TestStepLR(t *testing.T) {
	s := StepLR{Base: 1e-3, Gamma: 0.5, Every: 100}
	for _, tc := range []struct {
		step int
		want float64
	}{{-3, 1e-3}, {0, 1e-3}, {99, 1e-3}, {100, 5e-4}, {250, 2.5e-4}, {1000, 1e-3 / 1024}} {
		if got := s.At(tc.step); math.Abs(got-tc.want) > 1e-18 {
			t.Errorf("At(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	if got := (StepLR{Base: 0.1, Gamma: 0.5}).At(10000); got != 0.1 {
		t.Errorf("Every = 0: At = %g, want constant 0.1", got)
	}
}

func TestEMA(t *testing.T) {
	p := []float64{1, 2}
	e := NewEMA(p, 0.9)
	p[0] = 100 // Shadow is a copy
	if e.Shadow[0] != 1 {
		t.Fatalf("Shadow aliases params")
	}
	e.Update([]float64{11, 2})
	e.Update([]float64{11, 12})
	// Shadow_0: 1 → 0.9 + 1.1 = 2 → 1.8 + 1.1 = 2.9; Shadow_1: 2 → 2 → 1.8 + 1.2 = 3.
	want := []float64{2.9, 3}
	for i := range want {
		if math.Abs(e.Shadow[i]-want[i]) > 1e-14 {
			t.Errorf("Shadow = %v, want %v", e.Shadow, want)
		}
	}
}

func TestEMAWarmup(t *testing.T) {
	e := NewEMA([]float64{0}, 0.999)
	e.Warmup = true
	// Decays 1/10, 2/11, 3/12: shadow = a·shadow + (1 − a)·1.
	want := 0.0
	for k := 0; k < 3; k++ {
		a := (1 + float64(k)) / (10 + float64(k))
		want = a*want + (1 - a)
		e.Update([]float64{1})
	}
	if math.Abs(e.Shadow[0]-want) > 1e-15 || e.Updates != 3 {
		t.Errorf("shadow %g after 3 warm-up updates, want %g", e.Shadow[0], want)
	}
	if want < 0.95 {
		t.Errorf("warm-up average %g still dominated by the start", want)
	}
}
