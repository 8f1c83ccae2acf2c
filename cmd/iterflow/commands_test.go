package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
	"github.com/iterflow/iterflow/pipeline"
)

// writeTable writes n rows of the columns names (each a noisy function of
// two latent draws) as CSV.
func writeTable(t *testing.T, path string, n int, names []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 2))
	var b strings.Builder
	b.WriteString(strings.Join(names, ",") + "\n")
	for i := 0; i < n; i++ {
		u, v := rng.NormFloat64(), rng.NormFloat64()
		row := make([]string, len(names))
		for j := range row {
			row[j] = ftoa(float64(j+1)*u + 0.5*v*v + 0.1*float64(j)*rng.NormFloat64())
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// trainTiny trains a 2-column run on columns a and c of a 3-column table.
func trainTiny(t *testing.T, extra ...string) (dir, rd, csv string) {
	t.Helper()
	dir = t.TempDir()
	csv = filepath.Join(dir, "abc.csv")
	writeTable(t, csv, 300, []string{"a", "b", "c"})
	rd = filepath.Join(dir, "run")
	args := append([]string{"train", "--data", csv, "--columns", "a,c", "--hidden", "8", "--iters", "20", "--blocks", "1",
		"--batch-size", "64", "--samples", "40", "--eval-rtol", "1e-4", "--eval-atol", "1e-4", "--out", rd}, extra...)
	if _, _, err := run(t, args...); err != nil {
		t.Fatal(err)
	}
	return dir, rd, csv
}

// mustODE returns the ODE options of an eval config.
func mustODE(t *testing.T, ec pipeline.EvalConfig) ode.Options {
	t.Helper()
	o, err := ec.ODE("eval")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// fakeModel is a model with only a dimension and column names.
func fakeModel(d int, names []string) *model.Model {
	return &model.Model{Spec: nn.Spec{Dim: d}, Columns: names}
}

func TestRunCommands(t *testing.T) {
	dir, rd, csv := trainTiny(t)
	r, err := pipeline.OpenRun(rd)
	if err != nil {
		t.Fatal(err)
	}
	met := r.Metrics

	t.Run("sample", func(t *testing.T) {
		sc, sn := filepath.Join(dir, "s.csv"), filepath.Join(dir, "s.npy")
		for _, out := range []string{sc, sn} {
			if _, _, err := run(t, "sample", rd, "-n", "7", "-o", out, "--seed", "5"); err != nil {
				t.Fatal(err)
			}
		}
		a, err := data.Load(sc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := data.Load(sn)
		if err != nil {
			t.Fatal(err)
		}
		if a.N != 7 || a.D != 2 || strings.Join(a.Names, ",") != "a,c" || b.N != 7 || b.D != 2 {
			t.Fatalf("csv %d×%d %v, npy %d×%d", a.N, a.D, a.Names, b.N, b.D)
		}
		for i := range a.X {
			if a.X[i] != b.X[i] || math.IsNaN(a.X[i]) {
				t.Fatalf("value %d: csv %v, npy %v", i, a.X[i], b.X[i])
			}
		}
		// The run's seed and sample count redraw the run's own samples; stdout CSV.
		stdout, _, err := run(t, "sample", rd, "-n", "3", "-o", "-", "-q")
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 4 || lines[0] != "a,c" {
			t.Errorf("stdout CSV %q", stdout)
		}
	})

	t.Run("logprob", func(t *testing.T) {
		two := filepath.Join(dir, "ac.csv")
		writeTable(t, two, 30, []string{"a", "c"})
		tab, _ := data.Load(two)
		want, _, err := r.Model.LogProb(context.Background(), tab.X, tab.N, flow.Options{
			Solver: mustODE(t, r.Config.Eval), BatchSize: r.Config.Eval.BatchSize})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "lp.csv")
		stdout, stderr, err := run(t, "logprob", rd, two, "-o", out, "--json")
		if err != nil {
			t.Fatal(err)
		}
		got, err := data.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if got.N != 30 || got.D != 1 || got.Names[0] != "log_prob" {
			t.Fatalf("output %d×%d %v", got.N, got.D, got.Names)
		}
		var mean float64
		for i, v := range want {
			if math.Abs(got.X[i]-v) > 1e-12 {
				t.Errorf("row %d: %v, want model.LogProb %v", i, got.X[i], v)
			}
			mean += v / 30
		}
		var js map[string]any
		if err := json.Unmarshal([]byte(stdout), &js); err != nil {
			t.Fatalf("--json output %q: %v", stdout, err)
		}
		for _, k := range []string{"run", "data", "file", "n", "d", "mean_log_prob", "se", "solver", "trace", "nfe", "seconds"} {
			if _, ok := js[k]; !ok {
				t.Errorf("--json lacks %q: %v", k, js)
			}
		}
		if math.Abs(js["mean_log_prob"].(float64)-mean) > 1e-9 || js["n"].(float64) != 30 {
			t.Errorf("json %v, mean %v", js, mean)
		}
		if !strings.Contains(stderr, "log-likelihood: 30/30 rows") {
			t.Errorf("stderr %q", stderr)
		}
		// The 3-column file gets the run's selection (a, c); NPY output has shape (n,).
		npy := filepath.Join(dir, "lp.npy")
		if _, _, err := run(t, "logprob", rd, csv, "-o", npy, "-q"); err != nil {
			t.Fatal(err)
		}
		full, _ := data.Load(csv)
		sel, _ := full.Select("a,c")
		want3, _, _ := r.Model.LogProb(context.Background(), sel.X, sel.N, flow.Options{Solver: mustODE(t, r.Config.Eval), BatchSize: r.Config.Eval.BatchSize})
		got3, err := data.Load(npy)
		if err != nil || got3.N != 300 || got3.D != 1 {
			t.Fatalf("npy %v %v", got3, err)
		}
		for i := range want3 {
			if got3.X[i] != want3[i] {
				t.Fatalf("row %d: %v, want %v", i, got3.X[i], want3[i])
			}
		}
		// Wrong widths.
		four := filepath.Join(dir, "pqrs.csv")
		writeTable(t, four, 10, []string{"p", "q", "r", "s"})
		_, _, err = run(t, "logprob", rd, four, "-o", out)
		wantErr := four + `: its header lacks the model's column(s) "a", "c" (the model's columns: a, c); rename them, or pick columns by position with --columns`
		if err == nil || err.Error() != wantErr {
			t.Errorf("error %v, want prefix %q", err, wantErr)
		}
	})

	t.Run("evaluate", func(t *testing.T) {
		stdout, _, err := run(t, "evaluate", rd, "--split", "test", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
			t.Fatalf("%q: %v", stdout, err)
		}
		for _, k := range []string{"run", "split", "n", "d", "nll_defined", "nll", "nll_se", "gaussian_nll", "gaussian_nll_se", "solver", "trace", "nfe", "seconds"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("--json lacks %q", k)
			}
		}
		if d := math.Abs(ev["nll"].(float64) - met.TestNLL); d > 1e-9 {
			t.Errorf("evaluate NLL %v, metrics.json test_nll %v (diff %g)", ev["nll"], met.TestNLL, d)
		}
		if math.Abs(ev["gaussian_nll"].(float64)-met.GaussianTestNLL) > 1e-9 || int(ev["n"].(float64)) != met.NTest || int(ev["nfe"].(float64)) != met.NFE {
			t.Errorf("evaluate %v; metrics %+v", ev, met)
		}
		stdout, _, err = run(t, "evaluate", rd, "--split", "val", "--solver", "rk4", "--steps", "8")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"val split", "Gaussian (fit on train)", "rk4 (8 steps per block), exact trace", "NFE 64"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("plot", func(t *testing.T) {
		os.Remove(filepath.Join(rd, "density.png"))
		stdout, _, err := run(t, "plot", rd, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Run   string   `json:"run"`
			Files []string `json:"files"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Run != rd || len(res.Files) != 5 {
			t.Fatalf("%q: %v", stdout, err)
		}
		for _, f := range res.Files {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
	})

	t.Run("quiet", func(t *testing.T) {
		for _, args := range [][]string{
			{"sample", rd, "-n", "4", "-o", filepath.Join(dir, "q.csv")},
			{"logprob", rd, csv, "-o", filepath.Join(dir, "q.npy")},
			{"evaluate", rd},
			{"plot", rd},
		} {
			_, stderr, err := run(t, append(args, "--quiet")...)
			if err != nil || stderr != "" {
				t.Errorf("%v --quiet: error %v, stderr %q", args[0], err, stderr)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"sample", rd, "-n", "3"}, `required flag(s) "out" not set`},
			{[]string{"sample", rd, "-n", "3", "-o", "x.txt"}, "-o x.txt: unknown output format; give a name ending in .csv or .npy, or - for CSV on stdout"},
			{[]string{"sample", rd, "-n", "0", "-o", "x.csv"}, "-n: want at least 1 sample, got 0"},
			{[]string{"sample", rd, "-o", "x.csv", "--solver", "rk4", "--steps", "0"}, "eval.steps: rk4 needs at least 1 step, got 0"},
			{[]string{"sample", dir, "-o", "x.csv"}, dir + ": not an iterflow run (no model.json)"},
			{[]string{"logprob", rd, csv, "-o", "x.csv", "--trace", "bogus"}, `--trace: flow: unknown trace estimator "bogus"`},
			{[]string{"logprob", rd, filepath.Join(dir, "none.csv"), "-o", "x.csv"}, "none.csv"},
			{[]string{"evaluate", rd, "--split", "dev"}, `--split: unknown split "dev" (want test, val or train)`},
			{[]string{"evaluate", rd, "--batch-size", "0"}, "--batch-size: must be at least 1, got 0"},
			{[]string{"plot"}, "accepts 1 arg(s), received 0"},
		} {
			_, _, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
			}
		}
	})
}

// The exact width error when the run has no column selection.
func TestLogProbWidthErrorWithoutSelection(t *testing.T) {
	r := &pipeline.RunDir{Config: pipeline.DefaultConfig(), Model: fakeModel(3, []string{"a", "b", "c"})}
	tab, _ := data.NewTable(make([]float64, 8), 2, 4, nil)
	_, err := selectColumns("DATA", tab, r, "")
	if err == nil || err.Error() != "DATA has 4 columns; the model expects 3 (columns: a, b, c); pick them with --columns (e.g. --columns 0-2)" {
		t.Errorf("error %v", err)
	}
}

// A header is matched by name: reordered columns are taken by name, a
// missing name is an error naming it, and --columns overrides the header.
func TestLogProbMatchesHeaderNames(t *testing.T) {
	r := &pipeline.RunDir{Config: pipeline.DefaultConfig(), Model: fakeModel(3, []string{"a", "b", "c"})}
	tab, _ := data.NewTable([]float64{3, 2, 1, 30, 20, 10}, 2, 3, []string{"c", "b", "a"})
	got, err := selectColumns("DATA", tab, r, "")
	if err != nil || got.X[0] != 1 || got.X[2] != 3 || got.X[3] != 10 {
		t.Fatalf("by name: %v, %v", got, err)
	}
	other, _ := data.NewTable(make([]float64, 6), 2, 3, []string{"x", "y", "a"})
	if _, err := selectColumns("DATA", other, r, ""); err == nil || err.Error() != `DATA: its header lacks the model's column(s) "b", "c" (the model's columns: a, b, c); rename them, or pick columns by position with --columns` {
		t.Errorf("missing names: %v", err)
	}
	if got, err := selectColumns("DATA", other, r, "0-2"); err != nil || got.D != 3 {
		t.Errorf("--columns 0-2: %v, %v", got, err)
	}
	if _, err := selectColumns("DATA", other, r, "0-1"); err == nil || err.Error() != "DATA: --columns 0-1 selects 2 columns; the model expects 3 (columns: a, b, c)" {
		t.Errorf("--columns 0-1: %v", err)
	}
}

func TestTrainJSONAndQuiet(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	stdout, stderr, err := run(t, "train", "--data", "moons", "--toy-samples", "200", "--hidden", "8", "--iters", "10",
		"--blocks", "1", "--samples", "20", "--eval-solver", "rk4", "--eval-steps", "4", "--out", out, "--json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("--quiet train wrote %q on stderr", stderr)
	}
	var res struct {
		Run     string         `json:"run"`
		Metrics map[string]any `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Run != out {
		t.Fatalf("%q: %v", stdout, err)
	}
	for _, k := range []string{"test_nll", "test_nll_se", "gaussian_test_nll", "nfe", "train_seconds", "loss_curves"} {
		if _, ok := res.Metrics[k]; !ok {
			t.Errorf("metrics JSON lacks %q", k)
		}
	}
}

func TestCompletion(t *testing.T) {
	stdout, _, err := run(t, "completion", "bash")
	if err != nil || !strings.Contains(stdout, "bash completion") {
		t.Errorf("completion bash: %v, %.80q", err, stdout)
	}
	for _, args := range [][]string{{"sample", ""}, {"evaluate", ""}, {"plot", ""}, {"logprob", ""}} {
		stdout, _, err := run(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
		want := fmt.Sprintf(":%d", cobra.ShellCompDirectiveFilterDirs)
		if err != nil || !strings.Contains(stdout, want) {
			t.Errorf("complete %v: %v, %q, want %s", args, err, stdout, want)
		}
	}
	stdout, _, _ = run(t, cobra.ShellCompRequestCmd, "evaluate", "r", "--split", "")
	if !strings.Contains(stdout, "test\nval\ntrain\n") {
		t.Errorf("--split completion %q", stdout)
	}
}

// Every flag of every command has help text.
func TestEveryFlagHasHelp(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			n++
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no help text", c.CommandPath(), f.Name)
			}
		})
		if c != root && c.Short == "" {
			t.Errorf("%s has no short help", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if n < 70 {
		t.Errorf("only %d flags seen", n)
	}
}

func TestNPYRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		n, d   int
		vector bool
	}{{1, 1, true}, {5, 3, false}, {123456, 1, true}, {10, 64, false}} {
		x := make([]float64, tc.n*tc.d)
		for i := range x {
			x[i] = float64(i)*0.25 - 3
		}
		var b bytes.Buffer
		if err := writeNPY(&b, x, tc.n, tc.d, tc.vector); err != nil {
			t.Fatal(err)
		}
		hl := int(b.Bytes()[8]) | int(b.Bytes()[9])<<8
		if (10+hl)%64 != 0 || b.Bytes()[10+hl-1] != '\n' {
			t.Errorf("%+v: header length %d not aligned", tc, hl)
		}
		tab, err := data.ReadNPY(&b)
		if err != nil {
			t.Fatal(err)
		}
		if tab.N != tc.n || tab.D != tc.d {
			t.Fatalf("%+v: read %d×%d", tc, tab.N, tab.D)
		}
		for i := range x {
			if tab.X[i] != x[i] {
				t.Fatalf("%+v: value %d: %v", tc, i, tab.X[i])
			}
		}
	}
}

func TestLineProgressPrintsETA(t *testing.T) {
	var b bytes.Buffer
	c := &lineCounter{w: &b, every: 0}
	c.Start("log-likelihood", 100)
	time.Sleep(2 * time.Millisecond)
	c.Add(25)
	c.Add(75)
	c.Finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "log-likelihood: 25/100 rows (25%), ") || !strings.Contains(lines[0], "ETA ") ||
		!strings.HasPrefix(lines[1], "log-likelihood: 100/100 rows in ") {
		t.Errorf("lines %q", lines)
	}
	b.Reset()
	p := &lineProgress{w: &b}
	for k := 0; k < 2; k++ {
		p.StartBlock(k, 2, 3, "OU step")
		for i := 0; i < 3; i++ {
			p.Step(float64(i))
		}
		p.EndBlock()
	}
	lines = strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "block 1/2 (OU step): 3 steps, loss 1.0000") || !strings.Contains(lines[0], "ETA ") ||
		!strings.Contains(lines[0], "for 1 more block") || strings.Contains(lines[0], "for 1 more blocks") || strings.Contains(lines[1], "ETA") {
		t.Errorf("lines %q", lines)
	}
	// A block stopped early (time budget, interrupt) says so, with no ETA.
	b.Reset()
	p.StartBlock(0, 3, 1000, "OU step")
	p.Step(2)
	p.Step(4)
	p.EndBlock()
	if line := b.String(); !strings.HasPrefix(line, "block 1/3 (OU step): stopped after 2 of 1000 steps, loss 3.0000, ") || strings.Contains(line, "ETA") {
		t.Errorf("early stop: %q", line)
	}
}

// A data file given by a relative path is saved as an absolute one, so the
// run's config.yaml works from any directory; built-in names stay as they are.
func TestTrainSavesAbsoluteDataPath(t *testing.T) {
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "rel.csv"), 200, []string{"a", "b"})
	t.Chdir(dir)
	if _, _, err := run(t, "train", "--data", "rel.csv", "--hidden", "8", "--iters", "5", "--blocks", "1",
		"--batch-size", "32", "--samples", "10", "--out", "run", "-q"); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(filepath.Join(dir, "run", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "rel.csv"); cfg.Data != want {
		t.Errorf("saved data %q, want %q", cfg.Data, want)
	}
	for _, name := range []string{"digits", "moons", "missing.csv"} {
		if got := absDataPath(name); got != name {
			t.Errorf("absDataPath(%q) = %q, want it unchanged", name, got)
		}
	}
}

// evaluate on a run whose data file has moved: the error suggests --data,
// and --data with the new path reproduces metrics.json's test NLL; a file
// with other rows is refused by the standardization check.
func TestEvaluateMovedData(t *testing.T) {
	dir, rd, csv := trainTiny(t)
	r, err := pipeline.OpenRun(rd)
	if err != nil {
		t.Fatal(err)
	}
	met := r.Metrics
	moved := filepath.Join(dir, "elsewhere.csv")
	if err := os.Rename(csv, moved); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "evaluate", rd, "--json")
	if err == nil || !strings.HasSuffix(err.Error(), "; if the run's data file has moved, give its new path with --data") {
		t.Fatalf("evaluate after the move: got %v, want the --data hint", err)
	}
	stdout, _, err := run(t, "evaluate", rd, "--data", moved, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("%q: %v", stdout, err)
	}
	if d := math.Abs(ev["nll"].(float64) - met.TestNLL); d > 1e-9 {
		t.Errorf("evaluate --data NLL %v, metrics.json test_nll %v", ev["nll"], met.TestNLL)
	}
	other := filepath.Join(dir, "other.csv")
	writeTable(t, other, 400, []string{"a", "b", "c"})
	if _, _, err := run(t, "evaluate", rd, "--data", other); err == nil || !strings.Contains(err.Error(), "changed since the run") {
		t.Errorf("evaluate --data with other rows: got %v, want the standardization check", err)
	}
}
