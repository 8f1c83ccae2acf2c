package method

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// SampleFixedNFE draws n samples from the chain c (any method) with a fixed
// budget: z ~ N(0, I) from rng (n·d NormFloat64 draws, row-major) mapped to
// data by c.Inverse with steps steps of the fixed-step method m per block. It
// returns the n×d samples and the NFE used, exactly steps × stages(m) ×
// blocks (stages: euler 1, midpoint 2, rk4 4). The latent is N(0, I): for a
// flow-matching model with another source, map source draws with c.Inverse.
//
// Errors: a nil or invalid chain, n < 1, steps < 1, an adaptive method
// (dopri5), a nil rng, a failed solve.
func SampleFixedNFE(ctx context.Context, c *flow.Chain, n, steps int, m ode.Method, rng *rand.Rand) ([]float64, int, error) {
	switch {
	case c == nil:
		return nil, 0, fmt.Errorf("fixed-NFE sampling: nil chain")
	case n < 1:
		return nil, 0, fmt.Errorf("fixed-NFE sampling: n must be at least 1, got %d", n)
	case steps < 1:
		return nil, 0, fmt.Errorf("fixed-NFE sampling: steps must be at least 1, got %d", steps)
	case !m.Fixed():
		return nil, 0, fmt.Errorf("fixed-NFE sampling: method %v is adaptive; want euler, midpoint or rk4", m)
	case rng == nil:
		return nil, 0, fmt.Errorf("fixed-NFE sampling: nil random source")
	}
	x, st, err := c.Sample(ctx, n, flow.Options{Solver: ode.Options{Method: m, Steps: steps}, Rand: rng})
	if err != nil {
		return nil, 0, fmt.Errorf("fixed-NFE sampling: %w", err)
	}
	return x, st.NFE, nil
}

// Distill trains a student block for one-step generation (progressive
// distillation of a flow into few steps, as described for Local Flow Matching,
// arXiv 2410.02548): the student velocity at t = 0 regresses onto T(x) − x,
// where T is the teacher block's time-1 map (its ODE integrated from t = 0 to
// t = 1 with solver, whatever its Reverse flag) and x runs over the n×d pool
// (the points the block is applied to: latent draws for a flow-matching
// block, the previous pool for a Local Flow Matching block). The student's
// one-step Euler map x + v(x, 0) then approximates T; use it as
// flow.Block{Field: nn.Convert[float64](student), Reverse: teacher.Reverse}
// with ode.Options{Method: ode.Euler, Steps: 1}. Its velocity at t > 0 is not
// trained, so it is not meant for likelihoods.
//
// The student has the teacher's architecture and starts from its weights when
// teacher.Field is an *nn.MLP[float64]; otherwise it is a fresh network of
// cfg.Net. cfg supplies Iters, BatchSize, LR and its decay, Clip, EMA,
// LossEvery, Seed; with ValEvery > 0 the last tenth of the pool (at least one
// row, when n ≥ 2) is held out for validation. Coupling, Interpolant, Sigma,
// Source and Time are ignored.
//
// Errors: bad settings or shapes, a nil teacher field or one of another
// dimension, a failed teacher solve, those of training.
func Distill(ctx context.Context, teacher flow.Block, pool []float64, n, d int, cfg FMConfig, solver ode.Options, prog Progress) (*nn.MLP[float32], BlockResult, error) {
	var br BlockResult
	cfg.Coupling, cfg.Interpolant, cfg.Sigma = interp.Independent, interp.Linear, 0
	if err := cfg.Validate(); err != nil {
		return nil, br, fmt.Errorf("distill: %w", err)
	}
	if err := solver.Validate(); err != nil {
		return nil, br, fmt.Errorf("distill: solver: %w", err)
	}
	switch {
	case n < 1 || d < 1 || len(pool) != n*d:
		return nil, br, fmt.Errorf("distill: pool has %d values, want n×d = %d×%d", len(pool), n, d)
	case teacher.Field == nil:
		return nil, br, fmt.Errorf("distill: teacher block has no velocity field")
	case teacher.Field.Dim() != d:
		return nil, br, fmt.Errorf("distill: teacher has dimension %d, pool has %d", teacher.Field.Dim(), d)
	}
	if prog == nil {
		prog = noProgress{}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd157))
	var net *nn.MLP[float32]
	if m, ok := teacher.Field.(*nn.MLP[float64]); ok {
		net = nn.Convert[float32](m)
	} else {
		spec := cfg.Net
		spec.Dim, spec.TimeInput = d, true
		var err error
		if net, err = nn.NewMLP[float32](spec, rng); err != nil {
			return nil, br, fmt.Errorf("distill: network: %w", err)
		}
	}

	start := time.Now()
	// Teacher's time-1 map on the whole pool.
	tx := append([]float64(nil), pool...)
	f := func(t float64, y, dy []float64) error {
		teacher.Field.Velocity(t, y, n, dy)
		return nil
	}
	st, err := ode.Solve(ctx, f, tx, 0, 1, solver)
	if err != nil {
		return nil, br, fmt.Errorf("distill: teacher map: %w", err)
	}
	x0, x1 := make([]float32, n*d), make([]float32, n*d)
	toF32(x0, pool)
	toF32(x1, tx)

	nv := 0
	if cfg.ValEvery > 0 && n >= 2 {
		nv = max(1, n/10)
	}
	nt := n - nv
	b := cfg.BatchSize
	perm := rng.Perm(nt)
	pos := 0
	prob := &fmProblem{
		d: d, interpolant: interp.Linear, atZero: true,
		pairs: func(bx0, bx1 []float32, rng *rand.Rand) error {
			for i := 0; i < b; i++ {
				if pos == nt {
					rng.Shuffle(nt, func(a, c int) { perm[a], perm[c] = perm[c], perm[a] })
					pos = 0
				}
				r := perm[pos]
				copy(bx0[i*d:(i+1)*d], x0[r*d:(r+1)*d])
				copy(bx1[i*d:(i+1)*d], x1[r*d:(r+1)*d])
				pos++
			}
			return nil
		},
	}
	prog.StartBlock(0, 1, cfg.Iters, "one-step distillation")
	br, err = trainFM(ctx, net, prob, x0[nt*d:], x1[nt*d:], nv, cfg, rng, prog, nil, nil)
	prog.EndBlock()
	if err != nil {
		return nil, br, fmt.Errorf("distill: %w", err)
	}
	br.Kind = "distill"
	br.PushNFE = st.NFE
	br.Seconds = time.Since(start).Seconds()
	return net, br, nil
}
