package iterflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/ode"
	"github.com/iterflow/iterflow/pipeline"
)

// Options configures Fit. The zero value trains Local Flow Matching with the
// defaults of pipeline.DefaultConfigFor("lfm") (4 blocks, MLP 256×3, 1000
// steps per block), holding out 10% of the rows for validation. A zero field
// keeps the default; a negative count is an error.
type Options struct {
	// Method is the training method: "lfm" (Local Flow Matching, arXiv
	// 2410.02548; the default), "jko" (JKO-iFlow, arXiv 2212.14424), "cfm"
	// (conditional flow matching, arXiv 2210.02747), "otcfm" (minibatch OT
	// flow matching, arXiv 2302.00482), "rf" (rectified flow with one reflow,
	// arXiv 2209.03003) or "mle" (maximum likelihood through the ODE, FFJORD
	// arXiv 1810.01367 with RNODE penalties arXiv 2002.02798).
	Method string
	// Blocks is the number of blocks of the chain: for lfm the OU steps plus
	// the final free block; for jko the most blocks (fewer when the stopping
	// rule fires); for mle the jointly trained blocks. cfm, otcfm and rf train
	// a single block (Blocks must be 0 or 1).
	Blocks int
	// Hidden lists the hidden widths of every block's velocity field, e.g.
	// []int{64, 64}.
	Hidden []int
	// Iters is the number of training steps per block (for mle: in all).
	Iters int
	// BatchSize is the number of rows per training step.
	BatchSize int
	// LearningRate is Adam's initial learning rate.
	LearningRate float64
	// Seed seeds the validation split, dequantization noise and training; 0 is
	// a seed like any other. With Config set, 0 keeps Config.Seed.
	Seed uint64
	// ValFrac is the fraction of rows held out inside Fit to keep each block's
	// best weights: 0 selects 0.1, a negative value holds out nothing; at most
	// 0.5.
	ValFrac float64
	// Dequantize is "auto" (the default: add U[0, 1) noise to the columns whose
	// values are all integers, so that LogProb is a density of the dequantized
	// data), "none" or "all".
	Dequantize string
	// Progress, when set, is called after every training step.
	Progress func(Progress)
	// Log, when set, receives one line per trained block.
	Log io.Writer
	// Config, when set, replaces the method's defaults: every setting of a
	// training run (see pipeline.Config). The non-zero fields above still
	// override it; its Data, Columns, TestFrac, Out and Eval are not used.
	Config *pipeline.Config
}

// Progress reports one training step to Options.Progress.
type Progress struct {
	// Block is the 0-based index of the block in training, of Blocks (the
	// planned count; JKO-iFlow may stop earlier).
	Block, Blocks int
	// Step counts the steps of this block (1-based), of Steps.
	Step, Steps int
	// Loss is the training loss of the step (the method's own loss).
	Loss float64
	// Label says what the block learns, e.g. "OU step γ=0.2".
	Label string
}

