package flow

import "math"

// linearField is f(x, t) = C x with a d×d row-major C; it is a TraceField and
// a JVPField.
type linearField struct {
	d int
	c []float64
}

func (f linearField) Dim() int { return f.d }

func (f linearField) Velocity(_ float64, x []float64, n int, v []float64) {
	d := f.d
	for r := 0; r < n; r++ {
		xr, vr := x[r*d:(r+1)*d], v[r*d:(r+1)*d]
		for i := 0; i < d; i++ {
			var s float64
			for j := 0; j < d; j++ {
				s += f.c[i*d+j] * xr[j]
			}
			vr[i] = s
		}
	}
}

func (f linearField) VelocityTrace(t float64, x []float64, n int, v, div []float64) {
	f.Velocity(t, x, n, v)
	var tr float64
	for i := 0; i < f.d; i++ {
		tr += f.c[i*f.d+i]
	}
	for i := 0; i < n; i++ {
		div[i] = tr
	}
}

func (f linearField) VelocityJVP(t float64, x []float64, n int, u, v, jv []float64) {
	f.Velocity(t, x, n, v)
	f.Velocity(t, u, n, jv)
}

// cubicTimeField is f(x, t) = 3t² x, whose time-1 map is x ↦ e·x.
type cubicTimeField struct{ d int }

func (f cubicTimeField) Dim() int { return f.d }

func (f cubicTimeField) Velocity(t float64, x []float64, n int, v []float64) {
	for i := range x[:n*f.d] {
		v[i] = 3 * t * t * x[i]
	}
}

func (f cubicTimeField) VelocityTrace(t float64, x []float64, n int, v, div []float64) {
	f.Velocity(t, x, n, v)
	for i := 0; i < n; i++ {
		div[i] = 3 * t * t * float64(f.d)
	}
}

// tanhField is f(x, t) = s ⊙ tanh(A x + t c + b) with Jacobian
// diag(s ⊙ (1 − tanh²)) A; it is a TraceField and a JVPField.
type tanhField struct {
	d       int
	a       []float64 // d×d
	b, c, s []float64 // d
}

func (f tanhField) Dim() int { return f.d }

// eval writes f into v and, when g is non-nil, s ⊙ (1 − tanh²) into g (n×d).
func (f tanhField) eval(t float64, x []float64, n int, v, g []float64) {
	d := f.d
	for r := 0; r < n; r++ {
		xr := x[r*d : (r+1)*d]
		for i := 0; i < d; i++ {
			z := f.b[i] + t*f.c[i]
			for j := 0; j < d; j++ {
				z += f.a[i*d+j] * xr[j]
			}
			th := math.Tanh(z)
			v[r*d+i] = f.s[i] * th
			if g != nil {
				g[r*d+i] = f.s[i] * (1 - th*th)
			}
		}
	}
}

func (f tanhField) Velocity(t float64, x []float64, n int, v []float64) { f.eval(t, x, n, v, nil) }

func (f tanhField) VelocityTrace(t float64, x []float64, n int, v, div []float64) {
	d := f.d
	g := make([]float64, n*d)
	f.eval(t, x, n, v, g)
	for r := 0; r < n; r++ {
		var tr float64
		for i := 0; i < d; i++ {
			tr += g[r*d+i] * f.a[i*d+i]
		}
		div[r] = tr
	}
}

func (f tanhField) VelocityJVP(t float64, x []float64, n int, u, v, jv []float64) {
	d := f.d
	g := make([]float64, n*d)
	f.eval(t, x, n, v, g)
	for r := 0; r < n; r++ {
		for i := 0; i < d; i++ {
			var s float64
			for j := 0; j < d; j++ {
				s += f.a[i*d+j] * u[r*d+j]
			}
			jv[r*d+i] = g[r*d+i] * s
		}
	}
}

// nanField returns NaN velocities for t > 0.5.
type nanField struct{ d int }

func (f nanField) Dim() int { return f.d }

func (f nanField) Velocity(t float64, x []float64, n int, v []float64) {
	for i := range v[:n*f.d] {
		v[i] = -x[i]
		if t > 0.5 {
			v[i] = math.NaN()
		}
	}
}

// velocityOnly hides every method but those of VelocityField.
type velocityOnly struct{ VelocityField }

var (
	_ TraceField = linearField{}
	_ JVPField   = linearField{}
	_ TraceField = cubicTimeField{}
	_ TraceField = tanhField{}
	_ JVPField   = tanhField{}
)
