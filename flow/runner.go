package flow

import (
	"context"
	"math"
	"math/rand/v2"

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
	probes []float64 // K × m·d per block solve (× blocks when predrawn)
	cur    []float64 // the K × m·d probes of the current solve
	jv     []float64 // m·d: Jacobian-vector products, or f(x + σε) for FDHutchinson
	xp     []float64 // m·d: x + σε

	rhsX, rhsAug ode.Func[float64] // method values, made once

	src *probeSource // the random stream of the probes, shared by the workers
	// predrawn: the probes of all blocks of a batch are drawn at its start
	// (predraw), in the order a sequential run draws them.
	predrawn bool
}

// probeSource is the random stream the probes are drawn from: opt.Rand and
// the unused bits of the last Rademacher draw.
type probeSource struct {
	rng   *rand.Rand
	probe Probe
	bits  uint64
	nbits int
}

// fill draws len(p) probe entries.
func (s *probeSource) fill(p []float64) {
	if s.probe == Gaussian {
		for i := range p {
			p[i] = s.rng.NormFloat64()
		}
		return
	}
	for i := range p {
		if s.nbits == 0 {
			s.bits, s.nbits = s.rng.Uint64(), 64
		}
		p[i] = float64(int(s.bits&1)*2 - 1)
		s.bits >>= 1
		s.nbits--
	}
}

// newRunner sizes the buffers for batches of at most bs rows. With predraw
// > 0 the probe buffer holds the probes of predraw block solves.
func newRunner(d, bs int, div bool, opt Options, src *probeSource, predraw int) *runner {
	r := &runner{d: d, opt: opt, src: src, predrawn: predraw > 0}
	r.rhsX, r.rhsAug = r.velocity, r.augmented
	if div {
		r.state = make([]float64, bs*d+bs)
		np := opt.Probes * bs * d * max(predraw, 1)
		switch opt.Trace {
		case Hutchinson:
			r.probes = make([]float64, np)
			r.jv = make([]float64, bs*d)
		case FDHutchinson:
			r.probes = make([]float64, np)
			r.jv = make([]float64, bs*d)
			r.xp = make([]float64, bs*d)
			r.sigma = opt.Sigma0 / math.Sqrt(float64(d))
		}
	}
	return r
}

// stochastic reports whether the divergence estimator draws probes.
func (r *runner) stochastic() bool {
	return r.probes != nil
}

// predraw draws the probes of nsolve block solves on m rows, in solve order.
func (r *runner) predraw(m, nsolve int) {
	r.src.fill(r.probes[:nsolve*r.opt.Probes*m*r.d])
}

// solve integrates block b on the m×d rows x in place, in the data→latent
// direction when toLatent is set; j is the index of this solve within the
// batch (for predrawn probes). With ell non-nil (length m) it integrates
// dℓ/dt = div f from ℓ = 0 alongside and adds the result to ell. On error x
// may be left partly transported.
func (r *runner) solve(ctx context.Context, b Block, j int, x []float64, m int, ell []float64, toLatent bool) (ode.Stats, error) {
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
		r.setProbes(j, md)
	case FDHutchinson:
		r.setProbes(j, md)
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

// setProbes selects the K probes (m·d entries each) of solve j: the
// predrawn ones, or K fresh ones drawn now.
func (r *runner) setProbes(j, md int) {
	kmd := r.opt.Probes * md
	if r.predrawn {
		r.cur = r.probes[j*kmd : (j+1)*kmd]
		return
	}
	r.cur = r.probes[:kmd]
	r.src.fill(r.cur)
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
			u := r.cur[k*md : (k+1)*md]
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
			u := r.cur[k*md : (k+1)*md]
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
