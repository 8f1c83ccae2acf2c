package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/interp"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// Config holds every setting of a training run. It is read from YAML (keys as
// in the struct tags; unknown keys are errors), overridden by command-line
// flags, validated, and saved with the run as config.yaml.
type Config struct {
	// Method is the training method; "lfm" (Local Flow Matching).
	Method string `yaml:"method"`
	// Data is "digits" (the built-in UCI optical digits) or the path of a CSV
	// or NPY file with one sample per row.
	Data string `yaml:"data"`
	// Columns selects columns of a user table by index, range or name
	// ("0-10", "alcohol,pH"); empty keeps all.
	Columns string `yaml:"columns"`
	// Dequantize is "auto" (add U[0, 1) noise to integer-valued columns),
	// "none" or "all".
	Dequantize string `yaml:"dequantize"`
	// ValFrac and TestFrac are the fractions of rows held out for validation
	// (weight selection) and test (reported NLL), split by a seeded shuffle.
	ValFrac  float64 `yaml:"val_frac"`
	TestFrac float64 `yaml:"test_frac"`
	// Seed seeds the split, dequantization noise, training and sampling.
	Seed uint64 `yaml:"seed"`
	// Out is the run directory; empty means runs/<data>-<method>-<time>.
	Out string `yaml:"out"`

	Model ModelConfig  `yaml:"model"`
	LFM   LFMConfig    `yaml:"lfm"`
	Train TrainConfig  `yaml:"train"`
	Push  SolverConfig `yaml:"push"`
	Eval  EvalConfig   `yaml:"eval"`
}

// ModelConfig is the velocity network of every block.
type ModelConfig struct {
	Hidden     []int   `yaml:"hidden"`
	Activation string  `yaml:"activation"`
	Beta       float64 `yaml:"beta"`
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
	EMA          float64 `yaml:"ema"`
	WarmStart    bool    `yaml:"warm_start"`
	ValEvery     int     `yaml:"val_every"`
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
	return Config{
		Method:     "lfm",
		Data:       "digits",
		Dequantize: "auto",
		ValFrac:    0.1,
		TestFrac:   0.1,
		Seed:       1,
		Model:      ModelConfig{Hidden: []int{256, 256, 256}, Activation: "softplus", Beta: 1},
		LFM:        LFMConfig{GammaC: 0.2, GammaRho: 1.5, Blocks: 3, FreeBlock: true, Interpolant: "trig", Time: "uniform"},
		Train: TrainConfig{Iters: 2000, BatchSize: 256, LR: 1e-3, LRDecay: 0.5, LRDecayEvery: 1000, Clip: 1,
			EMA: 0.999, WarmStart: true, ValEvery: 250},
		Push: SolverConfig{Solver: "rk4", Steps: 10},
		Eval: EvalConfig{SolverConfig: SolverConfig{Solver: "dopri5", Steps: 50, RTol: 1e-5, ATol: 1e-5}, Trace: "exact",
			Samples: 1000, BatchSize: 512},
	}
}

// LoadConfig reads a YAML config over the defaults. Unknown keys, values of
// the wrong type and a text "None" (write null or ~ for none) are errors that
// name the key; the result is validated.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c := DefaultConfig()
	if err := decodeStrict(b, &c); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
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
			return fmt.Errorf("line %d: key %q: the text %q is not null; write null or ~ for none", n.Line, key, n.Value)
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
	if c.Method != "lfm" {
		return bad("method", "unknown method %q (available: lfm)", c.Method)
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
			return bad("model.hidden", "width %d is %d; widths must be at least 1", i, h)
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
