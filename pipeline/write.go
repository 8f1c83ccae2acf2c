package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/internal/atomicfile"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/ode"
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
	// DataWarnings are the preparation's notes on the data file: rows
	// dropped for NaN or ±Inf (--drop-nonfinite, with the count and the
	// first), constant columns dropped (--drop-constant).
	DataWarnings []string `json:"data_warnings,omitempty"`

	Method string `json:"method"`
	Seed   uint64 `json:"seed"`

	// NLLDefined is false for flow-matching models from a source other than
	// N(0, I) (Source names it); their NLL fields are 0.
	NLLDefined        bool    `json:"nll_defined"`
	Source            string  `json:"source,omitempty"`
	TestNLL           float64 `json:"test_nll"`
	TestNLLSE         float64 `json:"test_nll_se"`
	TestBitsPerDim    float64 `json:"test_bits_per_dim"`
	GaussianTestNLL   float64 `json:"gaussian_test_nll"`
	GaussianTestNLLSE float64 `json:"gaussian_test_nll_se"`
	// Baselines are the Gaussian mixture and the kernel density estimate,
	// chosen on the validation split (same units as TestNLL).
	Baselines []Baseline `json:"baselines,omitempty"`
	// Distilled is the one-step students' sample quality (nil: not distilled).
	Distilled *DistillResult `json:"distilled,omitempty"`
	Solver    string         `json:"solver"`
	Trace     string         `json:"trace"`
	NFE       int            `json:"nfe"`
	SampleNFE int            `json:"sample_nfe"`

	// SampleSlicedW2 and SampleMMD2 compare the samples with the test split
	// (data units; MMD² with the Gaussian kernel of bandwidth MMDBandwidth).
	SampleSlicedW2 float64 `json:"sample_sliced_w2"`
	SampleMMD2     float64 `json:"sample_mmd2"`
	MMDBandwidth   float64 `json:"mmd_bandwidth"`
	// FewStep is the sample quality of Euler sampling with few steps.
	FewStep []FewStepPoint `json:"few_step"`
	// Straightness of flow-matching paths per round (before and after reflow).
	Straightness []float64 `json:"straightness,omitempty"`

	// TrainSeconds is the training time in seconds; for a resumed run
	// (Resumed) the sum over the processes that trained it, as saved in
	// its checkpoints (time between the last checkpoint and a hard kill is
	// lost; an interrupt saves a checkpoint, so it loses none). EvalSeconds
	// and SampleSeconds are the test-NLL evaluation and the sampling of the
	// process that finished the run.
	TrainSeconds  float64 `json:"train_seconds"`
	EvalSeconds   float64 `json:"eval_seconds"`
	SampleSeconds float64 `json:"sample_seconds"`
	// Resumed is set when the run was continued from a checkpoint
	// (iterflow train --resume).
	Resumed bool `json:"resumed,omitempty"`

	// Schedule describes the blocks' step sizes.
	Schedule string `json:"schedule"`
	// Blocks holds the method's per-block results (LFM: method.BlockResult,
	// JKO: method.JKOBlockResult); non-finite numbers are written as null.
	Blocks any `json:"blocks"`
	// Passes holds JKO-iFlow's passes (first, reparametrized, refined).
	Passes []method.JKOPass `json:"passes,omitempty"`

	// LossCurves are the per-block training-loss curves drawn in loss.png,
	// one point per LossEvery[k] steps of block k; Movement is E|x − T(x)|²
	// per block of the final pass (movement.png). Non-finite points are
	// written as null (read back as 0). They let `iterflow plot` redraw a
	// run's pictures.
	LossCurves [][]float64 `json:"-"`
	LossEvery  []int       `json:"loss_every,omitempty"`
	Movement   []float64   `json:"-"`
}