// config resolves o into a validated pipeline.Config.
func (o Options) config() (pipeline.Config, error) {
	var cfg pipeline.Config
	if o.Config != nil {
		cfg = *o.Config
		if o.Method != "" && o.Method != cfg.Method {
			return cfg, fmt.Errorf("Options.Method %q differs from Options.Config.Method %q", o.Method, cfg.Method)
		}
		if o.Seed != 0 {
			cfg.Seed = o.Seed
		}
	} else {
		method := o.Method
		if method == "" {
			method = "lfm"
		}
		cfg = pipeline.DefaultConfigFor(method)
		cfg.Seed = o.Seed
	}
	switch {
	case o.Blocks < 0:
		return cfg, fmt.Errorf("Options.Blocks = %d, want >= 1 (0 selects the method's default)", o.Blocks)
	case o.Iters < 0:
		return cfg, fmt.Errorf("Options.Iters = %d, want >= 1 (0 selects the method's default)", o.Iters)
	case o.BatchSize < 0:
		return cfg, fmt.Errorf("Options.BatchSize = %d, want >= 1 (0 selects the method's default)", o.BatchSize)
	case o.LearningRate < 0 || math.IsNaN(o.LearningRate) || math.IsInf(o.LearningRate, 0):
		return cfg, fmt.Errorf("Options.LearningRate = %g, want a finite value > 0 (0 selects the method's default)", o.LearningRate)
	case math.IsNaN(o.ValFrac) || o.ValFrac >= 0.5:
		return cfg, fmt.Errorf("Options.ValFrac = %g, want a value below 0.5 (0 selects 0.1, negative: no validation)", o.ValFrac)
	}
	if o.Blocks > 0 {
		switch cfg.Method {
		case "lfm":
			cfg.LFM.Gammas = nil
			cfg.LFM.FreeBlock = true
			cfg.LFM.Blocks = o.Blocks - 1
		case "jko":
			cfg.JKO.Steps = nil
			cfg.JKO.MaxBlocks = o.Blocks
		case "mle":
			cfg.MLE.Blocks = o.Blocks
		default:
			if o.Blocks > 1 {
				return cfg, fmt.Errorf("Options.Blocks = %d, but %s trains a single block", o.Blocks, cfg.Method)
			}
		}
	}
	if o.Hidden != nil {
		cfg.Model.Hidden = append([]int(nil), o.Hidden...)
	}
	if o.Iters > 0 {
		cfg.Train.Iters = o.Iters
	}
	if o.BatchSize > 0 {
		cfg.Train.BatchSize = o.BatchSize
	}
	if o.LearningRate > 0 {
		cfg.Train.LR = o.LearningRate
	}
	switch {
	case o.ValFrac > 0:
		cfg.ValFrac = o.ValFrac
	case o.ValFrac < 0:
		cfg.ValFrac = 0
	}
	if o.Dequantize != "" {
		cfg.Dequantize = o.Dequantize
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Fit trains a density model on the rows of x (n rows of d values each, in the
// user's units; x is not modified) and returns it. It dequantizes integer
// columns (Options.Dequantize), holds out Options.ValFrac of the rows for
// validation, standardizes the columns, and trains the chain of blocks of
// Options.Method; the model's LogProb and Sample work in the units of x.
//
// Errors (all start with "iterflow: fit: "): no rows, an empty row 0, a row
// whose length differs from row 0's (naming its index), a NaN or ±Inf value
// (naming row and column), a constant column (naming it), invalid Options
// (naming the field or config key), a split that leaves no validation rows,
// or a training failure. When ctx is cancelled Fit returns promptly (within a
// training step) with an error wrapping ctx.Err().
func Fit(ctx context.Context, x [][]float64, opt Options) (*Model, error) {
	if len(x) == 0 {
		return nil, errors.New("iterflow: fit: no rows")
	}
	d := len(x[0])
	if d == 0 {
		return nil, errors.New("iterflow: fit: row 0 is empty")
	}
	flat := make([]float64, 0, len(x)*d)
	for i, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("iterflow: fit: row %d has %d values, row 0 has %d", i, len(row), d)
		}
		flat = append(flat, row...)
	}
	return fit(ctx, flat, len(x), d, opt)
}

// FitMatrix is Fit for data held as one row-major n×d slice (value (i, j) at
// x[i·d+j]); x is not modified. Errors as Fit, and a length of x other than
// n·d.
func FitMatrix(ctx context.Context, x []float64, n, d int, opt Options) (*Model, error) {
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("iterflow: fit: shape %d×%d, want at least 1 row and 1 column", n, d)
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("iterflow: fit: len(x) = %d, want n·d = %d·%d = %d", len(x), n, d, n*d)
	}
	return fit(ctx, append([]float64(nil), x...), n, d, opt)
}

