package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/internal/atomicfile"
	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/model"
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
			return nil, fmt.Errorf("%s: %s selects %s; the model expects %d (columns: %s)", path, how, wording.Plural(s.D, "column"), d, strings.Join(names, ", "))
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
		var missing, idx []string
		for _, c := range m.Columns {
			j, err := headerIndex(t.Names, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if j < 0 {
				missing = append(missing, fmt.Sprintf("%q", c))
				continue
			}
			idx = append(idx, strconv.Itoa(j))
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s: its header lacks the model's column(s) %s (the model's columns: %s); rename them, or pick columns by position with --columns", path, strings.Join(missing, ", "), strings.Join(names, ", "))
		}
		s, err := t.Select(strings.Join(idx, ","))
		if err != nil {
			return nil, fmt.Errorf("%s: selecting the model's columns by name: %w", path, err)
		}
		return check(s, "the header")
	}
	if t.D == d {
		return t, nil
	}
	widthErr := fmt.Errorf("%s has %s; the model expects %d (columns: %s)", path, wording.Plural(t.D, "column"), d, strings.Join(names, ", "))
	if t.D > d {
		widthErr = fmt.Errorf("%w; pick them with --columns (e.g. --columns 0-%d)", widthErr, d-1)
	}
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

// headerIndex returns the index of the header column called name by
// data.HeaderIndex (spaces around header names ignored; the exact match,
// else the one match ignoring case, so a header "Alcohol" finds the model's
// column "alcohol"; else −1), the rule the server (package serve) applies to
// CSV headers too. Two exact matches, or no exact match and two that differ
// only in case, are an error naming both columns (counting from 0) in the
// command's terms.
func headerIndex(header []string, name string) (int, error) {
	j, err := data.HeaderIndex(header, name)
	var me *data.HeaderMatchError
	switch {
	case errors.As(err, &me) && me.IgnoringCase:
		return -1, fmt.Errorf("the header's columns %d and %d (counting from 0) both match the model's column %q ignoring case; rename one, or pick columns with --columns", me.First, me.Second, name)
	case me != nil:
		return -1, fmt.Errorf("the header names the model's column %q twice (columns %d and %d, counting from 0)", name, me.First, me.Second)
	}
	return j, err
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
		out, columns, onError string
		sf                    solverFlags
	)
	cmd := &cobra.Command{
		Use:   "logprob RUN DATA -o FILE",
		Short: "Score the rows of a data file: log p(x) in nats under a trained run's model",
		Long: `Compute log p(x) in nats for every row of DATA under the model of the run directory RUN, in the units
of the data (the standardization's log-determinant included), by the instantaneous change of variables
through the chain of blocks.

DATA is any file iterflow train reads (CSV/TSV/TXT/DATA, NPY, NPZ, Parquet, optionally gzipped), or - for
standard input (CSV, optionally gzipped, or NPY by its magic bytes; copied to a temporary file first). With
--columns, those columns are scored. Otherwise, when DATA has a header, the model's columns are taken by
name, in any order (a name matches exactly, else ignoring case when only one header name does; a missing
name is an error); without a header, DATA is used as is when it has exactly as many
columns as the model, else the run's column selection (--columns of the run, from its config.yaml). Columns that the run dequantized (integer-valued) are scored as
given: add U[0, 1) noise yourself for the dequantized likelihood.

Rows are read and scored in chunks (a multiple of the eval batch size, about 65536 rows) and the
results written as they come, so files larger than memory can be scored; batches within a chunk are
solved on --threads workers (see "iterflow --help").

FILE gets one log p per row: CSV (header log_prob) or NPY (float64, shape (n,)) by its extension; - writes
CSV to stdout. FILE is replaced only when every row was scored (stdout gets the rows scored before an
error). A row whose solve fails (far outside the training data) stops the command with its row number;
with --on-error nan it gets NaN instead, and the summary counts such rows. A summary (mean log p ± standard error, NFE, time) goes to stderr, or as JSON to stdout
with --json (to stderr when -o -). Solver, trace and tolerances default to the run's eval config.`,
		Example: `  iterflow logprob runs/wine-lfm wine.csv -o logp.csv
  iterflow logprob runs/wine-lfm wine.csv -o logp.npy --solver rk4 --steps 50 --json
  iterflow logprob runs/rose-lfm points.csv -o - --trace hutchinson --seed 3
  zcat points.csv.gz | iterflow logprob runs/rose-lfm - -o logp.csv`,
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
			if err := checkOutputPath(out); err != nil {
				return err
			}
			if onError != "fail" && onError != "nan" {
				return fmt.Errorf("--on-error: unknown value %q (want fail or nan)", onError)
			}
			r, err := pipeline.OpenRun(args[0])
			if err != nil {
				return err
			}
			if err := checkLogDensity(args[0], r.Model); err != nil {
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
			in, err := openInput(args[1], cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer in.Close()
			rd := in.rd
			cols, err := streamColumns(in.name, rd, r, columns)
			if err != nil {
				return err
			}
			log, _, count := reporters(cmd)
			total := -1
			if count != nil {
				// For the progress report only (a fast pass without parsing
				// numbers for CSV).
				if total, err = in.countRows(); err != nil {
					return err
				}
			}
			t0 := time.Now()
			fopt := flow.Options{Solver: o, Trace: trace, BatchSize: ec.BatchSize, Rand: rand.New(rand.NewPCG(seed, 0xe7)), Workers: flowWorkers(cmd)}
			var sum scoreSummary
			err = writeStream(out, cmd.OutOrStdout(), func(emit func([]float64) error) error {
				var err error
				sum, err = scoreStream(cmd.Context(), rd, cols, r.Model, fopt, streamChunk(ec.BatchSize), emit, count, total, onError == "nan")
				return err
			})
			if err != nil {
				var ie *inputError
				var ne *nonFiniteInputError
				if errors.As(err, &ie) || errors.As(err, &ne) {
					return err // it names the input ("load stdin: …") already
				}
				return fmt.Errorf("logprob %s: %w", in.name, err)
			}
			sec := time.Since(t0).Seconds()
			st := sum.stats
			mean, se := sum.meanSE()
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
					Failed      int     `json:"failed_rows"`
					D           int     `json:"d"`
					MeanLogProb float64 `json:"mean_log_prob"`
					SE          float64 `json:"se"`
					Solver      string  `json:"solver"`
					Trace       string  `json:"trace"`
					NFE         int     `json:"nfe"`
					Seconds     float64 `json:"seconds"`
				}{args[0], args[1], out, sum.n, sum.failed, r.Model.Dim(), mean, se, ec.Describe(), trace.String(), st.NFE, sec})
			}
			infof(log, "log p: mean %.4f ± %.4f nats over %s (NLL %.4f); %s, %s trace, NFE %d, %.2f s; written to %s",
				mean, se, wording.Plural(sum.n, "row"), -mean, ec.Describe(), trace, st.NFE, sec, out)
			if sum.failed > 0 {
				infof(log, "%s", failedRowsNote(sum.failed, sum.firstFailed))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&columns, "columns", "", `columns of DATA to score, by index, range or name ("0-10", "alcohol,pH"; default: by header name, else all or the run's selection)`)
	f.StringVarP(&out, "out", "o", "", "output file: FILE.csv, FILE.npy, or - for CSV on stdout (required)")
	f.StringVar(&onError, "on-error", "fail", `a row whose solve fails (far outside the training data): "fail" stops with its row number, "nan" writes NaN for it, counts it and goes on`)
	sf.bind(f, true)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// checkLogDensity returns an error naming the run directory run when the
