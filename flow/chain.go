package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Block is one continuous normalizing flow block: the ODE dx/dt = f(x, t) for
// t in [0, 1], whose time-1 map is invertible (integrate backwards).
type Block struct {
	// Field is the velocity field f.
	Field VelocityField
	// Reverse selects the time direction. false: integrating t from 0 to 1
	// carries the data side to the latent side (JKO-iFlow, arXiv 2212.14424;
	// Local Flow Matching, arXiv 2410.02548). true: t from 0 to 1 carries the
	// latent side to the data side (the convention of conditional flow
	// matching and rectified flow), so the data→latent direction integrates
	// from t = 1 to t = 0.
	Reverse bool
}

// interval returns the time interval of the block in the data→latent
// direction (toLatent) or the latent→data direction.
func (b Block) interval(toLatent bool) (t0, t1 float64) {
	if toLatent != b.Reverse {
		return 0, 1
	}
	return 1, 0
}

func (b Block) check() error {
	if b.Field == nil {
		return errors.New("block has a nil Field")
	}
	if d := b.Field.Dim(); d < 1 {
		return fmt.Errorf("block has dimension %d, want >= 1", d)
	}
	return nil
}

// Chain is a sequence of blocks mapping data to latent:
// data x → Blocks[0] → … → Blocks[K−1] → latent z ~ N(0, I). All blocks act on
// the same dimension d.
type Chain struct {
	Blocks []Block
}

// NewChain returns a chain of the given blocks after Validate.
func NewChain(blocks ...Block) (*Chain, error) {
	c := &Chain{Blocks: blocks}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Dim returns d, the dimension of the first block (0 for an empty chain or a
// nil first Field). Validate checks that all blocks agree.
func (c *Chain) Dim() int {
	if len(c.Blocks) == 0 || c.Blocks[0].Field == nil {
		return 0
	}
	return c.Blocks[0].Field.Dim()
}

// Validate returns an error when the chain has no blocks, a block has a nil
// Field or a dimension below 1, or the blocks' dimensions differ; the message
// names the block index.
func (c *Chain) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	return nil
}

func (c *Chain) validate() error {
	if len(c.Blocks) == 0 {
		return errors.New("chain has no blocks")
	}
	d := 0
	for k, b := range c.Blocks {
		if err := b.check(); err != nil {
			return fmt.Errorf("block %d: %w", k, err)
		}
		if k == 0 {
			d = b.Field.Dim()
		} else if dk := b.Field.Dim(); dk != d {
			return fmt.Errorf("block %d has dimension %d, block 0 has %d", k, dk, d)
		}
	}
	return nil
}

// checkRows validates n and the length and finiteness of an n×d input.
func checkRows(op, name string, x []float64, n, d int) error {
	if n < 1 {
		return fmt.Errorf("flow: %s: n = %d rows, want n >= 1", op, n)
	}
	if len(x) != n*d {
		return fmt.Errorf("flow: %s: len(%s) = %d, want n×d = %d×%d = %d", op, name, len(x), n, d, n*d)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("flow: %s: %s[%d] = %v (row %d, column %d) is not finite", op, name, i, v, i/d, i%d)
		}
	}
	return nil
}

// checkFields checks that every block's field supports the divergence
// estimator of opt.
func checkFields(op string, blocks []Block, tr Trace, index bool) error {
	for k, b := range blocks {
		var ok bool
		var need string
		switch tr {
		case Exact:
			_, ok = b.Field.(TraceField)
			need = "the exact trace needs a TraceField"
		case Hutchinson:
			_, ok = b.Field.(JVPField)
			need = "the hutchinson trace estimator needs a JVPField"
		default:
			ok = true
		}
		if !ok {
			if index {
				return fmt.Errorf("flow: %s: block %d: %s, got %T", op, k, need, b.Field)
			}
			return fmt.Errorf("flow: %s: %s, got %T", op, need, b.Field)
		}
	}
	return nil
}

// prepare validates the chain, the options and the field capabilities.
func (c *Chain) prepare(op string, opt Options, div, random bool) (Options, error) {
	if err := c.validate(); err != nil {
		return opt, fmt.Errorf("flow: %s: %w", op, err)
	}
	opt, err := opt.normalized(op, div, random)
	if err != nil {
		return opt, err
	}
	if div {
		if err := checkFields(op, c.Blocks, opt.Trace, true); err != nil {
			return opt, err
		}
	}
	return opt, nil
}

