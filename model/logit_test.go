package model

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// zeroLogitModel is a 1-D model whose chain is the identity (a zero linear
// field) behind a logit on [0, 256) and a standardization.
func zeroLogitModel() *Model {
	spec := nn.Spec{Dim: 1, Hidden: []int{4}, Act: nn.Tanh, Beta: 1}
	return &Model{Method: "lfm", Spec: spec,
		Blocks:       []BlockInfo{{Kind: "free", Field: "linear"}},
		Fields:       []Field{nn.NewLinear[float32](1)},
		Logit:        &data.Logit{Lo: []float64{0}, Hi: []float64{256}, Alpha: 0.05},
		Standardizer: &data.Standardizer{Mean: []float64{0.3}, Std: []float64{1.7}}}
}

// TestLogProbWithLogit checks LogProb against the closed form
// log N(z) − log σ + log|dy/dx| for y = logit(α + (1−2α)x/256), z = (y − μ)/σ,
// and that Sample inverts the logit (samples lie within the bounds; the inverse clamps latent values beyond the image of [lo, hi] when α > 0).
func TestLogProbWithLogit(t *testing.T) {
	m := zeroLogitModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	x := []float64{3.5, 128, 250.25}
	opt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 2}}
	lp, _, err := m.LogProb(context.Background(), x, 3, opt)
	if err != nil {
		t.Fatal(err)
	}
	const a = 0.05
	for i, xi := range x {
		p := a + (1-2*a)*xi/256
		y := math.Log(p / (1 - p))
		z := (y - 0.3) / 1.7
		want := -0.5*z*z - 0.5*math.Log(2*math.Pi) - math.Log(1.7) + math.Log(1-2*a) - math.Log(256) - math.Log(p) - math.Log(1-p)
		if math.Abs(lp[i]-want) > 1e-12 {
			t.Errorf("row %d: log p %.15g, want %.15g", i, lp[i], want)
		}
	}
	if _, _, err := m.LogProb(context.Background(), []float64{300}, 1, opt); err == nil {
		t.Error("a value above the logit's upper bound gave no error")
	}
	s, _, err := m.Sample(context.Background(), 200, flow.Options{Solver: opt.Solver, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s {
		if !(v >= 0 && v <= 256) {
			t.Fatalf("sample %d = %v outside [0, 256]", i, v)
		}
	}
	// The logit survives both save formats.
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	fromStream, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*Model{fromDir, fromStream} {
		if got.Logit == nil || got.Logit.Hi[0] != 256 || got.Logit.Alpha != a {
			t.Fatalf("logit after loading: %+v", got.Logit)
		}
		lp2, _, err := got.LogProb(context.Background(), x, 3, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lp {
			if lp2[i] != lp[i] {
				t.Errorf("row %d after loading: %v, want %v", i, lp2[i], lp[i])
			}
		}
	}
}
