package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/iterflow/iterflow/baseline"
	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
)

// Dataset is a loaded table with its provenance.
type Dataset struct {
	Table *data.Table
	// Name is "digits" or the file's base name; Source a line of attribution.
	Name, Source string
	// Image is set for image data (h×w grayscale) so reports can draw pictures.
	ImageH, ImageW int
	// Lo and Hi bound the values for pictures.
	Lo, Hi float64
}

// LoadDataset resolves cfg.Data ("digits" or a file) and applies cfg.Columns.
func LoadDataset(cfg *Config) (*Dataset, error) {
	if cfg.Data == "digits" {
		t := data.Digits()
		if cfg.Columns != "" {
			return nil, fmt.Errorf("columns: the built-in digits take no column selection")
		}
		return &Dataset{Table: t, Name: "digits", Source: data.DigitsAttribution, ImageH: 8, ImageW: 8, Lo: 0, Hi: 16}, nil
	}
	t, err := data.Load(cfg.Data)
	if err != nil {
		return nil, err
	}
	if cfg.Columns != "" {
		if t, err = t.Select(cfg.Columns); err != nil {
			return nil, fmt.Errorf("columns: %w", err)
		}
	}
	return &Dataset{Table: t, Name: filepath.Base(cfg.Data), Source: cfg.Data}, nil
}

// Result summarizes a finished run.
type Result struct {
	Dir     string
	Metrics *Metrics
	Model   *model.Model
}

// Options are the run-time settings that are not part of the method's config.
type Options struct {
	// Log receives progress lines (nil: none).
	Log io.Writer
	// Progress receives per-block training progress (nil: none).
	Progress method.Progress
	// Version is recorded in metrics.json.
	Version string
}

