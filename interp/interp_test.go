package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestInterpolantEndpointsAndDerivative(t *testing.T) {
	x0 := []float64{1, -2, 0.5}
	x1 := []float64{3, 4, -1}
	for _, p := range []Interpolant{Trig, Linear} {
		for _, tt := range []float64{0, 0.3, 1} {
			xt := make([]float64, 3)
			dxt := make([]float64, 3)
			Eval(p, []float64{tt}, x0, x1, 1, 3, xt, dxt)
			// Central difference of I_t in t.
			h := 1e-6
			xp, xm, tmp := make([]float64, 3), make([]float64, 3), make([]float64, 3)
			Eval(p, []float64{tt + h}, x0, x1, 1, 3, xp, tmp)
			Eval(p, []float64{tt - h}, x0, x1, 1, 3, xm, tmp)
			for j := range xt {
				fd := (xp[j] - xm[j]) / (2 * h)
				if math.Abs(fd-dxt[j]) > 1e-6 {
					t.Errorf("%v t=%g: dI/dt[%d] = %g, finite difference %g", p, tt, j, dxt[j], fd)
				}
				switch tt {
				case 0:
					if math.Abs(xt[j]-x0[j]) > 1e-15 {
						t.Errorf("%v: I_0 = %g, want x0 = %g", p, xt[j], x0[j])
					}
				case 1:
					if math.Abs(xt[j]-x1[j]) > 1e-15 {
						t.Errorf("%v: I_1 = %g, want x1 = %g", p, xt[j], x1[j])
					}
				}
			}
		}
	}
	// Trig at t = 1/2: both weights are cos(π/4), target (π/2)(√2/2)(x1 − x0).
	xt, dxt := make([]float64, 1), make([]float64, 1)
	Eval(Trig, []float64{0.5}, []float64{2}, []float64{6}, 1, 1, xt, dxt)
	r := math.Sqrt2 / 2
	if math.Abs(xt[0]-8*r) > 1e-12 || math.Abs(dxt[0]-math.Pi/2*r*4) > 1e-12 {
		t.Errorf("trig at 1/2: got (%g, %g), want (%g, %g)", xt[0], dxt[0], 8*r, math.Pi/2*r*4)
	}
}

func TestOUStepMoments(t *testing.T) {
	a, b := OUCoefficients(0.25)
	if math.Abs(a-0.7788007830714049) > 1e-15 || math.Abs(a*a+b*b-1) > 1e-15 {
		t.Fatalf("OUCoefficients(0.25) = (%g, %g)", a, b)
	}
	x0 := []float32{1, -2}
	z := []float32{0.5, 1}
	x1 := make([]float32, 2)
	OUStep(0.25, x0, z, x1)
	want := []float64{a*1 + b*0.5, a*(-2) + b*1}
	for i := range want {
		if math.Abs(float64(x1[i])-want[i]) > 1e-6 {
			t.Errorf("OUStep[%d] = %g, want %g", i, x1[i], want[i])
		}
	}
}

func TestExponentialSchedule(t *testing.T) {
	got, err := Exponential(0.25, 1.4, 8)
	if err != nil {
		t.Fatal(err)
	}
	// JKO-iFlow's 2D schedule, methods.md §2: [0.25, 0.35, 0.49, 0.69, 0.96, 1.34, 1.88, 2.64] (rounded).
	want := []float64{0.25, 0.35, 0.49, 0.686, 0.9604, 1.34456, 1.882384, 2.6353376}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("γ_%d = %.10g, want %.10g", i+1, got[i], want[i])
		}
	}
	for _, tc := range []struct {
		c, rho float64
		n      int
		msg    string
	}{
		{0.1, 1.2, 0, "schedule: need at least 1 step, got 0"},
		{-1, 1.2, 3, "schedule: initial step c must be positive and finite, got -1"},
		{0.1, math.NaN(), 3, "schedule: ratio rho must be positive and finite, got NaN"},
	} {
		if _, err := Exponential(tc.c, tc.rho, tc.n); err == nil || err.Error() != tc.msg {
			t.Errorf("Exponential(%g, %g, %d) error = %v, want %q", tc.c, tc.rho, tc.n, err, tc.msg)
		}
	}
	if err := CheckSteps([]float64{0.1, 0, 0.3}); err == nil || err.Error() != "schedule: step 2 is 0; step sizes must be positive and finite" {
		t.Errorf("CheckSteps: %v", err)
	}
}

func TestTimeDist(t *testing.T) {
	d, err := ParseTimeDist("beta(1, 0.5)")
	if err != nil || d.Alpha != 1 || d.Beta != 0.5 || d.String() != "beta(1,0.5)" {
		t.Fatalf("ParseTimeDist: %+v %v", d, err)
	}
	if u, err := ParseTimeDist("uniform"); err != nil || !u.IsUniform() || u.String() != "uniform" {
		t.Fatalf("uniform: %+v %v", u, err)
	}
	for _, bad := range []string{"gauss", "beta(1)", "beta(0,1)", "beta(a,1)"} {
		if _, err := ParseTimeDist(bad); err == nil {
			t.Errorf("ParseTimeDist(%q) accepted", bad)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ts := make([]float64, 200000)
	Fill(d, rng, ts)
	var mean float64
	for _, v := range ts {
		if v < 0 || v > 1 {
			t.Fatalf("t = %g outside [0, 1]", v)
		}
		mean += v
	}
	mean /= float64(len(ts))
	// Beta(1, 0.5) has mean 1/1.5; the standard error is about 0.0006.
	if math.Abs(mean-2.0/3) > 0.003 {
		t.Errorf("Beta(1, 0.5) sample mean %g, want 0.6667", mean)
	}
	Fill(Uniform, rng, ts)
	mean = 0
	for _, v := range ts {
		mean += v
	}
	if mean /= float64(len(ts)); math.Abs(mean-0.5) > 0.003 {
		t.Errorf("uniform sample mean %g", mean)
	}
}