func writeRun(ctx context.Context, dir string, cfg *Config, ds *Dataset, met *Metrics, test *data.Table, samples []float64, tr *trained, m *model.Model) error {
	// The saved config leaves out the run directory, so that rerunning it with
	// --config makes a new run rather than colliding with this one.
	saved := *cfg
	saved.Out = ""
	y, err := saved.YAML()
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.yaml"), func(w io.Writer) error {
		_, err := w.Write(y)
		return err
	}); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	safe := *met
	safe.Blocks = scrubNonFinite(reflect.ValueOf(met.Blocks))
	withCurves := struct {
		*Metrics
		LossCurves any `json:"loss_curves,omitempty"`
		Movement   any `json:"movement,omitempty"`
	}{Metrics: &safe}
	if met.LossCurves != nil {
		withCurves.LossCurves = scrubNonFinite(reflect.ValueOf(met.LossCurves))
	}
	if met.Movement != nil {
		withCurves.Movement = scrubNonFinite(reflect.ValueOf(met.Movement))
	}
	if err := checkpoint.WriteJSON(filepath.Join(dir, "metrics.json"), &withCurves); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}

	pics, err := writePlots(ctx, dir, cfg, ds, met, test, samples, tr, m)
	if err != nil {
		return err
	}
	md := renderReport(cfg, ds, met, tr, pics)
	return atomicfile.WriteFile(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, md)
		return err
	})
}

// writePlots draws the run's pictures and returns their file names.
func writePlots(ctx context.Context, dir string, cfg *Config, ds *Dataset, met *Metrics, test *data.Table, samples []float64, tr *trained, m *model.Model) ([]string, error) {
	var pics []string
	d := met.D
	ns := len(samples) / d
	switch {
	case ds.ImageH > 0:
		k := min(64, test.N, ns)
		clipped := make([]float64, k*d)
		copy(clipped, samples[:k*d])
		for i := range clipped {
			clipped[i] = math.Min(math.Max(clipped[i], ds.Lo), ds.Hi+1)
		}
		if err := report.SideBySideImagesPNG(filepath.Join(dir, "samples.png"), test.X[:k*d], clipped, k, k, ds.ImageH, ds.ImageW, 8,
			ds.Lo, ds.Hi+1, "test data", "samples"); err != nil {
			return nil, fmt.Errorf("plot samples: %w", err)
		}
		pics = append(pics, "samples.png")
	case d == 1:
		if err := report.HistogramsPNG(filepath.Join(dir, "samples.png"), "data vs samples", test.X, samples, test.N, ns, 1, 1, ds.Table.Names); err != nil {
			return nil, fmt.Errorf("plot samples: %w", err)
		}
		pics = append(pics, "samples.png")
	default:
		i, j := 0, 1
		if err := report.ScatterPNG(filepath.Join(dir, "samples.png"), fmt.Sprintf("%s: columns %q and %q", ds.Name, colName(ds, i), colName(ds, j)), []report.ScatterPanel{
			{Title: "test data", X: test.X, N: test.N, D: d, I: i, J: j, XName: colName(ds, i), YName: colName(ds, j)},
			{Title: "samples", X: samples, N: ns, D: d, I: i, J: j, XName: colName(ds, i), YName: colName(ds, j)},
		}); err != nil {
			return nil, fmt.Errorf("plot samples: %w", err)
		}
		pics = append(pics, "samples.png")
		if d > 2 {
			k := min(d, 8)
			if err := report.HistogramsPNG(filepath.Join(dir, "marginals.png"), "marginals: data vs samples", test.X, samples, test.N, ns, d, k, ds.Table.Names); err != nil {
				return nil, fmt.Errorf("plot marginals: %w", err)
			}
			pics = append(pics, "marginals.png")
			if !ds.Image {
				if err := report.CornerPNG(filepath.Join(dir, "corner.png"), fmt.Sprintf("%s: pairwise marginals, test data vs samples", ds.Name),
					test.X, samples, test.N, ns, d, ds.Table.Names, 6); err != nil {
					return nil, fmt.Errorf("plot corner: %w", err)
				}
				pics = append(pics, "corner.png")
			}
		}
	}
	if d == 2 && m.Source == "" {
		if err := densityPlot(ctx, filepath.Join(dir, "density.png"), cfg, ds, test, m); err != nil {
			return nil, err
		}
		pics = append(pics, "density.png")
	}
	if d == 2 {
		if err := trajectoryPlot(ctx, filepath.Join(dir, "trajectories.png"), ds, test, m); err != nil {
			return nil, err
		}
		pics = append(pics, "trajectories.png")
	}
	var series []report.Series
	for k, c := range tr.curves {
		if len(c) == 0 { // a block stopped by its time budget before its first loss point
			continue
		}
		s := report.Series{Name: fmt.Sprintf("block %d", k+1)}
		for i, v := range c {
			s.X = append(s.X, float64((i+1)*tr.lossEvery[k]))
			s.Y = append(s.Y, v)
		}
		if len(c) == 1 { // a single point draws no line: repeat it at step 0
			s.X = append([]float64{0}, s.X...)
			s.Y = append([]float64{c[0]}, s.Y...)
		}
		series = append(series, s)
	}
	if len(series) > 0 {
		if err := report.LinesPNG(filepath.Join(dir, "loss.png"), "training loss per block", "step", "loss", series); err != nil {
			return nil, fmt.Errorf("plot loss: %w", err)
		}
		pics = append(pics, "loss.png")
	}
	mv := report.Series{Name: "final pass"}
	for k, v := range tr.movement {
		mv.X = append(mv.X, float64(k+1))
		mv.Y = append(mv.Y, v)
	}
	mseries := []report.Series{mv}
	for _, p := range tr.passes {
		s := report.Series{Name: p.Name}
		for k, v := range p.Movement {
			s.X = append(s.X, float64(k+1))
			s.Y = append(s.Y, v)
		}
		mseries = append(mseries, s)
	}
	if err := report.LinesPNG(filepath.Join(dir, "movement.png"), "movement per block E|x − T(x)|²", "block", "E|x − T(x)|²", mseries); err != nil {
		return nil, fmt.Errorf("plot movement: %w", err)
	}
	pics = append(pics, "movement.png")
	return pics, nil
}