// fit trains on flat (n×d, owned by fit).
func fit(ctx context.Context, flat []float64, n, d int, opt Options) (*Model, error) {
	if i, j, bad := firstNonFinite(flat, d); bad {
		return nil, fmt.Errorf("iterflow: fit: row %d, column %d is %v; remove or impute non-finite values", i, j, flat[i*d+j])
	}
	cfg, err := opt.config()
	if err != nil {
		return nil, fmt.Errorf("iterflow: fit: %w", err)
	}
	tab, err := data.NewTable(flat, n, d, nil)
	if err != nil {
		return nil, fmt.Errorf("iterflow: fit: %w", err)
	}
	if cc := data.ConstantColumns(tab); len(cc) > 0 && cfg.Dequantize != "all" {
		return nil, fmt.Errorf("iterflow: fit: column %d is constant (value %v); a constant column has no density, drop it", cc[0], flat[cc[0]])
	}
	var deq []bool
	switch cfg.Dequantize {
	case "auto":
		deq = data.IntegerColumns(tab)
	case "all":
		deq = make([]bool, d)
		for j := range deq {
			deq[j] = true
		}
	default:
		deq = make([]bool, d)
	}
	// The same streams as pipeline.Run: dequantization noise, then the split.
	data.Dequantize(flat, n, d, deq, rand.New(rand.NewPCG(cfg.Seed, 0xd0)))
	train, val, _, err := data.Split(tab, cfg.ValFrac, 0, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("iterflow: fit: %d rows: %w", n, err)
	}
	var prog *progress
	if opt.Progress != nil || opt.Log != nil {
		prog = &progress{fn: opt.Progress, log: opt.Log}
	}
	var m *model.Model
	if prog != nil {
		m, err = pipeline.Fit(ctx, cfg, train, val, deq, prog)
	} else {
		m, err = pipeline.Fit(ctx, cfg, train, val, deq, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("iterflow: %w", withContext(ctx, err))
	}
	return &Model{m: m}, nil
}

// withContext makes sure an error caused by a cancelled ctx wraps ctx.Err().
func withContext(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// firstNonFinite returns the row and column of the first NaN or ±Inf in x
// (rows of width d).
func firstNonFinite(x []float64, d int) (int, int, bool) {
	for k, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return k / d, k % d, true
		}
	}
	return 0, 0, false
}

// progress adapts Options.Progress and Options.Log to method.Progress.
type progress struct {
	fn  func(Progress)
	log io.Writer
	cur Progress
}

func (p *progress) StartBlock(k, total, iters int, label string) {
	p.cur = Progress{Block: k, Blocks: total, Steps: iters, Label: label}
}

func (p *progress) Step(loss float64) {
	p.cur.Step++
	p.cur.Loss = loss
	if p.fn != nil {
		p.fn(p.cur)
	}
}

func (p *progress) EndBlock() {
	if p.log != nil {
		fmt.Fprintf(p.log, "block %d/%d (%s): %d steps, last loss %.4g\n", p.cur.Block+1, p.cur.Blocks, p.cur.Label, p.cur.Step, p.cur.Loss)
	}
}

// Model is a trained density model: a chain of velocity-field blocks behind
// the preprocessing fitted to the training data. LogProb and Sample work in
// the units of the data given to Fit. A Model is safe for concurrent use: its
// methods do not modify it.
type Model struct {
	m *model.Model
}

