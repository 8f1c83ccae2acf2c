package interp

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// TimeDist is the distribution of the time t at which the flow-matching loss
// is evaluated: U[0, 1] (Alpha = Beta = 0 or 1) or Beta(Alpha, Beta). LFM uses
// Beta(1, 0.5) for GAS (arXiv 2410.02548, appendix settings).
type TimeDist struct {
	Alpha, Beta float64
}

// Uniform is U[0, 1].
var Uniform = TimeDist{}

// IsUniform reports whether d is U[0, 1].
func (d TimeDist) IsUniform() bool {
	return (d.Alpha == 0 && d.Beta == 0) || (d.Alpha == 1 && d.Beta == 1)
}

// String gives "uniform" or "beta(α,β)", the form ParseTimeDist reads.
func (d TimeDist) String() string {
	if d.IsUniform() {
		return "uniform"
	}
	return fmt.Sprintf("beta(%g,%g)", d.Alpha, d.Beta)
}

// ParseTimeDist reads "uniform" or "beta(α,β)" (also "beta:α,β"); the
// parameters must be positive.
func ParseTimeDist(s string) (TimeDist, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "uniform" || t == "" {
		return Uniform, nil
	}
	var body string
	switch {
	case strings.HasPrefix(t, "beta(") && strings.HasSuffix(t, ")"):
		body = t[len("beta(") : len(t)-1]
	case strings.HasPrefix(t, "beta:"):
		body = t[len("beta:"):]
	default:
		return TimeDist{}, fmt.Errorf("unknown time distribution %q (want \"uniform\" or \"beta(a,b)\")", s)
	}
	parts := strings.Split(body, ",")
	if len(parts) != 2 {
		return TimeDist{}, fmt.Errorf("time distribution %q: beta needs two parameters", s)
	}
	var p [2]float64
	for i, q := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		if err != nil || !(v > 0) {
			return TimeDist{}, fmt.Errorf("time distribution %q: parameter %q must be a positive number", s, q)
		}
		p[i] = v
	}
	return TimeDist{Alpha: p[0], Beta: p[1]}, nil
}

// Fill draws len(t) independent times, one per sample.
func Fill[T Float](d TimeDist, rng *rand.Rand, t []T) {
	if d.IsUniform() {
		for i := range t {
			t[i] = T(rng.Float64())
		}
		return
	}
	b := distuv.Beta{Alpha: d.Alpha, Beta: d.Beta, Src: rng}
	for i := range t {
		t[i] = T(b.Rand())
	}
}
