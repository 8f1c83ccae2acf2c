package nn

import (
	"fmt"
	"math"
	"strings"
)

// Spec describes a fully connected velocity-field network v(x, t): R^d → R^d
// with len(Hidden) hidden layers, each an affine map followed by Act, and an
// affine output layer (no activation).
type Spec struct {
	// Dim is d, the data dimension; it is also the output dimension.
	Dim int
	// Hidden lists the hidden widths, e.g. []int{256, 256, 256}.
	Hidden []int
	// Act is the hidden-layer activation σ.
	Act Activation
	// Beta is the softplus sharpness β (σ(x) = log(1 + exp(βx))/β); 0 means 1.
	// Other activations ignore it.
	Beta float64
	// TimeInput makes the network input the row [x, t] (d+1 columns, t last);
	// otherwise the network ignores t (a time-independent field, as in the
	// JKO-iFlow 2D blocks, arXiv:2212.14424).
	TimeInput bool
}

// Validate reports the first problem with s: Dim < 1, no hidden layer, a
// hidden width < 1, a negative or non-finite Beta, or an unknown Act. The
// error names the offending field, e.g. "nn: Spec.Hidden[1] = 0, want >= 1".
func (s Spec) Validate() error {
	if s.Dim < 1 {
		return fmt.Errorf("nn: Spec.Dim = %d, want >= 1", s.Dim)
	}
	if len(s.Hidden) == 0 {
		return fmt.Errorf("nn: Spec.Hidden is empty, want at least one hidden layer")
	}
	for i, w := range s.Hidden {
		if w < 1 {
			return fmt.Errorf("nn: Spec.Hidden[%d] = %d, want >= 1", i, w)
		}
	}
	if s.Beta < 0 || math.IsNaN(s.Beta) || math.IsInf(s.Beta, 0) {
		return fmt.Errorf("nn: Spec.Beta = %g, want a finite value >= 0 (0 means 1)", s.Beta)
	}
	if s.Act < 0 || int(s.Act) >= len(activationNames) {
		return fmt.Errorf("nn: Spec.Act = %v is unknown (want one of %s)", s.Act, strings.Join(activationNames[:], ", "))
	}
	return nil
}

// inDim is the width of the network input: Dim, plus one for t.
func (s Spec) inDim() int {
	if s.TimeInput {
		return s.Dim + 1
	}
	return s.Dim
}

// beta returns the effective softplus β (0 means 1).
func (s Spec) beta() float64 {
	if s.Beta == 0 {
		return 1
	}
	return s.Beta
}