// densityPlot draws the model density exp(log p) on a grid covering the test
// data (exact trace, the evaluation solver).
func densityPlot(ctx context.Context, path string, cfg *Config, ds *Dataset, test *data.Table, m *model.Model) error {
	lo := [2]float64{math.Inf(1), math.Inf(1)}
	hi := [2]float64{math.Inf(-1), math.Inf(-1)}
	for i := 0; i < test.N; i++ {
		for j := 0; j < 2; j++ {
			lo[j] = math.Min(lo[j], test.X[2*i+j])
			hi[j] = math.Max(hi[j], test.X[2*i+j])
		}
	}
	for j := 0; j < 2; j++ {
		pad := 0.1 * (hi[j] - lo[j])
		lo[j], hi[j] = lo[j]-pad, hi[j]+pad
		if m.Logit != nil { // the density lives inside the logit's bounds
			lo[j], hi[j] = math.Max(lo[j], m.Logit.Lo[j]), math.Min(hi[j], m.Logit.Hi[j])
		}
	}
	const g = 100
	grid := make([]float64, 0, 2*g*g)
	for iy := 0; iy < g; iy++ {
		for ix := 0; ix < g; ix++ {
			grid = append(grid, lo[0]+(float64(ix)+0.5)*(hi[0]-lo[0])/g, lo[1]+(float64(iy)+0.5)*(hi[1]-lo[1])/g)
		}
	}
	eopt, _ := cfg.Eval.options("eval")
	lp, _, err := m.LogProb(ctx, grid, g*g, flow.Options{Solver: eopt, Trace: flow.Exact, BatchSize: 4096})
	if err != nil {
		return fmt.Errorf("density plot: %w", err)
	}
	dens := make([]float64, len(lp))
	for i, v := range lp {
		dens[i] = math.Exp(v)
	}
	if err := report.HeatmapPNG(path, fmt.Sprintf("%s: model density", ds.Name), dens, g, g, lo[0], hi[0], lo[1], hi[1]); err != nil {
		return fmt.Errorf("density plot: %w", err)
	}
	return nil
}

