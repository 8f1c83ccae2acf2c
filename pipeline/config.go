package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Config holds every setting of a training run. It is read from YAML (keys as
// in the struct tags; unknown keys are errors), overridden by command-line
// flags, validated, and saved with the run as config.yaml.
type Config struct {
	// Method is the training method: "lfm" (Local Flow Matching), "jko"
	// (JKO-iFlow), "cfm" (conditional flow matching, independent pairs),
	// "otcfm" (minibatch OT pairs), "rf" (rectified flow with reflow) or
	// "mle" (maximum likelihood through the ODE, FFJORD-style, with RNODE
	// penalties).
	Method string `yaml:"method"`
	// Source is the latent distribution of cfm, otcfm and rf: "" for
	// N(0, I), or a 2D generator name (then no likelihood is reported).
	Source string `yaml:"source"`
	// Data is "digits" (the built-in UCI optical digits), the name of a 2D
	// generator (rose, checkerboard, 8gaussians, ...; see data/toy)
	// or the path of a CSV or NPY file with one sample per row.
	Data string `yaml:"data"`
	// ToySamples is the number of points drawn from a 2D generator.
	ToySamples int `yaml:"toy_samples"`
	// Columns selects columns of a user table by index, range or name
	// ("0-10", "alcohol,pH"); empty keeps all.
	Columns string `yaml:"columns"`
	// DataDir is searched first for registry datasets (then $ITERFLOW_DATA,
	// then the user cache directory); see data/registry.
	DataDir string `yaml:"data_dir"`
	// Logit maps bounded data to the real line before standardizing
	// (off by default; images: lo 0, hi 256).
	Logit LogitConfig `yaml:"logit"`
	// MaxRows keeps a seeded subset of at most this many rows of each file
	// of an image dataset (0: all).
	MaxRows int `yaml:"max_rows"`
	// Dequantize is "auto" (add U[0, 1) noise to integer-valued columns),
	// "none" or "all".
	Dequantize string `yaml:"dequantize"`
	// DropNonFinite drops the rows of a data file that hold NaN or ±Inf
	// (counted in Splits.DroppedRows) instead of refusing the file.
	DropNonFinite bool `yaml:"drop_nonfinite"`
	// DropConstant drops constant columns (they have no density) with a
	// warning (Splits.Warnings) instead of refusing the data.
	DropConstant bool `yaml:"drop_constant"`
	// ValFrac and TestFrac are the fractions of rows held out for validation
	// (weight selection) and test (reported NLL), split by a seeded shuffle.
	ValFrac  float64 `yaml:"val_frac"`
	TestFrac float64 `yaml:"test_frac"`
	// Seed seeds the split, dequantization noise, training and sampling.
	Seed uint64 `yaml:"seed"`
	// Out is the run directory; empty means runs/<data>-<method>-<time>.
	Out string `yaml:"out"`

	Model ModelConfig `yaml:"model"`
	LFM   LFMConfig   `yaml:"lfm"`
	JKO   JKOConfig   `yaml:"jko"`
	FM    FMConfig    `yaml:"fm"`
	MLE   MLEConfig   `yaml:"mle"`
	// Distill distills every block into a one-step student after training
	// (off when Distill.Iters is 0).
	Distill DistillConfig `yaml:"distill"`
	Train   TrainConfig   `yaml:"train"`
	Push    SolverConfig  `yaml:"push"`
	Eval    EvalConfig    `yaml:"eval"`
}

// ModelConfig is the velocity network of every block.
type ModelConfig struct {
	Hidden     []int   `yaml:"hidden"`
	Activation string  `yaml:"activation"`
	Beta       float64 `yaml:"beta"`
	// TimeInput feeds t to the network as an extra input (LFM: yes; JKO-iFlow's
	// blocks: no).
	TimeInput bool `yaml:"time_input"`
}

// JKOConfig is the schedule and block settings of JKO-iFlow: either an
// explicit list Steps of step sizes h_k, or h_k = min(H0·Rho^(k−1), HMax)
// for up to MaxBlocks blocks, stopping early when the relative movement of a
// block falls below StopTol.
type JKOConfig struct {
	Steps     []float64 `yaml:"steps"`
	H0        float64   `yaml:"h0"`
	Rho       float64   `yaml:"rho"`
	HMax      float64   `yaml:"h_max"`
	MaxBlocks int       `yaml:"max_blocks"`
	StopTol   float64   `yaml:"stop_tol"`
	FreeBlock bool      `yaml:"free_block"`
	// Linear uses linear blocks f(x) = Ax + b (a Gaussian sanity run).
	Linear bool `yaml:"linear"`
	// RK4Steps is the number of rk4 steps per block in training.
	RK4Steps int `yaml:"rk4_steps"`
	// Sigma0 sets the finite-difference Hutchinson step σ = Sigma0/√d; Probe
	// is "rademacher" or "gaussian".
	Sigma0 float64 `yaml:"sigma0"`
	Probe  string  `yaml:"probe"`
	// Reparam re-assigns step sizes after the first pass so that per-block
	// movement is even (damping Eta); Refine then splits every interval in two.
	Reparam bool    `yaml:"reparam"`
	Eta     float64 `yaml:"eta"`
	Refine  bool    `yaml:"refine"`
}

// LFMConfig is the OU schedule of Local Flow Matching: either an explicit
// list Gammas, or Blocks steps γ_k = GammaC·GammaRho^(k−1).
type LFMConfig struct {
	Gammas      []float64 `yaml:"gammas"`
	GammaC      float64   `yaml:"gamma_c"`
	GammaRho    float64   `yaml:"gamma_rho"`
	Blocks      int       `yaml:"blocks"`
	FreeBlock   bool      `yaml:"free_block"`
	Interpolant string    `yaml:"interpolant"`
	Time        string    `yaml:"time"`
}

// TrainConfig holds the optimization settings, per block.
type TrainConfig struct {
	Iters        int     `yaml:"iters"`
	BatchSize    int     `yaml:"batch_size"`
	LR           float64 `yaml:"lr"`
	LRDecay      float64 `yaml:"lr_decay"`
	LRDecayEvery int     `yaml:"lr_decay_every"`
	Clip         float64 `yaml:"clip"`
	// WeightDecay is Adam's decoupled weight-decay rate λ (AdamW,
	// arXiv:1711.05101; PyTorch semantics): each step multiplies the weights
	// by 1 − lr·λ with that step's learning rate (method.Optim.WeightDecay).
	// 0 (the default) disables it; it must be finite, >= 0 and below 1/lr.
	// The key is left out of config.yaml when 0, so that the config (and the
	// checkpoint's config hash) of a run without weight decay is the one
	// written before the key existed, and such runs still resume.
	WeightDecay float64 `yaml:"weight_decay,omitempty"`
	EMA         float64 `yaml:"ema"`
	WarmStart   bool    `yaml:"warm_start"`
	ValEvery    int     `yaml:"val_every"`
	// BlockSeconds is a wall-clock budget per block (0: none), for
	// comparisons at equal training time.
	BlockSeconds float64 `yaml:"block_seconds"`
	// Seconds is a wall-clock budget for the whole training (0: none),
	// shared among the blocks as they start (the pushes and validation
	// checks of earlier blocks included), for comparisons at equal training
	// time. The push of the pool through the last blocks comes after their
	// share, so a run can overrun by about that push time; metrics.json
	// records the real train time.
	Seconds float64 `yaml:"seconds"`
}

// FMConfig holds the settings of the global flow-matching methods.
type FMConfig struct {
	// Coupling is "independent", "exact" (minibatch OT by exact assignment) or
	// "sinkhorn"; empty means the method's own (cfm, rf: independent; otcfm:
	// exact).
	Coupling string `yaml:"coupling"`
	// SinkhornEps is the entropic regularization relative to the mean cost.
	SinkhornEps float64 `yaml:"sinkhorn_eps"`
	// Interpolant is "linear" or "trig"; Sigma the Gaussian width around the
	// path (0: none).
	Interpolant string  `yaml:"interpolant"`
	Sigma       float64 `yaml:"sigma"`
	// Reflow is the number of reflow rounds of rf, each on ReflowPairs pairs
	// (z, T(z)) generated with the evaluation solver.
	Reflow      int `yaml:"reflow"`
	ReflowPairs int `yaml:"reflow_pairs"`
	// OTBatch is where a data-parallel run (MPI, several ranks) computes the
	// minibatch OT plan of the exact and sinkhorn couplings: "global" (the
	// default; every rank solves the same plan of the whole global batch,
	// so the run matches one process) or "local" (each rank pairs only its
	// batch/ranks rows: cheaper, a different plan). A single process ignores
	// it; see method.OTBatch and docs/scaling.md.
	OTBatch string `yaml:"ot_batch"`
}

// MLEConfig holds the settings of maximum-likelihood training: Blocks blocks
// trained jointly by the NLL through RK4Steps rk4 steps each, with the
// finite-difference Hutchinson divergence (σ = Sigma0/√d, Probe) and the RNODE
// penalties λ_K ∫|f|² dt (KineticWeight) and λ_J ∫|∂f/∂x ε|² dt
// (JacobianWeight).
type MLEConfig struct {
	Blocks         int     `yaml:"blocks"`
	RK4Steps       int     `yaml:"rk4_steps"`
	Sigma0         float64 `yaml:"sigma0"`
	Probe          string  `yaml:"probe"`
	KineticWeight  float64 `yaml:"kinetic_weight"`
	JacobianWeight float64 `yaml:"jacobian_weight"`
}

// SolverConfig names an ODE solver and its settings.
type SolverConfig struct {
	Solver string  `yaml:"solver"`
	Steps  int     `yaml:"steps"`
	RTol   float64 `yaml:"rtol"`
	ATol   float64 `yaml:"atol"`
}

// EvalConfig is how the reported likelihood is computed.
type EvalConfig struct {
	SolverConfig `yaml:",inline"`
	// Trace is the divergence estimator: "exact", "hutchinson" or "fd-hutchinson".
	Trace string `yaml:"trace"`
	// Samples is the number of samples drawn for plots.
	Samples int `yaml:"samples"`
	// BatchSize is the number of rows per likelihood solve.
	BatchSize int `yaml:"batch_size"`
}

// DefaultConfig returns the settings of `iterflow train` with no flags: Local
// Flow Matching on the built-in digits.
func DefaultConfig() Config {
	return DefaultConfigFor("lfm")
}

// DefaultConfigFor returns the defaults of a method. For "jko" the network,
// schedule and solver follow JKO-iFlow's 2D settings (arXiv 2212.14424;
// methods.md §2: 8 blocks, h_k = 0.25·1.4^(k−1), MLP 128×3 with softplus β = 20
// and no time input, 3 rk4 steps per block), with fewer steps per block
// and a larger learning rate than the paper's GPU runs so that a CPU run
// takes minutes. An unknown method gets the LFM defaults (Validate rejects it).
func DefaultConfigFor(method string) Config {
	c := Config{
		Method:     method,
		Data:       "digits",
		ToySamples: 20000,
		Dequantize: "auto",
		ValFrac:    0.1,
		TestFrac:   0.1,
		Seed:       1,
		Model:      ModelConfig{Hidden: []int{256, 256, 256}, Activation: "softplus", Beta: 1, TimeInput: true},
		LFM:        LFMConfig{GammaC: 0.2, GammaRho: 1.5, Blocks: 3, FreeBlock: true, Interpolant: "trig", Time: "uniform"},
		// 1000 steps per block: on small tables (the digits' 1437 training rows in
		// 64 dimensions) longer training overfits and the test NLL gets worse.
		Train: TrainConfig{Iters: 1000, BatchSize: 256, LR: 1e-3, LRDecay: 0.5, LRDecayEvery: 500, Clip: 1,
			EMA: 0.999, WarmStart: true, ValEvery: 250},
		Push:    SolverConfig{Solver: "rk4", Steps: 10, RTol: 1e-5, ATol: 1e-5},
		Distill: DistillConfig{Pool: 10000},
		Logit:   LogitConfig{Lo: 0, Hi: 256, Alpha: 0.05},
		Eval: EvalConfig{SolverConfig: SolverConfig{Solver: "dopri5", Steps: 50, RTol: 1e-5, ATol: 1e-5}, Trace: "exact",
			Samples: 1000, BatchSize: 512},
		JKO: JKOConfig{H0: 0.25, Rho: 1.4, MaxBlocks: 8, StopTol: 0.01, RK4Steps: 3, Sigma0: 0.01, Probe: "rademacher", Eta: 0.5},
		FM:  FMConfig{Interpolant: "linear", SinkhornEps: 0.05, ReflowPairs: 20000, OTBatch: "global"},
		MLE: MLEConfig{Blocks: 1, RK4Steps: 4, Sigma0: 0.01, Probe: "gaussian"},
	}
	switch method {
	case "cfm", "otcfm", "rf":
		// One block, so it gets the steps the LFM chain spreads over four.
		c.Train = TrainConfig{Iters: 4000, BatchSize: 256, LR: 1e-3, LRDecay: 0.5, LRDecayEvery: 2000, Clip: 1,
			EMA: 0.999, ValEvery: 250}
		if method == "rf" {
			c.FM.Reflow = 1
		}
	case "mle":
		// Every step integrates the ODE (4 rk4 steps, two field evaluations per
		// stage), so fewer and smaller steps than flow matching.
		c.Train = TrainConfig{Iters: 1000, BatchSize: 512, LR: 2e-3, LRDecay: 0.5, LRDecayEvery: 500, Clip: 1,
			EMA: 0.99, ValEvery: 100}
	}
	if method == "jko" {
		c.Model = ModelConfig{Hidden: []int{128, 128, 128}, Activation: "softplus", Beta: 20}
		c.Train = TrainConfig{Iters: 400, BatchSize: 500, LR: 2e-3, LRDecay: 0.5, LRDecayEvery: 200, Clip: 1,
			EMA: 0.99, WarmStart: true, ValEvery: 100}
		// Standardized data are close to N(0, I) in scale, so blocks move less
		// than in the paper's unstandardized 2D runs: a smaller stopping threshold.
		c.JKO.StopTol = 0.001
		c.Push = SolverConfig{Solver: "rk4", Steps: 3, RTol: 1e-5, ATol: 1e-5}
	}
	return c
}

// LoadConfig reads a YAML config over the defaults. Unknown keys, values of
// the wrong type and a text "None" (write null or ~ for none) are errors that
// name the key; the result is validated.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads YAML text over the defaults of its method (lfm when it
// names none) and validates the result, as LoadConfig does for a file. Errors
// give the line and the dotted key: an unknown key (listing the valid keys
// of its section), a value of the wrong type (`line 2: key "train.iters":
// want a whole number, got "many"`), a fractional number for an integer key,
// a text None, or a YAML syntax error; then Validate's errors.
func ParseConfig(b []byte) (Config, error) {
	var head struct {
		Method string `yaml:"method"`
	}
	_ = yaml.Unmarshal(b, &head) // errors are reported by the strict decode below
	if head.Method == "" {
		head.Method = "lfm"
	}
	c := DefaultConfigFor(head.Method)
	if err := decodeStrict(b, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func decodeStrict(b []byte, c *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err
	}
	if err := rejectNoneText(&root, ""); err != nil {
		return err
	}
	if len(root.Content) > 0 {
		if err := checkNode(root.Content[0], reflect.TypeOf(*c), ""); err != nil {
			return err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// rejectNoneText refuses the Python spelling "None", which YAML reads as a
// string and which would otherwise switch options on silently.
func rejectNoneText(n *yaml.Node, key string) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := rejectNoneText(c, key); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if key != "" {
				k = key + "." + k
			}
			if err := rejectNoneText(n.Content[i+1], k); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" && n.Style == 0 && (n.Value == "None" || n.Value == "none" || n.Value == "NONE") && key != "dequantize" {
			hint := ""
			switch key {
			case "train.clip", "train.ema":
				hint = " (0 disables clip and ema)"
			case "train.weight_decay":
				hint = " (0 disables weight decay)"
			}
			return fmt.Errorf("line %d: key %q: %q is read as text, not as \"no value\"; write a value%s, or delete the line to keep the default", n.Line, key, n.Value, hint)
		}
	}
	return nil
}

// Gammas returns the OU steps of the LFM schedule.
func (c *Config) Gammas() ([]float64, error) {
	if len(c.LFM.Gammas) > 0 {
		if err := interp.CheckSteps(c.LFM.Gammas); err != nil {
			return nil, fmt.Errorf("lfm.gammas: %w", err)
		}
		return c.LFM.Gammas, nil
	}
	if c.LFM.Blocks == 0 && c.LFM.FreeBlock {
		return nil, nil
	}
	g, err := interp.Exponential(c.LFM.GammaC, c.LFM.GammaRho, c.LFM.Blocks)
	if err != nil {
		return nil, fmt.Errorf("lfm: %w", err)
	}
	return g, nil
}

// Validate checks every value and returns an error naming the first bad key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...))
	}
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch c.Method {
	case "lfm", "jko", "cfm", "otcfm", "rf", "mle":
	default:
		return bad("method", "unknown method %q (available: lfm, jko, cfm, otcfm, rf, mle)", c.Method)
	}
	if c.Source != "" {
		if c.Method == "lfm" || c.Method == "jko" || c.Method == "mle" {
			return bad("source", "%s assumes an N(0, I) latent; a source %q needs cfm, otcfm or rf", c.Method, c.Source)
		}
		if !isToy(c.Source) {
			return bad("source", "unknown 2D generator %q", c.Source)
		}
	}
	if c.Train.Seconds < 0 || math.IsNaN(c.Train.Seconds) || math.IsInf(c.Train.Seconds, 0) {
		return bad("train.seconds", "must be non-negative and finite (0: no budget), got %g", c.Train.Seconds)
	}
	if c.Train.BlockSeconds < 0 || math.IsNaN(c.Train.BlockSeconds) {
		return bad("train.block_seconds", "must be non-negative (0: no budget), got %g", c.Train.BlockSeconds)
	}
	if c.Method == "cfm" || c.Method == "otcfm" || c.Method == "rf" {
		if err := c.validateFM(); err != nil {
			return err
		}
	}
	if c.Method == "mle" {
		m := c.MLE
		switch {
		case m.Blocks < 1:
			return bad("mle.blocks", "must be at least 1, got %d", m.Blocks)
		case m.RK4Steps < 1:
			return bad("mle.rk4_steps", "must be at least 1, got %d", m.RK4Steps)
		case !pos(m.Sigma0):
			return bad("mle.sigma0", "must be positive, got %g", m.Sigma0)
		case m.KineticWeight < 0 || math.IsNaN(m.KineticWeight):
			return bad("mle.kinetic_weight", "must be non-negative, got %g", m.KineticWeight)
		case m.JacobianWeight < 0 || math.IsNaN(m.JacobianWeight):
			return bad("mle.jacobian_weight", "must be non-negative, got %g", m.JacobianWeight)
		}
		if _, err := flow.ParseProbe(m.Probe); err != nil {
			return bad("mle.probe", "%v", err)
		}
	}
	if l := c.Logit; l.Enabled {
		switch {
		case math.IsNaN(l.Lo) || math.IsInf(l.Lo, 0) || math.IsNaN(l.Hi) || math.IsInf(l.Hi, 0) || !(l.Lo < l.Hi):
			return bad("logit.lo", "the bounds must be finite with lo < hi, got lo %g, hi %g", l.Lo, l.Hi)
		case !(l.Alpha >= 0 && l.Alpha < 0.5):
			return bad("logit.alpha", "must be in [0, 0.5), got %g", l.Alpha)
		}
	}
	if c.MaxRows < 0 {
		return bad("max_rows", "must be non-negative (0: all rows), got %d", c.MaxRows)
	}
	switch {
	case c.Distill.Iters < 0:
		return bad("distill.iters", "must be non-negative (0: no distillation), got %d", c.Distill.Iters)
	case c.Distill.Iters > 0 && c.Distill.Pool < 100:
		return bad("distill.pool", "must be at least 100, got %d", c.Distill.Pool)
	}
	if c.ToySamples < 10 {
		return bad("toy_samples", "must be at least 10, got %d", c.ToySamples)
	}
	if strings.TrimSpace(c.Data) == "" {
		return bad("data", "empty; give \"digits\" or the path of a CSV or NPY file")
	}
	switch c.Dequantize {
	case "auto", "none", "all":
	default:
		return bad("dequantize", "unknown value %q (want auto, none or all)", c.Dequantize)
	}
	if !(c.ValFrac >= 0 && c.ValFrac < 0.5) {
		return bad("val_frac", "must be in [0, 0.5), got %g", c.ValFrac)
	}
	if !(c.TestFrac > 0 && c.TestFrac < 0.5) {
		return bad("test_frac", "must be in (0, 0.5), got %g", c.TestFrac)
	}
	if len(c.Model.Hidden) == 0 {
		return bad("model.hidden", "needs at least one hidden layer")
	}
	for i, h := range c.Model.Hidden {
		if h < 1 {
			return bad("model.hidden", "hidden layer %d has width %d; widths must be at least 1", i+1, h)
		}
	}
	if _, err := nn.ParseActivation(c.Model.Activation); err != nil {
		return bad("model.activation", "%v", err)
	}
	if !(c.Model.Beta > 0) || math.IsInf(c.Model.Beta, 0) {
		return bad("model.beta", "must be positive, got %g", c.Model.Beta)
	}
	if len(c.LFM.Gammas) == 0 && !(c.LFM.Blocks == 0 && c.LFM.FreeBlock) {
		if c.LFM.Blocks < 0 {
			return bad("lfm.blocks", "must be non-negative, got %d", c.LFM.Blocks)
		}
		if c.LFM.Blocks == 0 {
			return bad("lfm.blocks", "0 with free_block false leaves no block to train; set blocks ≥ 1 (--blocks) or free_block (--free-block)")
		}
		if !pos(c.LFM.GammaC) {
			return bad("lfm.gamma_c", "must be positive, got %g", c.LFM.GammaC)
		}
		if !pos(c.LFM.GammaRho) {
			return bad("lfm.gamma_rho", "must be positive, got %g", c.LFM.GammaRho)
		}
	}
	if _, err := c.Gammas(); err != nil {
		return err
	}
	if c.Method == "jko" {
		if err := c.validateJKO(); err != nil {
			return err
		}
	} else if c.JKO.Linear || c.JKO.Reparam || c.JKO.Refine || len(c.JKO.Steps) > 0 {
		return bad("jko", "linear, reparam, refine and steps are settings of --method jko, not %s", c.Method)
	}
	if _, err := interp.ParseInterpolant(c.LFM.Interpolant); err != nil {
		return bad("lfm.interpolant", "%v", err)
	}
	if _, err := interp.ParseTimeDist(c.LFM.Time); err != nil {
		return bad("lfm.time", "%v", err)
	}
	t := c.Train
	switch {
	case t.Iters < 1:
		return bad("train.iters", "must be at least 1, got %d", t.Iters)
	case t.BatchSize < 1:
		return bad("train.batch_size", "must be at least 1, got %d", t.BatchSize)
	case !pos(t.LR):
		return bad("train.lr", "must be positive, got %g", t.LR)
	case t.LRDecayEvery < 0:
		return bad("train.lr_decay_every", "must be non-negative, got %d", t.LRDecayEvery)
	case t.LRDecayEvery > 0 && !(t.LRDecay > 0 && t.LRDecay <= 1):
		return bad("train.lr_decay", "must be in (0, 1], got %g", t.LRDecay)
	case t.Clip < 0 || math.IsNaN(t.Clip):
		return bad("train.clip", "must be non-negative (0 disables clipping), got %g", t.Clip)
	case !(t.WeightDecay >= 0) || math.IsInf(t.WeightDecay, 1):
		return bad("train.weight_decay", "must be finite and non-negative (0 disables weight decay), got %g", t.WeightDecay)
	case !(t.LR*t.WeightDecay < 1):
		return bad("train.weight_decay", "must be below 1/train.lr = %g (each step multiplies the weights by 1 − lr·weight_decay), got %g", 1/t.LR, t.WeightDecay)
	case !(t.EMA >= 0 && t.EMA < 1):
		return bad("train.ema", "must be in [0, 1) (0 disables the EMA), got %g", t.EMA)
	case t.ValEvery < 0:
		return bad("train.val_every", "must be non-negative, got %d", t.ValEvery)
	}
	if _, err := c.Push.options("push"); err != nil {
		return err
	}
	if _, err := c.Eval.options("eval"); err != nil {
		return err
	}
	if _, err := flow.ParseTrace(c.Eval.Trace); err != nil {
		return bad("eval.trace", "%v", err)
	}
	if c.Eval.Samples < 1 {
		return bad("eval.samples", "must be at least 1, got %d", c.Eval.Samples)
	}
	if c.Eval.BatchSize < 1 {
		return bad("eval.batch_size", "must be at least 1, got %d", c.Eval.BatchSize)
	}
	return nil
}

