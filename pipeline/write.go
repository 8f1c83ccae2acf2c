package pipeline

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/internal/atomicfile"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/report"
)

// Metrics is the content of a run's metrics.json. NLLs are in nats per sample
// on the test split, in the units of the user's data (dequantized where the
// data were integer-valued).
type Metrics struct {
	Version    string `json:"version"`
	Backend    string `json:"backend"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// BLASCore is OpenBLAS's kernel set and BLASThreads its thread count
	// (empty and GOMAXPROCS in the pure-Go build).
	BLASCore    string `json:"blas_core,omitempty"`
	BLASThreads int    `json:"blas_threads"`

	Dataset     string `json:"dataset"`
	N           int    `json:"n"`
	D           int    `json:"d"`
	NTrain      int    `json:"n_train"`
	NVal        int    `json:"n_val"`
	NTest       int    `json:"n_test"`
	Dequantized int    `json:"dequantized_columns"`

	Method string `json:"method"`
	Seed   uint64 `json:"seed"`

	TestNLL           float64 `json:"test_nll"`
	TestNLLSE         float64 `json:"test_nll_se"`
	TestBitsPerDim    float64 `json:"test_bits_per_dim"`
	GaussianTestNLL   float64 `json:"gaussian_test_nll"`
	GaussianTestNLLSE float64 `json:"gaussian_test_nll_se"`
	Solver            string  `json:"solver"`
	Trace             string  `json:"trace"`
	NFE               int     `json:"nfe"`
	SampleNFE         int     `json:"sample_nfe"`

	TrainSeconds  float64 `json:"train_seconds"`
	EvalSeconds   float64 `json:"eval_seconds"`
	SampleSeconds float64 `json:"sample_seconds"`

	Blocks []method.BlockResult `json:"blocks"`
}

func writeRun(dir string, cfg *Config, ds *Dataset, met *Metrics, test *data.Table, samples []float64, res *method.LFMResult) error {
	y, err := cfg.YAML()
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.yaml"), func(w io.Writer) error {
		_, err := w.Write(y)
		return err
	}); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := checkpoint.WriteJSON(filepath.Join(dir, "metrics.json"), jsonSafe(met)); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}

	// Pictures.
	var pics []string
	d := met.D
	ns := len(samples) / d
	if ds.ImageH > 0 {
		k := min(64, test.N, ns)
		clipped := make([]float64, k*d)
		copy(clipped, samples[:k*d])
		for i := range clipped {
			clipped[i] = math.Min(math.Max(clipped[i], ds.Lo), ds.Hi+1)
		}
		if err := report.SideBySideImagesPNG(filepath.Join(dir, "samples.png"), test.X[:k*d], clipped, k, k, ds.ImageH, ds.ImageW, 8,
			ds.Lo, ds.Hi+1, "test data", "samples"); err != nil {
			return fmt.Errorf("plot samples: %w", err)
		}
	} else {
		i, j := 0, min(1, d-1)
		if err := report.ScatterPNG(filepath.Join(dir, "samples.png"), fmt.Sprintf("%s: columns %q and %q", ds.Name, colName(ds, i), colName(ds, j)), []report.ScatterPanel{
			{Title: "test data", X: test.X, N: test.N, D: d, I: i, J: j},
			{Title: "samples", X: samples, N: ns, D: d, I: i, J: j},
		}); err != nil {
			return fmt.Errorf("plot samples: %w", err)
		}
	}
	pics = append(pics, "samples.png")
	var series []report.Series
	for _, b := range res.Blocks {
		s := report.Series{Name: fmt.Sprintf("block %d", b.Index)}
		for k, v := range b.LossCurve {
			s.X = append(s.X, float64(k))
			s.Y = append(s.Y, v)
		}
		series = append(series, s)
	}
	if err := report.LinesPNG(filepath.Join(dir, "loss.png"), "flow-matching loss per block", "steps / 50", "loss", series); err != nil {
		return fmt.Errorf("plot loss: %w", err)
	}
	pics = append(pics, "loss.png")

	md := renderReport(cfg, ds, met, pics)
	return atomicfile.WriteFile(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, md)
		return err
	})
}

func colName(ds *Dataset, j int) string {
	if j < len(ds.Table.Names) {
		return ds.Table.Names[j]
	}
	return fmt.Sprintf("x%d", j)
}

// jsonSafe replaces NaN validation losses (no validation data) so that the
// metrics encode as JSON.
func jsonSafe(m *Metrics) *Metrics {
	c := *m
	c.Blocks = append([]method.BlockResult(nil), m.Blocks...)
	for i := range c.Blocks {
		if math.IsNaN(c.Blocks[i].ValLoss) {
			c.Blocks[i].ValLoss = -1
		}
	}
	return &c
}

func renderReport(cfg *Config, ds *Dataset, met *Metrics, pics []string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# iterflow run: %s on %s\n\n", methodName(cfg.Method), ds.Name)
	backend := met.Backend
	if met.BLASCore != "" {
		backend += fmt.Sprintf(" with %s kernels, %d BLAS threads", met.BLASCore, met.BLASThreads)
	}
	p("Written %s by iterflow %s (backend %s, GOMAXPROCS %d), seed %d.\n\n", time.Now().UTC().Format(time.RFC3339), met.Version, backend, met.GOMAXPROCS, met.Seed)
	p("## Data\n\n")
	p("%s: %d rows × %d columns; seeded split train %d / validation %d / test %d.\n", ds.Name, met.N, met.D, met.NTrain, met.NVal, met.NTest)
	if ds.Source != "" && ds.Source != ds.Name {
		p("Source: %s\n", ds.Source)
	}
	p("\nPreprocessing: %d integer-valued columns dequantized with U[0, 1) noise, then every column standardized by the training split's mean and standard deviation. ", met.Dequantized)
	p("The standardization's log-determinant is included, so log-likelihoods are in the units of the (dequantized) data.\n\n")
	p("## Test log-likelihood\n\n")
	p("%s\n", report.Table([]string{"model", "test NLL (nats/sample)", "± s.e.", "bits/dim"}, [][]string{
		{methodName(cfg.Method), f4(met.TestNLL), f4(met.TestNLLSE), f4(met.TestBitsPerDim)},
		{"full-covariance Gaussian (fit on train)", f4(met.GaussianTestNLL), f4(met.GaussianTestNLLSE), f4(met.GaussianTestNLL / (float64(met.D) * math.Ln2))},
	}))
	p("Flow likelihood: %s, %s trace, NFE %d (velocity evaluations summed over blocks, largest batch). Lower is better.\n\n", met.Solver, met.Trace, met.NFE)
	p("## Training\n\n")
	p("Network per block: MLP [x, t] → %v → %d, %s; Adam lr %g (×%g every %d steps), batch %d, %d steps per block, clip %g, EMA %g, warm start %v.\n",
		cfg.Model.Hidden, met.D, cfg.Model.Activation, cfg.Train.LR, cfg.Train.LRDecay, cfg.Train.LRDecayEvery, cfg.Train.BatchSize, cfg.Train.Iters,
		cfg.Train.Clip, cfg.Train.EMA, cfg.Train.WarmStart)
	p("Interpolant %s, t ~ %s; pool pushed with %s. Train time %.1f s, evaluation %.1f s, sampling %d points %.1f s (NFE %d).\n\n",
		cfg.LFM.Interpolant, cfg.LFM.Time, cfg.Push.Describe(), met.TrainSeconds, met.EvalSeconds, cfg.Eval.Samples, met.SampleSeconds, met.SampleNFE)
	rows := [][]string{}
	for _, bl := range met.Blocks {
		g := "—"
		if bl.Kind == "ou" {
			g = fmt.Sprintf("%.4g", bl.Gamma)
		}
		vl := "—"
		if !math.IsNaN(bl.ValLoss) && bl.ValLoss >= 0 {
			vl = fmt.Sprintf("%.4f (step %d)", bl.ValLoss, bl.BestStep)
		}
		rows = append(rows, []string{fmt.Sprint(bl.Index), bl.Kind, g, f4(bl.FinalLoss), vl, f4(bl.Movement), f4(bl.RelMovement), fmt.Sprintf("%.1f", bl.Seconds)})
	}
	p("%s\n", report.Table([]string{"block", "kind", "γ", "train loss", "validation loss (kept step)", "E|x − T(x)|²", "relative movement", "seconds"}, rows))
	p("## Pictures\n\n")
	for _, pic := range pics {
		p("![%s](%s)\n\n", strings.TrimSuffix(pic, ".png"), pic)
	}
	p("## Method\n\nLocal Flow Matching (Xu, Cheng, Xie, arXiv 2410.02548): block k learns by flow matching a velocity field carrying the current pool to its OU transition e^{−γ_k}x + √(1 − e^{−2γ_k}) z; the pool is then pushed through the trained block. Log-likelihoods use the instantaneous change of variables through the chain of blocks.\n")
	return b.String()
}

func methodName(m string) string {
	if m == "lfm" {
		return "Local Flow Matching"
	}
	return m
}

func f4(v float64) string { return fmt.Sprintf("%.4f", v) }
