package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iterflow/iterflow/internal/atomicfile"
	"github.com/iterflow/iterflow/pipeline"
)

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// outputFormat returns "csv" or "npy" for an output path ("-" is CSV on
// stdout), or an error naming the flag and the path.
func outputFormat(path string) (string, error) {
	lower := strings.ToLower(path)
	switch {
	case path == "-" || strings.HasSuffix(lower, ".csv"):
		return "csv", nil
	case strings.HasSuffix(lower, ".npy"):
		return "npy", nil
	case path == "":
		return "", fmt.Errorf("-o: no output file; give FILE.csv, FILE.npy or - (CSV on stdout)")
	}
	return "", fmt.Errorf("-o %s: unknown output format; give a name ending in .csv or .npy, or - for CSV on stdout", path)
}

// checkOutputPath fails early, before any work, when the output file path
// ("-": stdout, always fine) cannot be written: its directory is missing or
// not a directory, the path is a directory, or a file cannot be created next
// to it (the atomic write's temporary file is tried and removed). Errors
// name the flag and the path.
func checkOutputPath(path string) error {
	if path == "-" {
		return nil
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-o %s: directory %s does not exist; create it first", path, dir)
	case err != nil:
		return fmt.Errorf("-o %s: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("-o %s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("-o %s: is a directory; give a file name", path)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("-o %s: cannot create a file in %s: %w", path, dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("-o %s: remove the test file %s: %w", path, name, err)
	}
	return nil
}

// writeMatrix writes the n×d row-major matrix x to path (CSV with a header of
// names, or NPY float64 of shape (n, d), or (n,) when vector is set), or as
// CSV to stdout for "-". Files are written atomically.
func writeMatrix(path string, stdout io.Writer, x []float64, n, d int, names []string, vector bool) error {
	format, err := outputFormat(path)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if format == "npy" {
			return writeNPY(w, x, n, d, vector)
		}
		return writeCSV(w, x, n, d, names)
	}
	if path == "-" {
		return write(stdout)
	}
	if err := atomicfile.WriteFile(path, write); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}

// writeCSV writes a header line of names and n rows of d numbers in the
// shortest form that reads back exactly.
func writeCSV(w io.Writer, x []float64, n, d int, names []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(names); err != nil {
		return err
	}
	row := make([]string, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			row[j] = strconv.FormatFloat(x[i*d+j], 'g', -1, 64)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeNPY writes x as a NumPy .npy file (format 1.0, little-endian float64,
// C order) of shape (n, d), or (n,) when vector is set.
func writeNPY(w io.Writer, x []float64, n, d int, vector bool) error {
	shape := fmt.Sprintf("(%d, %d)", n, d)
	if vector {
		shape = fmt.Sprintf("(%d,)", n)
	}
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape)
	// magic (6) + version (2) + header length (2) + header + padding + '\n'
	// is a multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	buf := make([]byte, 0, 10+len(header)+8*len(x))
	buf = append(buf, "\x93NUMPY\x01\x00"...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range x {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	_, err := w.Write(buf)
	return err
}

// solverFlags are the likelihood and sampling settings of sample, logprob
// and evaluate; flags left unset keep the run's eval config.
type solverFlags struct {
	solver     string
	steps      int
	rtol, atol float64
	trace      string
	batch      int
	seed       uint64
}

// bind defines the flags on f; trace adds --trace.
func (s *solverFlags) bind(f *pflag.FlagSet, trace bool) {
	f.StringVar(&s.solver, "solver", "", "ODE solver: dopri5 (adaptive), rk4, midpoint or euler (default: the run's eval solver)")
	f.IntVar(&s.steps, "steps", 0, "steps per block of a fixed-step solver (default: the run's)")
	f.Float64Var(&s.rtol, "rtol", 0, "relative tolerance of dopri5 (default: the run's)")
	f.Float64Var(&s.atol, "atol", 0, "absolute tolerance of dopri5 (default: the run's)")
	f.IntVar(&s.batch, "batch-size", 0, "rows per solve; dopri5 results depend slightly on it (default: the run's)")
	if trace {
		f.StringVar(&s.trace, "trace", "", "divergence estimator: exact, hutchinson or fd-hutchinson (default: the run's)")
	}
	f.Uint64Var(&s.seed, "seed", 0, "random seed (default: the run's seed)")
}

// apply overrides the run's eval config ec and seed with the flags set on f.
func (s *solverFlags) apply(f *pflag.FlagSet, ec *pipeline.EvalConfig, seed *uint64) {
	if f.Changed("solver") {
		ec.Solver = s.solver
	}
	if f.Changed("steps") {
		ec.Steps = s.steps
	}
	if f.Changed("rtol") {
		ec.RTol = s.rtol
	}
	if f.Changed("atol") {
		ec.ATol = s.atol
	}
	if f.Changed("batch-size") {
		ec.BatchSize = s.batch
	}
	if f.Changed("trace") {
		ec.Trace = s.trace
	}
	if f.Changed("seed") {
		*seed = s.seed
	}
}

// completeRun completes the RUN argument with directory names.
func completeRun(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
