package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// methodFlags lists the train flags that only some methods read, with those
// methods. A flag set explicitly for another method has no effect, which is
// almost always a mistake (a copied command line, a wrong --method), so
// train warns about it.
var methodFlags = map[string][]string{
	// Local Flow Matching's OU schedule and interpolant.
	"gammas": {"lfm"}, "blocks": {"lfm"}, "gamma-c": {"lfm"}, "gamma-rho": {"lfm"}, "free-block": {"lfm"},
	"interpolant": {"lfm"}, "time-dist": {"lfm", "cfm", "otcfm", "rf"},
	// JKO-iFlow's schedule and blocks.
	"h0": {"jko"}, "rho": {"jko"}, "h-max": {"jko"}, "max-blocks": {"jko"}, "jko-steps": {"jko"},
	"jko-free-block": {"jko"}, "linear": {"jko"}, "rk4-steps": {"jko"}, "probe": {"jko"}, "reparam": {"jko"},
	"refine": {"jko"}, "stop-tol": {"jko"}, "sigma0": {"jko"}, "eta": {"jko"},
	// The global flow-matching methods.
	"coupling": {"cfm", "otcfm", "rf"}, "sinkhorn-eps": {"cfm", "otcfm", "rf"}, "fm-interpolant": {"cfm", "otcfm", "rf"},
	"sigma": {"cfm", "otcfm", "rf"}, "ot-batch": {"cfm", "otcfm", "rf"},
	"reflow": {"rf"}, "reflow-pairs": {"rf"},
	// Maximum-likelihood training.
	"mle-blocks": {"mle"}, "kinetic": {"mle"}, "jacobian": {"mle"},
}

// overridingFlags lists flags that, when set, make others moot: explicit
// OU steps replace the geometric schedule, explicit JKO steps the JKO one.
var overridingFlags = map[string][]string{
	"gammas":    {"blocks", "gamma-c", "gamma-rho"},
	"jko-steps": {"h0", "rho", "h-max", "max-blocks"},
}

// unusedMethodFlags returns one warning for each flag set in fs that method
// does not read, naming the methods that do (in the order the flags were
// given), and one for each flag made moot by another (overridingFlags).
func unusedMethodFlags(fs *pflag.FlagSet, method string) []string {
	var out []string
	fs.Visit(func(fl *pflag.Flag) {
		ms, ok := methodFlags[fl.Name]
		if !ok || slices.Contains(ms, method) {
			return
		}
		out = append(out, fmt.Sprintf("warning: --%s has no effect with --method %s (it applies to %s)",
			fl.Name, method, strings.Join(ms, ", ")))
	})
	for over, moot := range overridingFlags {
		if !fs.Changed(over) {
			continue
		}
		for _, name := range moot {
			if fs.Changed(name) {
				out = append(out, fmt.Sprintf("warning: --%s has no effect with --%s (the explicit steps decide)", name, over))
			}
		}
	}
	return out
}
