package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/iterflow/iterflow/baseline"
	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/data/registry"
	"github.com/iterflow/iterflow/data/toy"
	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/metrics"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Dataset is a loaded table with its provenance.
type Dataset struct {
	Table *data.Table
	// Name is "digits" or the file's base name; Source a line of attribution.
	Name, Source string
	// Image is set for image data (h×w grayscale) so reports can draw pictures.
	ImageH, ImageW int
	// Lo and Hi bound the values for pictures.
	Lo, Hi float64
	// Toy is set for the 2D generators (continuous data: no dequantization).
	Toy bool
	// Image is set for image data (also colour images, which get no pictures):
	// the report gives bits/dim.
	Image bool
}

// LoadDataset resolves cfg.Data ("digits" or a file) and applies cfg.Columns.
func LoadDataset(cfg *Config) (*Dataset, error) {
	if cfg.Data == "digits" {
		t := data.Digits()
		if cfg.Columns != "" {
			return nil, fmt.Errorf("columns: the built-in digits take no column selection")
		}
		return &Dataset{Table: t, Name: "digits", Source: data.DigitsAttribution, ImageH: 8, ImageW: 8, Lo: 0, Hi: 16, Image: true}, nil
	}
	if isToy(cfg.Data) {
		if cfg.Columns != "" {
			return nil, fmt.Errorf("columns: the 2D generator %q takes no column selection", cfg.Data)
		}
		x, err := toy.Sample(cfg.Data, cfg.ToySamples, rand.New(rand.NewPCG(cfg.Seed, 0x70f)))
		if err != nil {
			return nil, err
		}
		info, _ := toy.Info(cfg.Data)
		t, err := data.NewTable(x, cfg.ToySamples, 2, []string{"x", "y"})
		if err != nil {
			return nil, err
		}
		return &Dataset{Table: t, Name: cfg.Data, Source: fmt.Sprintf("iterflow's seeded 2D generator %q (%d points): %s", cfg.Data, cfg.ToySamples, info), Toy: true}, nil
	}
	if err := checkDataName(cfg.Data); err != nil {
		return nil, err
	}
	t, err := data.Load(cfg.Data)
	if err != nil {
		return nil, err
	}
	if cfg.Columns != "" {
		if t, err = t.Select(cfg.Columns); err != nil {
			return nil, fmt.Errorf("columns: %w", err)
		}
	}
	return &Dataset{Table: t, Name: filepath.Base(cfg.Data), Source: cfg.Data}, nil
}

// Result summarizes a finished run.
type Result struct {
	Dir     string
	Metrics *Metrics
	Model   *model.Model
}

// Options are the run-time settings that are not part of the method's config.
type Options struct {
	// Log receives progress lines (nil: none).
	Log io.Writer
	// Progress receives per-block training progress (nil: none).
	Progress method.Progress
	// Counter follows the evaluation and sampling after training, in rows
	// (nil: none).
	Counter Counter
	// Version is recorded in metrics.json.
	Version string
	// Overwrite replaces an existing, non-empty run directory; without it Run
	// refuses to write into one. It also discards the checkpoint of an
	// interrupted run of the same directory.
	Overwrite bool
	// Resume continues the interrupted run of cfg.Out from its last
	// checkpoint (lfm, cfm, otcfm); cfg must be the run's saved config
	// (LoadResumeConfig).
	Resume bool
	// MovedFrom, with Resume, is the data path saved by the interrupted run
	// when cfg.Data names the same file at a new path (checked first with
	// CheckMovedData): the saved config is matched with this path.
	MovedFrom string
	// CheckpointEvery is the number of steps between mid-block checkpoints
	// (0: only at block boundaries; negative: DefaultCheckpointEvery).
	CheckpointEvery int
	// OnDiverge is "stop" (default when empty) or "rollback": roll back to
	// the last good checkpoint, multiply the learning rate by
	// RollbackLRFactor (default 0.5) and continue, at most MaxRollbacks times
	// (default 3) per run.
	OnDiverge        string
	RollbackLRFactor float64
	MaxRollbacks     int
	// Comm, when it spans several ranks (an MPI job, package dist), trains
	// data-parallel (methods lfm, cfm, otcfm and rf): rank 0 writes the run directory and
	// the log, the other ranks train their share of every step, score
	// their shard of the test rows and return a Result with an empty Dir,
	// writing nothing. nil: a single process.
	Comm dist.Comm
}

