package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// boundedSample draws n rows of d columns uniformly inside the bounds,
// with some values exactly on them.
func boundedSample(l *Logit, n int, rng *rand.Rand) []float64 {
	d := len(l.Lo)
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x[i*d+j] = l.Lo[j] + rng.Float64()*(l.Hi[j]-l.Lo[j])
		}
	}
	if l.Alpha > 0 && n > 1 {
		x[0], x[d] = l.Lo[0], l.Hi[0]
	}
	return x
}

func TestLogitRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range []*Logit{
		{Lo: []float64{0}, Hi: []float64{256}, Alpha: 0.05},
		{Lo: []float64{0}, Hi: []float64{1}, Alpha: 0},
		{Lo: []float64{-3, 0, 1e6}, Hi: []float64{-1, 1, 1e6 + 5}, Alpha: 1e-6},
	} {
		n := 200
		x := boundedSample(l, n, rng)
		y := append([]float64(nil), x...)
		if err := l.Forward(y, n); err != nil {
			t.Fatal(err)
		}
		for k, v := range y {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("Forward gave %v at %d", v, k)
			}
		}
		if err := l.Inverse(y, n); err != nil {
			t.Fatal(err)
		}
		d := len(l.Lo)
		for k := range x {
			j := k % d
			if tol := 1e-12 * (l.Hi[j] - l.Lo[j]) * (1 + 1/max(l.Alpha, 1e-3)); math.Abs(y[k]-x[k]) > tol {
				t.Fatalf("%+v: round trip %v → %v (tol %g)", l, x[k], y[k], tol)
			}
		}
	}
}

func TestLogitClosedForm(t *testing.T) {
	// x = 192 in [0, 256] with Alpha = 0: u = 3/4, y = log 3;
	// dy/dx = 1/(256·u(1−u)) = 1/48 → log-det = −log 48.
	l := &Logit{Lo: []float64{0}, Hi: []float64{256}}
	x := []float64{192}
	ld := []float64{1}
	if err := l.ForwardLogDet(x, 1, ld); err != nil {
		t.Fatal(err)
	}
	if math.Abs(x[0]-math.Log(3)) > 1e-15 || math.Abs(ld[0]-(1-math.Log(48))) > 1e-14 {
		t.Fatalf("y = %v (want ln 3), logdet = %v (want 1 − ln 48)", x[0], ld[0])
	}
}

func TestLogitLogDetFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, l := range []*Logit{
		{Lo: []float64{0}, Hi: []float64{256}, Alpha: 0.05},
		{Lo: []float64{-3, 0, 10}, Hi: []float64{-1, 1, 15}, Alpha: 0.01},
	} {
		d := len(l.Lo)
		n := 20
		x := make([]float64, n*d)
		for k := range x {
			j := k % d
			// Stay 1% away from the bounds so central differences fit.
			x[k] = l.Lo[j] + (0.01+0.98*rng.Float64())*(l.Hi[j]-l.Lo[j])
		}
		ld := make([]float64, n)
		if err := l.LogDet(x, n, ld); err != nil {
			t.Fatal(err)
		}
		// ForwardLogDet agrees with LogDet.
		y := append([]float64(nil), x...)
		ld2 := make([]float64, n)
		if err := l.ForwardLogDet(y, n, ld2); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if math.Abs(ld[i]-ld2[i]) > 1e-13 {
				t.Fatalf("LogDet %v, ForwardLogDet %v", ld[i], ld2[i])
			}
			// The Jacobian is diagonal: log-det = Σ_j log dy_j/dx_j.
			var fd float64
			for j := 0; j < d; j++ {
				h := 1e-5 * (l.Hi[j] - l.Lo[j])
				pt := []float64{x[i*d+j] + h, x[i*d+j] - h}
				one := &Logit{Lo: l.Lo[j : j+1], Hi: l.Hi[j : j+1], Alpha: l.Alpha}
				if err := one.Forward(pt, 2); err != nil {
					t.Fatal(err)
				}
				fd += math.Log((pt[0] - pt[1]) / (2 * h))
			}
			if math.Abs(fd-ld[i]) > 1e-7 {
				t.Fatalf("row %d: log-det %v, finite difference %v", i, ld[i], fd)
			}
		}
	}
}

