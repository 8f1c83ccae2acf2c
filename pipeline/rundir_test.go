package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/ode"
)

// tinyRun trains a small run on a 3-column CSV once per test.
func tinyRun(t *testing.T) (*RunDir, string) {
	t.Helper()
	dir := t.TempDir()
	csv := filepath.Join(dir, "t.csv")
	writeCSV(t, csv, 400, 1)
	out := filepath.Join(dir, "run")
	cfg := tinyConfig(csv, out)
	cfg.Eval.BatchSize = 16 // several batches, so batching must agree
	if _, err := Run(context.Background(), cfg, Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRun(out)
	if err != nil {
		t.Fatal(err)
	}
	return r, csv
}

func TestEvaluateReproducesTheRunsTestNLL(t *testing.T) {
	r, csv := tinyRun(t)
	ctx := context.Background()
	ev, err := Evaluate(ctx, r, EvalOptions{Split: "test", Eval: r.Config.Eval, Seed: r.Config.Seed})
	if err != nil {
		t.Fatal(err)
	}
	met := r.Metrics
	if math.Abs(ev.NLL-met.TestNLL) > 1e-9 || math.Abs(ev.NLLSE-met.TestNLLSE) > 1e-9 || ev.NFE != met.NFE {
		t.Errorf("evaluate: NLL %.12g ± %.12g NFE %d; run: %.12g ± %.12g NFE %d", ev.NLL, ev.NLLSE, ev.NFE, met.TestNLL, met.TestNLLSE, met.NFE)
	}
	if math.Abs(ev.GaussianNLL-met.GaussianTestNLL) > 1e-9 || ev.N != met.NTest || ev.D != 3 || ev.BitsPerDim != 0 {
		t.Errorf("evaluate %+v; run %+v", ev, met)
	}
	for _, split := range []string{"train", "val"} {
		e, err := Evaluate(ctx, r, EvalOptions{Split: split, Eval: r.Config.Eval, Seed: r.Config.Seed})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"train": met.NTrain, "val": met.NVal}[split]
		if e.N != want || math.IsNaN(e.NLL) || e.Split != split {
			t.Errorf("%s: %+v, want %d rows", split, e, want)
		}
	}
	for _, tc := range []struct {
		opt  EvalOptions
		want string
	}{
		{EvalOptions{Split: "dev", Eval: r.Config.Eval}, `unknown split "dev" (want test, val or train)`},
		{EvalOptions{Eval: EvalConfig{SolverConfig: SolverConfig{Solver: "rk5"}, Trace: "exact", BatchSize: 1}}, "eval.solver: "},
		{EvalOptions{Eval: EvalConfig{SolverConfig: SolverConfig{Solver: "rk4", Steps: 2}, Trace: "exact", BatchSize: 0}}, "eval.batch_size: must be at least 1, got 0"},
	} {
		if _, err := Evaluate(ctx, r, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// A data file changed since the run is reported, not scored.
	writeCSV(t, csv, 400, 2)
	if _, err := Evaluate(ctx, r, EvalOptions{Eval: r.Config.Eval}); err == nil || !strings.Contains(err.Error(), "changed since the run") {
		t.Errorf("changed data: error %v", err)
	}
}

func TestRowsHelpersEqualTheModel(t *testing.T) {
	r, _ := tinyRun(t)
	m := r.Model
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 37
	x := make([]float64, n*3)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-6, ATol: 1e-6}, BatchSize: 10}
	want, wst, err := m.LogProb(ctx, x, n, opt)
	if err != nil {
		t.Fatal(err)
	}
	var c countRows
	got, st, err := LogProbRows(ctx, m, x, n, opt, &c, "lp")
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	if st.NFE != wst.NFE || st.Batches != wst.Batches || c.total != n || c.done != n || c.starts != 1 || c.finishes != 1 {
		t.Errorf("stats %+v want %+v; counter %+v", st, wst, c)
	}
	sopt := opt
	sopt.Solver = ode.Options{Method: ode.RK4, Steps: 4}
	sopt.Rand = rand.New(rand.NewPCG(5, 6))
	ws, _, err := m.Sample(ctx, n, sopt)
	if err != nil {
		t.Fatal(err)
	}
	sopt.Rand = rand.New(rand.NewPCG(5, 6))
	gs, _, err := SampleRows(ctx, m, n, sopt, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range ws {
		if gs[i] != ws[i] {
			t.Fatalf("sample value %d: %v, want %v", i, gs[i], ws[i])
		}
	}
	if _, _, err := LogProbRows(ctx, m, x[:5], 2, opt, nil, ""); err == nil || !strings.Contains(err.Error(), "got 5 values for 2 rows; want n×d with d = 3") {
		t.Errorf("shape error %v", err)
	}
}

func TestPlotRedrawsTheRunsPictures(t *testing.T) {
	r, _ := tinyRun(t)
	for _, f := range []string{"samples.png", "marginals.png", "corner.png", "loss.png", "movement.png"} {
		os.Remove(filepath.Join(r.Dir, f))
	}
	files, err := Plot(context.Background(), r, PlotOptions{Seed: r.Config.Seed})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, " ") != "samples.png marginals.png corner.png loss.png movement.png" {
		t.Errorf("files %v", files)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(r.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The loss curves come back from metrics.json.
	if len(r.Metrics.LossCurves) != 2 || len(r.Metrics.LossEvery) != 2 || len(r.Metrics.Movement) != 2 || len(r.Metrics.LossCurves[0]) == 0 {
		t.Errorf("curves %v every %v movement %v", r.Metrics.LossCurves, r.Metrics.LossEvery, r.Metrics.Movement)
	}
	// Runs written before loss_curves was recorded: the blocks' curves.
	old := *r.Metrics
	old.LossCurves, old.LossEvery, old.Movement = nil, nil, nil
	tr := trainedFromMetrics(&r.Config, &old)
	if len(tr.curves) != 2 || len(tr.movement) != 2 || tr.lossEvery[0] != r.Metrics.LossEvery[0] || tr.curves[0][0] != r.Metrics.LossCurves[0][0] {
		t.Errorf("fallback curves %+v", tr)
	}
}

func TestOpenRunErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "none"), "no such file or directory"},
		{dir, "not an iterflow run (no model.json)"},
	} {
		if _, err := OpenRun(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
			t.Errorf("OpenRun(%s): %v, want %q", tc.dir, err, tc.want)
		}
	}
}

type countRows struct{ total, done, starts, finishes int }

func (c *countRows) Start(_ string, total int) { c.total = total; c.starts++ }
func (c *countRows) Add(n int)                 { c.done += n }
func (c *countRows) Finish()                   { c.finishes++ }

func TestBudgetNote(t *testing.T) {
	for _, c := range []struct {
		steps []int
		iters int
		want  string
	}{
		{[]int{1000, 1000}, 1000, ""},
		{[]int{33, 24, 23, 24}, 1000, "A time budget stopped training early: 33, 24, 23 and 24 of 1000 steps per block."},
		{[]int{17}, 500, "A time budget stopped training early: 17 of 500 steps per block."},
		{[]int{1000, 12}, 1000, "A time budget stopped training early: 1000 and 12 of 1000 steps per block."},
		{nil, 1000, ""},
	} {
		if got := budgetNote(c.steps, c.iters); got != c.want {
			t.Errorf("budgetNote(%v, %d) = %q, want %q", c.steps, c.iters, got, c.want)
		}
	}
}
