package data

import (
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

// genTable draws an n×d table whose column j has mean mu[j] and scale s[j]
// spanning many orders of magnitude, never constant.
func genTable(t *rapid.T) (*Table, []float64) {
	n := rapid.IntRange(2, 40).Draw(t, "n")
	d := rapid.IntRange(1, 5).Draw(t, "d")
	seed := rapid.Uint64().Draw(t, "seed")
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n*d)
	scale := make([]float64, d)
	for j := 0; j < d; j++ {
		mu := rapid.Float64Range(-1e3, 1e3).Draw(t, "mu")
		scale[j] = math.Pow(10, rapid.Float64Range(-3, 3).Draw(t, "logscale"))
		for i := 0; i < n; i++ {
			x[i*d+j] = mu + scale[j]*rng.NormFloat64()
		}
		x[d+j] = x[j] + scale[j] // rows 0 and 1 differ: never constant
	}
	return &Table{X: x, N: n, D: d, Names: defaultNames(d)}, scale
}

// Forward∘Inverse and Inverse∘Forward are the identity to 1e-12 relative,
// and LogDet matches the log of the finite-difference Jacobian's diagonal.
func TestStandardizerRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tab, _ := genTable(t)
		s, err := FitStandardizer(tab)
		if err != nil {
			t.Fatal(err)
		}
		d := tab.D
		y := append([]float64(nil), tab.X...)
		s.Forward(y, tab.N)
		x := append([]float64(nil), y...)
		s.Inverse(x, tab.N)
		for i, v := range tab.X {
			j := i % d
			if tol := 1e-12 * (math.Abs(v) + math.Abs(s.Mean[j]) + s.Std[j]); math.Abs(x[i]-v) > tol {
				t.Fatalf("Inverse(Forward(x))[%d] = %v, want %v (tolerance %g)", i, x[i], v, tol)
			}
		}
		z := append([]float64(nil), y...)
		s.Inverse(z, tab.N)
		s.Forward(z, tab.N)
		for i, v := range y {
			j := i % d
			if tol := 1e-12 * (math.Abs(v) + math.Abs(s.Mean[j])/s.Std[j] + 1); math.Abs(z[i]-v) > tol {
				t.Fatalf("Forward(Inverse(y))[%d] = %v, want %v", i, z[i], v)
			}
		}
		// Finite-difference Jacobian of Forward at row 0 (diagonal map).
		var fd float64
		for j := 0; j < d; j++ {
			h := 1e-3 * s.Std[j]
			p := append([]float64(nil), tab.X[:d]...)
			m := append([]float64(nil), tab.X[:d]...)
			p[j] += h
			m[j] -= h
			s.Forward(p, 1)
			s.Forward(m, 1)
			fd += math.Log(math.Abs((p[j] - m[j]) / (2 * h)))
		}
		if ld := s.LogDet(); math.Abs(ld-fd) > 1e-6*(1+math.Abs(ld)) {
			t.Fatalf("LogDet %v, finite differences %v", ld, fd)
		}
	})
}

func TestLogitRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "n")
		d := rapid.IntRange(1, 4).Draw(t, "d")
		l := &Logit{Lo: make([]float64, d), Hi: make([]float64, d), Alpha: rapid.Float64Range(0.001, 0.2).Draw(t, "alpha")}
		for j := 0; j < d; j++ {
			l.Lo[j] = rapid.Float64Range(-1e3, 1e3).Draw(t, "lo")
			l.Hi[j] = l.Lo[j] + math.Pow(10, rapid.Float64Range(-2, 3).Draw(t, "logwidth"))
		}
		x := make([]float64, n*d)
		for i := range x {
			j := i % d
			u := rapid.Float64Range(0, 1).Draw(t, "u")
			x[i] = math.Min(l.Hi[j], l.Lo[j]+u*(l.Hi[j]-l.Lo[j]))
		}
		y := append([]float64(nil), x...)
		ld := make([]float64, n)
		if err := l.ForwardLogDet(y, n, ld); err != nil {
			t.Fatal(err)
		}
		back := append([]float64(nil), y...)
		if err := l.Inverse(back, n); err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			j := i % d
			if tol := 1e-12 * math.Max(math.Abs(v), l.Hi[j]-l.Lo[j]); math.Abs(back[i]-v) > tol {
				t.Fatalf("Inverse(Forward(x))[%d] = %v, want %v (tolerance %g)", i, back[i], v, tol)
			}
		}
		// Forward(Inverse(y)) = y, relative to the scale of y.
		fw := append([]float64(nil), back...)
		if err := l.Forward(fw, n); err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			j := i % d
			// dy/dx can be large near the bounds: allow the round-off of x
			// amplified by the slope.
			slope := (1 - 2*l.Alpha) / (l.Hi[j] - l.Lo[j]) / (l.Alpha * (1 - l.Alpha))
			tol := 1e-12*(1+math.Abs(v)) + 4e-16*math.Max(math.Abs(x[i]), l.Hi[j]-l.Lo[j])*slope
			if math.Abs(fw[i]-v) > tol {
				t.Fatalf("Forward(Inverse(y))[%d] = %v, want %v (tolerance %g)", i, fw[i], v, tol)
			}
		}
		// Log-det against central differences, row by row (diagonal map), at
		// points away from the bounds so that x ± h stays inside.
		const eps = 0x1p-52
		for i := 0; i < n; i++ {
			var fd, tol float64
			ok := true
			for j := 0; j < d; j++ {
				w := l.Hi[j] - l.Lo[j]
				v := x[i*d+j]
				u := (v - l.Lo[j]) / w
				pj := l.Alpha + (1-2*l.Alpha)*u
				// A step small against the distance to the nearer end of
				// (0, 1) in p keeps the truncation error near 1e-8.
				h := 1e-4 * math.Min(pj, 1-pj) * w / (1 - 2*l.Alpha)
				if v-h < l.Lo[j] || v+h > l.Hi[j] {
					ok = false
					break
				}
				p, m := append([]float64(nil), x[i*d:(i+1)*d]...), append([]float64(nil), x[i*d:(i+1)*d]...)
				p[j], m[j] = v+h, v-h
				if err := l.Forward(p, 1); err != nil {
					t.Fatal(err)
				}
				if err := l.Forward(m, 1); err != nil {
					t.Fatal(err)
				}
				slope := (p[j] - m[j]) / (2 * h)
				fd += math.Log(slope)
				// Round-off of x ± h and of y, relative to the difference.
				tol += 1e-6 + 10*eps*(math.Abs(v)/h+(1+math.Abs(p[j]))/(h*slope))
			}
			if ok && math.Abs(ld[i]-fd) > tol {
				t.Fatalf("row %d: LogDet %v, finite differences %v (tolerance %g)", i, ld[i], fd, tol)
			}
			out := make([]float64, n)
			if err := l.LogDet(x, n, out); err != nil || math.Abs(out[i]-ld[i]) > 1e-12*(1+math.Abs(ld[i])) {
				t.Fatalf("LogDet %v (%v), ForwardLogDet %v", out[i], err, ld[i])
			}
		}
	})
}

// Dequantize only adds U[0, 1) noise: floor recovers the integers exactly,
// unselected columns are untouched and the same seed gives the same noise.
func TestDequantizeRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		d := rapid.IntRange(1, 5).Draw(t, "d")
		cols := make([]bool, d)
		for j := range cols {
			cols[j] = rapid.Bool().Draw(t, "col")
		}
		x := make([]float64, n*d)
		for i := range x {
			if cols[i%d] {
				x[i] = float64(rapid.IntRange(-1000, 1000).Draw(t, "int"))
			} else {
				x[i] = rapid.Float64Range(-1e6, 1e6).Draw(t, "real")
			}
		}
		seed := rapid.Uint64().Draw(t, "seed")
		a := append([]float64(nil), x...)
		b := append([]float64(nil), x...)
		Dequantize(a, n, d, cols, rand.New(rand.NewPCG(seed, 2)))
		Dequantize(b, n, d, cols, rand.New(rand.NewPCG(seed, 2)))
		for i, v := range x {
			switch {
			case a[i] != b[i]:
				t.Fatalf("[%d]: %v and %v from the same seed", i, a[i], b[i])
			case cols[i%d] && (math.Floor(a[i]) != v || a[i] < v):
				t.Fatalf("[%d]: dequantized %v, floor is not %v", i, a[i], v)
			case !cols[i%d] && a[i] != v:
				t.Fatalf("[%d]: unselected column changed from %v to %v", i, v, a[i])
			}
		}
	})
}
