package method

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampler draws source points x0 (the t = 0 end of a flow-matching path):
// N(0, I) by default, or any other distribution on R^d, e.g. a 2D toy dataset
// or a table of points. Samplers are not required to be safe for concurrent
// use.
type Sampler interface {
	// Sample writes n independent draws, one per row, into out (n×Dim(),
	// row-major), using only rng for randomness. It returns an error when
	// n < 1 or len(out) ≠ n·Dim(), or when the sampler itself is invalid.
	Sample(n int, rng *rand.Rand, out []float64) error
	// Dim returns d.
	Dim() int
	// IsStdNormal reports whether the draws are N(0, I): only then does a
	// flow-matching model define a likelihood (flow.Chain.LogProb assumes an
	// N(0, I) latent).
	IsStdNormal() bool
}

// StdNormal returns the sampler of N(0, I) on R^d: d NormFloat64 draws per
// row, row-major. A d below 1 gives a sampler whose Sample returns an error.
func StdNormal(d int) Sampler { return stdNormal{d: d} }

type stdNormal struct{ d int }

func (s stdNormal) Dim() int          { return s.d }
func (s stdNormal) IsStdNormal() bool { return true }

func (s stdNormal) Sample(n int, rng *rand.Rand, out []float64) error {
	if s.d < 1 {
		return fmt.Errorf("std normal sampler: dimension must be at least 1, got %d", s.d)
	}
	if err := checkSampleArgs("std normal sampler", n, s.d, rng, out); err != nil {
		return err
	}
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return nil
}

// TableSampler returns a sampler that draws rows of the fixed n×d table x
// uniformly with replacement (the empirical distribution of the table). The
// table is copied. A table whose length is not n·d, that is empty or that
// holds a non-finite value gives a sampler whose Sample returns an error
// naming the problem (the constructor itself never fails).
func TableSampler(x []float64, n, d int) Sampler {
	t := &tableSampler{n: n, d: d}
	switch {
	case n < 1 || d < 1:
		t.err = fmt.Errorf("table sampler: table must be at least 1×1, got %d×%d", n, d)
	case len(x) != n*d:
		t.err = fmt.Errorf("table sampler: table has %d values, want n×d = %d×%d", len(x), n, d)
	default:
		for i, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.err = fmt.Errorf("table sampler: row %d column %d is %g", i/d, i%d, v)
				break
			}
		}
		t.x = append([]float64(nil), x...)
	}
	return t
}

type tableSampler struct {
	x    []float64
	n, d int
	err  error
}

func (t *tableSampler) Dim() int          { return t.d }
func (t *tableSampler) IsStdNormal() bool { return false }

func (t *tableSampler) Sample(n int, rng *rand.Rand, out []float64) error {
	if t.err != nil {
		return t.err
	}
	if err := checkSampleArgs("table sampler", n, t.d, rng, out); err != nil {
		return err
	}
	d := t.d
	for i := 0; i < n; i++ {
		r := rng.IntN(t.n)
		copy(out[i*d:(i+1)*d], t.x[r*d:(r+1)*d])
	}
	return nil
}

func checkSampleArgs(who string, n, d int, rng *rand.Rand, out []float64) error {
	switch {
	case n < 1:
		return fmt.Errorf("%s: n must be at least 1, got %d", who, n)
	case len(out) != n*d:
		return fmt.Errorf("%s: output has %d values, want n×d = %d×%d", who, len(out), n, d)
	case rng == nil:
		return fmt.Errorf("%s: nil random source", who)
	}
	return nil
}