// checkResumeOptions validates the resume and divergence settings.
func (o *Options) checkResumeOptions() error {
	switch o.OnDiverge {
	case "", "stop", "rollback":
	default:
		return fmt.Errorf("on-diverge: want stop or rollback, got %q", o.OnDiverge)
	}
	if o.RollbackLRFactor == 0 {
		o.RollbackLRFactor = 0.5
	}
	if !(o.RollbackLRFactor > 0 && o.RollbackLRFactor < 1) {
		return fmt.Errorf("rollback-lr-factor: must be in (0, 1), got %g", o.RollbackLRFactor)
	}
	if o.MaxRollbacks == 0 {
		o.MaxRollbacks = 3
	}
	if o.CheckpointEvery < 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	return nil
}

// Run executes the job described by cfg and writes the run directory. The
// context cancels training and evaluation: a resumable run then returns a
// *StoppedError (its checkpoint is kept), any other a *NotResumableError
// (nothing is written); both unwrap to the context's error.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	res, err := run(ctx, cfg, opt)
	var se *StoppedError
	if err != nil && errors.Is(err, context.Canceled) && !errors.As(err, &se) {
		if m := notResumable(&cfg); m != "" {
			err = &NotResumableError{Method: m, Err: err}
		}
	}
	return res, err
}

// notResumable returns cfg's method when its runs cannot be resumed (jko,
// mle, rf), or "" for a resumable one.
func notResumable(cfg *Config) string {
	if ResumableMethod(cfg.Method) {
		return ""
	}
	return cfg.Method
}

// trainBlocks returns the number of blocks a resumable run trains (lfm: one
// per γ plus the free block; cfm and otcfm: 1), 0 when not known.
func trainBlocks(cfg *Config) int {
	switch cfg.Method {
	case "cfm", "otcfm":
		return 1
	case "", "lfm":
		g, err := cfg.Gammas()
		if err != nil {
			return 0
		}
		n := len(g)
		if cfg.LFM.FreeBlock {
			n++
		}
		return n
	}
	return 0
}

// batchWarning returns the log line for a batch size above the number of
// training rows ("" otherwise).
func batchWarning(batch, ntrain int) string {
	if batch <= ntrain {
		return ""
	}
	return fmt.Sprintf("batch size %d exceeds the %d training rows; each batch repeats rows (a batch of at most %d trains as well and faster)", batch, ntrain, ntrain)
}

