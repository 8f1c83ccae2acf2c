package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/ode"
)

// badCSV writes a table with header a,b,c (or x0.. for d ≠ 3) of n rows; cell
// (i, j) comes from cell, a seeded correlated Gaussian by default.
func badCSV(t *testing.T, n, d int, cell func(i, j int, v float64) string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 7))
	var b strings.Builder
	names := make([]string, d)
	for j := range names {
		names[j] = fmt.Sprintf("x%d", j)
		if d == 3 {
			names[j] = string(rune('a' + j))
		}
	}
	b.WriteString(strings.Join(names, ",") + "\n")
	row := make([]string, d)
	for i := 0; i < n; i++ {
		u := rng.NormFloat64()
		for j := range row {
			v := 0.5*u + rng.NormFloat64() + float64(j)
			row[j] = fmt.Sprintf("%.6f", v)
			if cell != nil {
				row[j] = cell(i, j, v)
			}
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// constCol makes column 2 the constant c.
func constCol(c string) func(i, j int, v float64) string {
	return func(i, j int, v float64) string {
		if j == 2 {
			return c
		}
		return fmt.Sprintf("%.6f", v)
	}
}

// quickConfig trains a tiny LFM model in well under a second.
func quickConfig(data string) Config {
	c := DefaultConfig()
	c.Data, c.Out = data, ""
	c.Model.Hidden = []int{8}
	c.LFM.Blocks = 1
	c.Train.Iters, c.Train.BatchSize, c.Train.ValEvery = 20, 64, 10
	c.Eval.Samples = 20
	c.Eval.RTol, c.Eval.ATol = 1e-4, 1e-4
	return c
}

// Issue 7, case 1: a constant column (3.0 and −0.087) is an error naming it,
// or, with drop_constant, dropped with a warning and a finite NLL.
func TestConstantColumn(t *testing.T) {
	for _, tc := range []struct{ text, shown string }{{"3.0", "3"}, {"-0.087", "-0.087"}} {
		p := badCSV(t, 1000, 3, constCol(tc.text))
		cfg := quickConfig(p)
		_, err := PrepareSplits(&cfg)
		want := fmt.Sprintf(`data bad.csv: column 2 ("c", counting from 0 as --columns does) is constant (value %s); drop it with --columns, or drop every constant column with --drop-constant (config: drop_constant: true)`, tc.shown)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %q", tc.text, err, want)
		}
		_, err = Run(context.Background(), cfg, Options{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: Run error %v\nwant %q", tc.text, err, want)
		}

		cfg.DropConstant = true
		sp, err := PrepareSplits(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantWarn := fmt.Sprintf(`data bad.csv: dropped constant column 2 ("c", value %s)`, tc.shown)
		if sp.D != 2 || sp.Train.D != 2 || len(sp.Warnings) != 1 || sp.Warnings[0] != wantWarn ||
			len(sp.DroppedColumns) != 1 || sp.DroppedColumns[0] != "c" || cfg.Columns != "0,1" {
			t.Errorf("%s: d %d, warnings %q, dropped %v, columns %q", tc.text, sp.D, sp.Warnings, sp.DroppedColumns, cfg.Columns)
		}
	}
	// Training after the drop gives a finite NLL; the saved config selects
	// the kept columns, so the run reproduces without drop_constant.
	p := badCSV(t, 1000, 3, constCol("-0.087"))
	cfg := quickConfig(p)
	cfg.DropConstant = true
	cfg.Out = filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics; m.D != 2 || math.IsNaN(m.TestNLL) || math.IsInf(m.TestNLL, 0) {
		t.Errorf("metrics d %d, test NLL %v", m.D, m.TestNLL)
	}
	// The report and metrics.json say what was dropped.
	note := `data bad.csv: dropped constant column 2 ("c", value -0.087)`
	if w := res.Metrics.DataWarnings; len(w) != 1 || w[0] != note {
		t.Errorf("metrics data warnings %q, want [%q]", w, note)
	}
	if rep, err := os.ReadFile(filepath.Join(cfg.Out, "report.md")); err != nil || !strings.Contains(string(rep), "Note: "+note+".\n") {
		t.Errorf("report.md lacks the line %q (%v)", "Note: "+note+".", err)
	}
	saved, err := LoadConfig(filepath.Join(cfg.Out, "config.yaml"))
	if err != nil || saved.Columns != "0,1" {
		t.Errorf("saved config: columns %q (%v)", saved.Columns, err)
	}
	// A selection by name is rewritten to file indices.
	cfg = quickConfig(p)
	cfg.DropConstant, cfg.Columns = true, "c,a"
	if sp, err := PrepareSplits(&cfg); err != nil || cfg.Columns != "0" || sp.D != 1 || sp.Train.Names[0] != "a" {
		t.Errorf("columns c,a: %q, %v", cfg.Columns, err)
	}
	// Nothing left.
	cfg = quickConfig(p)
	cfg.DropConstant, cfg.Columns = true, "c"
	if _, err := PrepareSplits(&cfg); err == nil || err.Error() != "data bad.csv: all columns are constant (1 column); nothing to model" {
		t.Errorf("only a constant column: %v", err)
	}
}

// Issue 7, case 2: one NaN row and one Inf row: an error with the count, the
// first bad row and the option; with drop_nonfinite the rows are dropped and
// counted.
func TestNonFiniteRows(t *testing.T) {
	p := badCSV(t, 1000, 3, func(i, j int, v float64) string {
		switch {
		case i == 100 && j == 1:
			return "NaN"
		case i == 700 && j == 0:
			return "inf"
		}
		return fmt.Sprintf("%.6f", v)
	})
	cfg := quickConfig(p)
	_, err := PrepareSplits(&cfg)
	want := "load " + p + `: read csv: 2 rows contain NaN or Inf; first at line 102, column 2 ("b"); drop those rows with --drop-nonfinite (config: drop_nonfinite: true)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %q", err, want)
	}
	cfg.DropNonFinite = true
	sp, err := PrepareSplits(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantWarn := `data bad.csv: dropped 2 rows with NaN or Inf (first at line 102, column 2 ("b"))`
	if sp.N != 998 || sp.DroppedRows != 2 || len(sp.Warnings) != 1 || sp.Warnings[0] != wantWarn {
		t.Errorf("n %d, dropped %d, warnings %q", sp.N, sp.DroppedRows, sp.Warnings)
	}
	if sp.Train.N+sp.Val.N+sp.Test.N != 998 {
		t.Errorf("splits %d + %d + %d", sp.Train.N, sp.Val.N, sp.Test.N)
	}
}

// Issue 7, case 3: each malformed input is an error naming the problem.
func TestMalformedData(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wide := badCSV(t, 60, 40, nil)
	for _, tc := range []struct {
		path, want string
	}{
		{write("empty.csv", ""), "load DIR/empty.csv: read csv: empty input: no rows"},
		{write("header.csv", "a,b,c\n"), "load DIR/header.csv: read csv: no data rows after the header on line 1"},
		{write("one.csv", "a,b,c\n1,2,3\n"), "data one.csv: 1 row is too few; need at least 50 to split into train, validation and test"},
		{wide, "data bad.csv: 60 rows for 40 columns; need at least twice as many rows as columns"},
		{write("text.csv", "a,b,c\n1,2,3\n4,five,6\n"), `load DIR/text.csv: read csv: line 3, column 2 ("b"): cannot parse "five" as a number; a column of text (labels, names) can be left out with --columns (e.g. --columns 0-10 or by names)`},
		{write("ragged.csv", "a,b,c\n1,2,3\n4,5\n"), "load DIR/ragged.csv: read csv: line 3: 2 fields, want 3 (as on line 1)"},
	} {
		cfg := quickConfig(tc.path)
		_, err := PrepareSplits(&cfg)
		want := strings.ReplaceAll(tc.want, "DIR", dir)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %q", filepath.Base(tc.path), err, want)
		}
	}
}

// Issue 7, case 4: one-dimensional data train, sample and score.
func TestOneDimensionalData(t *testing.T) {
	p := badCSV(t, 400, 1, nil)
	cfg := quickConfig(p)
	cfg.Out = filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics; m.D != 1 || math.IsNaN(m.TestNLL) || math.IsInf(m.TestNLL, 0) {
		t.Fatalf("metrics d %d, test NLL %v", m.D, m.TestNLL)
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: 1e-5, ATol: 1e-5}, Rand: rand.New(rand.NewPCG(1, 2))}
	x, _, err := res.Model.Sample(context.Background(), 50, opt)
	if err != nil || len(x) != 50 {
		t.Fatalf("sample: %d values, %v", len(x), err)
	}
	lp, _, err := res.Model.LogProb(context.Background(), x, 50, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range lp {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("log p of sample %d (%v) = %v", i, x[i], v)
		}
	}
	// Two columns given to a one-column model: an error naming the widths.
	_, _, err = LogProbRows(context.Background(), res.Model, []float64{1, 2, 3, 4}, 2, opt, nil, "")
	if want := "log-likelihood: got 4 values for 2 rows; want n×d with d = 1"; err == nil || err.Error() != want {
		t.Errorf("width error %v, want %q", err, want)
	}
}

// Issue 7, case 7: config errors name the key and line.
func TestConfigBadInputNamesTheKey(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"trian:\n  iters: 5\n", `line 1: unknown key "trian" (top-level keys: columns, data, data_dir, dequantize, distill, drop_constant, drop_nonfinite, eval, fm, jko, lfm, logit, max_rows, method, mle, model, out, push, seed, source, test_frac, toy_samples, train, val_frac)`},
		{"train:\n  iterz: 5\n", `line 2: unknown key "train.iterz" (keys of train: batch_size, block_seconds, clip, ema, iters, lr, lr_decay, lr_decay_every, seconds, val_every, warm_start, weight_decay)`},
		{"eval:\n  sovler: rk4\n", `line 2: unknown key "eval.sovler" (keys of eval: atol, batch_size, rtol, samples, solver, steps, trace)`},
		{"train:\n  iters: many\n", `line 2: key "train.iters": want a whole number, got "many"`},
		{"train:\n  lr: fast\n", `line 2: key "train.lr": want a number, got "fast"`},
		{"drop_constant: maybe\n", `line 1: key "drop_constant": want true or false, got "maybe"`},
		{"seed: -3\n", `line 1: key "seed": want a whole number ≥ 0, got "-3"`},
		{"train: 5\n", `line 1: key "train": want a mapping of keys, got "5"`},
		{"model:\n  hidden: 64\n", `line 2: key "model.hidden": want a list such as [1, 2], got "64"`},
		{"model:\n  hidden: [64, x]\n", `line 2: key "model.hidden": want a whole number, got "x"`},
		{"data:\n  - a.csv\n", `line 2: key "data": want a single value, got a list`},
		{"train:\n  clip: None\n", `line 2: key "train.clip": "None" is read as text, not as "no value"; write a value (0 disables clip and ema), or delete the line to keep the default`},
		{"- 1\n- 2\n", `line 1: key "(top level)": want a mapping of keys, got a list`},
		{"train:\n  iters: [1\n", "yaml: line 1: did not find expected ',' or ']'"},
		{"drop_nonfinite: true\ndrop_constant: true\n", ""},
		{"train:\n  iters: ~\n", ""},
	} {
		c, err := ParseConfig([]byte(tc.text))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("config %q: %v", tc.text, err)
		case tc.want == "" && tc.text[0] == 'd' && !(c.DropNonFinite && c.DropConstant):
			t.Errorf("config %q: %+v", tc.text, c)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("config %q: error %v\nwant %q", tc.text, err, tc.want)
		}
	}
}

// FuzzLoadConfig: any YAML text parses to a valid config or an error that
// names a key, a line or the YAML problem, never a panic; a parsed config
// survives its own YAML round trip.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"", "method: jko\n", "train:\n  iters: 5\n", "trian: 1\n", "train:\n  ema: None\n", "model:\n  hidden: [8, 8]\n",
		"eval:\n  solver: dopri5\n  rtol: 0\n", "a: &x 1\nb: *x\n", "[1, 2]\n", "train: {iters: 2.5}\n", "seed: 0x10\n",
		"drop_nonfinite: true\ndrop_constant: true\n", "logit:\n  enabled: true\n  hi: .nan\n", "\t", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			msg := err.Error()
			if msg == "" || !(strings.Contains(msg, "line ") || strings.Contains(msg, "yaml") || strings.Contains(msg, ":")) {
				t.Fatalf("error without key, line or YAML cause: %q", msg)
			}
			return
		}
		y, err := c.YAML()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := ParseConfig(y)
		if err != nil {
			t.Fatalf("parsed config does not re-parse: %v\n%s", err, y)
		}
		y2, _ := c2.YAML()
		if string(y) != string(y2) {
			t.Fatalf("round trip changed the config:\n%s\n---\n%s", y, y2)
		}
	})
}

// Rows that repeat an earlier row (here rows 10–19 repeat rows 0–9) are
// counted in a warning; a table without them gets none.
func TestDuplicateRowsWarn(t *testing.T) {
	p := badCSV(t, 1000, 3, nil)
	cfg := quickConfig(p)
	sp, err := PrepareSplits(&cfg)
	if err != nil || len(sp.Warnings) != 0 {
		t.Fatalf("distinct rows: warnings %q (%v)", sp.Warnings, err)
	}
	cells := map[[2]int]string{}
	p = badCSV(t, 1000, 3, func(i, j int, v float64) string {
		s := fmt.Sprintf("%.6f", v)
		if i < 10 {
			cells[[2]int{i, j}] = s
		}
		if i >= 10 && i < 20 {
			s = cells[[2]int{i - 10, j}]
		}
		return s
	})
	cfg = quickConfig(p)
	sp, err = PrepareSplits(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "data bad.csv: 10 of its 1000 rows repeat an earlier row exactly (the first: data row 11, counting from 1); " +
		"copies can land in both the training and the test split, which makes the test NLL optimistic"
	if len(sp.Warnings) != 1 || sp.Warnings[0] != want {
		t.Fatalf("warnings %q, want [%q]", sp.Warnings, want)
	}
}