// model m has no log-density (it was trained from a 2D source, not N(0, I)),
// so that logprob fails before it reads DATA or writes FILE.
func checkLogDensity(run string, m *model.Model) error {
	if m.Source != "" {
		return fmt.Errorf("%s: the model was trained from the source %q, not N(0, I): it has no log-density", run, m.Source)
	}
	return nil
}

// inputError is an error of reading DATA; its message names DATA already
// ("load FILE: …"), so logprob adds no prefix of its own.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// nonFiniteInputError is the row reader's error for a NaN or ±Inf value of
// DATA (errors.Is data.ErrNonFinite), with its advice for the Go API
// (data.NonFiniteRowAdvice) replaced by what a user of the command can do, e.g. `load stdin: line 2,
// column 2 ("y") is NaN; logprob scores finite rows only: remove or impute
// such rows first (--on-error nan covers failed solves, not NaN or Inf in
// the input)`.
type nonFiniteInputError struct{ err error }

func (e *nonFiniteInputError) Error() string {
	return strings.TrimSuffix(e.err.Error(), data.NonFiniteRowAdvice) +
		"; logprob scores finite rows only: remove or impute such rows first (--on-error nan covers failed solves, not NaN or Inf in the input)"
}
func (e *nonFiniteInputError) Unwrap() error { return e.err }