// trajectoryPlot draws the paths of a few test points through the chain, data
// to latent, on the standardized scale (10 rk4 steps per block).
func trajectoryPlot(ctx context.Context, path string, ds *Dataset, test *data.Table, m *model.Model) error {
	const k, sub = 24, 10
	n := min(k, test.N)
	y := append([]float64(nil), test.X[:2*n]...)
	m.Standardizer.Forward(y, n)
	paths := make([]report.Series, n)
	record := func() {
		for i := range paths {
			paths[i].X = append(paths[i].X, y[2*i])
			paths[i].Y = append(paths[i].Y, y[2*i+1])
		}
	}
	record()
	for b, blk := range m.Chain().Blocks {
		f := func(t float64, x, dx []float64) error {
			blk.Field.Velocity(t, x, n, dx)
			return nil
		}
		for s := 0; s < sub; s++ {
			t0, t1 := float64(s)/sub, float64(s+1)/sub
			if blk.Reverse {
				t0, t1 = 1-t0, 1-t1
			}
			if _, err := ode.Solve(ctx, f, y, t0, t1, ode.Options{Method: ode.RK4, Steps: 1}); err != nil {
				return fmt.Errorf("trajectory plot: block %d: %w", b+1, err)
			}
			record()
		}
	}
	if err := report.LinesPNG(path, fmt.Sprintf("%s: paths of %d test points through %d blocks (standardized scale)", ds.Name, n, len(m.Fields)), "x[0]", "x[1]", paths); err != nil {
		return fmt.Errorf("trajectory plot: %w", err)
	}
	return nil
}

// scrubNonFinite turns a value into plain JSON data (maps, slices, numbers),
// replacing NaN and ±Inf, which encoding/json refuses, by nil.
func scrubNonFinite(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return scrubNonFinite(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = scrubNonFinite(v.Index(i))
		}
		return out
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			out[name] = scrubNonFinite(v.Field(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(k.Interface())] = scrubNonFinite(v.MapIndex(k))
		}
		return out
	default:
		return v.Interface()
	}
}

func colName(ds *Dataset, j int) string {
	if j < len(ds.Table.Names) {
		return ds.Table.Names[j]
	}
	return fmt.Sprintf("x%d", j)
}