// Wrap returns the Model of an internal model (e.g. pipeline.Result.Model),
// after checking it. Errors: a nil or inconsistent model (see
// model.Model.Validate).
func Wrap(m *model.Model) (*Model, error) {
	if m == nil {
		return nil, errors.New("iterflow: wrap: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("iterflow: wrap: %w", err)
	}
	return &Model{m: m}, nil
}

// Underlying returns the internal model (shared, not copied) for the lower
// level packages (flow options, per-block access).
func (m *Model) Underlying() *model.Model {
	if m == nil {
		return nil
	}
	return m.m
}

// Dim returns d, the number of values per row (0 for a nil or zero Model).
func (m *Model) Dim() int {
	if m == nil || m.m == nil {
		return 0
	}
	return m.m.Dim()
}

// Method returns the training method ("lfm", "jko", ...).
func (m *Model) Method() string {
	if m == nil || m.m == nil {
		return ""
	}
	return m.m.Method
}

// Blocks returns the number of blocks of the chain.
func (m *Model) Blocks() int {
	if m == nil || m.m == nil {
		return 0
	}
	return len(m.m.Fields)
}

// Dequantized reports, per column (length d), whether the column was
// dequantized with U[0, 1) noise before fitting; LogProb is then a density of
// the dequantized data (a lower bound on the integers' log-probability).
func (m *Model) Dequantized() []bool {
	if m == nil || m.m == nil {
		return nil
	}
	out := make([]bool, m.m.Dim())
	copy(out, m.m.Dequantized)
	return out
}

// EvalOptions configures the solves of LogProbWith and SampleWith. The zero
// value is the accurate default of LogProb and Sample: dopri5 with
// rtol = atol = 1e-5 and the exact trace.
type EvalOptions struct {
	// Solver is "dopri5" (adaptive; the default), "rk4", "midpoint" or
	// "euler".
	Solver string
	// Steps is the number of steps per block of a fixed-step solver (0
	// selects 50); dopri5 ignores it.
	Steps int
	// RTol and ATol are dopri5's tolerances (0 selects 1e-5).
	RTol, ATol float64
	// Trace is the divergence estimator of LogProbWith: "exact" (the
	// default), "hutchinson" or "fd-hutchinson" (Hutchinson 1989; FFJORD,
	// arXiv 1810.01367, Sec. 3.1).
	Trace string
	// Probes is the number of Hutchinson probes per row (0 selects 1).
	Probes int
	// Seed seeds the Hutchinson probes.
	Seed uint64
	// BatchSize is the number of rows per solve (0 selects 4096); dopri5's
	// steps, and so its results, depend slightly on it.
	BatchSize int
}

// flowOptions converts e to flow.Options; op names the caller in errors.
func (e EvalOptions) flowOptions(op string) (flow.Options, error) {
	solver := e.Solver
	if solver == "" {
		solver = "dopri5"
	}
	meth, err := ode.ParseMethod(solver)
	if err != nil {
		return flow.Options{}, fmt.Errorf("iterflow: %s: EvalOptions.Solver: %w", op, err)
	}
	o := ode.Options{Method: meth, Steps: e.Steps, RTol: e.RTol, ATol: e.ATol}
	if o.Steps == 0 {
		o.Steps = 50
	}
	if o.RTol == 0 {
		o.RTol = 1e-5
	}
	if o.ATol == 0 {
		o.ATol = 1e-5
	}
	if err := o.Validate(); err != nil {
		return flow.Options{}, fmt.Errorf("iterflow: %s: EvalOptions: %w", op, err)
	}
	tr := flow.Exact
	if e.Trace != "" {
		if tr, err = flow.ParseTrace(e.Trace); err != nil {
			return flow.Options{}, fmt.Errorf("iterflow: %s: EvalOptions.Trace: %w", op, err)
		}
	}
	if e.Probes < 0 || e.BatchSize < 0 {
		return flow.Options{}, fmt.Errorf("iterflow: %s: EvalOptions: Probes = %d and BatchSize = %d, want >= 0 (0 selects the default)", op, e.Probes, e.BatchSize)
	}
	return flow.Options{Solver: o, Trace: tr, Probes: e.Probes, BatchSize: e.BatchSize, Rand: rand.New(rand.NewPCG(e.Seed, 0xe7))}, nil
}

// LogProb returns log p(x) in nats for each row of x (rows of length Dim, in
// the units of the data given to Fit), computed with dopri5 at
// rtol = atol = 1e-5 and the exact trace of the velocity field's Jacobian.
// It is LogProbWith with the zero EvalOptions; see there for the errors.
func (m *Model) LogProb(ctx context.Context, x [][]float64) ([]float64, error) {
	return m.LogProbWith(ctx, x, EvalOptions{})
}

// LogProbWith is LogProb with the solver and trace estimator of eo.
//
// Errors (starting with "iterflow: logprob: "): a nil model, no rows, a row
// whose length is not Dim (naming it), a NaN or ±Inf value (naming row and
// column), invalid EvalOptions, a model trained from a non-Gaussian source
// (no likelihood), a failed solve (naming the block), or an error wrapping
// ctx.Err() when ctx is cancelled (checked at every solver step).
func (m *Model) LogProbWith(ctx context.Context, x [][]float64, eo EvalOptions) ([]float64, error) {
	const op = "logprob"
	if m == nil || m.m == nil {
		return nil, errors.New("iterflow: logprob: nil model")
	}
	d := m.m.Dim()
	if len(x) == 0 {
		return nil, errors.New("iterflow: logprob: no rows")
	}
	flat := make([]float64, 0, len(x)*d)
	for i, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("iterflow: logprob: row %d has %d values, want %d (the model's dimension)", i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("iterflow: logprob: row %d, column %d is %v", i, j, v)
			}
		}
		flat = append(flat, row...)
	}
	fo, err := eo.flowOptions(op)
	if err != nil {
		return nil, err
	}
	lp, _, err := m.m.LogProb(ctx, flat, len(x), fo)
	if err != nil {
		return nil, fmt.Errorf("iterflow: logprob: %w", withContext(ctx, err))
	}
	return lp, nil
}