// options converts a solver config to ode.Options; key prefixes errors.
func (s SolverConfig) options(key string) (ode.Options, error) {
	m, err := ode.ParseMethod(s.Solver)
	if err != nil {
		return ode.Options{}, fmt.Errorf("%s.solver: %v", key, err)
	}
	o := ode.Options{Method: m, Steps: s.Steps, RTol: s.RTol, ATol: s.ATol}
	if m == ode.Dopri5 {
		if !(s.RTol > 0) || !(s.ATol > 0) {
			return o, fmt.Errorf("%s: dopri5 needs positive rtol and atol, got %g and %g", key, s.RTol, s.ATol)
		}
	} else if s.Steps < 1 {
		return o, fmt.Errorf("%s.steps: %s needs at least 1 step, got %d", key, s.Solver, s.Steps)
	}
	return o, nil
}

// YAML returns the config as YAML text (the resolved config saved with a run).
func (c *Config) YAML() ([]byte, error) {
	return yaml.Marshal(c)
}

// Describe gives the solver settings in words, e.g. "dopri5 (rtol 1e-05, atol 1e-05)".
func (s SolverConfig) Describe() string {
	if strings.EqualFold(s.Solver, "dopri5") {
		return fmt.Sprintf("dopri5 (rtol %g, atol %g)", s.RTol, s.ATol)
	}
	return fmt.Sprintf("%s (%d steps per block)", s.Solver, s.Steps)
}

