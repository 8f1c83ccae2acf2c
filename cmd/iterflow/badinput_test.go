package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/iterflow/iterflow/pipeline"
)

// writeCells writes a CSV with the given header of n rows; cell(i, j, v)
// gives the text of cell (i, j), v being a seeded correlated Gaussian value.
func writeCells(t *testing.T, path string, n int, names []string, cell func(i, j int, v float64) string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString(strings.Join(names, ",") + "\n")
	row := make([]string, len(names))
	for i := 0; i < n; i++ {
		u := rng.NormFloat64()
		for j := range row {
			v := 0.6*u + rng.NormFloat64() + float64(j)
			row[j] = fmt.Sprintf("%.6f", v)
			if cell != nil {
				row[j] = cell(i, j, v)
			}
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// quickTrain is the argument list of a sub-second training run.
func quickTrain(data, out string, extra ...string) []string {
	return append([]string{"train", "--data", data, "--hidden", "8", "--iters", "20", "--blocks", "1", "--batch-size", "64",
		"--val-every", "10", "--samples", "20", "--eval-rtol", "1e-4", "--eval-atol", "1e-4", "--out", out}, extra...)
}

// inputFlagsWired reports whether train has the flags of bindInputFlags
// (wired in train.go by the integrator; until then the config keys are used).
func inputFlagsWired() bool {
	cmd := newTrainCmd()
	return cmd.Flags().Lookup("drop-nonfinite") != nil && cmd.Flags().Lookup("drop-constant") != nil
}

// testNLL reads the test NLL of a run directory.
func testNLL(t *testing.T, rd string) (float64, int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rd, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		TestNLL float64 `json:"test_nll"`
		D       int     `json:"d"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.TestNLL, m.D
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 7, case 1 at the CLI: a constant column is an error naming it and the
// option; with the option it is dropped with a warning and the NLL is finite.
func TestCLIConstantColumn(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "const.csv")
	writeCells(t, csv, 1000, []string{"a", "b", "c"}, func(i, j int, v float64) string {
		if j == 2 {
			return "-0.087"
		}
		return fmt.Sprintf("%.6f", v)
	})
	_, _, err := run(t, quickTrain(csv, filepath.Join(dir, "r0"))...)
	want := `data const.csv: column 2 ("c", counting from 0 as --columns does) is constant (value -0.087); drop it with --columns, or drop every constant column with --drop-constant (config: drop_constant: true)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %q", err, want)
	}
	cfg := writeFile(t, filepath.Join(dir, "drop.yaml"), "drop_constant: true\n")
	rd := filepath.Join(dir, "r1")
	args := quickTrain(csv, rd, "--config", cfg)
	if inputFlagsWired() {
		args = quickTrain(csv, rd, "--drop-constant")
	}
	_, stderr, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if nll, d := testNLL(t, rd); d != 2 || math.IsNaN(nll) || math.IsInf(nll, 0) {
		t.Errorf("d %d, test NLL %v", d, nll)
	}
	if line := `data const.csv: dropped constant column 2 ("c", value -0.087)`; inputFlagsWired() && !strings.Contains(stderr, line) {
		t.Errorf("log lacks %q:\n%s", line, stderr)
	}
}

// Issue 7, cases 2 and 3 (d = 3 model given d = 4): NaN and Inf rows are an
// error with their count, the first and the option; with the option they are
// dropped and counted; logprob with a wider file names both widths.
func TestCLINonFiniteRowsAndWidth(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "nan.csv")
	writeCells(t, csv, 1000, []string{"a", "b", "c"}, func(i, j int, v float64) string {
		switch {
		case i == 4 && j == 2:
			return "nan"
		case i == 900 && j == 1:
			return "-Inf"
		}
		return fmt.Sprintf("%.6f", v)
	})
	_, _, err := run(t, quickTrain(csv, filepath.Join(dir, "r0"))...)
	want := "load " + csv + `: read csv: 2 rows contain NaN or Inf; first at line 6, column 3 ("c"); drop those rows with --drop-nonfinite (config: drop_nonfinite: true)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %q", err, want)
	}
	cfg := writeFile(t, filepath.Join(dir, "drop.yaml"), "drop_nonfinite: true\n")
	rd := filepath.Join(dir, "r1")
	args := quickTrain(csv, rd, "--config", cfg)
	if inputFlagsWired() {
		args = quickTrain(csv, rd, "--drop-nonfinite")
	}
	_, stderr, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if nll, d := testNLL(t, rd); d != 3 || math.IsNaN(nll) || math.IsInf(nll, 0) {
		t.Errorf("d %d, test NLL %v", d, nll)
	}
	if line := `data nan.csv: dropped 2 rows with NaN or Inf (first at line 6, column 3 ("c"))`; inputFlagsWired() && !strings.Contains(stderr, line) {
		t.Errorf("log lacks %q:\n%s", line, stderr)
	}
	wide := filepath.Join(dir, "wide.csv")
	writeCells(t, wide, 5, []string{"a", "b", "c", "d"}, nil)
	// A header holding the model's columns is matched by name; without the
	// names the width is checked.
	if _, _, err = run(t, "logprob", rd, wide, "-o", filepath.Join(dir, "lp.csv")); err != nil {
		t.Errorf("logprob on a file with the model's columns and one more: %v", err)
	}
	_, _, err = run(t, "logprob", rd, wide, "-o", filepath.Join(dir, "lp.csv"), "--columns", "0-3")
	want = wide + ": --columns 0-3 selects 4 columns; the model expects 3 (columns: a, b, c)"
	if err == nil || err.Error() != want {
		t.Errorf("logprob error %v\nwant %q", err, want)
	}
}

// Issue 7, case 3 at the CLI: malformed data files.
func TestCLIMalformedData(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide.csv")
	names := make([]string, 40)
	for j := range names {
		names[j] = fmt.Sprintf("x%d", j)
	}
	writeCells(t, wide, 60, names, nil)
	for _, tc := range []struct{ path, want string }{
		{writeFile(t, filepath.Join(dir, "empty.csv"), ""), "load DIR/empty.csv: read csv: empty input: no rows"},
		{writeFile(t, filepath.Join(dir, "one.csv"), "a,b,c\n1,2,3\n"), "data one.csv: 1 row is too few; need at least 50 to split into train, validation and test"},
		{wide, "data wide.csv: 60 rows for 40 columns; need at least twice as many rows as columns"},
		{writeFile(t, filepath.Join(dir, "text.csv"), "a,b\n1,2\n3,x\n"), `load DIR/text.csv: read csv: line 3, column 2 ("b"): cannot parse "x" as a number; a column of text (labels, names) can be left out with --columns (e.g. --columns 0-10 or by names)`},
		{writeFile(t, filepath.Join(dir, "ragged.csv"), "a,b\n1,2\n3,4,5\n"), "load DIR/ragged.csv: read csv: line 3: 3 fields, want 2 (as on line 1)"},
	} {
		_, _, err := run(t, quickTrain(tc.path, filepath.Join(dir, "run"))...)
		want := strings.ReplaceAll(tc.want, "DIR", dir)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %q", filepath.Base(tc.path), err, want)
		}
	}
}

// Issue 7, case 4 at the CLI: one-dimensional data train, sample and score.
func TestCLIOneDimensional(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "one.csv")
	writeCells(t, csv, 300, []string{"x"}, nil)
	rd := filepath.Join(dir, "run")
	if _, _, err := run(t, quickTrain(csv, rd, "-q")...); err != nil {
		t.Fatal(err)
	}
	if nll, d := testNLL(t, rd); d != 1 || math.IsNaN(nll) || math.IsInf(nll, 0) {
		t.Fatalf("d %d, test NLL %v", d, nll)
	}
	samples := filepath.Join(dir, "s.csv")
	if _, _, err := run(t, "sample", rd, "-n", "30", "-o", samples, "-q"); err != nil {
		t.Fatal(err)
	}
	lp := filepath.Join(dir, "lp.csv")
	if _, _, err := run(t, "logprob", rd, samples, "-o", lp, "-q"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(lp)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 31 || lines[0] != "log_prob" {
		t.Fatalf("logprob output %q", b)
	}
	for _, l := range lines[1:] {
		if strings.Contains(strings.ToLower(l), "nan") || strings.Contains(strings.ToLower(l), "inf") {
			t.Fatalf("non-finite log p %q", l)
		}
	}
}

// Issue 7, case 7 at the CLI: config errors name the file, line and key.
func TestCLIConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"train:\n  itres: 5\n", `line 2: unknown key "train.itres" (keys of train: batch_size, block_seconds, clip, ema, iters, lr, lr_decay, lr_decay_every, seconds, val_every, warm_start, weight_decay)`},
		{"val_frac: ten percent\n", `line 1: key "val_frac": want a number, got "ten percent"`},
		{"train:\n  ema: None\n", `line 2: key "train.ema": "None" is read as text, not as "no value"; write a value (0 disables clip and ema), or delete the line to keep the default`},
	} {
		p := writeFile(t, filepath.Join(dir, "c.yaml"), tc.text)
		_, _, err := run(t, "train", "--config", p)
		if want := "config " + p + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("config %q: error %v\nwant %q", tc.text, err, want)
		}
	}
}

// bindInputFlags and applyInputFlag map --drop-nonfinite and --drop-constant
// onto their config keys and leave other flags alone.
func TestInputFlagsMapToConfig(t *testing.T) {
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	var src pipeline.Config
	bindInputFlags(fs, &src)
	if err := fs.Parse([]string{"--drop-nonfinite", "--drop-constant"}); err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultConfig()
	n := 0
	fs.Visit(func(f *pflag.Flag) {
		if applyInputFlag(f.Name, &cfg, &src) {
			n++
		}
	})
	if n != 2 || !cfg.DropNonFinite || !cfg.DropConstant || applyInputFlag("iters", &cfg, &src) {
		t.Errorf("%d flags applied; config drop_nonfinite %v, drop_constant %v", n, cfg.DropNonFinite, cfg.DropConstant)
	}
}
