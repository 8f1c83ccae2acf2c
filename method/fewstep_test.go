package method

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// SampleFixedNFE uses exactly steps × stages × blocks evaluations, and on a
// trained model the samples approach the target as the steps grow.
func TestSampleFixedNFE(t *testing.T) {
	res, err := blobModel()
	if err != nil {
		t.Fatal(err)
	}
	one := res.Chain()
	two := &flow.Chain{Blocks: []flow.Block{one.Blocks[0], {Field: constField{[2]float64{0, 0}}}}}
	for _, tc := range []struct {
		c      *flow.Chain
		steps  int
		m      ode.Method
		wantNF int
	}{
		{one, 1, ode.Euler, 1}, {one, 7, ode.Euler, 7}, {one, 3, ode.Midpoint, 6}, {one, 5, ode.RK4, 20},
		{two, 3, ode.Euler, 6}, {two, 2, ode.Midpoint, 8}, {two, 4, ode.RK4, 32},
	} {
		x, nfe, err := SampleFixedNFE(context.Background(), tc.c, 50, tc.steps, tc.m, rand.New(rand.NewPCG(1, 1)))
		if err != nil || nfe != tc.wantNF || len(x) != 100 {
			t.Errorf("%d blocks, %d %v steps: NFE %d, %d values, err %v; want NFE %d", len(tc.c.Blocks), tc.steps, tc.m, nfe, len(x), err, tc.wantNF)
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 3000
	target := twoBlobs(rng, n)
	prev := math.Inf(1)
	for _, steps := range []int{1, 4, 32} {
		x, _, err := SampleFixedNFE(context.Background(), one, n, steps, ode.Euler, rand.New(rand.NewPCG(5, 5)))
		if err != nil {
			t.Fatal(err)
		}
		sw := slicedW2(x, target, n, 200, rand.New(rand.NewPCG(6, 6)))
		t.Logf("euler, %2d steps: sliced W2 %.4f", steps, sw)
		if !(sw < prev) {
			t.Errorf("euler, %d steps: sliced W2 %.4f, not below %.4f with fewer steps", steps, sw, prev)
		}
		prev = sw
	}
	for _, tc := range []struct {
		steps int
		m     ode.Method
		want  string
	}{
		{0, ode.Euler, "fixed-NFE sampling: steps must be at least 1, got 0"},
		{5, ode.Dopri5, "fixed-NFE sampling: method dopri5 is adaptive; want euler, midpoint or rk4"},
	} {
		if _, _, err := SampleFixedNFE(context.Background(), one, 10, tc.steps, tc.m, rng); err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// The distilled student's one-step map is closer to the teacher's time-1 map
// than the teacher's own one-step Euler map.
func TestDistillOneStep(t *testing.T) {
	res, err := blobModel()
	if err != nil {
		t.Fatal(err)
	}
	teacher := res.Chain().Blocks[0]
	rng := rand.New(rand.NewPCG(8, 8))
	const n, nh = 4000, 2000
	pool := make([]float64, 2*n)
	for i := range pool {
		pool[i] = rng.NormFloat64()
	}
	cfg := smallFM(600)
	cfg.ValEvery = 200
	student, br, err := Distill(context.Background(), teacher, pool, n, 2, cfg, rk4x20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if br.Kind != "distill" || br.PushNFE != 80 || br.BestStep < 0 {
		t.Errorf("block result: kind %q, push NFE %d, best step %d", br.Kind, br.PushNFE, br.BestStep)
	}
	held := make([]float64, 2*nh)
	for i := range held {
		held[i] = rng.NormFloat64()
	}
	ctx := context.Background()
	// Chain.Inverse of a Reverse block integrates t from 0 to 1: its time-1 map.
	push := func(b flow.Block, o ode.Options) []float64 {
		x, _, err := (&flow.Chain{Blocks: []flow.Block{b}}).Inverse(ctx, held, nh, flow.Options{Solver: o})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	exact := push(teacher, rk4x20)
	euler1 := ode.Options{Method: ode.Euler, Steps: 1}
	sblk := flow.Block{Field: nn.Convert[float64](student), Reverse: true}
	mse := func(a []float64) float64 {
		var s float64
		for i := range a {
			s += (a[i] - exact[i]) * (a[i] - exact[i])
		}
		return s / nh
	}
	eStudent, eTeacher := mse(push(sblk, euler1)), mse(push(teacher, euler1))
	t.Logf("one-step map error E|x − T(x)|²: student %.4f, teacher euler %.4f", eStudent, eTeacher)
	if !(eStudent < 0.5*eTeacher) {
		t.Errorf("student one-step error %.4f, want below half the teacher's %.4f", eStudent, eTeacher)
	}
	if _, _, err := Distill(ctx, teacher, pool, n, 3, cfg, rk4x20, nil); err == nil || err.Error() != "distill: pool has 8000 values, want n×d = 4000×3" {
		t.Errorf("shape error: %v", err)
	}
}
