package main

import (
	"github.com/spf13/pflag"

	"github.com/iterflow/iterflow/pipeline"
)

// bindInputFlags defines the train flags that choose how bad input rows and
// columns are handled, bound to c: --drop-nonfinite (config drop_nonfinite)
// and --drop-constant (config drop_constant).
func bindInputFlags(f *pflag.FlagSet, c *pipeline.Config) {
	f.BoolVar(&c.DropNonFinite, "drop-nonfinite", false, "drop the rows of a data file that hold NaN or Inf (counted in the log) instead of refusing the file")
	f.BoolVar(&c.DropConstant, "drop-constant", false, "drop constant columns with a warning instead of refusing the data")
}

// applyInputFlag copies the flag called name from the flag-bound config src
// into cfg if it is one of bindInputFlags' flags, and reports whether it was.
func applyInputFlag(name string, cfg, src *pipeline.Config) bool {
	switch name {
	case "drop-nonfinite":
		cfg.DropNonFinite = src.DropNonFinite
	case "drop-constant":
		cfg.DropConstant = src.DropConstant
	default:
		return false
	}
	return true
}