// validateJKO checks the jko section; errors name the key.
func (c *Config) validateJKO() error {
	j := c.JKO
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("jko.%s: %s", key, fmt.Sprintf(format, args...))
	}
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	if len(j.Steps) > 0 {
		if err := interp.CheckSteps(j.Steps); err != nil {
			return bad("steps", "%v", err)
		}
	} else {
		switch {
		case !pos(j.H0):
			return bad("h0", "must be positive, got %g", j.H0)
		case !pos(j.Rho):
			return bad("rho", "must be positive, got %g", j.Rho)
		case j.HMax < 0 || math.IsNaN(j.HMax):
			return bad("h_max", "must be non-negative (0: no cap), got %g", j.HMax)
		case j.MaxBlocks < 1:
			return bad("max_blocks", "must be at least 1, got %d", j.MaxBlocks)
		}
	}
	switch {
	case j.StopTol < 0 || math.IsNaN(j.StopTol):
		return bad("stop_tol", "must be non-negative (0 disables the stopping rule), got %g", j.StopTol)
	case j.RK4Steps < 1:
		return bad("rk4_steps", "must be at least 1, got %d", j.RK4Steps)
	case !pos(j.Sigma0):
		return bad("sigma0", "must be positive, got %g", j.Sigma0)
	case j.Reparam && !(j.Eta >= 0 && j.Eta < 1):
		return bad("eta", "must be in [0, 1), got %g", j.Eta)
	case j.Refine && !j.Reparam:
		return bad("refine", "needs reparam: true (refinement follows the reparametrized pass)")
	}
	if _, err := flow.ParseProbe(j.Probe); err != nil {
		return bad("probe", "%v", err)
	}
	return nil
}

