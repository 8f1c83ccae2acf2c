package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/iterflow/iterflow/ode"
)

// Trace names the estimator of the divergence div f = tr(∂f/∂x) used for
// log-densities.
type Trace int

const (
	// Exact is the exact trace; the fields must implement TraceField.
	Exact Trace = iota
	// Hutchinson is the unbiased estimator εᵀ(∂f/∂x)ε averaged over K probes,
	// one Jacobian-vector product each; the fields must implement JVPField
	// (Hutchinson 1989; FFJORD, arXiv 1810.01367, Sec. 3.1).
	Hutchinson
	// FDHutchinson is the finite-difference variant εᵀ(f(x+σε) − f(x))/σ with
	// σ = Sigma0/√d, which needs only VelocityField and is exact for linear f
	// (JKO-iFlow, arXiv 2212.14424).
	FDHutchinson
)

var traceNames = [...]string{Exact: "exact", Hutchinson: "hutchinson", FDHutchinson: "fd-hutchinson"}

// String returns "exact", "hutchinson" or "fd-hutchinson", or "Trace(k)" for
// an unknown value.
func (t Trace) String() string {
	if t >= 0 && int(t) < len(traceNames) {
		return traceNames[t]
	}
	return fmt.Sprintf("Trace(%d)", int(t))
}

// ParseTrace returns the Trace named name ("exact", "hutchinson" or
// "fd-hutchinson", case-insensitive), or an error naming the unknown name.
func ParseTrace(name string) (Trace, error) {
	for i, s := range traceNames {
		if strings.EqualFold(name, s) {
			return Trace(i), nil
		}
	}
	return 0, fmt.Errorf("flow: unknown trace estimator %q (want exact, hutchinson or fd-hutchinson)", name)
}