// Forward maps the n×d data rows x to latent rows z (a new n×d slice),
// through the blocks in order. x is not modified. It returns an error for an
// invalid chain or options, n < 1, len(x) ≠ n·d, non-finite x, or a failed
// solve (naming the block index, e.g. "flow: Forward: block 2: ode: …").
func (c *Chain) Forward(ctx context.Context, x []float64, n int, opt Options) ([]float64, Stats, error) {
	const op = "Forward"
	opt, err := c.prepare(op, opt, false, false)
	if err != nil {
		return nil, Stats{}, err
	}
	if err := checkRows(op, "x", x, n, c.Dim()); err != nil {
		return nil, Stats{}, err
	}
	z := append([]float64(nil), x...)
	st, err := transport(ctx, op, c.Blocks, z, n, nil, true, opt, true)
	if err != nil {
		return nil, st, err
	}
	return z, st, nil
}

// Inverse maps the n×d latent rows z to data rows x (a new n×d slice),
// through the blocks in reverse order. z is not modified. Errors as Forward.
func (c *Chain) Inverse(ctx context.Context, z []float64, n int, opt Options) ([]float64, Stats, error) {
	const op = "Inverse"
	opt, err := c.prepare(op, opt, false, false)
	if err != nil {
		return nil, Stats{}, err
	}
	if err := checkRows(op, "z", z, n, c.Dim()); err != nil {
		return nil, Stats{}, err
	}
	x := append([]float64(nil), z...)
	st, err := transport(ctx, op, c.Blocks, x, n, nil, false, opt, true)
	if err != nil {
		return nil, st, err
	}
	return x, st, nil
}

// LogProb returns log p(x_i) in nats for the n×d data rows x (length n),
// by the instantaneous change of variables (methods.md §1; Chen et al., arXiv
// 1806.07366; FFJORD, arXiv 1810.01367). Each block integrates the augmented
// state [x (n·d) | ℓ (n)] with dℓ/dt = div f in its data→latent direction,
// from ℓ = 0. With d log ρ(x(t), t)/dt = −div f along a path, the block map T
// satisfies log|det ∂T/∂x| = ∫ div f dt taken in the data→latent direction:
// ∫₀¹ for Reverse = false, ∫₁⁰ = −∫₀¹ for Reverse = true, which is exactly
// the ℓ integrated, so for both directions
// log p(x) = log N(z; 0, I) + Σ_blocks ℓ. The divergence comes from
// opt.Trace. Errors: those of Forward, a field lacking the interface the
// estimator needs (naming the block), or a missing opt.Rand for the
// stochastic estimators.
func (c *Chain) LogProb(ctx context.Context, x []float64, n int, opt Options) ([]float64, Stats, error) {
	const op = "LogProb"
	opt, err := c.prepare(op, opt, true, false)
	if err != nil {
		return nil, Stats{}, err
	}
	d := c.Dim()
	if err := checkRows(op, "x", x, n, d); err != nil {
		return nil, Stats{}, err
	}
	z := append([]float64(nil), x...)
	logp := make([]float64, n)
	st, err := transport(ctx, op, c.Blocks, z, n, logp, true, opt, true)
	if err != nil {
		return nil, st, err
	}
	addStdNormalLogProb(z, n, d, logp)
	return logp, st, nil
}

// Sample draws n latent rows z ~ N(0, I) from opt.Rand (n·d NormFloat64
// draws, row-major) and returns the data rows x = Inverse(z), n×d. The same
// seed gives the same samples. Errors: those of Inverse, n < 1 and a nil
// opt.Rand.
func (c *Chain) Sample(ctx context.Context, n int, opt Options) ([]float64, Stats, error) {
	const op = "Sample"
	opt, err := c.prepare(op, opt, false, true)
	if err != nil {
		return nil, Stats{}, err
	}
	if n < 1 {
		return nil, Stats{}, fmt.Errorf("flow: %s: n = %d rows, want n >= 1", op, n)
	}
	x := make([]float64, n*c.Dim())
	for i := range x {
		x[i] = opt.Rand.NormFloat64()
	}
	st, err := transport(ctx, op, c.Blocks, x, n, nil, false, opt, true)
	if err != nil {
		return nil, st, err
	}
	return x, st, nil
}

