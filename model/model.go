// Package model is a trained iterflow density model as users hold it: the
// chain of velocity-field blocks, the invertible preprocessing that maps the
// user's data to the chain's input, and the metadata needed to save, load and
// use it. LogProb and Sample work in the units of the user's data: the
// preprocessing's log-determinant is included.
package model

import (
	"context"
	"fmt"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/data/toy"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
)

// FormatVersion is the version of the saved model format (model.json plus
// model.safetensors). Load refuses other versions.
const FormatVersion = 1

// BlockInfo describes one block of the chain.
type BlockInfo struct {
	// Kind is "ou" (an OU step of Local Flow Matching), "free" (a final block to
	// N(0, I)) or another method's block kind.
	Kind string `json:"kind"`
	// Gamma is the block's step size (OU step γ or JKO step h; 0 if none).
	Gamma float64 `json:"gamma"`
	// Reverse is the flow.Block convention: false when integrating t from 0 to 1
	// carries data towards the latent side.
	Reverse bool `json:"reverse"`
	// Field is the block's velocity-field type: "mlp" (nn.MLP with the model's
	// Spec) or "linear" (nn.Linear, f(x) = Ax + b). Empty means "mlp".
	Field string `json:"field,omitempty"`
}

// Field is a block's trained velocity field in float32: *nn.MLP[float32] or
// *nn.Linear[float32].
type Field interface {
	Dim() int
	NumParams() int
	Params() []float32
}

// FieldKind returns "mlp" or "linear" for a Field, "" for other types.
func FieldKind(f Field) string {
	switch f.(type) {
	case *nn.MLP[float32]:
		return "mlp"
	case *nn.Linear[float32]:
		return "linear"
	}
	return ""
}

// Model is a chain of MLP velocity-field blocks behind a standardization.
type Model struct {
	// Method names the training method ("lfm", ...).
	Method string
	// Spec is the architecture shared by all blocks (Spec.Dim is d).
	Spec nn.Spec
	// Blocks describes each block; Fields holds their weights (float32), in the
	// data-to-latent order.
	Blocks []BlockInfo
	Fields []Field
	// Logit, when set, maps bounded data to the real line before the
	// standardization (RealNVP's logit trick, arXiv 1605.08803 §4.1); its
	// per-row log-determinant is included in LogProb.
	Logit *data.Logit
	// Standardizer maps the (logit-transformed) data x to the chain's input
	// y = (x − Mean)/Std.
	Standardizer *data.Standardizer
	// Dequantized marks the columns that were integer-valued and dequantized
	// with U[0, 1) noise before fitting: log-likelihoods refer to the
	// dequantized data.
	Dequantized []bool
	// Columns names the data columns (length d).
	Columns []string
	// Source is the latent distribution: "" for N(0, I), or the name of a 2D
	// generator (data/toy) for flow-matching models trained from another
	// source. LogProb needs N(0, I).
	Source string
}

// Dim returns the data dimension d.
func (m *Model) Dim() int { return m.Spec.Dim }

// Validate checks that the parts agree in dimension and count.
func (m *Model) Validate() error {
	d := m.Spec.Dim
	if err := m.Spec.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if len(m.Fields) == 0 || len(m.Fields) != len(m.Blocks) {
		return fmt.Errorf("model: %d velocity fields for %d blocks", len(m.Fields), len(m.Blocks))
	}
	for i, f := range m.Fields {
		if f.Dim() != d {
			return fmt.Errorf("model: block %d has dimension %d, want %d", i, f.Dim(), d)
		}
		if FieldKind(f) == "" {
			return fmt.Errorf("model: block %d has an unsupported field type %T", i, f)
		}
	}
	if m.Standardizer == nil || len(m.Standardizer.Mean) != d || len(m.Standardizer.Std) != d {
		return fmt.Errorf("model: standardizer does not have dimension %d", d)
	}
	if m.Dequantized != nil && len(m.Dequantized) != d {
		return fmt.Errorf("model: dequantized mask has %d entries, want %d", len(m.Dequantized), d)
	}
	if m.Logit != nil && (len(m.Logit.Lo) != d || len(m.Logit.Hi) != d) {
		return fmt.Errorf("model: logit bounds have %d and %d entries, want %d", len(m.Logit.Lo), len(m.Logit.Hi), d)
	}
	if m.Columns != nil && len(m.Columns) != d {
		return fmt.Errorf("model: %d column names, want %d", len(m.Columns), d)
	}
	return nil
}