func renderReport(cfg *Config, ds *Dataset, met *Metrics, tr *trained, pics []string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# iterflow run: %s on %s\n\n", methodName(cfg.Method), ds.Name)
	backend := met.Backend
	if met.BLASCore != "" {
		backend += fmt.Sprintf(" with %s kernels, %d BLAS threads", met.BLASCore, met.BLASThreads)
	}
	p("Written %s by iterflow %s (backend %s, GOMAXPROCS %d), seed %d.\n\n", time.Now().UTC().Format(time.RFC3339), met.Version, backend, met.GOMAXPROCS, met.Seed)
	p("## Data\n\n")
	p("%s: %s × %s; seeded split train %d / validation %d / test %d.\n", ds.Name, wording.Plural(met.N, "row"), wording.Plural(met.D, "column"), met.NTrain, met.NVal, met.NTest)
	if ds.Source != "" && ds.Source != ds.Name {
		p("Source: %s\n", ds.Source)
	}
	for _, w := range met.DataWarnings {
		p("Note: %s.\n", w)
	}
	switch met.Dequantized {
	case 0:
		p("\nPreprocessing: every column standardized by the training split's mean and standard deviation. ")
	default:
		p("\nPreprocessing: %d of %s (integer-valued) dequantized with U[0, 1) noise, then every column standardized by the training split's mean and standard deviation. ", met.Dequantized, wording.Plural(met.D, "column"))
	}
	if cfg.Logit.Enabled {
		p("Before standardizing, every column is mapped to the real line by a logit on [%g, %g] with α = %g (RealNVP's logit trick); its per-row log-determinant is included. ", cfg.Logit.Lo, cfg.Logit.Hi, cfg.Logit.Alpha)
	}
	if met.Dequantized > 0 {
		p("The standardization's log-determinant is included, so log-likelihoods are in the units of the (dequantized) data.\n\n")
	} else {
		p("The standardization's log-determinant is included, so log-likelihoods are in the units of the data.\n\n")
	}
	if met.NLLDefined {
		p("## Test log-likelihood\n\n")
		headers := []string{"model", "test NLL (nats/sample)", "± s.e."}
		if ds.Image { // bits per dimension are meaningful for dequantized pixels
			headers = append(headers, "bits/dim")
		}
		var rows [][]string
		row := func(name string, nll, se float64) {
			r := []string{name, f4(nll), f4(se)}
			if ds.Image {
				r = append(r, f4(nll/(float64(met.D)*math.Ln2)))
			}
			rows = append(rows, r)
		}
		var notes []string
		row(methodName(cfg.Method), met.TestNLL, met.TestNLLSE)
		if met.NTrain > met.D {
			row("full-covariance Gaussian (fit on train)", met.GaussianTestNLL, met.GaussianTestNLLSE)
		} else {
			notes = append(notes, fmt.Sprintf("Full-covariance Gaussian skipped: %d training rows for %d columns leave its covariance singular.", met.NTrain, met.D))
		}
		for _, b := range met.Baselines {
			if b.Skipped != "" {
				notes = append(notes, fmt.Sprintf("%s skipped: %s", b.Describe, b.Skipped))
				continue
			}
			row(fmt.Sprintf("%s; %s", b.Describe, b.Setting), b.TestNLL, b.TestSE)
		}
		for _, n := range notes {
			p("%s\n\n", n)
		}
		p("%s\n", report.Table(headers, rows))
		p("Flow likelihood: %s, %s trace, NFE %d (evaluations of the velocity field for one batch of up to %d rows, summed over the blocks; the batch needing the most). Lower is better; ± is the standard error of the mean over the %d test rows.\n\n", met.Solver, met.Trace, met.NFE, cfg.Eval.BatchSize, met.NTest)
	} else {
		p("## Test log-likelihood\n\nNot defined: the model carries samples of %q (not N(0, I)) to the data, so it has no latent density. Sample quality below.\n\n", met.Source)
	}
	p("## Samples\n\n")
	p("Against the test split (data units): sliced W2 %.4g (200 random directions), MMD² %.4g (Gaussian kernel, median-heuristic bandwidth %.3g; about 0 when the distributions agree). Sampling %d points with %s took NFE %d.\n\n",
		met.SampleSlicedW2, met.SampleMMD2, met.MMDBandwidth, cfg.Eval.Samples, met.Solver, met.SampleNFE)
	if len(met.FewStep) > 0 {
		var rows [][]string
		for _, f := range met.FewStep {
			w := fmt.Sprintf("%.4g", f.SlicedW2)
			if f.NFE < 0 {
				w = "diverged"
			}
			rows = append(rows, []string{fmt.Sprint(f.StepsPerBlock), fmt.Sprint(f.NFE), w})
		}
		p("Few-step sampling (Euler, same latent draws):\n\n%s\n", report.Table([]string{"steps per block", "NFE", "sliced W2 to test"}, rows))
	}
	if r := met.Distilled; r != nil {
		p("One-step distillation (a student per block trained %d steps on the teacher's sampling map over %d latent draws; weights in %s/): sliced W2 %.4f at NFE %d, against %.4f for the teacher with the same NFE and %.4f for the teacher with %s.\n\n",
			r.Iters, r.Pool, r.Dir, r.SlicedW2, r.NFE, r.TeacherSlicedW2, r.TeacherAccurate, met.Solver)
	}
	p("## Training\n\n")
	p("%s; %s.\n", tr.summary, describeNet(cfg, met.D))
	wd := ""
	if cfg.Train.WeightDecay != 0 {
		wd = fmt.Sprintf(", weight decay %g (AdamW)", cfg.Train.WeightDecay)
	}
	// Pools and warm starts exist only where blocks follow each other on
	// pushed pools: LFM and JKO-iFlow.
	pooled := cfg.Method == "" || cfg.Method == "lfm" || cfg.Method == "jko"
	warm := ""
	if pooled {
		warm = ", each block from a fresh initialization"
		if cfg.Train.WarmStart {
			warm = ", each block warm-started from the previous block's weights"
		}
	}
	p("Adam lr %g (×%g every %d steps)%s, batch %d, %d steps per block, clip %g, EMA %g%s. ",
		cfg.Train.LR, cfg.Train.LRDecay, cfg.Train.LRDecayEvery, wd, cfg.Train.BatchSize, cfg.Train.Iters, cfg.Train.Clip, cfg.Train.EMA, warm)
	if s := budgetNote(tr.steps, cfg.Train.Iters); s != "" {
		p("%s ", s)
	}
	switch cfg.Method {
	case "mle":
		p("Maximum likelihood through %d rk4 steps per block; divergence by the finite-difference Hutchinson estimator (σ = %g/√d, %s probe).", cfg.MLE.RK4Steps, cfg.MLE.Sigma0, cfg.MLE.Probe)
	case "cfm", "otcfm", "rf":
		p("Source %s; paths: %s interpolant, σ = %g.", sourceName(cfg.Source), cfg.FM.Interpolant, cfg.FM.Sigma)
	case "jko":
		p("Each block integrates %d rk4 steps on t ∈ [0, 1] in training; divergence by the finite-difference Hutchinson estimator (σ = %g/√d, %s probe).", cfg.JKO.RK4Steps, cfg.JKO.Sigma0, cfg.JKO.Probe)
	default:
		p("Interpolant %s, t ~ %s.", cfg.LFM.Interpolant, cfg.LFM.Time)
	}
	summed := ""
	if met.Resumed {
		summed = " (summed over the processes of this resumed run)"
	}
	if pooled {
		p(" Pools pushed with %s.", cfg.Push.Describe())
	}
	p(" Train time %.1f s%s, evaluation %.1f s, sampling %d points %.1f s (NFE %d).\n\n",
		met.TrainSeconds, summed, met.EvalSeconds, cfg.Eval.Samples, met.SampleSeconds, met.SampleNFE)
	p("%s\n", report.Table(tr.headers, tr.rows))
	if len(tr.passes) > 0 {
		var rows [][]string
		for _, ps := range tr.passes {
			rows = append(rows, []string{ps.Name, fmt.Sprint(len(ps.H)), floats(ps.H), floats(ps.Movement), fmt.Sprintf("%.3g", ps.MovementRatio)})
		}
		p("Passes (movement E|x − T(x)|² per block; max/min ratio 1 is perfectly even):\n\n%s\n", report.Table([]string{"pass", "blocks", "h", "movement", "max/min"}, rows))
	}
	p("## Pictures\n\n")
	for _, pic := range pics {
		p("![%s](%s)\n\n", strings.TrimSuffix(pic, ".png"), pic)
	}
	p("## Method\n\n")
	switch cfg.Method {
	case "mle":
		p("Maximum-likelihood CNF training in the manner of FFJORD (Grathwohl et al., arXiv 1810.01367): the blocks are trained jointly by minimizing −log p(x) through the ODE, with gradients through the rk4 solves; optional RNODE penalties (Finlay et al., arXiv 2002.02798) on the kinetic energy and the Jacobian's Frobenius norm. ")
	case "cfm", "otcfm", "rf":
		p("Conditional flow matching (Lipman et al., arXiv 2210.02747; Tong et al., arXiv 2302.00482; Liu et al., arXiv 2209.03003): one block regresses its velocity onto x1 − x0 along straight paths between source points x0 and data points x1, paired independently (cfm, rf) or by a minibatch optimal-transport plan (otcfm); reflow retrains on pairs (z, T(z)) of the previous model to straighten paths (straightness E∫|(x1 − x0) − v|² dt, 0 for straight paths). ")
	case "jko":
		p("JKO-iFlow (Xu, Cheng, Xie, arXiv 2212.14424): block k takes one step of the JKO scheme for KL(ρ‖N(0, I)) with step size h_k, minimizing E[|x(1)|²/2 − ∫ div f dt + |x(1) − x(0)|²/(2h_k)] over the pool pushed through the earlier, frozen blocks, with gradients through the rk4 solve. ")
	default:
		p("Local Flow Matching (Xu, Cheng, Xie, arXiv 2410.02548): block k learns by flow matching a velocity field carrying the current pool to its OU transition e^{−γ_k}x + √(1 − e^{−2γ_k}) z; the pool is then pushed through the trained block. ")
	}
	p("Log-likelihoods use the instantaneous change of variables through the chain of blocks. ")
	if cfg.Method == "jko" {
		p("In the JKO table V, −∫div and the W2 term are the loss terms of the kept weights on the whole training pool; the inversion error is the mean |T⁻¹(T(x)) − x|² over 256 pool points. ")
	}
	p("Movement E|x − T(x)|² is the mean squared distance a training point moves through a block; relative movement divides it by E|T(x)|² (JKO-iFlow's stopping rule). Losses are per sample, summed over dimensions.\n")
	return b.String()
}

