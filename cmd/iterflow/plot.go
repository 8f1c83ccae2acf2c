package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/pipeline"
)

func newPlotCmd() *cobra.Command {
	var seed uint64
	var dataDir, dataFile string
	cmd := &cobra.Command{
		Use:   "plot RUN",
		Short: "Redraw a run's PNG plots from its saved model and data",
		Long: `Redraw the PNG pictures of the run directory RUN (samples, marginals, model density and trajectories
for 2D data, training loss and movement per block) from the saved model, the rebuilt test split and the
loss curves in metrics.json, and print the files written (with --json: {"run": RUN, "files": [...]}).
The samples are drawn with the run's evaluation solver; --seed defaults to the run's seed, which redraws
the run's own samples. If the run's data file has moved, give its new path with --data (it must hold the
same rows: the test split is rebuilt from it and checked against the model's standardization).`,
		Example: `  iterflow plot runs/rose-lfm
  iterflow plot runs/wine-lfm --data /new/place/winequality-red.csv`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRun,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := pipeline.OpenRun(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("data-dir") {
				r.Config.DataDir = dataDir
			}
			useMovedData(cmd, r, dataFile)
			s := r.Config.Seed
			if cmd.Flags().Changed("seed") {
				s = seed
			}
			_, _, count := reporters(cmd)
			files, err := pipeline.Plot(cmd.Context(), r, pipeline.PlotOptions{Seed: s, Counter: count})
			if err != nil {
				return movedDataHint(cmd, err)
			}
			paths := make([]string, len(files))
			for i, f := range files {
				paths[i] = filepath.Join(args[0], f)
			}
			if _, jsonOut := globals(cmd); jsonOut {
				return printJSON(cmd.OutOrStdout(), struct {
					Run   string   `json:"run"`
					Files []string `json:"files"`
				}{args[0], paths})
			}
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the samples drawn for the pictures (default: the run's seed)")
	cmd.Flags().StringVar(&dataFile, "data", "", "the run's data file at a new path (it must hold the same rows: the test split is rebuilt from it and checked against the model's standardization)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory searched first for the run's named dataset (default: the run's, then $ITERFLOW_DATA, then the user cache directory)")
	return cmd
}