// SampleAndLogProb draws n samples as Sample does and returns them (n×d) with
// their log-densities log p(x_i) in nats (length n), computed in the same
// solve: each block integrates [x | ℓ] with dℓ/dt = div f in its latent→data
// direction, where ℓ is minus that block's data→latent log-determinant (see
// LogProb), so log p(x) = log N(z; 0, I) − Σ_blocks ℓ. The latent rows are
// drawn first, then the Hutchinson probes (if any) per batch and block.
// Errors: those of Sample and LogProb.
func (c *Chain) SampleAndLogProb(ctx context.Context, n int, opt Options) (x, logp []float64, st Stats, err error) {
	const op = "SampleAndLogProb"
	opt, err = c.prepare(op, opt, true, true)
	if err != nil {
		return nil, nil, Stats{}, err
	}
	if n < 1 {
		return nil, nil, Stats{}, fmt.Errorf("flow: %s: n = %d rows, want n >= 1", op, n)
	}
	d := c.Dim()
	x = make([]float64, n*d)
	for i := range x {
		x[i] = opt.Rand.NormFloat64()
	}
	logp = make([]float64, n)
	StdNormalLogProb(x, n, d, logp)
	ell := make([]float64, n)
	st, err = transport(ctx, op, c.Blocks, x, n, ell, false, opt, true)
	if err != nil {
		return nil, nil, st, err
	}
	for i := range logp {
		logp[i] -= ell[i]
	}
	return x, logp, st, nil
}

// Push maps the n×d rows x in place through the block from the data side to
// the latent side (as trainers push a pool of samples through a trained
// block). Errors: an invalid block or options, n < 1, len(x) ≠ n·d,
// non-finite x, or a failed solve ("flow: Push: ode: …"); after a failed
// solve x may be left partly transported.
func (b Block) Push(ctx context.Context, x []float64, n int, opt Options) (Stats, error) {
	const op = "Push"
	if err := b.check(); err != nil {
		return Stats{}, fmt.Errorf("flow: %s: %w", op, err)
	}
	opt, err := opt.normalized(op, false, false)
	if err != nil {
		return Stats{}, err
	}
	if err := checkRows(op, "x", x, n, b.Field.Dim()); err != nil {
		return Stats{}, err
	}
	return transport(ctx, op, []Block{b}, x, n, nil, true, opt, false)
}

// PushLogDet is Push that also adds log|det ∂T/∂x| of this block's
// data→latent map T to logdet[i] (length n), integrated as in LogProb with the
// divergence estimator of opt. Errors: those of Push, len(logdet) ≠ n, a field
// lacking the interface the estimator needs, and a missing opt.Rand for the
// stochastic estimators.
func (b Block) PushLogDet(ctx context.Context, x []float64, n int, logdet []float64, opt Options) (Stats, error) {
	const op = "PushLogDet"
	if err := b.check(); err != nil {
		return Stats{}, fmt.Errorf("flow: %s: %w", op, err)
	}
	opt, err := opt.normalized(op, true, false)
	if err != nil {
		return Stats{}, err
	}
	if err := checkFields(op, []Block{b}, opt.Trace, false); err != nil {
		return Stats{}, err
	}
	if err := checkRows(op, "x", x, n, b.Field.Dim()); err != nil {
		return Stats{}, err
	}
	if len(logdet) != n {
		return Stats{}, fmt.Errorf("flow: %s: len(logdet) = %d, want n = %d", op, len(logdet), n)
	}
	return transport(ctx, op, []Block{b}, x, n, logdet, true, opt, false)
}

// StdNormalLogProb writes log N(z_i; 0, I) = −|z_i|²/2 − (d/2) log 2π in nats
// into out[i] for the n rows of the n×d slice z. It requires len(z) >= n·d and
// len(out) >= n (it panics otherwise, like a slice index out of range).
func StdNormalLogProb(z []float64, n, d int, out []float64) {
	clear(out[:n])
	addStdNormalLogProb(z, n, d, out)
}

func addStdNormalLogProb(z []float64, n, d int, out []float64) {
	c := -0.5 * float64(d) * math.Log(2*math.Pi)
	for i := 0; i < n; i++ {
		var s float64
		for _, v := range z[i*d : (i+1)*d] {
			s += v * v
		}
		out[i] += c - 0.5*s
	}
}
