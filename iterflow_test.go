package iterflow

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/iterflow/iterflow/pipeline"
)

// gMu and the factor L = [[2, 0], [1.2, 0.8]] define the test Gaussian
// N(gMu, L·Lᵀ): σ₁ = 2, σ₂ = √2.08, correlation 0.83.
var gMu = [2]float64{1, -3}

// gauss2 draws n points of N(gMu, L·Lᵀ).
func gauss2(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([][]float64, n)
	for i := range x {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		x[i] = []float64{gMu[0] + 2*z0, gMu[1] + 1.2*z0 + 0.8*z1}
	}
	return x
}

// gaussLogPdf is log N(x; gMu, L·Lᵀ) in nats: z = L⁻¹(x − gMu),
// log|det L| = log 1.6.
func gaussLogPdf(x []float64) float64 {
	z0 := (x[0] - gMu[0]) / 2
	z1 := (x[1] - gMu[1] - 1.2*z0) / 0.8
	return -0.5*(z0*z0+z1*z1) - math.Log(2*math.Pi) - math.Log(1.6)
}

// smallOptions train in well under a second on 2 cores.
func smallOptions() Options {
	return Options{Blocks: 2, Hidden: []int{16, 16}, Iters: 60, BatchSize: 64, Seed: 3}
}

