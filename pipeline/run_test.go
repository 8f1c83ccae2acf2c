package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/ode"
)

// tinyConfig trains a small model quickly.
func tinyConfig(data, out string) Config {
	c := DefaultConfig()
	c.Data, c.Out = data, out
	c.Model.Hidden = []int{16, 16}
	c.LFM.Blocks = 1
	c.Train.Iters, c.Train.BatchSize, c.Train.ValEvery = 40, 64, 20
	c.Eval.Samples = 50
	return c
}

// writeCSV writes n rows of a correlated 3-column table scaled by s.
func writeCSV(t *testing.T, path string, n int, s float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := 0; i < n; i++ {
		u, v := rng.NormFloat64(), rng.NormFloat64()
		fmt.Fprintf(&b, "%.17g,%.17g,%.17g\n", s*u, s*(0.5*u+v*v), s*(2+0.3*rng.NormFloat64()))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunWritesACompleteRunDirectory(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "t.csv")
	writeCSV(t, csv, 400, 1)
	out := filepath.Join(dir, "run")
	res, err := Run(context.Background(), tinyConfig(csv, out), Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "model.json", "config.yaml", "metrics.json", "report.md", "samples.png", "loss.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("run file %s: %v", f, err)
		}
	}
	var met Metrics
	b, _ := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err := json.Unmarshal(b, &met); err != nil {
		t.Fatal(err)
	}
	var blocks struct {
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(b, &blocks); err != nil || len(blocks.Blocks) != 2 || blocks.Blocks[1]["kind"] != "free" {
		t.Errorf("metrics blocks %+v (%v)", blocks, err)
	}
	if met.N != 400 || met.D != 3 || met.NTest != 40 || met.NVal != 40 || met.NTrain != 320 {
		t.Errorf("metrics %+v", met)
	}
	if math.IsNaN(met.TestNLL) || math.IsNaN(met.GaussianTestNLL) || met.NFE <= 0 || met.Trace != "exact" {
		t.Errorf("metrics %+v", met)
	}
	rep, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, want := range []string{"full-covariance Gaussian (fit on train)", fmt.Sprintf("%.4f", met.TestNLL), "dopri5 (rtol 1e-05, atol 1e-05), exact trace", "![samples](samples.png)"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The saved config reproduces the run's settings.
	back, err := LoadConfig(filepath.Join(out, "config.yaml"))
	if err != nil || back.Train.Iters != 40 || back.Data != csv {
		t.Errorf("saved config: %+v %v", back.Train, err)
	}
	// The saved model gives the same log-densities as the trained one.
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.1, 0.2, 2.0, -1, 1.5, 2.2}
	opt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 10}}
	a, _, err1 := res.Model.LogProb(context.Background(), x, 2, opt)
	c, _, err2 := m.LogProb(context.Background(), x, 2, opt)
	if err1 != nil || err2 != nil || a[0] != c[0] || a[1] != c[1] {
		t.Errorf("LogProb before save %v (%v), after load %v (%v)", a, err1, c, err2)
	}
}

// Scaling the data by 100 lowers every log-density by exactly d·ln 100: the
// standardization's log-determinant is part of LogProb.
func TestScalingDataShiftsNLLByLogDet(t *testing.T) {
	dir := t.TempDir()
	var nll [2]float64
	for i, s := range []float64{1, 100} {
		csv := filepath.Join(dir, fmt.Sprintf("s%d.csv", i))
		writeCSV(t, csv, 300, s)
		c := tinyConfig(csv, filepath.Join(dir, fmt.Sprintf("run%d", i)))
		c.Dequantize = "none"
		res, err := Run(context.Background(), c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		nll[i] = res.Metrics.TestNLL
	}
	if got, want := nll[1]-nll[0], 3*math.Log(100); math.Abs(got-want) > 1e-4 {
		t.Errorf("NLL(100x) − NLL(x) = %.6f, want 3 ln 100 = %.6f", got, want)
	}
}

func TestRunOnBuiltInDigits(t *testing.T) {
	c := tinyConfig("digits", filepath.Join(t.TempDir(), "digits"))
	c.Train.Iters = 20
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	if m.N != 1797 || m.D != 64 || m.Dequantized != 64 || m.NTest != 180 {
		t.Errorf("digits metrics %+v", m)
	}
	if !(m.TestNLL > 0 && m.TestNLL < 1000) || !(m.GaussianTestNLL > 100 && m.GaussianTestNLL < 160) {
		t.Errorf("digits NLL %g, Gaussian %g", m.TestNLL, m.GaussianTestNLL)
	}
}

func TestRunRejectsBadData(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"a,b\n1,2\n3,4\n", "data bad.csv: 2 rows is too few; need at least 50 to split into train, validation and test"},
		{"", "bad.csv"},
	} {
		p := filepath.Join(dir, "bad.csv")
		if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Run(context.Background(), tinyConfig(p, filepath.Join(dir, "r")), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("data %q: error %v, want %q", tc.body, err, tc.want)
		}
	}
	// A constant column is named.
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "%d.5,3.0,%d.25\n", i, i*i%17)
	}
	p := filepath.Join(dir, "const.csv")
	os.WriteFile(p, []byte(b.String()), 0o644)
	_, err := Run(context.Background(), tinyConfig(p, filepath.Join(dir, "r2")), Options{})
	if err == nil || !strings.Contains(err.Error(), `data const.csv: column 1 ("b", counting from 0 as --columns does) is constant (value 3); drop it with --columns`) {
		t.Errorf("constant column: %v", err)
	}
}