// failedRowsNote is the summary line for the failed rows of --on-error nan
// (failed ≥ 1; first counts from 0).
func failedRowsNote(failed, first int) string {
	if failed == 1 {
		return fmt.Sprintf("1 row could not be scored (the ODE solve failed; row %d, counting from 0) and was written as NaN; it may lie far outside the training data", first)
	}
	return fmt.Sprintf("%d rows could not be scored (the ODE solve failed; first: row %d, counting from 0) and were written as NaN; they may lie far outside the training data", failed, first)
}

// streamColumns decides which columns of the rows that rd yields the model
// scores, with the rules and messages of selectColumns: it applies
// selectColumns to a one-row table whose value j is j, so the selected row
// lists the column indices.
func streamColumns(path string, rd data.RowReader, r *pipeline.RunDir, columns string) ([]int, error) {
	w := rd.D()
	probe := &data.Table{X: make([]float64, w), N: 1, D: w, Names: rd.Names()}
	for j := range probe.X {
		probe.X[j] = float64(j)
	}
	s, err := selectColumns(path, probe, r, columns)
	if err != nil {
		return nil, err
	}
	cols := make([]int, s.D)
	for k, v := range s.X {
		cols[k] = int(v)
	}
	return cols, nil
}

// streamChunkRows is the target number of rows read and scored at a time.
const streamChunkRows = 65536

// streamChunk returns the chunk size: the multiple of the batch size bs
// (0: flow.DefaultBatchSize) nearest above streamChunkRows, so that chunks
// split into the same batches as the whole file would.
func streamChunk(bs int) int {
	if bs <= 0 {
		bs = flow.DefaultBatchSize
	}
	return bs * ((streamChunkRows + bs - 1) / bs)
}

// scoreSummary accumulates the log-densities of a stream: the count, mean
// and sum of squared deviations (Welford's update), and the merged solver
// stats.
type scoreSummary struct {
	n     int
	mean  float64
	m2    float64
	stats flow.Stats
	// failed counts the rows written as NaN (--on-error nan) and
	// firstFailed is the first, counting from 0 over the whole stream.
	failed, firstFailed int
	rows                int // rows read so far
}

// add folds a chunk's log-densities into the summary; NaN (rows whose solve
// failed) are counted as failed, not averaged.
func (s *scoreSummary) add(lp []float64) {
	for k, v := range lp {
		if math.IsNaN(v) {
			if s.failed == 0 {
				s.firstFailed = s.rows + k
			}
			s.failed++
			continue
		}
		s.n++
		d := v - s.mean
		s.mean += d / float64(s.n)
		s.m2 += d * (v - s.mean)
	}
	s.rows += len(lp)
}

// meanSE returns the mean log p and its standard error.
func (s *scoreSummary) meanSE() (mean, se float64) {
	if s.n > 1 {
		se = math.Sqrt(s.m2 / float64(s.n-1) / float64(s.n))
	}
	return s.mean, se
}

// scoreStream reads rd in chunks of chunk rows, keeps the columns cols (in
// that order; len(cols) = m.Dim()), scores each chunk with m.LogProb and
// passes its log-densities to emit. Memory is O(chunk·(width + d)) whatever
// the number of rows. A failed solve names the row counting from 0 over the
// whole file, or, with keepGoing, gives that row NaN (logProbOrNaN) and the
// stream goes on. c (nil: none) follows the progress over total rows.
func scoreStream(ctx context.Context, rd data.RowReader, cols []int, m *model.Model, opt flow.Options, chunk int, emit func([]float64) error, c pipeline.Counter, total int, keepGoing bool) (scoreSummary, error) {
	var sum scoreSummary
	w, d := rd.D(), m.Dim()
	if len(cols) != d {
		return sum, fmt.Errorf("%s selected, the model expects %d", wording.Plural(len(cols), "column"), d)
	}
	in := make([]float64, chunk*w)
	x := make([]float64, chunk*d)
	if c != nil {
		c.Start("log-likelihood", total)
		defer c.Finish()
	}
	for {
		n, err := rd.Next(in, chunk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, data.ErrNonFinite) {
				return sum, &nonFiniteInputError{err: err}
			}
			return sum, &inputError{err: err}
		}
		for i := 0; i < n; i++ {
			row, dst := in[i*w:(i+1)*w], x[i*d:(i+1)*d]
			for k, j := range cols {
				dst[k] = row[j]
			}
		}
		logProb := m.LogProb
		if keepGoing {
			logProb = func(ctx context.Context, x []float64, n int, opt flow.Options) ([]float64, flow.Stats, error) {
				return logProbOrNaN(ctx, m, x, n, opt)
			}
		}
		lp, st, err := logProb(ctx, x[:n*d], n, opt)
		if err != nil {
			var re *model.RowError
			if errors.As(err, &re) {
				return sum, fmt.Errorf("row %d (counting from 0): %w; the row may lie far outside the training data", sum.rows+re.Row, re.Err)
			}
			return sum, fmt.Errorf("rows %d–%d (counting from 0): %w", sum.rows, sum.rows+n-1, err)
		}
		mergeFlowStats(&sum.stats, st)
		sum.add(lp)
		if err := emit(lp); err != nil {
			return sum, err
		}
		if c != nil {
			c.Add(n)
		}
	}
	if sum.rows == 0 {
		return sum, errors.New("no rows to score")
	}
	return sum, nil
}

