package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/ode"
	"github.com/iterflow/iterflow/pipeline"
)

// solveOptions returns the run's eval config overridden by the flags, with
// its ODE options; errors name the flags.
func solveOptions(cmd *cobra.Command, r *pipeline.RunDir, sf *solverFlags) (pipeline.EvalConfig, uint64, ode.Options, error) {
	ec, seed := r.Config.Eval, r.Config.Seed
	sf.apply(cmd.Flags(), &ec, &seed)
	o, err := ec.ODE("eval")
	if err != nil {
		return ec, seed, o, fmt.Errorf("%w (set with --solver, --steps, --rtol, --atol, or in the run's config.yaml)", err)
	}
	if ec.BatchSize < 1 {
		return ec, seed, o, fmt.Errorf("--batch-size: must be at least 1, got %d", ec.BatchSize)
	}
	return ec, seed, o, nil
}

func newSampleCmd() *cobra.Command {
	var (
		n   int
		out string
		sf  solverFlags
	)
	cmd := &cobra.Command{
		Use:   "sample RUN -n N -o FILE",
		Short: "Draw samples from a trained run's model",
		Long: `Draw N samples from the model of the run directory RUN, in the units of the data it was trained on,
by integrating the chain of blocks backwards from latent draws z ~ N(0, I) (or the run's source).

FILE is CSV (header: the model's column names) or NPY (float64, shape (N, d)) by its extension;
-o - writes CSV to stdout (then --json prints its summary on stderr). The solver defaults to the run's
evaluation solver and the seed to the run's seed: with both, and -n equal to the run's eval samples,
the samples are the ones the run plotted.`,
		Example: `  iterflow sample runs/rose-lfm -n 5000 -o samples.csv
  iterflow sample runs/digits-lfm -n 100 -o samples.npy --solver rk4 --steps 20 --seed 7
  iterflow sample runs/rose-lfm -n 10 -o - --quiet`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRun,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 {
				return fmt.Errorf("-n: want at least 1 sample, got %d", n)
			}
			if _, err := outputFormat(out); err != nil {
				return err
			}
			if err := checkOutputPath(out); err != nil {
				return err
			}
			r, err := pipeline.OpenRun(args[0])
			if err == nil && n > maxSampleValues/r.Model.Dim() {
				err = fmt.Errorf("-n %d: %d samples × %s would take %.1f GB; draw at most %d per call (use several calls with different --seed)",
					n, n, wording.Plural(r.Model.Dim(), "column"), float64(n)*float64(r.Model.Dim())*8/1e9, maxSampleValues/r.Model.Dim())
			}
			if err != nil {
				return err
			}
			ec, seed, o, err := solveOptions(cmd, r, &sf)
			if err != nil {
				return err
			}
			log, _, count := reporters(cmd)
			m := r.Model
			t0 := time.Now()
			x, st, err := pipeline.SampleRows(cmd.Context(), m, n, flow.Options{Solver: o, BatchSize: ec.BatchSize, Rand: rand.New(rand.NewPCG(seed, 0x5a))}, count, "samples")
			if err != nil {
				return fmt.Errorf("sample %s: %w", args[0], err)
			}
			sec := time.Since(t0).Seconds()
			if err := writeMatrix(out, cmd.OutOrStdout(), x, n, m.Dim(), columnNames(m.Columns, m.Dim()), false); err != nil {
				return err
			}
			_, jsonOut := globals(cmd)
			if jsonOut {
				w := cmd.OutOrStdout()
				if out == "-" {
					w = cmd.ErrOrStderr()
				}
				return printJSON(w, struct {
					Run     string   `json:"run"`
					File    string   `json:"file"`
					N       int      `json:"n"`
					D       int      `json:"d"`
					Columns []string `json:"columns"`
					Seed    uint64   `json:"seed"`
					Solver  string   `json:"solver"`
					NFE     int      `json:"nfe"`
					Seconds float64  `json:"seconds"`
				}{args[0], out, n, m.Dim(), columnNames(m.Columns, m.Dim()), seed, ec.Describe(), st.NFE, sec})
			}
			infof(log, "wrote %s × %s to %s (%s, seed %d, NFE %d, %.2f s)", wording.Plural(n, "sample"), wording.Plural(m.Dim(), "column"), out, ec.Describe(), seed, st.NFE, sec)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&n, "n", "n", 1000, "number of samples to draw")
	f.StringVarP(&out, "out", "o", "", "output file: FILE.csv, FILE.npy, or - for CSV on stdout (required)")
	sf.bind(f, false)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// columnNames returns names, or x0, x1, ... when the model has none.
func columnNames(names []string, d int) []string {
	if len(names) == d {
		return names
	}
	out := make([]string, d)
	for j := range out {
		out[j] = fmt.Sprintf("x%d", j)
	}
	return out
}

// maxSampleValues bounds n·d of one sample call (800 MB of float64).
const maxSampleValues = 100_000_000