// run is Run without the wrapping of interruptions of runs that do not resume.
func run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkDistributed(&cfg, &opt); err != nil {
		return nil, err
	}
	if distributed(opt.Comm) && opt.Comm.Rank() != 0 {
		return runWorker(ctx, cfg, opt)
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", args...)
		}
	}
	sp, err := PrepareSplits(&cfg)
	if err != nil {
		return nil, err
	}
	if w := batchWarning(cfg.Train.BatchSize, sp.Train.N); w != "" {
		sp.Warnings = append(sp.Warnings, w)
	}
	for _, w := range sp.Warnings {
		logf("%s", w)
	}
	ds, deq, train, val, test := sp.Dataset, sp.Dequantized, sp.Train, sp.Val, sp.Test
	n, d := sp.N, sp.D
	tab := ds.Table
	tf, err := fitTransforms(&cfg, train)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w (drop the column with --columns)", ds.Name, err)
	}
	std := tf.std
	trainS, _, err := tf.apply(train.X, train.N, "training")
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	valS, valLD, err := tf.apply(val.X, val.N, "validation")
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	testS, testLD, err := tf.apply(test.X, test.N, "test")
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", ds.Name, err)
	}
	logf("data %s: %s × %s (train %d, validation %d, test %d); %s dequantized",
		ds.Name, wording.Plural(n, "row"), wording.Plural(d, "column"), train.N, val.N, test.N, wording.Plural(countTrue(deq), "column"))

	if err := opt.checkResumeOptions(); err != nil {
		return nil, err
	}
	resumable := ResumableMethod(cfg.Method) && !(cfg.Method == "rf" || cfg.FM.Reflow > 0)
	if opt.Resume && !resumable {
		return nil, fmt.Errorf("resume: method %s cannot be resumed (only lfm, cfm and otcfm without reflow); start the run again", cfg.Method)
	}
	if opt.Resume && cfg.Out == "" {
		return nil, fmt.Errorf("resume: no run directory given")
	}
	out, err := runDir(cfg.Out, ds.Name, cfg.Method, opt.Overwrite)
	if err != nil {
		return nil, err
	}
	cfg.Out = out
	lock, err := checkpoint.AcquireLock(LockPath(out))
	if err != nil {
		var le *checkpoint.ErrLocked
		if errors.As(err, &le) {
			return nil, fmt.Errorf("run %s is in use by process %d (lock file %s)", out, le.PID, le.Path)
		}
		return nil, err
	}
	defer lock.Release()
	// Everything is written into the partial directory beside out, which
	// becomes the run directory only when the run succeeded. A resumable
	// run keeps it when stopped (it holds the checkpoint); other runs leave
	// nothing half-written.
	work := PartialDir(out)
	ckdir := filepath.Join(work, checkpointSubdir)
	hcfg := cfg
	if opt.Resume && opt.MovedFrom != "" {
		hcfg.Data = opt.MovedFrom // the interrupted run's config names the old path
	}
	hash, err := configHash(&hcfg)
	if err != nil {
		return nil, err
	}
	var ck *checkpointer
	var mck *method.Checkpointing
	trainedAll := false // a resumed run whose checkpoint holds every block
	if opt.Resume {
		meta, st, err := loadCheckpoint(ckdir)
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", out, err)
		}
		if meta.ConfigSHA256 != hash {
			return nil, fmt.Errorf("resume %s: the config differs from the interrupted run's (%s)", out, filepath.Join(ckdir, "config.yaml"))
		}
		removeStale(ckdir, meta.State.File)
		ck = &checkpointer{dir: ckdir, meta: *meta, before: meta.TrainSeconds}
		if w := threadsWarning(meta, runtime.GOMAXPROCS(0), nn.BLASThreads()); w != "" {
			logf("%s", w)
		}
		mck = &method.Checkpointing{Every: opt.CheckpointEvery, Save: ck.save, Resume: st, LRScale: meta.LRScale}
		if nb := trainBlocks(&cfg); nb > 0 && meta.Block >= nb {
			trainedAll = true
			logf("resuming %s after its last block (training is done; evaluating and writing the report)", out)
		} else {
			logf("resuming %s from block %d, step %d (learning-rate factor %g)", out, meta.Block+1, meta.Step, meta.LRScale)
		}
	} else {
		if _, err := os.Stat(work); err == nil {
			if !opt.Overwrite {
				return nil, fmt.Errorf("run %s: an interrupted run is kept in %s; resume it with: iterflow train --resume %s (or pass --force to start over)", out, work, out)
			}
			if err := os.RemoveAll(work); err != nil {
				return nil, fmt.Errorf("run directory: %w", err)
			}
		}
		if err := os.MkdirAll(ckdir, 0o755); err != nil {
			return nil, fmt.Errorf("run directory: %w", err)
		}
		if resumable {
			y, err := cfg.YAML()
			if err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
			if err := checkpoint.WriteFileAtomic(filepath.Join(ckdir, "config.yaml"), func(w io.Writer) error { _, err := w.Write(y); return err }); err != nil {
				return nil, err
			}
			ck = &checkpointer{dir: ckdir, meta: CheckpointMeta{Version: 1, Method: cfg.Method, ConfigSHA256: hash, LRScale: 1, DataSHA256: dataFileSHA256(cfg.Data)}}
			mck = &method.Checkpointing{Every: opt.CheckpointEvery, Save: ck.save, LRScale: 1}
		}
	}
	done := false
	defer func() {
		if !done && (ck == nil || !ck.saved) && !opt.Resume {
			os.RemoveAll(work)
		}
	}()
	// stopped turns an interruption or divergence of a resumable run into
	// a *StoppedError naming the last checkpoint and the resume command.
	after := "" // what the run does once training has finished (see StoppedError.After)
	stopped := func(err error) error {
		if ck == nil || !ck.saved && !opt.Resume {
			return err
		}
		var de *method.DivergedError
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) {
			return &StoppedError{Out: out, Partial: work, Block: ck.meta.Block + 1, Step: ck.meta.Step, After: after, Diverged: de != nil && !errors.Is(err, context.Canceled), Err: err}
		}
		return err
	}

	// Train.
	if !trainedAll {
		logf("training %s on %s, network %v %s, %d steps per block, batch %d, backend %s, GOMAXPROCS %d",
			cfg.Method, ds.Name, cfg.Model.Hidden, cfg.Model.Activation, cfg.Train.Iters, cfg.Train.BatchSize, nn.Backend(), runtime.GOMAXPROCS(0))
	}
	t0 := time.Now()
	if ck != nil {
		ck.start = t0
	}
	var tr *trained
	tctx := ctx
	if distributed(opt.Comm) {
		logf("data-parallel over %d ranks: %d rows of each batch of %d per rank", opt.Comm.Size(), cfg.Train.BatchSize/opt.Comm.Size(), cfg.Train.BatchSize)
		tctx, mck = method.WithComm(ctx, opt.Comm), nil
	}
	for {
		tr, err = trainMethodCk(tctx, &cfg, trainS, train.N, valS, val.N, d, opt.Progress, mck)
		var de *method.DivergedError
		if err == nil || !errors.As(err, &de) || opt.OnDiverge != "rollback" || ck == nil || ck.meta.Rollbacks >= opt.MaxRollbacks {
			break
		}
		meta, st, lerr := loadCheckpoint(ckdir)
		if lerr != nil {
			return nil, fmt.Errorf("rollback after %v: %w", err, lerr)
		}
		ck.meta = *meta
		ck.meta.Rollbacks++
		ck.meta.LRScale *= opt.RollbackLRFactor
		mck.Resume, mck.LRScale = st, ck.meta.LRScale
		logf("block %d, step %d: loss is %g; rolling back to block %d, step %d with the learning rate × %g (rollback %d of at most %d)",
			de.Block+1, de.Step+1, de.Loss, meta.Block+1, meta.Step, ck.meta.LRScale, ck.meta.Rollbacks, opt.MaxRollbacks)
	}
	if err != nil {
		return nil, stopped(err)
	}
	trainSec := time.Since(t0).Seconds()
	if ck != nil {
		trainSec = ck.trainSeconds() // with the earlier processes' seconds of a resumed run
	}
	if opt.Resume {
		logf("trained %s (%s) in %.1f s, summed over the processes of this resumed run", wording.Plural(len(tr.fields), "block"), tr.summary, trainSec)
	} else {
		logf("trained %s (%s) in %.1f s", wording.Plural(len(tr.fields), "block"), tr.summary, trainSec)
	}

	m := &model.Model{Method: cfg.Method, Spec: netSpec(&cfg, d),
		Fields: tr.fields, Blocks: tr.infos, Standardizer: std, Logit: tf.logit, Dequantized: deq, Columns: tab.Names, Source: cfg.Source}
	if err := m.Save(work); err != nil {
		return nil, err
	}

	// Evaluate the test NLL (data units) with the accurate solver and the chosen trace.
	eopt, _ := cfg.Eval.options("eval")
	trace, _ := flow.ParseTrace(cfg.Eval.Trace)
	var nll, se float64
	var st flow.Stats
	var evalSec float64
	if m.Source == "" {
		logf("evaluating the test log-likelihood: %s, %s trace, %d rows", cfg.Eval.Describe(), trace, test.N)
		after = "evaluating the test NLL"
		t1 := time.Now()
		nll, se, st, err = testNLL(ctx, &cfg, m, test.X, test.N, opt.Counter, opt.Comm)
		if err != nil {
			return nil, stopped(fmt.Errorf("evaluate: %w", err))
		}
		evalSec = time.Since(t1).Seconds()
	} else {
		logf("no test log-likelihood: the source %q is not N(0, I)", m.Source)
	}

	// Gaussian baseline, fitted on the same (dequantized) training split.
	g, err := baseline.FitGaussian(train.X, train.N, d)
	if err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	glp := make([]float64, test.N)
	if err := g.LogProb(test.X, test.N, glp); err != nil {
		return nil, fmt.Errorf("gaussian baseline: %w", err)
	}
	gnll, gse := meanSE(glp, -1)
	var bases []Baseline
	if !ds.Toy || d > 0 {
		logf("fitting the classical baselines (Gaussian mixture, kernel density estimate) on the training split")
		after = "fitting the baselines"
		bases = fitBaselines(ctx, trainS, valS, testS, train.N, val.N, test.N, d, valLD, testLD, cfg.Seed)
		if err := ctx.Err(); err != nil {
			return nil, stopped(err)
		}
		for _, b := range bases {
			if b.Skipped == "" {
				logf("baseline %s (%s): test NLL %.4f ± %.4f (%.1f s)", b.Name, b.Setting, b.TestNLL, b.TestSE, b.Seconds)
			}
		}
	}

	// Samples for the pictures.
	sopt := flow.Options{Solver: eopt, BatchSize: cfg.Eval.BatchSize, Rand: rand.New(rand.NewPCG(cfg.Seed, 0x5a))}
	t2 := time.Now()
	after = "sampling"
	samples, sst, err := SampleRows(ctx, m, cfg.Eval.Samples, sopt, opt.Counter, "samples")
	if err != nil {
		return nil, stopped(fmt.Errorf("sample: %w", err))
	}
	sampleSec := time.Since(t2).Seconds()
	quality, err := sampleQuality(ctx, &cfg, m, samples, test, eopt)
	if err != nil {
		return nil, err
	}

	var dres *DistillResult
	if cfg.Distill.Iters > 0 {
		logf("distilling %d blocks into one-step students (%d steps each, pool %d)", len(m.Fields), cfg.Distill.Iters, cfg.Distill.Pool)
		sm, r, err := distill(ctx, &cfg, m, test, opt.Progress)
		if err != nil {
			return nil, err
		}
		if err := sm.Save(filepath.Join(work, DistilledDir)); err != nil {
			return nil, err
		}
		dres = r
		logf("distilled sampler: sliced W2 %.4f at NFE %d (teacher with the same NFE %.4f; teacher with %s %.4f)",
			r.SlicedW2, r.NFE, r.TeacherSlicedW2, cfg.Eval.Describe(), r.TeacherAccurate)
	}

	met := &Metrics{
		Version: opt.Version, Backend: nn.Backend(), GOMAXPROCS: runtime.GOMAXPROCS(0), BLASCore: nn.BLASCore(), BLASThreads: nn.BLASThreads(),
		Dataset: ds.Name, N: n, D: d, NTrain: train.N, NVal: val.N, NTest: test.N, Dequantized: countTrue(deq),
		DataWarnings: sp.Warnings, Method: cfg.Method, Seed: cfg.Seed,
		TestNLL: nll, TestNLLSE: se, GaussianTestNLL: gnll, GaussianTestNLLSE: gse, Baselines: bases, Distilled: dres,
		Solver: cfg.Eval.Describe(), Trace: trace.String(), NFE: st.NFE, SampleNFE: sst.NFE,
		TrainSeconds: trainSec, EvalSeconds: evalSec, SampleSeconds: sampleSec, Resumed: opt.Resume,
		Blocks: tr.blocks, Passes: tr.passes, Schedule: tr.summary,
		NLLDefined: m.Source == "", Source: cfg.Source, Straightness: tr.straightness,
		SampleSlicedW2: quality.slicedW2, SampleMMD2: quality.mmd2, MMDBandwidth: quality.bw, FewStep: quality.fewStep,
		LossCurves: tr.curves, LossEvery: tr.lossEvery, Movement: tr.movement,
	}
	if d > 0 {
		met.TestBitsPerDim = nll / (float64(d) * math.Ln2)
	}
	if err := writeRun(ctx, work, &cfg, ds, met, test, samples, tr, m); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(ckdir); err != nil {
		return nil, fmt.Errorf("run directory: removing the checkpoint: %w", err)
	}
	if err := publish(work, out, opt.Overwrite); err != nil {
		return nil, err
	}
	done = true
	if m.Source == "" {
		logf("test NLL %.4f ± %.4f nats (Gaussian baseline %.4f); NFE %d; train %.1fs, eval %.1fs", nll, se, gnll, st.NFE, trainSec, evalSec)
	}
	logf("samples vs test data: sliced W2 %.4f, MMD² %.5f; train %.1fs", quality.slicedW2, quality.mmd2, trainSec)
	logf("run written to %s", out)
	return &Result{Dir: out, Metrics: met, Model: m}, nil
}