// logProbOrNaN is m.LogProb over n rows of x (n×d) that gives NaN to each
// row whose solve fails (a *model.RowError) instead of failing the batch: a
// failing batch is split in halves until the failing rows stand alone, so k
// bad rows cost O(k log n) extra solves. Other errors (cancellation) are
// returned.
func logProbOrNaN(ctx context.Context, m *model.Model, x []float64, n int, opt flow.Options) ([]float64, flow.Stats, error) {
	lp, st, err := m.LogProb(ctx, x, n, opt)
	if err == nil {
		return lp, st, nil
	}
	var re *model.RowError
	if !errors.As(err, &re) || ctx.Err() != nil {
		return nil, st, err
	}
	if n == 1 {
		return []float64{math.NaN()}, st, nil
	}
	d := m.Dim()
	h := n / 2
	a, sa, err := logProbOrNaN(ctx, m, x[:h*d], h, opt)
	if err != nil {
		return nil, sa, err
	}
	b, sb, err := logProbOrNaN(ctx, m, x[h*d:], n-h, opt)
	if err != nil {
		return nil, sb, err
	}
	mergeFlowStats(&sa, sb)
	return append(a, b...), sa, nil
}

// mergeFlowStats merges the stats of one chunk into s as flow merges batches
// (the batch that needed the most evaluations).
func mergeFlowStats(s *flow.Stats, b flow.Stats) {
	if s.Batches == 0 || b.NFE > s.NFE {
		s.NFE, s.Steps, s.Rejected = b.NFE, b.Steps, b.Rejected
	}
	s.Batches += b.Batches
	s.Workers = max(s.Workers, b.Workers)
}

// writeStream writes a log-density column to path as produce emits it: CSV
// (header log_prob) written as it comes, or NPY of shape (n,), whose values
// go to a temporary file until n is known. Files are replaced atomically
// when produce succeeds; "-" streams CSV to stdout.
func writeStream(path string, stdout io.Writer, produce func(emit func([]float64) error) error) error {
	format, err := outputFormat(path)
	if err != nil {
		return err
	}
	csvTo := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		// The header goes out with the first values (or at a successful end
		// with none), so that an input that fails before any row is scored
		// writes nothing to stdout.
		started := false
		var b []byte
		err := produce(func(lp []float64) error {
			if !started {
				started = true
				if _, err := bw.WriteString("log_prob\n"); err != nil {
					return err
				}
			}
			for _, v := range lp {
				b = strconv.AppendFloat(b[:0], v, 'g', -1, 64)
				b = append(b, '\n')
				if _, err := bw.Write(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && !started {
			_, err = bw.WriteString("log_prob\n")
		}
		if !started && err != nil {
			return err // nothing was written
		}
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	if path == "-" {
		return csvTo(stdout)
	}
	if format == "csv" {
		// An error of the input or the solves is reported as itself; only
		// the output file's own failures get the "-o:" prefix.
		var inErr error
		err := atomicfile.WriteFile(path, func(w io.Writer) error {
			inErr = csvTo(w)
			return inErr
		})
		if inErr != nil {
			return inErr
		}
		if err != nil {
			return fmt.Errorf("-o: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".values-*")
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	n := 0
	var b []byte
	err = produce(func(lp []float64) error {
		b = b[:0]
		for _, v := range lp {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		n += len(lp)
		_, err := bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	err = atomicfile.WriteFile(path, func(w io.Writer) error {
		if err := writeNPY(w, nil, n, 1, true); err != nil {
			return err
		}
		_, err := io.Copy(w, tmp)
		return err
	})
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}
