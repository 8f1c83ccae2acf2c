package flow

import (
	"context"
	"math"

	"github.com/iterflow/iterflow/ode"
)

// runner holds the solver, the augmented state and the divergence scratch
// buffers of one operation; they are sized for the largest batch once and
// reused across batches and blocks.
type runner struct {
	d   int
	opt Options // normalized
	sol ode.Solver[float64]

	// current solve
	m     int
	field VelocityField
	tf    TraceField
	jf    JVPField
	sigma float64

	state  []float64 // [x (m·d) | ℓ (m)]
	probes []float64 // K × m·d, fixed for one block solve
	jv     []float64 // m·d: Jacobian-vector products, or f(x + σε) for FDHutchinson
	xp     []float64 // m·d: x + σε

	rhsX, rhsAug ode.Func[float64] // method values, made once

	bits  uint64 // random bits for Rademacher probes
	nbits int
}

func newRunner(d, bs int, div bool, opt Options) *runner {
	r := &runner{d: d, opt: opt}
	r.rhsX, r.rhsAug = r.velocity, r.augmented
	if div {
		r.state = make([]float64, bs*d+bs)
		switch opt.Trace {
		case Hutchinson:
			r.probes = make([]float64, opt.Probes*bs*d)
			r.jv = make([]float64, bs*d)
		case FDHutchinson:
			r.probes = make([]float64, opt.Probes*bs*d)
			r.jv = make([]float64, bs*d)
			r.xp = make([]float64, bs*d)
			r.sigma = opt.Sigma0 / math.Sqrt(float64(d))
		}
	}
	return r
}

// solve integrates block b on the m×d rows x in place, in the data→latent
// direction when toLatent is set. With ell non-nil (length m) it integrates
// dℓ/dt = div f from ℓ = 0 alongside and adds the result to ell. On error x
// may be left partly transported.
func (r *runner) solve(ctx context.Context, b Block, x []float64, m int, ell []float64, toLatent bool) (ode.Stats, error) {
	t0, t1 := b.interval(toLatent)
	r.field, r.m = b.Field, m
	if ell == nil {
		return r.sol.Solve(ctx, r.rhsX, x, t0, t1, r.opt.Solver)
	}
	md := m * r.d
	y := r.state[:md+m]
	copy(y, x)
	clear(y[md:])
	switch r.opt.Trace {
	case Exact:
		r.tf = b.Field.(TraceField) // checked by the caller
	case Hutchinson:
		r.jf = b.Field.(JVPField) // checked by the caller
		r.drawProbes(md)
	case FDHutchinson:
		r.drawProbes(md)
	}
	st, err := r.sol.Solve(ctx, r.rhsAug, y, t0, t1, r.opt.Solver)
	if err != nil {
		return st, err
	}
	copy(x, y[:md])
	for i, l := range y[md:] {
		ell[i] += l
	}
	return st, nil
}

// drawProbes draws the K probes of the current solve, each m·d entries.
func (r *runner) drawProbes(md int) {
	p := r.probes[:r.opt.Probes*md]
	rng := r.opt.Rand
	if r.opt.Probe == Gaussian {
		for i := range p {
			p[i] = rng.NormFloat64()
		}
		return
	}
	for i := range p {
		if r.nbits == 0 {
			r.bits, r.nbits = rng.Uint64(), 64
		}
		p[i] = float64(int(r.bits&1)*2 - 1)
		r.bits >>= 1
		r.nbits--
	}
}

// velocity is the right-hand side dx/dt = f(x, t) on m rows.
func (r *runner) velocity(t float64, y, dy []float64) error {
	r.field.Velocity(t, y, r.m, dy)
	return nil
}

// augmented is the right-hand side of [x | ℓ]: dx/dt = f(x, t),
// dℓ/dt = div f (exact or estimated).
func (r *runner) augmented(t float64, y, dy []float64) error {
	m, d := r.m, r.d
	md := m * d
	x, dx, dl := y[:md], dy[:md], dy[md:md+m]
	switch r.opt.Trace {
	case Exact:
		r.tf.VelocityTrace(t, x, m, dx, dl)
		return nil
	case Hutchinson:
		clear(dl)
		jv := r.jv[:md]
		for k := 0; k < r.opt.Probes; k++ {
			u := r.probes[k*md : (k+1)*md]
			r.jf.VelocityJVP(t, x, m, u, dx, jv)
			for i := range dl {
				var s float64
				for j := i * d; j < (i+1)*d; j++ {
					s += u[j] * jv[j]
				}
				dl[i] += s
			}
		}
	case FDHutchinson:
		r.field.Velocity(t, x, m, dx)
		clear(dl)
		fp, xp := r.jv[:md], r.xp[:md]
		sigma := r.sigma
		for k := 0; k < r.opt.Probes; k++ {
			u := r.probes[k*md : (k+1)*md]
			for j := range xp {
				xp[j] = x[j] + sigma*u[j]
			}
			r.field.Velocity(t, xp, m, fp)
			for i := range dl {
				var s float64
				for j := i * d; j < (i+1)*d; j++ {
					s += u[j] * (fp[j] - dx[j])
				}
				dl[i] += s / sigma
			}
		}
	}
	if k := r.opt.Probes; k > 1 {
		inv := 1 / float64(k)
		for i := range dl {
			dl[i] *= inv
		}
	}
	return nil
}