// meanSE returns the mean of sign·v and its standard error.
func meanSE(v []float64, sign float64) (mean, se float64) {
	n := float64(len(v))
	for _, x := range v {
		mean += sign * x
	}
	mean /= n
	var ss float64
	for _, x := range v {
		dx := sign*x - mean
		ss += dx * dx
	}
	if len(v) > 1 {
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}

func countTrue(b []bool) int {
	c := 0
	for _, v := range b {
		if v {
			c++
		}
	}
	return c
}

// isToy reports whether name is one of the 2D generators.
func isToy(name string) bool {
	for _, n := range toy.Names() {
		if n == name {
			return true
		}
	}
	return false
}

// runDir resolves the run directory: the given one (refused when it exists
// and is not empty, unless overwrite), or a fresh runs/<data>-<method>-<time>
// (with a numeric suffix when that exists).
func runDir(out, dataName, method string, overwrite bool) (string, error) {
	if out != "" {
		if st, err := os.Stat(out); err == nil && !st.IsDir() {
			return "", fmt.Errorf("run directory %s is an existing file; choose another --out", out)
		}
		if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 && !overwrite {
			return "", fmt.Errorf("run directory %s exists and is not empty; choose another --out or pass --force to replace it", out)
		} else if err == nil && len(ents) > 0 {
			if _, err := os.Stat(filepath.Join(out, "model.json")); err != nil {
				return "", fmt.Errorf("run directory %s is not an iterflow run (no model.json); refusing to replace it", out)
			}
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", fmt.Errorf("run directory: %w", err)
		}
		return out, nil
	}
	base := dataName
	for _, ext := range []string{".gz", ".csv", ".tsv", ".txt", ".data", ".npy"} {
		base = strings.TrimSuffix(base, ext)
	}
	stem := filepath.Join("runs", fmt.Sprintf("%s-%s-%s", base, method, time.Now().Format("20060102-150405")))
	if err := os.MkdirAll("runs", 0o755); err != nil {
		return "", fmt.Errorf("run directory: %w", err)
	}
	out = stem
	for k := 2; ; k++ {
		if _, err := os.Stat(out); os.IsNotExist(err) {
			return out, nil
		}
		out = fmt.Sprintf("%s-%d", stem, k)
	}
}

// publish moves the finished work directory to out, replacing an existing
// run there when overwrite is set.
func publish(work, out string, overwrite bool) error {
	if ents, err := os.ReadDir(out); err == nil {
		if len(ents) > 0 && !overwrite {
			return fmt.Errorf("run directory %s appeared while training; rerun with another --out", out)
		}
		if err := os.RemoveAll(out); err != nil {
			return fmt.Errorf("run directory: replacing %s: %w", out, err)
		}
	}
	if err := os.Chmod(work, 0o755); err != nil { // MkdirTemp makes it private
		return fmt.Errorf("run directory: %w", err)
	}
	if err := os.Rename(work, out); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	return nil
}

// quality holds sample-quality measures against the test split.
type quality struct {
	slicedW2, mmd2, bw float64
	fewStep            []FewStepPoint
}

// FewStepPoint is the sample quality of a fixed-step Euler sampler.
type FewStepPoint struct {
	// StepsPerBlock Euler steps per block, NFE velocity evaluations in all.
	StepsPerBlock int `json:"steps_per_block"`
	NFE           int `json:"nfe"`
	// SlicedW2 is the sliced W2 distance to the test data (data units).
	SlicedW2 float64 `json:"sliced_w2"`
}

// sampleQuality compares the samples with the test split (sliced W2 over 200
// directions on at most 5000 rows, MMD² with the median-heuristic bandwidth on
// at most 1000; both have a floor from the finite samples, so compare runs
// with equal sample counts) and measures few-step sampling: Euler with 1, 2, 4, 8 and 16 steps
// per block from the same latent draws.
func sampleQuality(ctx context.Context, cfg *Config, m *model.Model, samples []float64, test *data.Table, eopt ode.Options) (quality, error) {
	d := m.Dim()
	ns := len(samples) / d
	k := min(ns, test.N, 5000)
	var q quality
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x3e7))
	var err error
	if q.slicedW2, err = metrics.SlicedW2(samples[:k*d], test.X[:k*d], k, k, d, 200, rng); err != nil {
		return q, fmt.Errorf("sample quality: %w", err)
	}
	mk := min(k, 1000)
	q.bw = metrics.MedianBandwidth(samples, test.X, mk, mk, d)
	if q.mmd2, err = metrics.MMD2(samples[:mk*d], test.X[:mk*d], mk, mk, d, q.bw); err != nil {
		return q, fmt.Errorf("sample quality: %w", err)
	}
	for _, steps := range []int{1, 2, 4, 8, 16} {
		x, st, err := m.Sample(ctx, k, flow.Options{Solver: ode.Options{Method: ode.Euler, Steps: steps}, Rand: rand.New(rand.NewPCG(cfg.Seed, 0xfe))})
		if err != nil {
			// A coarse solver may blow up; recorded as NFE −1 and sliced W2 −1.
			q.fewStep = append(q.fewStep, FewStepPoint{StepsPerBlock: steps, NFE: -1, SlicedW2: -1})
			continue
		}
		w, err := metrics.SlicedW2(x, test.X[:k*d], k, k, d, 200, rng)
		if err != nil {
			return q, fmt.Errorf("few-step quality: %w", err)
		}
		q.fewStep = append(q.fewStep, FewStepPoint{StepsPerBlock: steps, NFE: st.NFE, SlicedW2: w})
	}
	return q, nil
}

// checkDataName returns an error listing the known names (with suggestions)
// when name is neither an existing file nor a path with an extension: most
// likely a misspelled dataset name.
func checkDataName(name string) error {
	if _, err := os.Stat(name); err == nil || filepath.Ext(name) != "" || strings.ContainsRune(name, os.PathSeparator) {
		return nil
	}
	if _, err := registry.Lookup(name); err != nil {
		return fmt.Errorf("data %q is not a file, the built-in digits, a 2D generator or a named dataset: %v", name, err)
	}
	return nil
}