// Run executes the job described by cfg and writes the run directory. The
// context cancels training and evaluation.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", args...)
		}
	}
	ds, err := LoadDataset(&cfg)
	if err != nil {
		return nil, err
	}
	tab := ds.Table
	n, d := tab.N, tab.D
	if n < 10 {
		return nil, fmt.Errorf("data %s: %d rows is too few to split into train, validation and test", ds.Name, n)
	}
	if n < 2*d {
		return nil, fmt.Errorf("data %s: %d rows for %d columns; need at least twice as many rows as columns", ds.Name, n, d)
	}

	// A constant column has no density; dequantizing it would only model the
	// noise. Image data keep theirs (dequantization makes them uniform pixels).
	if cc := data.ConstantColumns(tab); len(cc) > 0 && ds.ImageH == 0 && cfg.Dequantize != "all" {
		j := cc[0]
		return nil, fmt.Errorf("data %s: column %d (%q) is constant (value %g); drop it with --columns", ds.Name, j, tab.Names[j], tab.X[j])
	}
	// Dequantize integer columns once (seeded), then split. Image data
	// (integer pixels) are dequantized in every column.
	var deq []bool
	switch {
	case cfg.Dequantize == "auto" && ds.ImageH == 0:
		deq = data.IntegerColumns(tab)
	case cfg.Dequantize == "all" || cfg.Dequantize == "auto":
		deq = make([]bool, d)
		for j := range deq {
			deq[j] = true
		}
	default: // "none"
		deq = make([]bool, d)
	}
	x := append([]float64(nil), tab.X...)
	tabq := &data.Table{X: x, N: n, D: d, Names: tab.Names}
	data.Dequantize(x, n, d, deq, rand.New(rand.NewPCG(cfg.Seed, 0xd0)))
	train, val, test, err := data.Split(tabq, cfg.ValFrac, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	std, err := data.FitStandardizer(train)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w (drop the column with --columns)", ds.Name, err)
	}
	trainS := append([]float64(nil), train.X...)
	std.Forward(trainS, train.N)
	valS := append([]float64(nil), val.X...)
	if val.N > 0 {
		std.Forward(valS, val.N)
	}
	testS := append([]float64(nil), test.X...)
	std.Forward(testS, test.N)
	logf("data %s: %d rows × %d columns (train %d, validation %d, test %d); %d columns dequantized",
		ds.Name, n, d, train.N, val.N, test.N, countTrue(deq))

	out := cfg.Out
	if out == "" {
		out = filepath.Join("runs", fmt.Sprintf("%s-%s-%s", strings.TrimSuffix(ds.Name, filepath.Ext(ds.Name)), cfg.Method, time.Now().Format("20060102-150405")))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}

	// Train.
	act, _ := nn.ParseActivation(cfg.Model.Activation)
	ip, _ := interp.ParseInterpolant(cfg.LFM.Interpolant)
	td, _ := interp.ParseTimeDist(cfg.LFM.Time)
	gammas, _ := cfg.Gammas()
	push, _ := cfg.Push.options("push")
	lcfg := method.LFMConfig{
		Gammas: gammas, FreeBlock: cfg.LFM.FreeBlock,
		Net:         nn.Spec{Hidden: cfg.Model.Hidden, Act: act, Beta: cfg.Model.Beta},
		Interpolant: ip, Time: td,
		Iters: cfg.Train.Iters, BatchSize: cfg.Train.BatchSize,
		LR: cfg.Train.LR, LRDecay: cfg.Train.LRDecay, LRDecayEvery: cfg.Train.LRDecayEvery,
		Clip: cfg.Train.Clip, EMA: cfg.Train.EMA, WarmStart: cfg.Train.WarmStart,
		Push: push, ValEvery: cfg.Train.ValEvery, Seed: cfg.Seed,
	}
	logf("training %s: %d blocks (%s), network %v %s, %d steps per block, batch %d, backend %s, GOMAXPROCS %d",
		cfg.Method, len(gammas)+boolInt(cfg.LFM.FreeBlock), describeGammas(gammas, cfg.LFM.FreeBlock), cfg.Model.Hidden,
		cfg.Model.Activation, cfg.Train.Iters, cfg.Train.BatchSize, nn.Backend(), runtime.GOMAXPROCS(0))
	t0 := time.Now()
	res, err := method.TrainLFM(ctx, trainS, train.N, valS, val.N, d, lcfg, opt.Progress)
	if err != nil {
		return nil, err
	}
	trainSec := time.Since(t0).Seconds()

	m := &model.Model{Method: cfg.Method, Spec: nn.Spec{Dim: d, Hidden: cfg.Model.Hidden, Act: act, Beta: cfg.Model.Beta, TimeInput: true},
		Nets: res.Nets, Standardizer: std, Dequantized: deq, Columns: tab.Names}
	for _, b := range res.Blocks {
		m.Blocks = append(m.Blocks, model.BlockInfo{Kind: b.Kind, Gamma: b.Gamma})
	}
	if err := m.Save(out); err != nil {
		return nil, err
	}

	// Evaluate the test NLL (data units) with the accurate solver and the chosen trace.
	eopt, _ := cfg.Eval.options("eval")
	tr, _ := flow.ParseTrace(cfg.Eval.Trace)
	fopt := flow.Options{Solver: eopt, Trace: tr, BatchSize: cfg.Eval.BatchSize, Rand: rand.New(rand.NewPCG(cfg.Seed, 0xe7))}
	logf("evaluating the test log-likelihood: %s, %s trace, %d rows", cfg.Eval.Describe(), tr, test.N)
	t1 := time.Now()
	lp, st, err := m.LogProb(ctx, test.X, test.N, fopt)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	evalSec := time.Since(t1).Seconds()
	nll, se := meanSE(lp, -1)

	// Gaussian baseline, fitted on the same (dequantized) training split.
	g, err := baseline.FitGaussian(train.X, train.N, d)
	if err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	glp := make([]float64, test.N)
	if err := g.LogProb(test.X, test.N, glp); err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	gnll, gse := meanSE(glp, -1)

	// Samples for the pictures.
	sopt := flow.Options{Solver: eopt, BatchSize: cfg.Eval.BatchSize, Rand: rand.New(rand.NewPCG(cfg.Seed, 0x5a))}
	t2 := time.Now()
	samples, sst, err := m.Sample(ctx, cfg.Eval.Samples, sopt)
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	sampleSec := time.Since(t2).Seconds()

	met := &Metrics{
		Version: opt.Version, Backend: nn.Backend(), GOMAXPROCS: runtime.GOMAXPROCS(0), BLASCore: nn.BLASCore(), BLASThreads: nn.BLASThreads(),
		Dataset: ds.Name, N: n, D: d, NTrain: train.N, NVal: val.N, NTest: test.N, Dequantized: countTrue(deq),
		Method: cfg.Method, Seed: cfg.Seed,
		TestNLL: nll, TestNLLSE: se, GaussianTestNLL: gnll, GaussianTestNLLSE: gse,
		Solver: cfg.Eval.Describe(), Trace: tr.String(), NFE: st.NFE, SampleNFE: sst.NFE,
		TrainSeconds: trainSec, EvalSeconds: evalSec, SampleSeconds: sampleSec,
		Blocks: res.Blocks,
	}
	if d > 0 {
		met.TestBitsPerDim = nll / (float64(d) * math.Ln2)
	}
	if err := writeRun(out, &cfg, ds, met, test, samples, res); err != nil {
		return nil, err
	}
	logf("test NLL %.4f ± %.4f nats (Gaussian baseline %.4f); NFE %d; train %.1fs, eval %.1fs", nll, se, gnll, st.NFE, trainSec, evalSec)
	logf("run written to %s", out)
	return &Result{Dir: out, Metrics: met, Model: m}, nil
}

// meanSE returns the mean of sign·v and its standard error.
func meanSE(v []float64, sign float64) (mean, se float64) {
	n := float64(len(v))
	for _, x := range v {
		mean += sign * x
	}
	mean /= n
	var ss float64
	for _, x := range v {
		dx := sign*x - mean
		ss += dx * dx
	}
	if len(v) > 1 {
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}

func countTrue(b []bool) int {
	c := 0
	for _, v := range b {
		if v {
			c++
		}
	}
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func describeGammas(g []float64, free bool) string {
	parts := make([]string, len(g))
	for i, v := range g {
		parts[i] = fmt.Sprintf("%.4g", v)
	}
	s := "OU steps γ = [" + strings.Join(parts, ", ") + "]"
	if free {
		s += " + free block"
	}
	return s
}