func sourceName(s string) string {
	if s == "" {
		return "N(0, I)"
	}
	return fmt.Sprintf("the 2D generator %q", s)
}

func methodName(m string) string {
	switch m {
	case "cfm":
		return "conditional flow matching (I-CFM)"
	case "otcfm":
		return "OT-CFM"
	case "rf":
		return "rectified flow"
	case "mle":
		return "maximum-likelihood CNF"
	case "lfm":
		return "Local Flow Matching"
	case "jko":
		return "JKO-iFlow"
	}
	return m
}

func describeNet(cfg *Config, d int) string {
	in := "x"
	if cfg.Model.TimeInput {
		in = "[x, t]"
	}
	if cfg.Method == "jko" && cfg.JKO.Linear {
		return "linear blocks f(x) = Ax + b"
	}
	return fmt.Sprintf("network per block: MLP %s → %v → %d, %s (β = %g)", in, cfg.Model.Hidden, d, cfg.Model.Activation, cfg.Model.Beta)
}

func floats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3g", x)
	}
	return strings.Join(parts, ", ")
}

func f4(v float64) string { return fmt.Sprintf("%.4f", v) }

// budgetNote says how many steps the blocks took when a time budget
// (train.seconds, train.block_seconds) stopped any of them before iters,
// e.g. "A time budget stopped training early: 33, 24, 23 and 24 of 1000
// steps per block."; "" when every block ran its iters.
func budgetNote(steps []int, iters int) string {
	short := false
	parts := make([]string, len(steps))
	for i, s := range steps {
		short = short || s < iters
		parts[i] = fmt.Sprint(s)
	}
	if !short {
		return ""
	}
	list := parts[0]
	if n := len(parts); n > 1 {
		list = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	return fmt.Sprintf("A time budget stopped training early: %s of %d steps per block.", list, iters)
}