// Sample draws n samples from the model (n rows of length Dim, in the units of
// the data given to Fit) by integrating the chain backwards from latent
// points drawn with the seed, using dopri5 at rtol = atol = 1e-5. The same
// seed gives the same samples. The rows share one backing array. It is
// SampleWith with the zero EvalOptions.
func (m *Model) Sample(ctx context.Context, n int, seed uint64) ([][]float64, error) {
	return m.SampleWith(ctx, n, seed, EvalOptions{})
}

// SampleWith is Sample with the solver of eo (its Trace, Probes and Seed are
// not used). Errors (starting with "iterflow: sample: "): a nil model, n < 1,
// invalid EvalOptions, a failed solve, or an error wrapping ctx.Err() when
// ctx is cancelled.
func (m *Model) SampleWith(ctx context.Context, n int, seed uint64, eo EvalOptions) ([][]float64, error) {
	if m == nil || m.m == nil {
		return nil, errors.New("iterflow: sample: nil model")
	}
	if n < 1 {
		return nil, fmt.Errorf("iterflow: sample: n = %d, want >= 1", n)
	}
	eo.Trace, eo.Probes = "", 0
	fo, err := eo.flowOptions("sample")
	if err != nil {
		return nil, err
	}
	fo.Rand = rand.New(rand.NewPCG(seed, 0x5a))
	flat, _, err := m.m.Sample(ctx, n, fo)
	if err != nil {
		return nil, fmt.Errorf("iterflow: sample: %w", withContext(ctx, err))
	}
	d := m.m.Dim()
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return rows, nil
}

// Save writes m to w as one self-contained stream: a safetensors file whose
// metadata holds the architecture, preprocessing and the weights' SHA-256
// (see model.Model.WriteTo). Load reads it back. Errors: a nil model or the
// writer's error.
func (m *Model) Save(w io.Writer) error {
	if m == nil || m.m == nil {
		return errors.New("iterflow: save: nil model")
	}
	if _, err := m.m.WriteTo(w); err != nil {
		return fmt.Errorf("iterflow: save: %w", err)
	}
	return nil
}

// Load reads a model written by Save from r, consuming exactly its bytes. It
// checks the format version, the architecture against every tensor's shape
// before allocating, and the weights' checksum (see model.Read). Errors name
// the problem, e.g. "iterflow: load: model: read: weights checksum mismatch
// (...)".
func Load(r io.Reader) (*Model, error) {
	m, err := model.Read(r)
	if err != nil {
		return nil, fmt.Errorf("iterflow: load: %w", err)
	}
	return &Model{m: m}, nil
}

// SaveDir writes m into dir (created if needed) as model.json and
// model.safetensors, the layout of the run directories written by
// `iterflow train`, so that the CLI's sample, logprob and evaluate commands
// read it. Errors: a nil model, or the file system's error.
func (m *Model) SaveDir(dir string) error {
	if m == nil || m.m == nil {
		return errors.New("iterflow: save: nil model")
	}
	if err := m.m.Save(dir); err != nil {
		return fmt.Errorf("iterflow: save %s: %w", dir, err)
	}
	return nil
}

// LoadDir reads the model of a run directory written by `iterflow train` or
// by SaveDir (dir/model.json and dir/model.safetensors), checking the format
// version, the weights' checksum and every tensor's shape (see model.Load).
func LoadDir(dir string) (*Model, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("iterflow: load %s: %w", dir, err)
	}
	return &Model{m: m}, nil
}
