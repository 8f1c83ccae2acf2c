package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/data"
)

// A NaN on stdin: the message names stdin once, gives the command's advice
// instead of the Go API's (DropNonFinite), and still matches
// data.ErrNonFinite.
func TestLogprobNaNOnStdin(t *testing.T) {
	_, rd, _ := trainTiny(t)
	stdout, _, err := runIn(t, "a,c\n1,2\n3,NaN\n", "logprob", rd, "-", "-o", "-", "-q", "--on-error", "nan")
	want := `load stdin: line 3, column 2 ("c") is NaN; logprob scores finite rows only: remove or impute such rows first (--on-error nan covers failed solves, not NaN or Inf in the input)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if !errors.Is(err, data.ErrNonFinite) {
		t.Errorf("error %v does not match data.ErrNonFinite", err)
	}
	if strings.Contains(stdout, "NaN") {
		t.Errorf("stdout %q holds a NaN log-density", stdout)
	}
	// A bad cell of a file: named once, by the reader ("load FILE:"), not
	// again by logprob.
	in := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(in, []byte("a,c\n1,2\n3,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "logprob", rd, in, "-o", "-", "-q")
	if want := `load ` + in + `: read csv: line 3, column 2 ("c"): cannot parse "x" as a number`; err == nil || err.Error() != want {
		t.Errorf("bad cell: %v\nwant %s", err, want)
	}
}

// checkLogDensity refuses a model trained from a 2D source before logprob
// reads its input or writes anything.
func TestCheckLogDensity(t *testing.T) {
	m := fakeModel(2, nil)
	if err := checkLogDensity("runs/x", m); err != nil {
		t.Errorf("N(0, I) model: %v", err)
	}
	m.Source = "8gaussians"
	want := `runs/x: the model was trained from the source "8gaussians", not N(0, I): it has no log-density`
	if err := checkLogDensity("runs/x", m); err == nil || err.Error() != want {
		t.Errorf("source model: %v\nwant %s", err, want)
	}
}

func TestLogprobSourceModelFailsFirst(t *testing.T) {
	dir, rd, _ := trainTiny(t)
	// Mark the model as trained from a 2D source (training one with
	// --source takes seconds).
	mj := filepath.Join(rd, "model.json")
	b, err := os.ReadFile(mj)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	meta["source"] = "8gaussians"
	if b, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lp.csv")
	for _, o := range []string{"-", out} {
		stdout, _, err := runIn(t, "a,c\n1,2\n", "logprob", rd, "-", "-o", o, "-q")
		want := rd + `: the model was trained from the source "8gaussians", not N(0, I): it has no log-density`
		if err == nil || err.Error() != want {
			t.Errorf("-o %s: error %v\nwant %s", o, err, want)
		}
		if stdout != "" {
			t.Errorf("-o %s: stdout %q, want nothing", o, stdout)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output file written: %v", err)
	}
}

// Like TestEvaluateMovedData: plot after the run's data file moved hints at
// --data, and --data NEWPATH redraws the pictures.
func TestPlotMovedData(t *testing.T) {
	dir, rd, csv := trainTiny(t)
	moved := filepath.Join(dir, "elsewhere.csv")
	if err := os.Rename(csv, moved); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "plot", rd, "-q")
	if err == nil || !strings.HasSuffix(err.Error(), "; if the run's data file has moved, give its new path with --data") {
		t.Fatalf("plot after the move: got %v, want the --data hint", err)
	}
	png := filepath.Join(rd, "density.png")
	os.Remove(png)
	stdout, _, err := run(t, "plot", rd, "--data", moved, "-q")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, png) {
		t.Errorf("plot --data: stdout %q does not list %s", stdout, png)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Errorf("%s: %v", png, err)
	}
	other := filepath.Join(dir, "other.csv")
	writeTable(t, other, 400, []string{"a", "b", "c"})
	if _, _, err := run(t, "plot", rd, "--data", other, "-q"); err == nil || !strings.Contains(err.Error(), "changed since the run") ||
		strings.Contains(err.Error(), "has moved") {
		t.Errorf("plot --data with other rows: got %v, want the standardization check without the hint", err)
	}
}