// MarshalText implements encoding.TextMarshaler with the name of t.
func (t Trace) MarshalText() ([]byte, error) {
	if !(t >= 0 && int(t) < len(traceNames)) {
		return nil, fmt.Errorf("flow: cannot marshal unknown trace estimator %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler through ParseTrace.
func (t *Trace) UnmarshalText(b []byte) error {
	v, err := ParseTrace(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Probe names the distribution of the Hutchinson probe vectors ε.
type Probe int

const (
	// Gaussian probes have independent N(0, 1) entries.
	Gaussian Probe = iota
	// Rademacher probes have independent entries ±1 with probability ½ each.
	Rademacher
)

var probeNames = [...]string{Gaussian: "gaussian", Rademacher: "rademacher"}

// String returns "gaussian" or "rademacher", or "Probe(k)" for an unknown
// value.
func (p Probe) String() string {
	if p >= 0 && int(p) < len(probeNames) {
		return probeNames[p]
	}
	return fmt.Sprintf("Probe(%d)", int(p))
}

// ParseProbe returns the Probe named name ("gaussian" or "rademacher",
// case-insensitive), or an error naming the unknown name.
func ParseProbe(name string) (Probe, error) {
	for i, s := range probeNames {
		if strings.EqualFold(name, s) {
			return Probe(i), nil
		}
	}
	return 0, fmt.Errorf("flow: unknown probe distribution %q (want gaussian or rademacher)", name)
}

// MarshalText implements encoding.TextMarshaler with the name of p.
func (p Probe) MarshalText() ([]byte, error) {
	if !(p >= 0 && int(p) < len(probeNames)) {
		return nil, fmt.Errorf("flow: cannot marshal unknown probe distribution %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler through ParseProbe.
func (p *Probe) UnmarshalText(b []byte) error {
	v, err := ParseProbe(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Defaults used where Options leaves a field 0.
const (
	DefaultProbes    = 1
	DefaultSigma0    = 0.01
	DefaultBatchSize = 4096
)

// Options configures the solves of a chain or block.
type Options struct {
	// Solver configures the ODE solver of every block solve (method, steps or
	// tolerances). For reported likelihoods use dopri5 at tight tolerance or
	// enough fixed steps (methods.md §1).
	Solver ode.Options
	// Trace selects the divergence estimator for LogProb, SampleAndLogProb and
	// PushLogDet.
	Trace Trace
	// Probe selects the distribution of the Hutchinson probes.
	Probe Probe
	// Probes is the number K of probes per row, averaged (0 selects 1). Each
	// probe is drawn once per block solve and held fixed for that whole solve.
	Probes int
	// Sigma0 sets the finite-difference step σ = Sigma0/√d of FDHutchinson
	// (0 selects 0.01).
	Sigma0 float64
	// Rand is the random source of the stochastic trace estimators and of
	// Sample and SampleAndLogProb; it is required by those and unused
	// otherwise.
	Rand *rand.Rand
	// BatchSize is the number of rows per solve, bounding memory (0 selects
	// 4096). Adaptive solvers choose steps per batch, so results with dopri5
	// depend slightly on it.
	BatchSize int
	// Workers is the number of goroutines that solve batches concurrently,
	// each with its own copy of the velocity fields (see Cloner); 0 selects
	// DefaultWorkers(). Batches are the same whatever Workers is, and each
	// batch's result depends only on its rows (the stochastic estimators draw
	// their probes in batch order from Rand), so results are bitwise identical
	// for every Workers value. More workers only help when n > BatchSize: set
	// BatchSize to about n/Workers or less. A chain with a field that cannot be
	// copied runs on one goroutine.
	Workers int
}

// normalized returns o with defaults filled in, or an error naming the first
// bad field. div says whether the divergence is needed, random whether Rand is
// needed for another reason (sampling); op names the calling operation.
func (o Options) normalized(op string, div, random bool) (Options, error) {
	if err := o.Solver.Validate(); err != nil {
		return o, fmt.Errorf("flow: %s: %w", op, err)
	}
	if o.BatchSize < 0 {
		return o, fmt.Errorf("flow: %s: Options.BatchSize = %d, want >= 1 (0 selects %d)", op, o.BatchSize, DefaultBatchSize)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("flow: %s: Options.Workers = %d, want >= 1 (0 selects DefaultWorkers() = %d)", op, o.Workers, DefaultWorkers())
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers()
	}
	if random && o.Rand == nil {
		return o, fmt.Errorf("flow: %s: sampling needs Options.Rand", op)
	}
	if !div {
		return o, nil
	}
	switch o.Trace {
	case Exact:
		return o, nil
	case Hutchinson, FDHutchinson:
	default:
		return o, fmt.Errorf("flow: %s: unknown trace estimator %v", op, o.Trace)
	}
	if o.Rand == nil {
		return o, fmt.Errorf("flow: %s: the %v trace estimator needs Options.Rand", op, o.Trace)
	}
	if o.Probe != Gaussian && o.Probe != Rademacher {
		return o, fmt.Errorf("flow: %s: unknown probe distribution %v", op, o.Probe)
	}
	if o.Probes < 0 {
		return o, fmt.Errorf("flow: %s: Options.Probes = %d, want >= 1 (0 selects %d)", op, o.Probes, DefaultProbes)
	}
	if o.Probes == 0 {
		o.Probes = DefaultProbes
	}
	if o.Trace == FDHutchinson {
		if !(o.Sigma0 >= 0) || math.IsInf(o.Sigma0, 0) {
			return o, fmt.Errorf("flow: %s: Options.Sigma0 = %g, want a finite value > 0 (0 selects %g)", op, o.Sigma0, DefaultSigma0)
		}
		if o.Sigma0 == 0 {
			o.Sigma0 = DefaultSigma0
		}
	}
	return o, nil
}

// Stats counts the solver work of a chain or block operation.
type Stats struct {
	// NFE is the number of evaluations of the ODE right-hand side, summed over
	// the blocks, for the batch that needed the most (all batches need the same
	// number with fixed-step methods: blocks × Steps × stages, so rk4 gives
	// blocks × Steps × 4). One evaluation calls the velocity field once on the
	// batch (VelocityTrace for the exact trace), K times for Hutchinson
	// (VelocityJVP per probe) and K + 1 times for FDHutchinson.
	NFE int
	// Steps and Rejected are the accepted and rejected solver steps, summed
	// over the blocks, for the same batch.
	Steps, Rejected int
	// Batches is the number of batches of at most BatchSize rows solved.
	Batches int
	// Workers is the number of goroutines that solved the batches (at most
	// Options.Workers and Batches; 1 when a field cannot be copied).
	Workers int
}

// addBatch merges the stats of one batch (summed over blocks) into s.
func (s *Stats) addBatch(b ode.Stats) {
	s.Batches++
	if s.Batches == 1 || b.NFE > s.NFE {
		s.NFE, s.Steps, s.Rejected = b.NFE, b.Steps, b.Rejected
	}
}