func smallModel(t *testing.T) *Model {
	t.Helper()
	m, err := Fit(context.Background(), gauss2(200, 5), smallOptions())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Fit on a Gaussian sample recovers the Gaussian's log-density. The mean of
// log q(x) − log p(x) over fresh points x ~ p estimates −KL(p‖q) ≤ 0: a model
// that only standardized the columns (no correlation) would give
// ½·log(1 − ρ²) = −0.59 nats, so |mean| < 0.15 shows the flow learned the
// dependence; 500 points give a standard error of about 0.015.
func TestFitGaussian(t *testing.T) {
	ctx := context.Background()
	m, err := Fit(ctx, gauss2(1000, 1), Options{Blocks: 2, Hidden: []int{32, 32}, Iters: 300, BatchSize: 256, Seed: 1, LearningRate: 3e-3})
	if err != nil {
		t.Fatal(err)
	}
	if m.Dim() != 2 || m.Method() != "lfm" || m.Blocks() != 2 {
		t.Errorf("model: dim %d, method %q, %d blocks; want 2, lfm, 2", m.Dim(), m.Method(), m.Blocks())
	}
	if dq := m.Dequantized(); len(dq) != 2 || dq[0] || dq[1] {
		t.Errorf("Dequantized() = %v for continuous data", dq)
	}
	test := gauss2(500, 2)
	lp, err := m.LogProb(ctx, test)
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for i, row := range test {
		mean += (lp[i] - gaussLogPdf(row)) / float64(len(test))
	}
	if math.Abs(mean) > 0.15 {
		t.Errorf("mean log q − log p = %.4f nats, want |·| < 0.15", mean)
	}
	// Samples have the Gaussian's mean and spread: with 2000 samples the
	// standard errors are 0.045 and 0.03; the bounds allow model error.
	xs, err := m.Sample(ctx, 2000, 9)
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1, v0 float64
	for _, r := range xs {
		m0 += r[0] / 2000
		m1 += r[1] / 2000
	}
	for _, r := range xs {
		v0 += (r[0] - m0) * (r[0] - m0) / 2000
	}
	if math.Abs(m0-gMu[0]) > 0.25 || math.Abs(m1-gMu[1]) > 0.25 || math.Abs(math.Sqrt(v0)-2) > 0.25 {
		t.Errorf("sample mean (%.3f, %.3f), std₁ %.3f; want about (1, −3), 2", m0, m1, math.Sqrt(v0))
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := smallModel(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("Load left %d bytes unread", buf.Len())
	}
	dir := t.TempDir()
	if err := m.SaveDir(dir); err != nil {
		t.Fatal(err)
	}
	fromDir, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := gauss2(50, 7)
	want, err := m.LogProb(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	for name, mm := range map[string]*Model{"Load": got, "LoadDir": fromDir} {
		lp, err := mm.LogProb(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if lp[i] != want[i] {
				t.Fatalf("%s: row %d: LogProb %v, before saving %v", name, i, lp[i], want[i])
			}
		}
		s1, err := m.Sample(ctx, 5, 11)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := mm.Sample(ctx, 5, 11)
		if err != nil {
			t.Fatal(err)
		}
		for i := range s1 {
			if s1[i][0] != s2[i][0] || s1[i][1] != s2[i][1] {
				t.Fatalf("%s: sample %d: %v, before saving %v", name, i, s2[i], s1[i])
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	good := gauss2(40, 1)
	withNaN := gauss2(40, 1)
	withNaN[2][1] = math.NaN()
	withInf := gauss2(40, 1)
	withInf[7][0] = math.Inf(1)
	constant := gauss2(40, 1)
	for _, r := range constant {
		r[1] = 5
	}
	cfm := pipeline.DefaultConfigFor("cfm")
	cases := []struct {
		name string
		x    [][]float64
		opt  Options
		want string
	}{
		{"no rows", nil, Options{}, "iterflow: fit: no rows"},
		{"empty row", [][]float64{{}}, Options{}, "iterflow: fit: row 0 is empty"},
		{"ragged", [][]float64{{1, 2}, {3, 4}, {5}}, Options{}, "iterflow: fit: row 2 has 1 values, row 0 has 2"},
		{"NaN", withNaN, Options{}, "iterflow: fit: row 2, column 1 is NaN; remove or impute non-finite values"},
		{"Inf", withInf, Options{}, "iterflow: fit: row 7, column 0 is +Inf; remove or impute non-finite values"},
		{"constant column", constant, Options{}, "iterflow: fit: column 1 is constant (value 5); a constant column has no density, drop it"},
		{"unknown method", good, Options{Method: "gan"}, `iterflow: fit: method: unknown method "gan" (available: lfm, jko, cfm, otcfm, rf, mle)`},
		{"negative blocks", good, Options{Blocks: -1}, "iterflow: fit: Options.Blocks = -1, want >= 1 (0 selects the method's default)"},
		{"blocks of cfm", good, Options{Method: "cfm", Blocks: 3}, "iterflow: fit: Options.Blocks = 3, but cfm trains a single block"},
		{"negative iters", good, Options{Iters: -5}, "iterflow: fit: Options.Iters = -5, want >= 1 (0 selects the method's default)"},
		{"negative batch", good, Options{BatchSize: -1}, "iterflow: fit: Options.BatchSize = -1, want >= 1 (0 selects the method's default)"},
		{"NaN learning rate", good, Options{LearningRate: math.NaN()}, "iterflow: fit: Options.LearningRate = NaN, want a finite value > 0 (0 selects the method's default)"},
		{"val frac", good, Options{ValFrac: 0.6}, "iterflow: fit: Options.ValFrac = 0.6, want a value below 0.5 (0 selects 0.1, negative: no validation)"},
		{"hidden width", good, Options{Hidden: []int{8, 0}}, "iterflow: fit: model.hidden: hidden layer 2 has width 0; widths must be at least 1"},
		{"dequantize", good, Options{Dequantize: "some"}, `iterflow: fit: dequantize: unknown value "some" (want auto, none or all)`},
		{"method vs config", good, Options{Method: "lfm", Config: &cfm}, `iterflow: fit: Options.Method "lfm" differs from Options.Config.Method "cfm"`},
		{"too few rows to validate", gauss2(4, 1), Options{}, "iterflow: fit: 4 rows: split: valFrac = 0.1 of 4 rows rounds to an empty validation set"},
	}
	for _, c := range cases {
		_, err := Fit(ctx, c.x, c.opt)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
	if _, err := FitMatrix(ctx, []float64{1, 2, 3}, 2, 2, Options{}); err == nil || err.Error() != "iterflow: fit: len(x) = 3, want n·d = 2·2 = 4" {
		t.Errorf("FitMatrix: %v", err)
	}
	if _, err := FitMatrix(ctx, nil, 0, 2, Options{}); err == nil || err.Error() != "iterflow: fit: shape 0×2, want at least 1 row and 1 column" {
		t.Errorf("FitMatrix: %v", err)
	}
}

func TestFitMatrixMatchesFit(t *testing.T) {
	ctx := context.Background()
	x := gauss2(200, 5)
	flat := make([]float64, 0, 400)
	for _, r := range x {
		flat = append(flat, r...)
	}
	a, err := FitMatrix(ctx, flat, 200, 2, smallOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := smallModel(t) // Fit on the same rows with the same options
	q := gauss2(5, 8)
	la, err := a.LogProb(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.LogProb(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for i := range la {
		if la[i] != lb[i] {
			t.Errorf("row %d: FitMatrix model %v, Fit model %v", i, la[i], lb[i])
		}
	}
}

func TestLogProbAndSampleErrors(t *testing.T) {
	ctx := context.Background()
	m := smallModel(t)
	var zero Model
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"nil model", func() error { _, err := zero.LogProb(ctx, [][]float64{{1, 2}}); return err }, "iterflow: logprob: nil model"},
		{"no rows", func() error { _, err := m.LogProb(ctx, nil); return err }, "iterflow: logprob: no rows"},
		{"wrong width", func() error { _, err := m.LogProb(ctx, [][]float64{{1, 2}, {1, 2, 3}}); return err },
			"iterflow: logprob: row 1 has 3 values, want 2 (the model's dimension)"},
		{"NaN", func() error { _, err := m.LogProb(ctx, [][]float64{{1, math.NaN()}}); return err }, "iterflow: logprob: row 0, column 1 is NaN"},
		{"solver", func() error {
			_, err := m.LogProbWith(ctx, [][]float64{{1, 2}}, EvalOptions{Solver: "rk5"})
			return err
		}, `iterflow: logprob: EvalOptions.Solver: ode: unknown method "rk5" (want euler, midpoint, rk4 or dopri5)`},
		{"trace", func() error {
			_, err := m.LogProbWith(ctx, [][]float64{{1, 2}}, EvalOptions{Trace: "skilling"})
			return err
		}, `iterflow: logprob: EvalOptions.Trace: flow: unknown trace estimator "skilling" (want exact, hutchinson or fd-hutchinson)`},
		{"probes", func() error {
			_, err := m.LogProbWith(ctx, [][]float64{{1, 2}}, EvalOptions{Probes: -1})
			return err
		}, "iterflow: logprob: EvalOptions: Probes = -1 and BatchSize = 0, want >= 0 (0 selects the default)"},
		{"sample n", func() error { _, err := m.Sample(ctx, 0, 1); return err }, "iterflow: sample: n = 0, want >= 1"},
		{"sample nil", func() error { _, err := zero.Sample(ctx, 3, 1); return err }, "iterflow: sample: nil model"},
		{"save nil", func() error { return zero.Save(&bytes.Buffer{}) }, "iterflow: save: nil model"},
		{"load empty", func() error { _, err := Load(strings.NewReader("")); return err },
			"iterflow: load: model: read: stream ends after 0 bytes, inside the 8-byte header length"},
		{"load dir", func() error { _, err := LoadDir(t.TempDir() + "/none"); return err }, ""},
	}
	for _, c := range cases {
		err := c.call()
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

// Other solvers and trace estimators agree with the accurate default.
func TestLogProbWith(t *testing.T) {
	ctx := context.Background()
	m := smallModel(t)
	x := gauss2(20, 4)
	want, err := m.LogProb(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	rk4, err := m.LogProbWith(ctx, x, EvalOptions{Solver: "rk4", Steps: 40})
	if err != nil {
		t.Fatal(err)
	}
	hutch, err := m.LogProbWith(ctx, x, EvalOptions{Trace: "hutchinson", Probes: 64, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(rk4[i]-want[i]) > 1e-3 {
			t.Errorf("row %d: rk4 %v, dopri5 %v", i, rk4[i], want[i])
		}
		// 64 probes in d = 2: the estimate's error is a fraction of the
		// divergence integral, well below 0.5 nats for this smooth field.
		if math.Abs(hutch[i]-want[i]) > 0.5 {
			t.Errorf("row %d: hutchinson %v, exact %v", i, hutch[i], want[i])
		}
	}
}

func TestCancellation(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	x := gauss2(200, 5)
	if _, err := Fit(cancelled, x, smallOptions()); !errors.Is(err, context.Canceled) || err.Error() != "iterflow: fit: context canceled" {
		t.Errorf("Fit with a cancelled context: %v", err)
	}
	// Cancelled during training: Fit stops within a step.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	steps := 0
	opt := smallOptions()
	opt.Iters = 1_000_000
	opt.Progress = func(p Progress) {
		steps++
		if p.Step == 5 {
			stop()
		}
	}
	t0 := time.Now()
	_, err := Fit(ctx, x, opt)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Fit cancelled while training: %v", err)
	}
	if steps > 6 {
		t.Errorf("Fit took %d steps after the cancellation at step 5", steps-5)
	}
	t.Logf("cancelled Fit returned after %v", time.Since(t0))

	m := smallModel(t)
	if _, err := m.LogProb(cancelled, x); !errors.Is(err, context.Canceled) {
		t.Errorf("LogProb with a cancelled context: %v", err)
	}
	if _, err := m.Sample(cancelled, 100, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Sample with a cancelled context: %v", err)
	}
}

func TestProgressAndLog(t *testing.T) {
	var calls []Progress
	var log bytes.Buffer
	opt := smallOptions()
	opt.Iters = 7
	opt.Progress = func(p Progress) { calls = append(calls, p) }
	opt.Log = &log
	if _, err := Fit(context.Background(), gauss2(200, 5), opt); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 14 {
		t.Fatalf("%d progress calls, want 2 blocks × 7 steps", len(calls))
	}
	last := calls[13]
	if last.Block != 1 || last.Blocks != 2 || last.Step != 7 || last.Steps != 7 || math.IsNaN(last.Loss) || last.Label == "" {
		t.Errorf("last progress %+v", last)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "block 1/2 (") || !strings.HasPrefix(lines[1], "block 2/2 (") ||
		!strings.Contains(lines[1], "): 7 steps, last loss ") {
		t.Errorf("log:\n%s", log.String())
	}
}

// Integer columns are dequantized under "auto" and kept under "none".
func TestDequantize(t *testing.T) {
	x := gauss2(200, 5)
	for _, r := range x {
		r[1] = math.Round(r[1])
	}
	for _, c := range []struct {
		mode string
		want [2]bool
	}{{"", [2]bool{false, true}}, {"auto", [2]bool{false, true}}, {"none", [2]bool{false, false}}, {"all", [2]bool{true, true}}} {
		opt := smallOptions()
		opt.Iters = 2
		opt.Dequantize = c.mode
		m, err := Fit(context.Background(), x, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Dequantized(); got[0] != c.want[0] || got[1] != c.want[1] {
			t.Errorf("Dequantize %q: Dequantized() = %v, want %v", c.mode, got, c.want)
		}
	}
}

// Options.Config gives full control; the Options fields override it.
func TestOptionsConfig(t *testing.T) {
	cfg := pipeline.DefaultConfigFor("cfm")
	cfg.Model.Hidden = []int{8}
	cfg.Train.Iters = 1000
	m, err := Fit(context.Background(), gauss2(200, 5), Options{Config: &cfg, Iters: 20, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Method() != "cfm" || m.Blocks() != 1 || m.Underlying().Spec.Hidden[0] != 8 {
		t.Errorf("method %q, %d blocks, hidden %v; want cfm, 1, [8]", m.Method(), m.Blocks(), m.Underlying().Spec.Hidden)
	}
	if cfg.Train.Iters != 1000 {
		t.Error("Fit changed the caller's Config")
	}
	if _, err := Wrap(m.Underlying()); err != nil {
		t.Errorf("Wrap: %v", err)
	}
	if _, err := Wrap(nil); err == nil || err.Error() != "iterflow: wrap: nil model" {
		t.Errorf("Wrap(nil): %v", err)
	}
}

// Every method fits through the same API and gives finite log-densities
// (a smoke test: a few steps each; rf's reflow pairs are cut down through
// Options.Config).
func TestFitEveryMethod(t *testing.T) {
	ctx := context.Background()
	x := gauss2(200, 1)
	rf := pipeline.DefaultConfigFor("rf")
	rf.FM.ReflowPairs = 200
	rf.Eval.Solver, rf.Eval.Steps = "rk4", 4
	for _, c := range []struct {
		method string
		blocks int
		config *pipeline.Config
	}{{"lfm", 3, nil}, {"jko", 2, nil}, {"cfm", 1, nil}, {"otcfm", 1, nil}, {"rf", 1, &rf}, {"mle", 2, nil}} {
		opt := Options{Method: c.method, Blocks: c.blocks, Hidden: []int{8}, Iters: 10, BatchSize: 64, Config: c.config}
		m, err := Fit(ctx, x, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		if m.Method() != c.method || (c.method != "jko" && m.Blocks() != c.blocks) {
			t.Errorf("%s: method %q with %d blocks, want %d", c.method, m.Method(), m.Blocks(), c.blocks)
		}
		lp, err := m.LogProb(ctx, x[:4])
		if err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		for i, v := range lp {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s: row %d: log-density %v", c.method, i, v)
			}
		}
	}
}
