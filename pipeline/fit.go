package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/model"
)

// Fit trains the model described by cfg on in-memory tables and returns it,
// without loading a dataset, evaluating or writing a run directory (Run does
// all of that). It is the training half of Run, for the Go API.
//
// train (n×d, at least 2 rows) is the data the chain is fitted to; val (any
// number of rows with the same d, or nil) is the held-out split used to keep
// the best weights of each block. Both are in the user's units and are not
// modified: Fit fits the Standardizer on train and standardizes copies.
// Dequantization is the caller's: dequantized (length d, or nil for none)
// only records which columns already carry U[0, 1) noise. cfg.Data,
// cfg.Columns, cfg.Dequantize, the split fractions, cfg.Out and cfg.Eval are
// not used. prog receives per-block progress (nil: none).
//
// Errors: an invalid cfg (naming the key), mismatched shapes, a constant
// column in train, a training failure, or ctx's error when the context is
// cancelled (wrapped, so errors.Is(err, context.Canceled) holds).
func Fit(ctx context.Context, cfg Config, train, val *data.Table, dequantized []bool, prog method.Progress) (*model.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	if train == nil {
		return nil, fmt.Errorf("fit: no training table")
	}
	d := train.D
	if d < 1 || train.N < 2 || len(train.X) != train.N*d {
		return nil, fmt.Errorf("fit: training table is %d×%d with %d values; need at least 2 rows, 1 column and N·D values", train.N, d, len(train.X))
	}
	if train.Names != nil && len(train.Names) != d {
		return nil, fmt.Errorf("fit: training table has %d column names for %d columns", len(train.Names), d)
	}
	nv := 0
	var valS []float64
	if val != nil && val.N > 0 {
		if val.D != d || len(val.X) != val.N*d {
			return nil, fmt.Errorf("fit: validation table is %d×%d with %d values; want %d columns like the training table", val.N, val.D, len(val.X), d)
		}
		nv = val.N
		valS = append([]float64(nil), val.X...)
	}
	if dequantized == nil {
		dequantized = make([]bool, d)
	} else if len(dequantized) != d {
		return nil, fmt.Errorf("fit: dequantized mask has %d entries for %d columns", len(dequantized), d)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	tf, err := fitTransforms(&cfg, train)
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	std := tf.std
	trainS, _, err := tf.apply(train.X, train.N, "training")
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	if nv > 0 {
		if valS, _, err = tf.apply(valS, nv, "validation"); err != nil {
			return nil, fmt.Errorf("fit: %w", err)
		}
	}
	tr, err := trainMethod(ctx, &cfg, trainS, train.N, valS, nv, d, prog)
	if err != nil {
		if ctx.Err() != nil && !isContextErr(err) {
			return nil, fmt.Errorf("fit: %w (%w)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("fit: %w", err)
	}
	m := &model.Model{Method: cfg.Method, Spec: netSpec(&cfg, d),
		Fields: tr.fields, Blocks: tr.infos, Standardizer: std, Logit: tf.logit,
		Dequantized: append([]bool(nil), dequantized...), Columns: append([]string(nil), train.Names...), Source: cfg.Source}
	if train.Names == nil {
		m.Columns = nil
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	return m, nil
}

// isContextErr reports whether err wraps context.Canceled or
// context.DeadlineExceeded.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