// checkNode walks the YAML node n that decodes into a value of type t and
// returns an error naming the key (dotted path, e.g. "train.iters") and line
// for an unknown key, a value of the wrong kind (a mapping or list where a
// value belongs, or the reverse), a value that does not parse as the key's
// type, and a fractional number for an integer key (yaml.v3 would truncate
// 20.5 to 20 silently). Aliases are left to the decoder.
func checkNode(n *yaml.Node, t reflect.Type, key string) error {
	shown := key
	if shown == "" {
		shown = "(top level)"
	}
	if n.Kind == yaml.AliasNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	kindName := func(n *yaml.Node) string {
		switch n.Kind {
		case yaml.MappingNode:
			return "a mapping"
		case yaml.SequenceNode:
			return "a list"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: key %q: want a mapping of keys, got %s", n.Line, shown, kindName(n))
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			name := kn.Value
			k := name
			if key != "" {
				k = key + "." + name
			}
			ft, ok := fields[name]
			if !ok {
				names := make([]string, 0, len(fields))
				for f := range fields {
					names = append(names, f)
				}
				sort.Strings(names)
				where := "top-level keys"
				if key != "" {
					where = "keys of " + key
				}
				return fmt.Errorf("line %d: unknown key %q (%s: %s)", kn.Line, k, where, strings.Join(names, ", "))
			}
			if err := checkNode(n.Content[i+1], ft, k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("line %d: key %q: want a list such as [1, 2], got %s", n.Line, shown, kindName(n))
		}
		for _, c := range n.Content {
			if err := checkNode(c, t.Elem(), key); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: key %q: want a single value, got %s", n.Line, shown, kindName(n))
		}
		var want string
		switch t.Kind() {
		case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint:
			want = "a whole number"
			if t.Kind() == reflect.Uint64 || t.Kind() == reflect.Uint {
				want = "a whole number ≥ 0" // e.g. seed: -4
			}
			if n.Tag == "!!float" {
				return fmt.Errorf("line %d: key %q: want a whole number, got %s", n.Line, shown, n.Value)
			}
		case reflect.Float64:
			want = "a number"
		case reflect.Bool:
			want = "true or false"
		case reflect.String:
			return nil
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return fmt.Errorf("line %d: key %q: want %s, got %q", n.Line, shown, want, n.Value)
		}
	}
	return nil
}

// yamlFields maps the YAML keys of struct type t to their field types,
// descending into inline fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for j := 0; j < t.NumField(); j++ {
		f := t.Field(j)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		out[tag] = f.Type
	}
	return out
}

