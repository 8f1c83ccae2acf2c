package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iterflow/iterflow/data/registry"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/pipeline"
)

func newTrainCmd() *cobra.Command {
	def := pipeline.DefaultConfig()
	var (
		configPath string
		hidden     string
		gammas     string
		jkoSteps   string
		force      bool
		resume     string
		ropt       pipeline.Options
		c          = def
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a model and write a run directory with weights, metrics and a report",
		Long: `Train a model and write a run directory: model.safetensors and model.json (weights and
preprocessing), config.yaml (the resolved settings), metrics.json, report.md and PNG plots.

With no flags it trains Local Flow Matching on the built-in UCI optical digits (8×8, 1797 images).
--method jko trains JKO-iFlow; cfm, otcfm and rf the global flow-matching baselines (from N(0, I) or,
with --source, from a 2D generator); mle maximum likelihood through the ODE. --data also takes a 2D generator: rose, checkerboard, 8gaussians, moons,
pinwheel, 2spirals, circles, swissroll, tree, gaussian.
Settings come from the method's defaults, then --config FILE.yaml, then the flags given explicitly.
Prints the run directory on stdout (with --json: {"run": DIR, "metrics": the run's metrics.json}).`,
		Example: `  iterflow train
  iterflow train --data wine.csv --columns 0-10 --out runs/wine
  iterflow train --method jko --data rose
  iterflow train --method otcfm --data moons --source 8gaussians
  iterflow train --config lfm.yaml --seed 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := pipeline.DefaultConfigFor(c.Method)
			if resume != "" {
				saved, err := pipeline.LoadResumeConfig(resume)
				if err != nil {
					return err
				}
				if err := checkResumeFlags(cmd.Flags(), saved, &c, configPath, hidden, gammas, jkoSteps); err != nil {
					return err
				}
				cfg = saved
				cfg.Out = resume
				if moved := absDataPath(c.Data); cmd.Flags().Changed("data") && moved != saved.Data {
					// The data file at a new path: the same bytes, checked
					// against the checksum the run recorded.
					if err := pipeline.CheckMovedData(resume, moved); err != nil {
						return err
					}
					ropt.MovedFrom, cfg.Data = saved.Data, moved
				}
			} else if configPath != "" {
				var err error
				if cfg, err = pipeline.LoadConfig(configPath); err != nil {
					return err
				}
			}
			if resume == "" {
				if err := applyFlags(cmd.Flags(), &cfg, &c, hidden, gammas, jkoSteps); err != nil {
					return err
				}
				cfg.Data = absDataPath(cfg.Data)
			}
			for _, w := range unusedMethodFlags(cmd.Flags(), cfg.Method) {
				fmt.Fprintln(cmd.ErrOrStderr(), "iterflow: "+w)
			}
			if w := maxRowsWarning(cfg.Data, cfg.MaxRows); w != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "iterflow: "+w)
			}
			log, prog, count := reporters(cmd)
			if n := pairAheadBLASThreads(cmd, &cfg); n > 0 {
				nn.SetBLASThreads(n)
				infof(log, "otcfm: %s per matrix product, leaving a core to pair the next batch ahead (--blas-threads overrides)", wording.Plural(n, "BLAS thread"))
			}
			opt := ropt
			opt.Log, opt.Progress, opt.Counter, opt.Version, opt.Overwrite, opt.Resume = log, prog, count, version, force, resume != ""
			res, err := runTrain(cmd.Context(), cfg, opt)
			if err != nil {
				if resume != "" && errors.Is(err, fs.ErrNotExist) && !cmd.Flags().Changed("data") {
					err = fmt.Errorf("%w; if the run's data file has moved, give its new path with --data (its checksum must match the one the run recorded)", err)
				}
				return err
			}
			if res.Dir == "" {
				return nil // a worker rank of a data-parallel (MPI) run writes and prints nothing
			}
			if _, jsonOut := globals(cmd); jsonOut {
				met, err := os.ReadFile(filepath.Join(res.Dir, "metrics.json"))
				if err != nil {
					return fmt.Errorf("read back metrics: %w", err)
				}
				return printJSON(cmd.OutOrStdout(), struct {
					Run     string          `json:"run"`
					Metrics json.RawMessage `json:"metrics"`
				}{res.Dir, met})
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Dir)
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	bindTrainFlags(cmd.Flags(), &c, &configPath, &hidden, &gammas, &jkoSteps)
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing run in --out (and discard an interrupted run's checkpoint)")
	cmd.Flags().StringVar(&resume, "resume", "", "continue the interrupted run RUN (the --out of that run) from its last checkpoint, with its saved settings (lfm, cfm, otcfm)")
	cmd.Flags().IntVar(&ropt.CheckpointEvery, "checkpoint-every", pipeline.DefaultCheckpointEvery, "steps between checkpoints within a block (0: only after each block)")
	cmd.Flags().StringVar(&ropt.OnDiverge, "on-diverge", "stop", "on a non-finite loss: stop (keep the last good checkpoint) or rollback (return to it with a lower learning rate and continue)")
	cmd.Flags().Float64Var(&ropt.RollbackLRFactor, "rollback-lr-factor", 0.5, "--on-diverge rollback: factor applied to the learning rate at each rollback")
	cmd.Flags().IntVar(&ropt.MaxRollbacks, "max-rollbacks", 3, "--on-diverge rollback: rollbacks allowed before the run stops")
	return cmd
}

// runFlags are the train flags that do not change what is trained: they may
// be given with --resume.
var runFlags = map[string]bool{"quiet": true, "json": true, "force": true, "resume": true, "checkpoint-every": true,
	"on-diverge": true, "rollback-lr-factor": true, "max-rollbacks": true}

// checkResumeFlags refuses flags given with --resume that would change the
// saved config of the interrupted run; it names them.
func checkResumeFlags(fs *pflag.FlagSet, saved pipeline.Config, src *pipeline.Config, configPath, hidden, gammas, jkoSteps string) error {
	var given []string
	fs.Visit(func(fl *pflag.Flag) {
		// --data may name the run's data file at a new path (checked by
		// its checksum in RunE).
		if !runFlags[fl.Name] && fl.Name != "data" {
			given = append(given, "--"+fl.Name)
		}
	})
	if len(given) == 0 {
		return nil
	}
	if configPath != "" {
		return fmt.Errorf("--resume takes the interrupted run's saved settings; drop --config")
	}
	changed := saved
	if err := applyFlags(fs, &changed, src, hidden, gammas, jkoSteps); err != nil {
		return err
	}
	if changed.Out == "" || filepath.Clean(changed.Out) == filepath.Clean(saved.Out) {
		changed.Out = saved.Out
	}
	changed.Data = saved.Data
	a, _ := saved.YAML()
	b, _ := changed.YAML()
	if string(a) != string(b) {
		return fmt.Errorf("--resume: %s would change the training of the interrupted run; resume takes its saved settings (drop them, or start a new run)", strings.Join(given, ", "))
	}
	return nil
}

// bindTrainFlags defines the flags of train on f, bound to c (and to the
// strings that need parsing).
func bindTrainFlags(f *pflag.FlagSet, c *pipeline.Config, configPath *string, hidden, gammas, jkoSteps *string) {
	def := pipeline.DefaultConfig()
	f.StringVar(configPath, "config", "", "YAML file with settings (keys as in a run's config.yaml; unknown keys are errors)")
	f.StringVar(&c.Method, "method", def.Method, "training method: lfm (Local Flow Matching), jko (JKO-iFlow), cfm (I-CFM), otcfm (minibatch OT-CFM), rf (rectified flow + reflow) or mle (maximum likelihood, FFJORD/RNODE)")
	f.StringVar(&c.Source, "source", "", "cfm/otcfm/rf: a 2D generator as the source instead of N(0, I) (no likelihood then)")
	f.StringVar(&c.FM.Coupling, "coupling", "", "cfm/otcfm/rf: independent, exact or sinkhorn (default: the method's)")
	f.Float64Var(&c.FM.SinkhornEps, "sinkhorn-eps", 0.05, "cfm/otcfm/rf: Sinkhorn regularization relative to the mean cost")
	f.StringVar(&c.FM.Interpolant, "fm-interpolant", "linear", "cfm/otcfm/rf: linear or trig path")
	f.Float64Var(&c.FM.Sigma, "sigma", 0, "cfm/otcfm/rf: Gaussian width around the path")
	f.IntVar(&c.FM.Reflow, "reflow", 0, "rf: number of reflow rounds (default 1 for rf)")
	f.IntVar(&c.FM.ReflowPairs, "reflow-pairs", 20000, "rf: pairs (z, T(z)) generated per reflow round")
	f.StringVar(&c.FM.OTBatch, "ot-batch", "global", "otcfm (exact/sinkhorn coupling) under mpirun: global (every rank solves the OT plan of the whole batch; matches one process) or local (each rank pairs its own batch/ranks rows: cheaper, a different plan)")
	f.IntVar(&c.MLE.Blocks, "mle-blocks", 1, "mle: blocks trained jointly by maximum likelihood")
	f.Float64Var(&c.MLE.KineticWeight, "kinetic", 0, "mle: RNODE kinetic-energy penalty weight λ_K")
	f.Float64Var(&c.MLE.JacobianWeight, "jacobian", 0, "mle: RNODE Jacobian-Frobenius penalty weight λ_J")
	f.Float64Var(&c.Train.Seconds, "train-seconds", 0, "wall-clock budget of the whole training in seconds, shared among the blocks (0: none; for equal-time comparisons)")
	f.Float64Var(&c.Train.BlockSeconds, "block-seconds", 0, "wall-clock budget per block in seconds (0: none; for equal-time comparisons)")
	f.StringVar(&c.Data, "data", def.Data, `"digits" (built in), a 2D generator (rose, checkerboard, ...), a named dataset (white-wine, mnist, ...; see "iterflow datasets list") or a CSV/TSV/NPY/NPZ/Parquet file, one sample per row`)
	f.IntVar(&c.ToySamples, "toy-samples", def.ToySamples, "points drawn from a 2D generator")
	f.StringVar(&c.DataDir, "data-dir", "", "directory searched first for named datasets (then $ITERFLOW_DATA, then the user cache directory; see \"iterflow datasets\")")
	f.BoolVar(&c.Logit.Enabled, "logit", false, "map bounded data to the real line with a logit before standardizing (RealNVP's logit trick; its log-det is included)")
	f.Float64Var(&c.Logit.Lo, "logit-lo", def.Logit.Lo, "--logit: lower bound of every column")
	f.Float64Var(&c.Logit.Hi, "logit-hi", def.Logit.Hi, "--logit: upper bound of every column (256 for dequantized 8-bit images)")
	f.Float64Var(&c.Logit.Alpha, "logit-alpha", def.Logit.Alpha, "--logit: shrink [0, 1] to [α, 1−α] before the logit")
	f.IntVar(&c.MaxRows, "max-rows", 0, "keep a seeded subset of at most this many rows per file of an image dataset such as mnist (0: all; other data: no effect, with a warning)")
	f.IntVar(&c.Distill.Iters, "distill-iters", 0, "after training, distill every block into a one-step student with this many steps (0: no distillation)")
	f.IntVar(&c.Distill.Pool, "distill-pool", def.Distill.Pool, "latent draws pushed through the chain to train the one-step students")
	f.StringVar(&c.Columns, "columns", "", `columns to use, by index, range or name ("0-10", "alcohol,pH"); default all`)
	f.StringVar(&c.Dequantize, "dequantize", def.Dequantize, "add U[0,1) noise to integer columns: auto, none or all")
	f.Float64Var(&c.ValFrac, "val-frac", def.ValFrac, "fraction of rows held out for validation")
	f.Float64Var(&c.TestFrac, "test-frac", def.TestFrac, "fraction of rows held out for the test NLL")
	f.Uint64Var(&c.Seed, "seed", def.Seed, "seed of the split, noise, training and sampling")
	f.StringVarP(&c.Out, "out", "o", "", "run directory (default runs/<data>-<method>-<time>)")
	f.StringVar(hidden, "hidden", joinInts(def.Model.Hidden), "hidden widths of each block's MLP, comma-separated")
	f.StringVar(&c.Model.Activation, "activation", def.Model.Activation, "activation: softplus, tanh, elu, silu or relu")
	f.Float64Var(&c.Model.Beta, "beta", def.Model.Beta, "softplus β")
	f.BoolVar(&c.Model.TimeInput, "time-input", def.Model.TimeInput, "feed t to the network (lfm default: yes; jko default: no)")
	f.StringVar(gammas, "gammas", "", "explicit OU steps γ, comma-separated (overrides --blocks/--gamma-c/--gamma-rho)")
	f.IntVar(&c.LFM.Blocks, "blocks", def.LFM.Blocks, "number of OU blocks (γ_k = gamma-c · gamma-rho^(k−1))")
	f.Float64Var(&c.LFM.GammaC, "gamma-c", def.LFM.GammaC, "first OU step γ_1")
	f.Float64Var(&c.LFM.GammaRho, "gamma-rho", def.LFM.GammaRho, "ratio of consecutive OU steps")
	f.BoolVar(&c.LFM.FreeBlock, "free-block", def.LFM.FreeBlock, "add a final free block to N(0, I)")
	f.StringVar(&c.LFM.Interpolant, "interpolant", def.LFM.Interpolant, "interpolant: trig or linear")
	f.StringVar(&c.LFM.Time, "time-dist", def.LFM.Time, `distribution of t: "uniform" or "beta(a,b)"`)
	f.IntVar(&c.Train.Iters, "iters", def.Train.Iters, "training steps per block")
	f.IntVar(&c.Train.BatchSize, "batch-size", def.Train.BatchSize, "samples per training step")
	f.Float64Var(&c.Train.LR, "lr", def.Train.LR, "Adam learning rate")
	f.Float64Var(&c.Train.LRDecay, "lr-decay", def.Train.LRDecay, "learning-rate factor applied every --lr-decay-every steps")
	f.IntVar(&c.Train.LRDecayEvery, "lr-decay-every", def.Train.LRDecayEvery, "steps between learning-rate decays (0: constant)")
	f.Float64Var(&c.Train.Clip, "clip", def.Train.Clip, "gradient-norm clipping threshold (0: none)")
	f.Float64Var(&c.Train.WeightDecay, "weight-decay", def.Train.WeightDecay, "Adam's decoupled weight decay λ (AdamW): each step multiplies the weights by 1 − lr·λ (0: none; lr·λ < 1)")
	f.Float64Var(&c.Train.EMA, "ema", def.Train.EMA, "decay of the weights' moving average (0: none)")
	f.BoolVar(&c.Train.WarmStart, "warm-start", def.Train.WarmStart, "start each block from the previous block's weights")
	f.IntVar(&c.Train.ValEvery, "val-every", def.Train.ValEvery, "steps between validation checks (keeps the best weights)")
	f.StringVar(&c.Push.Solver, "push-solver", def.Push.Solver, "solver pushing the pool through a trained block: euler, midpoint, rk4, dopri5")
	f.IntVar(&c.Push.Steps, "push-steps", def.Push.Steps, "steps per block of a fixed-step push solver")
	f.Float64Var(&c.Push.RTol, "push-rtol", def.Push.RTol, "relative tolerance of a dopri5 push solver")
	f.Float64Var(&c.Push.ATol, "push-atol", def.Push.ATol, "absolute tolerance of a dopri5 push solver")
	f.Float64Var(&c.JKO.H0, "h0", def.JKO.H0, "jko: first step size h_1 of the geometric schedule")
	f.Float64Var(&c.JKO.Rho, "rho", def.JKO.Rho, "jko: ratio of consecutive step sizes")
	f.Float64Var(&c.JKO.HMax, "h-max", def.JKO.HMax, "jko: cap on the step size (0: none)")
	f.IntVar(&c.JKO.MaxBlocks, "max-blocks", def.JKO.MaxBlocks, "jko: maximum number of JKO blocks")
	f.StringVar(jkoSteps, "jko-steps", "", "jko: explicit step sizes h, comma-separated (overrides --h0/--rho)")
	f.Float64Var(&c.JKO.StopTol, "stop-tol", def.JKO.StopTol, "jko: stop adding blocks when the relative movement falls below this (0: never)")
	f.BoolVar(&c.JKO.FreeBlock, "jko-free-block", def.JKO.FreeBlock, "jko: add a final block without the W2 term")
	f.BoolVar(&c.JKO.Linear, "linear", def.JKO.Linear, "jko: linear blocks f(x) = Ax + b (a Gaussian sanity run)")
	f.IntVar(&c.JKO.RK4Steps, "rk4-steps", def.JKO.RK4Steps, "jko: rk4 steps per block in training")
	f.Float64Var(&c.JKO.Sigma0, "sigma0", def.JKO.Sigma0, "jko: finite-difference Hutchinson step σ = sigma0/√d")
	f.StringVar(&c.JKO.Probe, "probe", def.JKO.Probe, "jko: Hutchinson probe: rademacher or gaussian")
	f.BoolVar(&c.JKO.Reparam, "reparam", def.JKO.Reparam, "jko: re-assign step sizes so that blocks move evenly, and retrain")
	f.Float64Var(&c.JKO.Eta, "eta", def.JKO.Eta, "jko: damping of the reparametrization")
	f.BoolVar(&c.JKO.Refine, "refine", def.JKO.Refine, "jko: after --reparam, split every step in two and retrain")
	f.StringVar(&c.Eval.Solver, "eval-solver", def.Eval.Solver, "solver of the reported likelihood: dopri5, rk4, midpoint, euler")
	f.Float64Var(&c.Eval.RTol, "eval-rtol", def.Eval.RTol, "relative tolerance of dopri5 for the reported likelihood")
	f.Float64Var(&c.Eval.ATol, "eval-atol", def.Eval.ATol, "absolute tolerance of dopri5 for the reported likelihood")
	f.IntVar(&c.Eval.Steps, "eval-steps", def.Eval.Steps, "steps per block of a fixed-step evaluation solver")
	f.StringVar(&c.Eval.Trace, "trace", def.Eval.Trace, "divergence for the reported likelihood: exact, hutchinson, fd-hutchinson")
	f.IntVar(&c.Eval.Samples, "samples", def.Eval.Samples, "samples drawn for the report's pictures")
	bindInputFlags(f, c)
}

// applyFlags copies every explicitly set flag from the flag-bound config src
// into cfg (so a config file's values survive flags left at their defaults).
func applyFlags(fs *pflag.FlagSet, cfg, src *pipeline.Config, hidden, gammas, jkoSteps string) error {
	var err error
	fs.Visit(func(fl *pflag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "config", "quiet", "json", "force", "resume", "checkpoint-every", "on-diverge", "rollback-lr-factor", "max-rollbacks", "threads", "blas-threads":
		case "method":
			cfg.Method = src.Method
		case "data":
			cfg.Data = src.Data
		case "source":
			cfg.Source = src.Source
		case "coupling":
			cfg.FM.Coupling = src.FM.Coupling
		case "sinkhorn-eps":
			cfg.FM.SinkhornEps = src.FM.SinkhornEps
		case "fm-interpolant":
			cfg.FM.Interpolant = src.FM.Interpolant
		case "sigma":
			cfg.FM.Sigma = src.FM.Sigma
		case "reflow":
			cfg.FM.Reflow = src.FM.Reflow
		case "reflow-pairs":
			cfg.FM.ReflowPairs = src.FM.ReflowPairs
		case "ot-batch":
			cfg.FM.OTBatch = src.FM.OTBatch
		case "mle-blocks":
			cfg.MLE.Blocks = src.MLE.Blocks
		case "kinetic":
			cfg.MLE.KineticWeight = src.MLE.KineticWeight
		case "jacobian":
			cfg.MLE.JacobianWeight = src.MLE.JacobianWeight
		case "train-seconds":
			cfg.Train.Seconds = src.Train.Seconds
		case "block-seconds":
			cfg.Train.BlockSeconds = src.Train.BlockSeconds
		case "toy-samples":
			cfg.ToySamples = src.ToySamples
		case "logit":
			cfg.Logit.Enabled = src.Logit.Enabled
		case "logit-lo":
			cfg.Logit.Lo = src.Logit.Lo
		case "logit-hi":
			cfg.Logit.Hi = src.Logit.Hi
		case "logit-alpha":
			cfg.Logit.Alpha = src.Logit.Alpha
		case "data-dir":
			cfg.DataDir = src.DataDir
		case "max-rows":
			cfg.MaxRows = src.MaxRows
		case "distill-iters":
			cfg.Distill.Iters = src.Distill.Iters
		case "distill-pool":
			cfg.Distill.Pool = src.Distill.Pool
		case "time-input":
			cfg.Model.TimeInput = src.Model.TimeInput
		case "push-rtol":
			cfg.Push.RTol = src.Push.RTol
		case "push-atol":
			cfg.Push.ATol = src.Push.ATol
		case "h0":
			cfg.JKO.H0 = src.JKO.H0
		case "rho":
			cfg.JKO.Rho = src.JKO.Rho
		case "h-max":
			cfg.JKO.HMax = src.JKO.HMax
		case "max-blocks":
			cfg.JKO.MaxBlocks = src.JKO.MaxBlocks
		case "jko-steps":
			cfg.JKO.Steps, err = parseFloats(jkoSteps)
			if err != nil {
				err = fmt.Errorf("--jko-steps: %w", err)
			}
		case "stop-tol":
			cfg.JKO.StopTol = src.JKO.StopTol
		case "jko-free-block":
			cfg.JKO.FreeBlock = src.JKO.FreeBlock
		case "linear":
			cfg.JKO.Linear = src.JKO.Linear
		case "rk4-steps":
			cfg.JKO.RK4Steps = src.JKO.RK4Steps
		case "sigma0":
			cfg.JKO.Sigma0 = src.JKO.Sigma0
		case "probe":
			cfg.JKO.Probe = src.JKO.Probe
		case "reparam":
			cfg.JKO.Reparam = src.JKO.Reparam
		case "eta":
			cfg.JKO.Eta = src.JKO.Eta
		case "refine":
			cfg.JKO.Refine = src.JKO.Refine
		case "columns":
			cfg.Columns = src.Columns
		case "dequantize":
			cfg.Dequantize = src.Dequantize
		case "val-frac":
			cfg.ValFrac = src.ValFrac
		case "test-frac":
			cfg.TestFrac = src.TestFrac
		case "seed":
			cfg.Seed = src.Seed
		case "out":
			cfg.Out = src.Out
		case "hidden":
			cfg.Model.Hidden, err = parseInts(hidden)
			if err != nil {
				err = fmt.Errorf("--hidden: %w", err)
			}
		case "activation":
			cfg.Model.Activation = src.Model.Activation
		case "beta":
			cfg.Model.Beta = src.Model.Beta
		case "gammas":
			cfg.LFM.Gammas, err = parseFloats(gammas)
			if err != nil {
				err = fmt.Errorf("--gammas: %w", err)
			}
		case "blocks":
			cfg.LFM.Blocks = src.LFM.Blocks
		case "gamma-c":
			cfg.LFM.GammaC = src.LFM.GammaC
		case "gamma-rho":
			cfg.LFM.GammaRho = src.LFM.GammaRho
		case "free-block":
			cfg.LFM.FreeBlock = src.LFM.FreeBlock
		case "interpolant":
			cfg.LFM.Interpolant = src.LFM.Interpolant
		case "time-dist":
			cfg.LFM.Time = src.LFM.Time
		case "iters":
			cfg.Train.Iters = src.Train.Iters
		case "batch-size":
			cfg.Train.BatchSize = src.Train.BatchSize
		case "lr":
			cfg.Train.LR = src.Train.LR
		case "lr-decay":
			cfg.Train.LRDecay = src.Train.LRDecay
		case "lr-decay-every":
			cfg.Train.LRDecayEvery = src.Train.LRDecayEvery
		case "clip":
			cfg.Train.Clip = src.Train.Clip
		case "weight-decay":
			cfg.Train.WeightDecay = src.Train.WeightDecay
		case "ema":
			cfg.Train.EMA = src.Train.EMA
		case "warm-start":
			cfg.Train.WarmStart = src.Train.WarmStart
		case "val-every":
			cfg.Train.ValEvery = src.Train.ValEvery
		case "push-solver":
			cfg.Push.Solver = src.Push.Solver
		case "push-steps":
			cfg.Push.Steps = src.Push.Steps
		case "eval-solver":
			cfg.Eval.Solver = src.Eval.Solver
		case "eval-rtol":
			cfg.Eval.RTol = src.Eval.RTol
		case "eval-atol":
			cfg.Eval.ATol = src.Eval.ATol
		case "eval-steps":
			cfg.Eval.Steps = src.Eval.Steps
		case "trace":
			cfg.Eval.Trace = src.Eval.Trace
		case "samples":
			cfg.Eval.Samples = src.Eval.Samples
		default:
			if !applyInputFlag(fl.Name, cfg, src) {
				err = fmt.Errorf("internal: flag --%s is not mapped to a config key", fl.Name)
			}
		}
	})
	if err != nil {
		return err
	}
	return cfg.Validate()
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", p)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// absDataPath returns the absolute form of a data file path, so that the
// run's saved config.yaml (rerun with --config, evaluate, plot) finds the file
// from any working directory. Names without a directory or an extension
// (built-in data such as digits or moons) and paths that do not name an
// existing file are returned unchanged.
func absDataPath(p string) string {
	if p == "" || (!strings.ContainsRune(p, filepath.Separator) && filepath.Ext(p) == "") || filepath.IsAbs(p) {
		return p
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// maxRowsWarning returns the warning for --max-rows (config max_rows) set
// with data that it does not apply to, or "" when maxRows is 0 or data is an
// image dataset of the registry. max_rows subsamples image datasets while
// they are read (data/registry.Options.MaxRows); files, tables, the MAF sets
// and the 2D generators are used whole, so a tabular file is not cut short.
func maxRowsWarning(data string, maxRows int) string {
	if maxRows <= 0 {
		return ""
	}
	if _, err := os.Stat(data); err != nil {
		if ds, err := registry.Lookup(data); err == nil && ds.Kind == registry.KindImage {
			return ""
		}
	}
	var images []string
	for _, ds := range registry.List() {
		if ds.Kind == registry.KindImage {
			images = append(images, ds.Name)
		}
	}
	return fmt.Sprintf("warning: --max-rows %d has no effect with --data %s: it subsamples the image datasets only (%s); all rows are used", maxRows, data, strings.Join(images, ", "))
}
