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
)

// writeBounded writes n rows of two columns in (0, 10): 10·Beta-like draws.
func writeBounded(t *testing.T, path string, n int, outlier bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("u,v\n")
	for i := 0; i < n; i++ {
		u := rng.Float64()
		v := math.Min(0.999, u*u+0.3*rng.Float64())
		if outlier && i == 17 {
			v = 1.2
		}
		fmt.Fprintf(&b, "%.6f,%.6f\n", 10*u, 10*v)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunWithLogit trains on bounded data with the logit transform: the model
// keeps the logit, samples stay within the bounds, the reported test NLL is
// reproduced by Evaluate, and a value outside the bounds is an error naming
// the split, row and column.
func TestRunWithLogit(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "b.csv")
	writeBounded(t, csv, 600, false)
	cfg := tinyConfig(csv, filepath.Join(dir, "run"))
	cfg.Logit = LogitConfig{Enabled: true, Lo: 0, Hi: 10, Alpha: 0.01}
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if m.Logit == nil || m.Logit.Hi[1] != 10 || m.Logit.Alpha != 0.01 {
		t.Fatalf("model logit %+v", m.Logit)
	}
	if nll := res.Metrics.TestNLL; math.IsNaN(nll) || math.IsInf(nll, 0) {
		t.Fatalf("test NLL %v", nll)
	}
	r, err := OpenRun(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(context.Background(), r, EvalOptions{Split: "test", Eval: r.Config.Eval, Seed: r.Config.Seed})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.NLL-res.Metrics.TestNLL) > 1e-9 {
		t.Errorf("evaluate %v, run %v", ev.NLL, res.Metrics.TestNLL)
	}
	for _, b := range res.Metrics.Baselines {
		if b.Skipped != "" || math.IsNaN(b.TestNLL) {
			t.Errorf("baseline %+v", b)
		}
	}

	bad := filepath.Join(dir, "bad.csv")
	writeBounded(t, bad, 600, true)
	cfg = tinyConfig(bad, filepath.Join(dir, "run2"))
	cfg.Logit = LogitConfig{Enabled: true, Lo: 0, Hi: 10, Alpha: 0.01}
	_, err = Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "column 1") || !strings.Contains(err.Error(), "logit (") {
		t.Errorf("outlier: %v", err)
	}
}