// fmCoupling returns the coupling of a flow-matching method.
func (c *Config) fmCoupling() (interp.Coupling, error) {
	name := c.FM.Coupling
	if name == "" {
		name = "independent"
		if c.Method == "otcfm" {
			name = "exact"
		}
	}
	return interp.ParseCoupling(name)
}

// validateFM checks the fm section; errors name the key.
func (c *Config) validateFM() error {
	f := c.FM
	if _, err := c.fmCoupling(); err != nil {
		return fmt.Errorf("fm.coupling: %v", err)
	}
	if _, err := interp.ParseInterpolant(f.Interpolant); err != nil {
		return fmt.Errorf("fm.interpolant: %v", err)
	}
	switch {
	case !(f.SinkhornEps > 0) || math.IsInf(f.SinkhornEps, 0):
		return fmt.Errorf("fm.sinkhorn_eps: must be positive, got %g", f.SinkhornEps)
	case f.Sigma < 0 || math.IsNaN(f.Sigma):
		return fmt.Errorf("fm.sigma: must be non-negative, got %g", f.Sigma)
	case f.Reflow < 0:
		return fmt.Errorf("fm.reflow: must be non-negative, got %d", f.Reflow)
	case f.Reflow > 0 && c.Method != "rf":
		return fmt.Errorf("fm.reflow: reflow rounds are for --method rf, not %s", c.Method)
	case f.Reflow > 0 && f.ReflowPairs < 10:
		return fmt.Errorf("fm.reflow_pairs: must be at least 10, got %d", f.ReflowPairs)
	}
	if _, err := c.fmOTBatch(); err != nil {
		return fmt.Errorf("fm.ot_batch: %v", err)
	}
	return nil
}

// fmOTBatch returns the OT batch of fm.ot_batch ("" is global, for configs
// saved before the key existed).
func (c *Config) fmOTBatch() (method.OTBatch, error) {
	if c.FM.OTBatch == "" {
		return method.OTGlobal, nil
	}
	return method.ParseOTBatch(c.FM.OTBatch)
}
