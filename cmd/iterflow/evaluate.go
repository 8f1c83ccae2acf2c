package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/pipeline"
	"github.com/iterflow/iterflow/report"
)

func newEvaluateCmd() *cobra.Command {
	var (
		split string
		sf    solverFlags
	)
	var dataDir, dataFile string
	cmd := &cobra.Command{
		Use:   "evaluate RUN [--split test|val|train]",
		Short: "Recompute a run's NLL on one of its splits, beside the Gaussian baseline",
		Long: `Rebuild the split of the run directory RUN exactly as the run made it (same data file, columns, seed,
fractions and dequantization noise, from its config.yaml) and compute the NLL in nats per sample ± its
standard error (bits/dim for images), the NFE and the time, beside the full-covariance Gaussian fitted on
the run's training split. With the run's settings (the defaults), --split test reproduces metrics.json's
test_nll. Solver, trace and tolerances can be changed to study their effect; --seed only seeds the
Hutchinson probes (the split always uses the run's seed).

Prints a table, or with --json an object with the keys run, split, n, d, nll_defined, nll, nll_se,
gaussian_nll, gaussian_nll_se, solver, trace, batch_size, nfe, seconds (and bits_per_dim for images).`,
		Example: `  iterflow evaluate runs/wine-lfm
  iterflow evaluate runs/wine-lfm --split val --solver rk4 --steps 100 --json
  iterflow evaluate runs/wine-lfm --data /new/place/winequality-red.csv`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRun,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch split {
			case "test", "val", "validation", "train":
			default:
				return fmt.Errorf("--split: unknown split %q (want test, val or train)", split)
			}
			r, err := pipeline.OpenRun(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("data-dir") {
				r.Config.DataDir = dataDir
			}
			useMovedData(cmd, r, dataFile)
			ec, seed, _, err := solveOptions(cmd, r, &sf)
			if err != nil {
				return err
			}
			_, _, count := reporters(cmd)
			ev, err := pipeline.Evaluate(cmd.Context(), r, pipeline.EvalOptions{Split: split, Eval: ec, Seed: seed, Counter: count})
			if err != nil {
				return movedDataHint(cmd, err)
			}
			if _, jsonOut := globals(cmd); jsonOut {
				return printJSON(cmd.OutOrStdout(), ev)
			}
			printEvaluation(cmd.OutOrStdout(), r, ev)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&split, "split", "test", "split to evaluate: test, val or train")
	sf.bind(f, true)
	_ = cmd.RegisterFlagCompletionFunc("split", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"test", "val", "train"}, cobra.ShellCompDirectiveNoFileComp
	})
	cmd.Flags().StringVar(&dataFile, "data", "", "the run's data file at a new path (it must hold the same rows: the split is rebuilt from it and checked against the model's standardization)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory searched first for the run's named dataset (default: the run's, then $ITERFLOW_DATA, then the user cache directory)")
	return cmd
}

// printEvaluation writes an evaluation as a table.
func printEvaluation(w io.Writer, r *pipeline.RunDir, ev *pipeline.Evaluation) {
	fmt.Fprintf(w, "run %s: %s split, %s × %s\n\n", ev.Run, ev.Split, wording.Plural(ev.N, "row"), wording.Plural(ev.D, "column"))
	headers := []string{"model", "NLL (nats/sample)", "± s.e."}
	image := ev.GaussianBitsPerDim != 0
	if image {
		headers = append(headers, "bits/dim")
	}
	var rows [][]string
	if ev.NLLDefined {
		row := []string{r.Config.Method, fmt.Sprintf("%.4f", ev.NLL), fmt.Sprintf("%.4f", ev.NLLSE)}
		if image {
			row = append(row, fmt.Sprintf("%.4f", ev.BitsPerDim))
		}
		rows = append(rows, row)
	}
	g := []string{"Gaussian (fit on train)", fmt.Sprintf("%.4f", ev.GaussianNLL), fmt.Sprintf("%.4f", ev.GaussianNLLSE)}
	if image {
		g = append(g, fmt.Sprintf("%.4f", ev.GaussianBitsPerDim))
	}
	rows = append(rows, g)
	fmt.Fprint(w, report.Table(headers, rows))
	if ev.NLLDefined {
		fmt.Fprintf(w, "\n%s, %s trace, batch %d, NFE %d, %.2f s\n", ev.Solver, ev.Trace, ev.BatchSize, ev.NFE, ev.Seconds)
	} else {
		fmt.Fprintf(w, "\nno model NLL: the model was trained from the source %q, not N(0, I)\n", r.Model.Source)
	}
}

// useMovedData points the run's config at --data (evaluate, plot): the run's
// data file at a new path, whose rows the split check then compares with
// the model's standardization.
func useMovedData(cmd *cobra.Command, r *pipeline.RunDir, path string) {
	if cmd.Flags().Changed("data") {
		r.Config.Data = absDataPath(path)
	}
}

// movedDataHint adds to a missing-file error of evaluate or plot (without
// --data) the hint that --data takes a moved data file.
func movedDataHint(cmd *cobra.Command, err error) error {
	if errors.Is(err, fs.ErrNotExist) && !cmd.Flags().Changed("data") {
		return fmt.Errorf("%w; if the run's data file has moved, give its new path with --data", err)
	}
	return err
}
