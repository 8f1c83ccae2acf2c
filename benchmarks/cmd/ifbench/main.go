// Command ifbench is the Go side of iterflow's side-by-side benchmark against
// the Python peers (iterflow issue 6; benchmarks/README.md). It writes the
// preprocessed splits every contender trains on, trains and scores iterflow
// on them under a wall-clock budget, and runs the likelihood-speed and
// training-speed measurements whose Python halves live in benchmarks/*.py.
//
//	ifbench splits    -data NAME -data-dir DIR -seed 1 -out DIR
//	ifbench fit       -split DIR -method lfm -budget 20 -seed 1 -out DIR
//	ifbench lbench    -d 43 -n 1000 -rtol 1e-8 -atol 1e-8 -out DIR
//	ifbench trainstep -d 2 -batch 4096 -steps 20 -prec f32
//	ifbench paper     -data-dir DIR -budget 3600
//
// Each command prints one JSON object on stdout; errors go to stderr with a
// non-zero exit status.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ifbench splits|fit|lbench|trainstep|paper [flags]")
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "splits":
		err = cmdSplits(args)
	case "fit":
		err = cmdFit(args)
	case "lbench":
		err = cmdLBench(args)
	case "trainstep":
		err = cmdTrainStep(args)
	case "paper":
		err = cmdPaper(args)
	default:
		err = fmt.Errorf("unknown command %q (want splits, fit, lbench, trainstep or paper)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ifbench:", err)
		os.Exit(1)
	}
}

// printJSON writes v as indented JSON to stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
