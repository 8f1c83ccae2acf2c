package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/model"
)

// distributed reports whether c spans more than one rank.
func distributed(c dist.Comm) bool { return c != nil && c.Size() > 1 }

// checkDistributed refuses the settings a data-parallel run (Options.Comm
// with several ranks) does not support: methods other than lfm, cfm, otcfm
// and rf, resuming, rolling back, and time budgets (ranks would stop at
// different steps). Every rank checks the same config, so all of them fail
// together before any collective.
func checkDistributed(cfg *Config, opt *Options) error {
	if !distributed(opt.Comm) {
		return nil
	}
	size := opt.Comm.Size()
	switch {
	case !dataParallelMethod(cfg.Method):
		return fmt.Errorf("data-parallel training (%d ranks) supports methods lfm, cfm, otcfm and rf only, got %s", size, cfg.Method)
	case opt.Resume:
		return fmt.Errorf("resume: data-parallel runs (%d ranks) keep no checkpoint; start the run again", size)
	case opt.OnDiverge == "rollback":
		return fmt.Errorf("on-diverge rollback: data-parallel runs (%d ranks) keep no checkpoint to roll back to; use stop", size)
	case cfg.Train.Seconds > 0 || cfg.Train.BlockSeconds > 0:
		return fmt.Errorf("data-parallel training (%d ranks) takes no time budget (train.seconds, train.block_seconds); give train.iters", size)
	case cfg.Train.BatchSize < size:
		return fmt.Errorf("data-parallel training: batch size %d is smaller than the %d ranks", cfg.Train.BatchSize, size)
	}
	return nil
}

// dataParallelMethod reports whether method trains data-parallel: Local Flow
// Matching and the global flow-matching methods (method.TrainLFM,
// method.TrainFM and method.Reflow take a communicator).
func dataParallelMethod(m string) bool {
	switch m {
	case "lfm", "cfm", "otcfm", "rf":
		return true
	}
	return false
}

// runWorker is Run on a rank other than 0 of a data-parallel run: the same
// data preparation and training (its share of every step), then its shard
// of the test log-likelihood. It writes nothing and returns a Result with an
// empty Dir and the trained model.
func runWorker(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	sp, err := PrepareSplits(&cfg)
	if err != nil {
		return nil, err
	}
	ds, train, val, test := sp.Dataset, sp.Train, sp.Val, sp.Test
	tf, err := fitTransforms(&cfg, train)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	trainS, _, err := tf.apply(train.X, train.N, "training")
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	valS, _, err := tf.apply(val.X, val.N, "validation")
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	tr, err := trainMethodCk(method.WithComm(ctx, opt.Comm), &cfg, trainS, train.N, valS, val.N, sp.D, nil, nil)
	if err != nil {
		return nil, err
	}
	m := &model.Model{Method: cfg.Method, Spec: netSpec(&cfg, sp.D), Fields: tr.fields, Blocks: tr.infos,
		Standardizer: tf.std, Logit: tf.logit, Dequantized: sp.Dequantized, Columns: ds.Table.Names, Source: cfg.Source}
	if m.Source == "" {
		if _, _, _, err := testNLL(ctx, &cfg, m, test.X, test.N, nil, opt.Comm); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	return &Result{Model: m}, nil
}

// testNLL returns the mean negative log-likelihood of the n test rows x (data
// units) and its standard error, with the evaluation solver and trace of
// cfg. Over several ranks each rank scores its shard of the rows (Hutchinson
// probes seeded per rank, dist.RankSeed) and the count, the sum and the sum
// of squares are all-reduced; the Stats are those of this rank's shard.
func testNLL(ctx context.Context, cfg *Config, m *model.Model, x []float64, n int, c Counter, comm dist.Comm) (nll, se float64, st flow.Stats, err error) {
	eopt, _ := cfg.Eval.options("eval")
	trace, _ := flow.ParseTrace(cfg.Eval.Trace)
	rank := 0
	if distributed(comm) {
		rank = comm.Rank()
	}
	fopt := flow.Options{Solver: eopt, Trace: trace, BatchSize: cfg.Eval.BatchSize, Rand: rand.New(rand.NewPCG(dist.RankSeed(cfg.Seed, rank), 0xe7))}
	if !distributed(comm) {
		lp, st, err := LogProbRows(ctx, m, x, n, fopt, c, "test log-likelihood")
		if err != nil {
			return 0, 0, st, err
		}
		nll, se = meanSE(lp, -1)
		return nll, se, st, nil
	}
	d := m.Dim()
	lo, hi := dist.Shard(n, rank, comm.Size())
	var sums [3]float64 // rows, Σ nll, Σ nll²
	if hi > lo {
		lp, lst, err := LogProbRows(ctx, m, x[lo*d:hi*d], hi-lo, fopt, c, "test log-likelihood (this rank's shard)")
		if err != nil {
			return 0, 0, lst, err
		}
		st = lst
		for _, v := range lp {
			sums[0]++
			sums[1] -= v
			sums[2] += v * v
		}
	}
	if err := comm.AllreduceSumFloat64(sums[:]); err != nil {
		return 0, 0, st, fmt.Errorf("reducing the test log-likelihood: %w", err)
	}
	cnt := sums[0]
	nll = sums[1] / cnt
	if cnt > 1 {
		ss := max(sums[2]-cnt*nll*nll, 0)
		se = math.Sqrt(ss / (cnt - 1) / cnt)
	}
	return nll, se, st, nil
}
