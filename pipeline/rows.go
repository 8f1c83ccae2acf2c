package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
)

// Counter receives the progress of a long step counted in rows (evaluation,
// sampling), for progress bars and ETAs. Start is called once, Add after
// every batch, Finish at the end (also after an error).
type Counter interface {
	// Start announces a step over total rows, described by label.
	Start(label string, total int)
	// Add reports that n more rows are done.
	Add(n int)
	// Finish closes the step.
	Finish()
}

// LogProbRows returns log p(x) in nats (length n, data units) of the n×d rows
// x under m, as m.LogProb does, in batches of opt.BatchSize rows (0: the flow
// default) so that c (nil: none) can follow the progress under label. The
// batches are those m.LogProb solves, in the same order with the same random
// draws, so the values equal m.LogProb's exactly. Stats are merged as flow
// merges batches (NFE of the batch that needed the most). Errors: those of
// m.LogProb, with the failing rows named.
func LogProbRows(ctx context.Context, m *model.Model, x []float64, n int, opt flow.Options, c Counter, label string) ([]float64, flow.Stats, error) {
	d := m.Dim()
	if n < 1 || len(x) != n*d {
		return nil, flow.Stats{}, fmt.Errorf("log-likelihood: got %d values for %d rows; want n×d with d = %d", len(x), n, d)
	}
	bs := opt.BatchSize
	if bs <= 0 {
		bs = flow.DefaultBatchSize
	}
	// One call per group of batches, so that flow can solve them on its
	// workers; the batches themselves (and so the values) are unchanged.
	w := opt.Workers
	if w <= 0 {
		w = flow.DefaultWorkers()
	}
	bs *= w
	if c != nil {
		c.Start(label, n)
		defer c.Finish()
	}
	out := make([]float64, 0, n)
	var st flow.Stats
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		lp, s, err := m.LogProb(ctx, x[lo*d:hi*d], hi-lo, opt)
		if err != nil {
			var re *model.RowError
			if errors.As(err, &re) {
				return nil, st, fmt.Errorf("row %d (counting from 0): %w; the row may lie far outside the training data", lo+re.Row, re.Err)
			}
			return nil, st, fmt.Errorf("rows %d–%d (counting from 0): %w", lo, hi-1, err)
		}
		mergeStats(&st, s)
		out = append(out, lp...)
		if c != nil {
			c.Add(hi - lo)
		}
	}
	return out, st, nil
}

// SampleRows draws n samples (n×d, data units) from m as m.Sample does. For
// an N(0, I) latent it works in batches of opt.BatchSize rows so that c (nil:
// none) can follow the progress under label; the latent rows are drawn in the
// same order and solved in the same batches, so the samples equal m.Sample's
// exactly. A model with another source is sampled in one call. Errors: those
// of m.Sample.
func SampleRows(ctx context.Context, m *model.Model, n int, opt flow.Options, c Counter, label string) ([]float64, flow.Stats, error) {
	if n < 1 {
		return nil, flow.Stats{}, fmt.Errorf("sample: n = %d, want at least 1", n)
	}
	bs := opt.BatchSize
	if bs <= 0 {
		bs = flow.DefaultBatchSize
	}
	if c != nil {
		c.Start(label, n)
		defer c.Finish()
	}
	if m.Source != "" {
		x, st, err := m.Sample(ctx, n, opt)
		if err == nil && c != nil {
			c.Add(n)
		}
		return x, st, err
	}
	d := m.Dim()
	out := make([]float64, 0, n*d)
	var st flow.Stats
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		x, s, err := m.Sample(ctx, hi-lo, opt)
		if err != nil {
			return nil, st, fmt.Errorf("samples %d–%d: %w", lo+1, hi, err)
		}
		mergeStats(&st, s)
		out = append(out, x...)
		if c != nil {
			c.Add(hi - lo)
		}
	}
	return out, st, nil
}

// mergeStats adds the stats of one call to s the way flow merges batches.
func mergeStats(s *flow.Stats, b flow.Stats) {
	if s.Batches == 0 || b.NFE > s.NFE {
		s.NFE, s.Steps, s.Rejected = b.NFE, b.Steps, b.Rejected
	}
	s.Batches += b.Batches
}