// A flow-matching model from a non-Gaussian source reports sample quality but
// no likelihood, and samples by carrying source draws to the data.
func TestRunFlowMatchingFromAnotherSource(t *testing.T) {
	c := tinyConfig("moons", filepath.Join(t.TempDir(), "fm"))
	c.Method, c.Source, c.ToySamples = "otcfm", "8gaussians", 600
	c.Train.Iters, c.Train.BatchSize = 60, 64
	c.FM = DefaultConfigFor("otcfm").FM
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	if m.NLLDefined || m.Source != "8gaussians" || !(m.SampleSlicedW2 > 0) || len(m.FewStep) != 5 || m.FewStep[2].NFE != 4 || len(m.Straightness) != 1 {
		t.Errorf("metrics %+v", m)
	}
	rep, _ := os.ReadFile(filepath.Join(res.Dir, "report.md"))
	if !strings.Contains(string(rep), `Not defined: the model carries samples of "8gaussians"`) {
		t.Errorf("report lacks the undefined-likelihood note")
	}
	if _, _, err := res.Model.LogProb(context.Background(), []float64{0, 0}, 1, flow.Options{}); err == nil ||
		err.Error() != `model: log-likelihoods need an N(0, I) latent; this model was trained from the source "8gaussians"` {
		t.Errorf("LogProb: %v", err)
	}
	back, err := model.Load(res.Dir)
	if err != nil || back.Source != "8gaussians" || !back.Blocks[0].Reverse {
		t.Errorf("loaded source %q reverse %v (%v)", back.Source, back.Blocks[0].Reverse, err)
	}
}

func TestRunRefusesAFileAsRunDirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "afile")
	os.WriteFile(f, []byte("x"), 0o644)
	_, err := Run(context.Background(), tinyConfig("moons", f), Options{})
	if err == nil || err.Error() != "run directory "+f+" is an existing file; choose another --out" {
		t.Errorf("got %v", err)
	}
}

func TestRunMLE(t *testing.T) {
	c := tinyConfig("8gaussians", filepath.Join(t.TempDir(), "mle"))
	c.Method, c.ToySamples = "mle", 600
	c.Train.Iters, c.Train.BatchSize = 30, 64
	c.MLE = DefaultConfigFor("mle").MLE
	c.MLE.KineticWeight = 0.01
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics; !m.NLLDefined || !(m.TestNLL > 0 && m.TestNLL < m.GaussianTestNLL+3) || len(res.Model.Fields) != 1 {
		t.Errorf("mle metrics %+v", m)
	}
}

// TestRunDistill trains a small LFM chain on a 2D Gaussian with one-step
// distillation and checks that the students' one-step samples are closer to
// the data than the teacher's Euler samples at the same NFE, and that the
// students are saved and load as a model.
func TestRunDistill(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig("8gaussians", filepath.Join(dir, "run"))
	cfg.Train.Iters = 300
	cfg.LFM.Blocks = 2
	cfg.Distill = DistillConfig{Iters: 300, Pool: 2000}
	cfg.Eval.Solver, cfg.Eval.Steps = "rk4", 10
	res, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Metrics.Distilled
	if r == nil {
		t.Fatal("no distillation result")
	}
	if r.NFE != 3 || !(r.SlicedW2 < r.TeacherSlicedW2) {
		t.Errorf("distilled: NFE %d (want 3, one per block), sliced W2 %.4f, teacher at the same NFE %.4f (want larger)", r.NFE, r.SlicedW2, r.TeacherSlicedW2)
	}
	sm, err := model.Load(filepath.Join(res.Dir, DistilledDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.Fields) != 3 || sm.Blocks[0].Kind != "distilled" || !sm.Blocks[0].Reverse {
		t.Errorf("distilled model: %d blocks, first %+v", len(sm.Fields), sm.Blocks[0])
	}
}
