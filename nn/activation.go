package nn

import (
	"fmt"
	"strings"
)

// Activation names the elementwise nonlinearity σ of the hidden layers.
type Activation int

const (
	// Softplus is σ(x) = log(1 + exp(βx))/β (β from Spec.Beta, default 1).
	Softplus Activation = iota
	// Tanh is σ(x) = tanh(x).
	Tanh
	// ELU is σ(x) = x for x > 0 and exp(x) − 1 otherwise.
	ELU
	// SiLU is σ(x) = x·sigmoid(x) (also called swish).
	SiLU
	// ReLU is σ(x) = max(x, 0); its second derivative is taken as 0.
	ReLU
)

var activationNames = [...]string{"softplus", "tanh", "elu", "silu", "relu"}

// String returns the lower-case name used in configs and flags.
func (a Activation) String() string {
	if a < 0 || int(a) >= len(activationNames) {
		return fmt.Sprintf("Activation(%d)", int(a))
	}
	return activationNames[a]
}

// ParseActivation maps a name ("softplus", "tanh", "elu", "silu", "relu";
// case-insensitive) to its Activation. An unknown name is an error that lists
// the valid ones.
func ParseActivation(s string) (Activation, error) {
	for i, n := range activationNames {
		if strings.EqualFold(s, n) {
			return Activation(i), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want one of %s)", s, strings.Join(activationNames[:], ", "))
}
