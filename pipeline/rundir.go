package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/iterflow/iterflow/baseline"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
)

// RunDir is a finished run directory written by Run, opened to sample,
// score, evaluate or plot again: its resolved config (config.yaml), its model
// (model.json + model.safetensors) and its metrics (metrics.json).
type RunDir struct {
	// Dir is the run directory as given.
	Dir string
	// Config is the run's resolved config, validated.
	Config Config
	// Model is the trained model.
	Model *model.Model
	// Metrics is the run's metrics.json, with LossCurves, LossEvery and
	// Movement filled in where the run recorded them.
	Metrics *Metrics
}

// OpenRun reads the run directory dir. Errors name the directory and the
// problem: it does not exist, is not an iterflow run (no model.json), or one
// of its files is missing or invalid.
func OpenRun(dir string) (*RunDir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("run %s: not a directory; give the directory that iterflow train wrote", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		return nil, fmt.Errorf("run %s: not an iterflow run (no model.json)", dir)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	met, err := readMetrics(filepath.Join(dir, "metrics.json"))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	return &RunDir{Dir: dir, Config: cfg, Model: m, Metrics: met}, nil
}

// readMetrics reads a metrics.json with its loss curves and movement.
func readMetrics(path string) (*Metrics, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var w struct {
		Metrics
		LossCurves [][]float64 `json:"loss_curves"`
		Movement   []float64   `json:"movement"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	met := w.Metrics
	met.LossCurves, met.Movement = w.LossCurves, w.Movement
	return &met, nil
}

// Splits rebuilds the run's data splits (PrepareSplits with the run's
// config) and checks them against the model: the same number of columns,
// and a training split whose mean and standard deviation are the model's
// standardization (relative difference at most 1e-9), so that a data file
// changed since the run is reported rather than scored silently.
func (r *RunDir) Splits() (*Splits, error) {
	sp, err := PrepareSplits(&r.Config)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.Dir, err)
	}
	m := r.Model
	if sp.D != m.Dim() {
		return nil, fmt.Errorf("run %s: data %s has %d columns now; the model was trained on %d", r.Dir, sp.Dataset.Name, sp.D, m.Dim())
	}
	tf, err := fitTransforms(&r.Config, sp.Train)
	if err != nil {
		return nil, fmt.Errorf("run %s: data %s: %w", r.Dir, sp.Dataset.Name, err)
	}
	std := tf.std
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))+1e-300 }
	for j := range std.Mean {
		if !near(std.Mean[j], m.Standardizer.Mean[j]) || !near(std.Std[j], m.Standardizer.Std[j]) {
			return nil, fmt.Errorf("run %s: data %s changed since the run: the training split's column %d has mean %.6g and std %.6g, the model's standardization %.6g and %.6g",
				r.Dir, sp.Dataset.Name, j, std.Mean[j], std.Std[j], m.Standardizer.Mean[j], m.Standardizer.Std[j])
		}
	}
	return sp, nil
}

// EvalOptions configures Evaluate.
type EvalOptions struct {
	// Split is "test" (the default when empty), "val" or "train".
	Split string
	// Eval is the solver, trace estimator and batch size of the likelihood;
	// the run's eval config reproduces its metrics.json.
	Eval EvalConfig
	// Seed seeds the probes of the stochastic trace estimators (the run's
	// seed reproduces its metrics.json). The split always uses the run's seed.
	Seed uint64
	// Counter follows the likelihood solves in rows (nil: none).
	Counter Counter
}

// Evaluation is the result of Evaluate. NLLs are in nats per sample, in the
// units of the (dequantized) data; ± values are standard errors of the mean
// over the split's rows.
type Evaluation struct {
	Run   string `json:"run"`
	Split string `json:"split"`
	N     int    `json:"n"`
	D     int    `json:"d"`
	// NLLDefined is false for a model from a source other than N(0, I); then
	// NLL, NLLSE and BitsPerDim are 0.
	NLLDefined bool    `json:"nll_defined"`
	NLL        float64 `json:"nll"`
	NLLSE      float64 `json:"nll_se"`
	// BitsPerDim is NLL/(d·ln 2), reported for image data (0 otherwise), and
	// GaussianBitsPerDim the same for the baseline.
	BitsPerDim         float64 `json:"bits_per_dim,omitempty"`
	GaussianNLL        float64 `json:"gaussian_nll"`
	GaussianNLLSE      float64 `json:"gaussian_nll_se"`
	GaussianBitsPerDim float64 `json:"gaussian_bits_per_dim,omitempty"`
	// Solver and Trace describe the likelihood computation; NFE is the
	// evaluations of the velocity field for the batch that needed the most,
	// summed over blocks; Seconds the wall-clock time of the solves.
	Solver    string  `json:"solver"`
	Trace     string  `json:"trace"`
	BatchSize int     `json:"batch_size"`
	NFE       int     `json:"nfe"`
	Seconds   float64 `json:"seconds"`
}

// Evaluate computes the NLL of one split of a run's data under its model,
// beside the full-covariance Gaussian fitted on the run's training split.
// With the run's eval config and seed, the test NLL equals metrics.json's
// test_nll. Errors: an invalid split or eval config, data that no longer
// match the run, a failed solve.
func Evaluate(ctx context.Context, r *RunDir, opt EvalOptions) (*Evaluation, error) {
	if opt.Split == "" {
		opt.Split = "test"
	}
	eopt, err := opt.Eval.options("eval")
	if err != nil {
		return nil, err
	}
	trace, err := flow.ParseTrace(opt.Eval.Trace)
	if err != nil {
		return nil, fmt.Errorf("eval.trace: %v", err)
	}
	if opt.Eval.BatchSize < 1 {
		return nil, fmt.Errorf("eval.batch_size: must be at least 1, got %d", opt.Eval.BatchSize)
	}
	sp, err := r.Splits()
	if err != nil {
		return nil, err
	}
	part, err := sp.Split(opt.Split)
	if err != nil {
		return nil, err
	}
	m := r.Model
	d := m.Dim()
	ev := &Evaluation{Run: r.Dir, Split: opt.Split, N: part.N, D: d, NLLDefined: m.Source == "",
		Solver: opt.Eval.Describe(), Trace: trace.String(), BatchSize: opt.Eval.BatchSize}
	image := sp.Dataset.Image
	if ev.NLLDefined {
		fopt := flow.Options{Solver: eopt, Trace: trace, BatchSize: opt.Eval.BatchSize, Rand: rand.New(rand.NewPCG(opt.Seed, 0xe7))}
		t0 := time.Now()
		lp, st, err := LogProbRows(ctx, m, part.X, part.N, fopt, opt.Counter, opt.Split+" log-likelihood")
		if err != nil {
			return nil, fmt.Errorf("evaluate %s split: %w", opt.Split, err)
		}
		ev.Seconds = time.Since(t0).Seconds()
		ev.NLL, ev.NLLSE = meanSE(lp, -1)
		ev.NFE = st.NFE
		if image {
			ev.BitsPerDim = ev.NLL / (float64(d) * math.Ln2)
		}
	}
	g, err := baseline.FitGaussian(sp.Train.X, sp.Train.N, d)
	if err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	glp := make([]float64, part.N)
	if err := g.LogProb(part.X, part.N, glp); err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	ev.GaussianNLL, ev.GaussianNLLSE = meanSE(glp, -1)
	if image {
		ev.GaussianBitsPerDim = ev.GaussianNLL / (float64(d) * math.Ln2)
	}
	return ev, nil
}

// PlotOptions configures Plot.
type PlotOptions struct {
	// Seed seeds the samples drawn for the pictures (the run's seed redraws
	// the run's samples).
	Seed uint64
	// Counter follows the sampling in rows (nil: none).
	Counter Counter
}

// Plot redraws a run's PNG pictures (samples, marginals, density,
// trajectories, loss and movement, as the run had them) into its directory
// from the saved model, the rebuilt test split and the loss curves in
// metrics.json, and returns the file names written. Errors: data that no
// longer match the run, a failed solve or a failed write.
func Plot(ctx context.Context, r *RunDir, opt PlotOptions) ([]string, error) {
	sp, err := r.Splits()
	if err != nil {
		return nil, err
	}
	cfg := r.Config
	eopt, err := cfg.Eval.options("eval")
	if err != nil {
		return nil, err
	}
	sopt := flow.Options{Solver: eopt, BatchSize: cfg.Eval.BatchSize, Rand: rand.New(rand.NewPCG(opt.Seed, 0x5a))}
	samples, _, err := SampleRows(ctx, r.Model, cfg.Eval.Samples, sopt, opt.Counter, "samples")
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	met := *r.Metrics
	met.D = r.Model.Dim()
	tr := trainedFromMetrics(&cfg, &met)
	return writePlots(ctx, r.Dir, &cfg, sp.Dataset, &met, sp.Test, samples, tr, r.Model)
}

// trainedFromMetrics recovers what writePlots needs of a training result
// (loss curves, movement, passes) from a run's metrics: the recorded
// loss_curves, or, for runs written before those were recorded, the per-block
// results' loss_curve, loss_every and movement.
func trainedFromMetrics(cfg *Config, met *Metrics) *trained {
	tr := &trained{passes: met.Passes}
	if met.LossCurves != nil {
		tr.curves, tr.movement = met.LossCurves, met.Movement
		for k := range tr.curves {
			every := lossEvery(cfg)
			if k < len(met.LossEvery) && met.LossEvery[k] > 0 {
				every = met.LossEvery[k]
			}
			tr.lossEvery = append(tr.lossEvery, every)
		}
		return tr
	}
	blocks, _ := met.Blocks.([]any)
	for _, b := range blocks {
		blk, _ := b.(map[string]any)
		if c, ok := blk["loss_curve"].([]any); ok {
			curve := make([]float64, len(c))
			for i, v := range c {
				curve[i], _ = v.(float64)
			}
			every := lossEvery(cfg)
			if e, ok := blk["loss_every"].(float64); ok && e > 0 {
				every = int(e)
			}
			tr.curves = append(tr.curves, curve)
			tr.lossEvery = append(tr.lossEvery, every)
		}
		if mv, ok := blk["movement"].(float64); ok {
			tr.movement = append(tr.movement, mv)
		}
	}
	return tr
}
