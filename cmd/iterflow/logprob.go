package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/pipeline"
)

// selectColumns returns the rows of t that the model scores. With an explicit
// selection (--columns) it applies it. Otherwise, when the file has a header,
// the model's columns are taken by name (an error when a name is missing);
// without a header, t itself when it has exactly d columns, else the run's
// column selection. Errors name the file, the widths and the model's columns.
func selectColumns(path string, t *data.Table, r *pipeline.RunDir, columns string) (*data.Table, error) {
	m := r.Model
	d := m.Dim()
	names := columnNames(m.Columns, d)
	check := func(s *data.Table, how string) (*data.Table, error) {
		if s.D != d {
			return nil, fmt.Errorf("%s: %s selects %d columns; the model expects %d (columns: %s)", path, how, s.D, d, strings.Join(names, ", "))
		}
		return s, nil
	}
	if columns != "" {
		s, err := t.Select(columns)
		if err != nil {
			return nil, fmt.Errorf("%s: --columns: %w", path, err)
		}
		return check(s, "--columns "+columns)
	}
	if hasHeader(t) && m.Columns != nil {
		if slices.Equal(t.Names, m.Columns) {
			return t, nil
		}
		var missing []string
		for _, c := range m.Columns {
			if !slices.Contains(t.Names, c) {
				missing = append(missing, fmt.Sprintf("%q", c))
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s: its header lacks the model's column(s) %s (the model's columns: %s); rename them, or pick columns by position with --columns", path, strings.Join(missing, ", "), strings.Join(names, ", "))
		}
		s, err := t.Select(strings.Join(m.Columns, ","))
		if err != nil {
			return nil, fmt.Errorf("%s: selecting the model's columns by name: %w", path, err)
		}
		return check(s, "the header")
	}
	if t.D == d {
		return t, nil
	}
	widthErr := fmt.Errorf("%s has %d columns; the model expects %d (columns: %s)", path, t.D, d, strings.Join(names, ", "))
	sel := r.Config.Columns
	if sel == "" {
		return nil, widthErr
	}
	s, err := t.Select(sel)
	if err != nil {
		return nil, fmt.Errorf("%w; selecting the run's columns %q: %v", widthErr, sel, err)
	}
	if s.D != d {
		return nil, fmt.Errorf("%w; the run's columns %q select %d", widthErr, sel, s.D)
	}
	return s, nil
}

// hasHeader reports whether t's column names came from a header (not the
// default names x0, x1, … of a file without one).
func hasHeader(t *data.Table) bool {
	for j, n := range t.Names {
		if n != "x"+strconv.Itoa(j) {
			return true
		}
	}
	return false
}

func newLogProbCmd() *cobra.Command {
	var (
		out, columns string
		sf           solverFlags
	)
	cmd := &cobra.Command{
		Use:   "logprob RUN DATA -o FILE",
		Short: "Score the rows of a data file: log p(x) in nats under a trained run's model",
		Long: `Compute log p(x) in nats for every row of DATA under the model of the run directory RUN, in the units
of the data (the standardization's log-determinant included), by the instantaneous change of variables
through the chain of blocks.

DATA is any file iterflow train reads (CSV/TSV/TXT/DATA, NPY, NPZ, Parquet, optionally gzipped). With
--columns, those columns are scored. Otherwise, when DATA has a header, the model's columns are taken by
name (a missing name is an error); without a header, DATA is used as is when it has exactly as many
columns as the model, else the run's column selection (--columns of the run, from its config.yaml). Columns that the run dequantized (integer-valued) are scored as
given: add U[0, 1) noise yourself for the dequantized likelihood.

FILE gets one log p per row: CSV (header log_prob) or NPY (float64, shape (n,)) by its extension; - writes
CSV to stdout. A summary (mean log p ± standard error, NFE, time) goes to stderr, or as JSON to stdout
with --json (to stderr when -o -). Solver, trace and tolerances default to the run's eval config.`,
		Example: `  iterflow logprob runs/wine-lfm wine.csv -o logp.csv
  iterflow logprob runs/wine-lfm wine.csv -o logp.npy --solver rk4 --steps 50 --json
  iterflow logprob runs/rose-lfm points.csv -o - --trace hutchinson --seed 3`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return nil, cobra.ShellCompDirectiveFilterDirs
			case 1:
				return nil, cobra.ShellCompDirectiveDefault
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := outputFormat(out); err != nil {
				return err
			}
			r, err := pipeline.OpenRun(args[0])
			if err != nil {
				return err
			}
			ec, seed, o, err := solveOptions(cmd, r, &sf)
			if err != nil {
				return err
			}
			trace, err := flow.ParseTrace(ec.Trace)
			if err != nil {
				return fmt.Errorf("--trace: %v", err)
			}
			t, err := data.Load(args[1])
			if err != nil {
				return err
			}
			if t, err = selectColumns(args[1], t, r, columns); err != nil {
				return err
			}
			log, _, count := reporters(cmd)
			t0 := time.Now()
			fopt := flow.Options{Solver: o, Trace: trace, BatchSize: ec.BatchSize, Rand: rand.New(rand.NewPCG(seed, 0xe7))}
			lp, st, err := pipeline.LogProbRows(cmd.Context(), r.Model, t.X, t.N, fopt, count, "log-likelihood")
			if err != nil {
				return fmt.Errorf("logprob %s: %w", args[1], err)
			}
			sec := time.Since(t0).Seconds()
			if err := writeMatrix(out, cmd.OutOrStdout(), lp, t.N, 1, []string{"log_prob"}, true); err != nil {
				return err
			}
			mean, se := meanSE(lp)
			_, jsonOut := globals(cmd)
			if jsonOut {
				w := cmd.OutOrStdout()
				if out == "-" {
					w = cmd.ErrOrStderr()
				}
				return printJSON(w, struct {
					Run         string  `json:"run"`
					Data        string  `json:"data"`
					File        string  `json:"file"`
					N           int     `json:"n"`
					D           int     `json:"d"`
					MeanLogProb float64 `json:"mean_log_prob"`
					SE          float64 `json:"se"`
					Solver      string  `json:"solver"`
					Trace       string  `json:"trace"`
					NFE         int     `json:"nfe"`
					Seconds     float64 `json:"seconds"`
				}{args[0], args[1], out, t.N, t.D, mean, se, ec.Describe(), trace.String(), st.NFE, sec})
			}
			infof(log, "log p: mean %.4f ± %.4f nats over %d rows (NLL %.4f); %s, %s trace, NFE %d, %.2f s; written to %s",
				mean, se, t.N, -mean, ec.Describe(), trace, st.NFE, sec, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&columns, "columns", "", `columns of DATA to score, by index, range or name ("0-10", "alcohol,pH"; default: by header name, else all or the run's selection)`)
	f.StringVarP(&out, "out", "o", "", "output file: FILE.csv, FILE.npy, or - for CSV on stdout (required)")
	sf.bind(f, true)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// meanSE returns the mean of v and its standard error.
func meanSE(v []float64) (mean, se float64) {
	n := float64(len(v))
	for _, x := range v {
		mean += x
	}
	mean /= n
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}