func TestLogitErrors(t *testing.T) {
	good := &Logit{Lo: []float64{0, 0}, Hi: []float64{1, 2}, Alpha: 0.1}
	tests := []struct {
		name string
		l    *Logit
		x    []float64
		n    int
		want string
	}{
		{"outside", good, []float64{0.5, 1, 0.5, 2.5}, 2, "logit: row 1, column 1: value 2.5 outside the bounds [0, 2]"},
		{"below", good, []float64{-1e-9, 1}, 1, "logit: row 0, column 0: value -1e-09 outside the bounds [0, 1]"},
		{"nan", good, []float64{0.5, math.NaN()}, 1, "logit: row 0, column 1: value NaN outside the bounds [0, 2]"},
		{"at bound alpha 0", &Logit{Lo: []float64{0}, Hi: []float64{1}}, []float64{0.5, 1}, 2,
			"logit: row 1, column 0: value 1 at a bound of [0, 1] has no finite logit with Alpha = 0"},
		{"shape", good, []float64{0.5, 1, 0.5}, 2, "logit: 3 values as 2 rows of 2 columns"},
		{"alpha", &Logit{Lo: []float64{0}, Hi: []float64{1}, Alpha: 0.5}, []float64{0.5}, 1, "logit: Alpha = 0.5, want 0 ≤ Alpha < 0.5"},
		{"bounds", &Logit{Lo: []float64{0, 3}, Hi: []float64{1, 3}}, []float64{0.5, 3}, 1, "logit: column 1: bounds [3, 3], want finite Lo < Hi"},
		{"bound count", &Logit{Lo: []float64{0, 3}, Hi: []float64{1}}, []float64{0.5, 3}, 1, "logit: 2 lower and 1 upper bounds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := append([]float64(nil), tc.x...)
			ld := make([]float64, max(tc.n, 0))
			for _, f := range []func() error{
				func() error { return tc.l.Forward(x, tc.n) },
				func() error { return tc.l.ForwardLogDet(x, tc.n, ld) },
				func() error { return tc.l.LogDet(x, tc.n, ld) },
			} {
				err := f()
				if err == nil || err.Error() != tc.want {
					t.Fatalf("error = %v\nwant    %s", err, tc.want)
				}
				for k := range x {
					if x[k] != tc.x[k] && !(math.IsNaN(x[k]) && math.IsNaN(tc.x[k])) {
						t.Fatalf("x changed on error: %v", x)
					}
				}
				for _, v := range ld {
					if v != 0 {
						t.Fatalf("logdet changed on error: %v", ld)
					}
				}
			}
		})
	}
	if err := good.ForwardLogDet([]float64{0.5, 1}, 1, nil); err == nil || err.Error() != "logit: len(logdet) = 0, want n = 1" {
		t.Fatalf("logdet length: %v", err)
	}
	y := []float64{0, math.NaN()}
	if err := good.Inverse(y, 1); err == nil || err.Error() != "logit: inverse: row 0, column 1 is NaN" {
		t.Fatalf("inverse NaN: %v", err)
	}
	// ±Inf (p = 0 or 1, beyond the image of the bounds) is clamped to them.
	y = []float64{math.Inf(-1), math.Inf(1)}
	if err := good.Inverse(y, 1); err != nil || y[0] != 0 || y[1] != 2 {
		t.Fatalf("inverse of ±Inf = %v, %v", y, err)
	}
	if err := good.Forward(nil, 0); err != nil {
		t.Fatalf("empty: %v", err)
	}
	if !strings.HasPrefix(good.Inverse([]float64{1}, 1).Error(), "logit: ") {
		t.Fatal("inverse shape error without prefix")
	}
}
