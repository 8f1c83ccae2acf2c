package pipeline

import (
	"fmt"

	"github.com/iterflow/iterflow/data"
)

// LogitConfig switches on the logit transform for bounded data (RealNVP's
// logit trick, arXiv 1605.08803 §4.1): every column, with values in
// [Lo, Hi], is mapped to the real line before the standardization, and the
// transform's per-row log-determinant is included in every likelihood.
type LogitConfig struct {
	Enabled bool `yaml:"enabled"`
	// Lo and Hi bound every column (for dequantized 8-bit images 0 and 256).
	Lo float64 `yaml:"lo"`
	Hi float64 `yaml:"hi"`
	// Alpha shrinks the unit interval to [α, 1−α] so that values at the
	// bounds stay finite (RealNVP uses 0.05).
	Alpha float64 `yaml:"alpha"`
}

// transforms holds the fitted preprocessing of a run: an optional logit, then
// the standardization (fitted on the logit-transformed training split).
type transforms struct {
	logit *data.Logit
	std   *data.Standardizer
}

// fitTransforms builds the logit (if cfg asks for it) and fits the
// standardization on the training split.
func fitTransforms(cfg *Config, train *data.Table) (*transforms, error) {
	var tf transforms
	x := train
	if cfg.Logit.Enabled {
		d := train.D
		tf.logit = &data.Logit{Lo: make([]float64, d), Hi: make([]float64, d), Alpha: cfg.Logit.Alpha}
		for j := 0; j < d; j++ {
			tf.logit.Lo[j], tf.logit.Hi[j] = cfg.Logit.Lo, cfg.Logit.Hi
		}
		y := append([]float64(nil), train.X...)
		if err := tf.logit.Forward(y, train.N); err != nil {
			return nil, fmt.Errorf("logit (training split): %w", err)
		}
		x = &data.Table{X: y, N: train.N, D: d, Names: train.Names}
	}
	std, err := data.FitStandardizer(x)
	if err != nil {
		return nil, err
	}
	tf.std = std
	return &tf, nil
}

// apply returns the chain-scale copy of x (n×d) and the per-row log-dets of
// the preprocessing (log p_x = log p_chain + ld[i]).
func (tf *transforms) apply(x []float64, n int, what string) ([]float64, []float64, error) {
	y := append([]float64(nil), x...)
	ld := make([]float64, n)
	if n == 0 {
		return y, ld, nil
	}
	if tf.logit != nil {
		if err := tf.logit.ForwardLogDet(y, n, ld); err != nil {
			return nil, nil, fmt.Errorf("logit (%s split): %w", what, err)
		}
	}
	tf.std.Forward(y, n)
	c := tf.std.LogDet()
	for i := range ld {
		ld[i] += c
	}
	return y, ld, nil
}