// Chain returns the float64 chain of blocks (fresh copies of the weights), on
// the standardized scale.
func (m *Model) Chain() *flow.Chain {
	c := &flow.Chain{Blocks: make([]flow.Block, len(m.Fields))}
	for i, f := range m.Fields {
		c.Blocks[i] = flow.Block{Field: Float64Field(f), Reverse: m.Blocks[i].Reverse}
	}
	return c
}

// LogProb returns log p(x) in nats for each row of the n×d matrix x, in the
// units of the user's data (the log-determinants of the logit transform, when
// set, and of the standardization included). A value outside the logit's
// bounds is an error naming the row and column.
// x is not modified. Errors: a wrong shape, or a failed solve (naming the block).
func (m *Model) LogProb(ctx context.Context, x []float64, n int, opt flow.Options) ([]float64, flow.Stats, error) {
	d := m.Dim()
	if n < 1 || len(x) != n*d {
		return nil, flow.Stats{}, fmt.Errorf("model: got %d values, want n×d with d = %d (the model was trained on %d columns)", len(x), d, d)
	}
	if m.Source != "" {
		return nil, flow.Stats{}, fmt.Errorf("model: log-likelihoods need an N(0, I) latent; this model was trained from the source %q", m.Source)
	}
	y := append([]float64(nil), x...)
	var lld []float64
	if m.Logit != nil {
		lld = make([]float64, n)
		if err := m.Logit.ForwardLogDet(y, n, lld); err != nil {
			return nil, flow.Stats{}, fmt.Errorf("model: %w", err)
		}
	}
	m.Standardizer.Forward(y, n)
	c := m.Chain()
	lp, st, err := c.LogProb(ctx, y, n, opt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, st, err
		}
		if n == 1 {
			return nil, st, &RowError{Row: 0, Err: err}
		}
		// One extreme row can make the solve of its whole batch fail; find
		// it so that the error names it.
		return nil, st, firstFailingRow(ctx, c, y, n, m.Dim(), opt, err)
	}
	ld := m.Standardizer.LogDet()
	for i := range lp {
		lp[i] += ld
		if lld != nil {
			lp[i] += lld[i]
		}
	}
	return lp, st, nil
}

// Sample draws n samples (n×d, in data units) by integrating the chain
// backwards from latent points drawn with opt.Rand: z ~ N(0, I), or the
// model's Source generator.
func (m *Model) Sample(ctx context.Context, n int, opt flow.Options) ([]float64, flow.Stats, error) {
	var x []float64
	var st flow.Stats
	var err error
	if m.Source == "" {
		x, st, err = m.Chain().Sample(ctx, n, opt)
	} else {
		if opt.Rand == nil {
			return nil, st, fmt.Errorf("model: Sample needs Options.Rand")
		}
		var z []float64
		if z, err = toy.Sample(m.Source, n, opt.Rand); err != nil {
			return nil, st, fmt.Errorf("model: source: %w", err)
		}
		x, st, err = m.Chain().Inverse(ctx, z, n, opt)
	}
	if err != nil {
		return nil, st, err
	}
	m.Standardizer.Inverse(x, n)
	if m.Logit != nil {
		if err := m.Logit.Inverse(x, n); err != nil {
			return nil, st, fmt.Errorf("model: %w", err)
		}
	}
	return x, st, nil
}

// Float64Field returns a float64 copy of a trained field for likelihoods and
// sampling; it panics for a type that is not a Field of this package (Validate
// rejects those).
func Float64Field(f Field) flow.TraceField {
	switch f := f.(type) {
	case *nn.MLP[float32]:
		return nn.Convert[float64](f)
	case *nn.Linear[float32]:
		return nn.ConvertLinear[float64](f)
	}
	panic(fmt.Sprintf("model: unsupported field type %T", f))
}

// RowError is a failed likelihood solve traced to one row of the input (the
// first that fails when solved alone), typically a row far outside the
// training data.
type RowError struct {
	// Row counts from 0.
	Row int
	Err error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d (counting from 0): %v; the row may lie far outside the training data", e.Row, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// firstFailingRow solves each row of y (n×d, chain scale) alone and returns a
// *RowError for the first that fails, or batchErr when every row succeeds
// alone (a failure of the batch as a whole).
func firstFailingRow(ctx context.Context, c *flow.Chain, y []float64, n, d int, opt flow.Options, batchErr error) error {
	for i := 0; i < n; i++ {
		if _, _, err := c.LogProb(ctx, y[i*d:(i+1)*d], 1, opt); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return &RowError{Row: i, Err: err}
		}
	}
	return batchErr
}
