// Command scale is the memory-and-time scale benchmark of iterflow (issue 7):
// it trains Local Flow Matching with pipeline.Run on seeded synthetic tables
// of growing size (default 200,000 and 2,000,000 rows × 6 columns, a Gaussian
// mixture) and records, per size, the peak resident memory of the process
// (VmHWM of /proc/self/status, Linux), the peak at the start of every block,
// and the time per block from the run's metrics (training plus the push of the
// training and validation pools through the block).
//
// Every size runs in a fresh child process (the same binary with -child), so
// that each peak is that size's own. The parent writes scale.json (all
// figures, settings and the machine) and scale.md (a table) to -out.
//
// Usage:
//
//	go run -tags openblas ./benchmarks/cmd/scale [-rows 200000,2000000] [-out benchmarks/results]
//
// The interesting figure is how the peak grows with the rows: the pool push
// and the log-likelihood evaluation are batched, so the peak should grow with
// the data (a few copies of the n×d float64 table: the file, the splits, the
// standardized copies and the pushed pool) and not with batch × hidden width.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/pipeline"
)

// settings are the benchmark's knobs, shared by parent and child.
type settings struct {
	D         int     `json:"d"`
	Blocks    int     `json:"ou_blocks"`
	FreeBlock bool    `json:"free_block"`
	Iters     int     `json:"iters_per_block"`
	Batch     int     `json:"batch_size"`
	Hidden    []int   `json:"hidden"`
	ValFrac   float64 `json:"val_frac"`
	TestFrac  float64 `json:"test_frac"`
	Seed      uint64  `json:"seed"`
	Samples   int     `json:"eval_samples"`
	PushSteps int     `json:"push_rk4_steps"`
}

// blockFigure is one block's time and memory.
type blockFigure struct {
	Index    int     `json:"index"`
	Kind     string  `json:"kind"`
	Seconds  float64 `json:"seconds"`
	PushNFE  int     `json:"push_nfe"`
	Loss     float64 `json:"final_loss"`
	PeakRSS  int64   `json:"peak_rss_bytes_at_start"`
	Movement float64 `json:"movement"`
}

// sizeResult is what one child reports.
type sizeResult struct {
	Rows            int           `json:"rows"`
	D               int           `json:"d"`
	DataBytes       int64         `json:"data_bytes"`
	NTrain          int           `json:"n_train"`
	NVal            int           `json:"n_val"`
	NTest           int           `json:"n_test"`
	PeakRSS         int64         `json:"peak_rss_bytes"`
	RSSAfterData    int64         `json:"peak_rss_bytes_after_generating"`
	GenerateSeconds float64       `json:"generate_seconds"`
	TrainSeconds    float64       `json:"train_seconds"`
	EvalSeconds     float64       `json:"eval_seconds"`
	SampleSeconds   float64       `json:"sample_seconds"`
	RunSeconds      float64       `json:"run_seconds"`
	TestNLL         float64       `json:"test_nll"`
	GaussianNLL     float64       `json:"gaussian_test_nll"`
	NFE             int           `json:"eval_nfe"`
	Blocks          []blockFigure `json:"blocks"`
	Backend         string        `json:"backend"`
	GOMAXPROCS      int           `json:"gomaxprocs"`
	Error           string        `json:"error,omitempty"`
}

// report is scale.json.
type report struct {
	Date     string       `json:"date"`
	GoOS     string       `json:"goos"`
	GoArch   string       `json:"goarch"`
	NumCPU   int          `json:"num_cpu"`
	CPU      string       `json:"cpu,omitempty"`
	Settings settings     `json:"settings"`
	Sizes    []sizeResult `json:"sizes"`
	// RSSPerDataByte is the growth of the peak RSS between the smallest and
	// the largest size divided by the growth of the table's bytes (n·d·8).
	RSSPerDataByte float64 `json:"rss_growth_per_data_byte"`
	WallSeconds    float64 `json:"wall_seconds"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rowsFlag := fs.String("rows", "200000,2000000", "comma-separated table sizes (rows), each run in its own process")
	out := fs.String("out", "benchmarks/results", "directory for scale.json and scale.md")
	child := fs.Int("child", 0, "internal: run one size with this many rows and print its JSON")
	hidden := fs.String("hidden", "64,64,64", "hidden widths of each block's MLP")
	var s settings
	fs.IntVar(&s.D, "d", 6, "columns")
	fs.IntVar(&s.Blocks, "blocks", 2, "OU blocks (plus the free block)")
	fs.BoolVar(&s.FreeBlock, "free-block", true, "add LFM's free final block")
	fs.IntVar(&s.Iters, "iters", 300, "training steps per block")
	fs.IntVar(&s.Batch, "batch", 256, "training batch size")
	fs.Float64Var(&s.ValFrac, "val-frac", 0.01, "validation fraction (the validation pool is pushed too)")
	fs.Float64Var(&s.TestFrac, "test-frac", 0.01, "test fraction (scored with dopri5 and the exact trace)")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of the data and the run")
	fs.IntVar(&s.Samples, "samples", 1000, "samples drawn after training")
	fs.IntVar(&s.PushSteps, "push-steps", 10, "rk4 steps of the pool push")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if s.Hidden, err = parseInts(*hidden, "hidden"); err != nil {
		return err
	}
	if s.D < 1 {
		return fmt.Errorf("-d must be at least 1, got %d", s.D)
	}
	if *child > 0 {
		r, err := runSize(*child, s, stderr)
		if err != nil {
			r.Error = err.Error()
		}
		if jerr := json.NewEncoder(stdout).Encode(r); jerr != nil {
			return jerr
		}
		return err
	}
	sizes, err := parseInts(*rowsFlag, "rows")
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the program for the child runs: %w", err)
	}
	t0 := time.Now()
	rep := report{Date: time.Now().UTC().Format(time.RFC3339), GoOS: runtime.GOOS, GoArch: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), CPU: cpuModel(), Settings: s}
	for _, n := range sizes {
		fmt.Fprintf(stderr, "scale: %d rows × %d columns\n", n, s.D)
		cargs := append([]string{"-child", strconv.Itoa(n), "-hidden", *hidden}, childFlags(fs)...)
		cmd := exec.Command(self, cargs...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, stderr
		cerr := cmd.Run()
		var r sizeResult
		if jerr := json.Unmarshal(buf.Bytes(), &r); jerr != nil {
			return fmt.Errorf("%d rows: the child run failed (%v) and printed no result: %w", n, cerr, jerr)
		}
		if cerr != nil && r.Error == "" {
			r.Error = cerr.Error()
		}
		rep.Sizes = append(rep.Sizes, r)
		fmt.Fprintf(stderr, "scale: %d rows: peak RSS %.0f MiB, train %.1f s, eval %.1f s\n",
			n, mib(r.PeakRSS), r.TrainSeconds, r.EvalSeconds)
	}
	rep.WallSeconds = time.Since(t0).Seconds()
	if k := len(rep.Sizes); k >= 2 {
		a, b := rep.Sizes[0], rep.Sizes[k-1]
		if db := b.DataBytes - a.DataBytes; db != 0 && a.PeakRSS > 0 && b.PeakRSS > 0 {
			rep.RSSPerDataByte = float64(b.PeakRSS-a.PeakRSS) / float64(db)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "scale.json"), append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing scale.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "scale.md"), []byte(markdown(&rep)), 0o644); err != nil {
		return fmt.Errorf("writing scale.md: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, "scale.json"), filepath.Join(*out, "scale.md"))
	for _, r := range rep.Sizes {
		if r.Error != "" {
			return fmt.Errorf("%d rows: %s", r.Rows, r.Error)
		}
	}
	return nil
}

// childFlags repeats the flags given to the parent that the child needs.
func childFlags(fs *flag.FlagSet) []string {
	var a []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rows", "out", "child", "hidden":
		default:
			a = append(a, "-"+f.Name+"="+f.Value.String())
		}
	})
	return a
}

func parseInts(s, name string) ([]int, error) {
	var v []int
	for _, f := range strings.Split(s, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive integer", name, f)
		}
		v = append(v, k)
	}
	return v, nil
}

// runSize generates n rows, trains on them with pipeline.Run and returns the
// figures. The temporary directory is removed afterwards.
func runSize(n int, s settings, logw io.Writer) (sizeResult, error) {
	r := sizeResult{Rows: n, D: s.D, DataBytes: int64(n) * int64(s.D) * 8, Backend: nn.Backend(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	dir, err := os.MkdirTemp("", "iterflow-scale-")
	if err != nil {
		return r, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mixture.npy")
	t0 := time.Now()
	if err := writeMixtureNPY(path, n, s.D, s.Seed); err != nil {
		return r, err
	}
	r.GenerateSeconds = time.Since(t0).Seconds()
	r.RSSAfterData = peakRSS()

	cfg := pipeline.DefaultConfigFor("lfm")
	cfg.Data = path
	cfg.Out = filepath.Join(dir, "run")
	cfg.Dequantize = "none"
	cfg.ValFrac, cfg.TestFrac, cfg.Seed = s.ValFrac, s.TestFrac, s.Seed
	cfg.Model.Hidden = s.Hidden
	cfg.LFM.Blocks, cfg.LFM.FreeBlock = s.Blocks, s.FreeBlock
	cfg.Train.Iters, cfg.Train.BatchSize = s.Iters, s.Batch
	cfg.Train.LRDecayEvery = max(1, s.Iters/2)
	cfg.Train.ValEvery = max(1, s.Iters/2)
	cfg.Push.Steps = s.PushSteps
	cfg.Eval.Samples = s.Samples
	prog := &peakProgress{}
	t1 := time.Now()
	res, err := pipeline.Run(context.Background(), cfg, pipeline.Options{Log: logw, Progress: prog, Overwrite: true, Version: "scale"})
	r.RunSeconds = time.Since(t1).Seconds()
	r.PeakRSS = peakRSS()
	if err != nil {
		return r, fmt.Errorf("pipeline.Run: %w", err)
	}
	met := res.Metrics
	r.NTrain, r.NVal, r.NTest = met.NTrain, met.NVal, met.NTest
	r.TrainSeconds, r.EvalSeconds, r.SampleSeconds = met.TrainSeconds, met.EvalSeconds, met.SampleSeconds
	r.TestNLL, r.GaussianNLL, r.NFE = met.TestNLL, met.GaussianTestNLL, met.NFE
	blocks, ok := met.Blocks.([]method.BlockResult)
	if !ok {
		return r, fmt.Errorf("metrics: blocks are %T, not []method.BlockResult", met.Blocks)
	}
	for i, b := range blocks {
		f := blockFigure{Index: b.Index, Kind: b.Kind, Seconds: b.Seconds, PushNFE: b.PushNFE, Loss: b.FinalLoss, Movement: b.Movement}
		if i < len(prog.peaks) {
			f.PeakRSS = prog.peaks[i]
		}
		r.Blocks = append(r.Blocks, f)
	}
	return r, nil
}

// peakProgress records the peak RSS when each block starts (which includes
// the push of the pools through the previous block).
type peakProgress struct{ peaks []int64 }

func (p *peakProgress) StartBlock(k, total, iters int, label string) {
	p.peaks = append(p.peaks, peakRSS())
}
func (p *peakProgress) Step(float64) {}
func (p *peakProgress) EndBlock()    {}

// writeMixtureNPY streams n rows of a seeded K = 5 component Gaussian
// mixture in d dimensions to a float64 NPY file, without holding the table:
// component means ~ N(0, 3² I), x = μ_k + L_k z with L_k lower triangular
// (diagonal in [0.3, 1.3], off-diagonal N(0, 0.3²)).
func writeMixtureNPY(path string, n, d int, seed uint64) error {
	const k = 5
	rng := rand.New(rand.NewPCG(seed, 0x5ca1e))
	mu := make([]float64, k*d)
	L := make([]float64, k*d*d)
	for c := 0; c < k; c++ {
		for i := 0; i < d; i++ {
			mu[c*d+i] = 3 * rng.NormFloat64()
			for j := 0; j < i; j++ {
				L[c*d*d+i*d+j] = 0.3 * rng.NormFloat64()
			}
			L[c*d*d+i*d+i] = 0.3 + rng.Float64()
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the data: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	header += strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	w.WriteString("\x93NUMPY\x01\x00")
	var b [8]byte
	binary.LittleEndian.PutUint16(b[:2], uint16(len(header)))
	w.Write(b[:2])
	w.WriteString(header)
	z := make([]float64, d)
	for r := 0; r < n; r++ {
		c := rng.IntN(k)
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		for i := 0; i < d; i++ {
			v := mu[c*d+i]
			for j := 0; j <= i; j++ {
				v += L[c*d*d+i*d+j] * z[j]
			}
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM), or
// -1 where /proc/self/status is not available.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return ""
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// markdown renders the report as scale.md.
func markdown(rep *report) string {
	var sb strings.Builder
	s := rep.Settings
	fmt.Fprintf(&sb, "# Scale benchmark (issue 7)\n\n")
	fmt.Fprintf(&sb, "`go run -tags openblas ./benchmarks/cmd/scale` (`make bench-scale`), %s, %s/%s, %d CPUs (%s), backend %s, GOMAXPROCS %d.\n\n",
		rep.Date, rep.GoOS, rep.GoArch, rep.NumCPU, rep.CPU, backendOf(rep), procsOf(rep))
	fmt.Fprintf(&sb, "LFM with pipeline.Run on a seeded 5-component Gaussian mixture in %d dimensions: %d OU blocks%s, MLP %v, "+
		"%d steps per block, batch %d, push rk4 × %d, validation %.0f%% and test %.0f%% of the rows (test NLL: dopri5, exact trace), %d samples. "+
		"Each size runs in its own process; peak RSS is VmHWM.\n\n",
		s.D, s.Blocks, map[bool]string{true: " + the free block", false: ""}[s.FreeBlock], s.Hidden, s.Iters, s.Batch, s.PushSteps,
		100*s.ValFrac, 100*s.TestFrac, s.Samples)
	sb.WriteString("| rows | table (MiB) | peak RSS (MiB) | peak / table | seconds per block (train + push) | train (s) | test rows | eval (s) | run (s) | test NLL |\n")
	sb.WriteString("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Sizes {
		var bs []string
		for _, b := range r.Blocks {
			bs = append(bs, fmt.Sprintf("%.1f", b.Seconds))
		}
		ratio := math.NaN()
		if r.DataBytes > 0 && r.PeakRSS > 0 {
			ratio = float64(r.PeakRSS) / float64(r.DataBytes)
		}
		nll := fmt.Sprintf("%.3f", r.TestNLL)
		if r.Error != "" {
			nll = "failed: " + r.Error
		}
		fmt.Fprintf(&sb, "| %d | %.0f | %.0f | %.2f | %s | %.1f | %d | %.1f | %.1f | %s |\n",
			r.Rows, mib(r.DataBytes), mib(r.PeakRSS), ratio, strings.Join(bs, ", "), r.TrainSeconds, r.NTest, r.EvalSeconds, r.RunSeconds, nll)
	}
	if rep.RSSPerDataByte != 0 {
		fmt.Fprintf(&sb, "\nPeak RSS grows by %.2f bytes per byte of table (n·d·8) from the smallest to the largest size: "+
			"it follows the data (the file read, the splits, the standardized copies and the pushed pools), not the "+
			"batch × hidden width of the network, which is the same at every size.\n", rep.RSSPerDataByte)
	}
	sb.WriteString("\nPer block (peak RSS when the block starts, which includes the previous block's push):\n\n")
	sb.WriteString("| rows | block | kind | seconds | push NFE | peak RSS at start (MiB) |\n|---:|---:|---|---:|---:|---:|\n")
	for _, r := range rep.Sizes {
		for _, b := range r.Blocks {
			fmt.Fprintf(&sb, "| %d | %d | %s | %.1f | %d | %.0f |\n", r.Rows, b.Index+1, b.Kind, b.Seconds, b.PushNFE, mib(b.PeakRSS))
		}
	}
	return sb.String()
}

func backendOf(rep *report) string {
	if len(rep.Sizes) > 0 {
		return rep.Sizes[0].Backend
	}
	return nn.Backend()
}

func procsOf(rep *report) int {
	if len(rep.Sizes) > 0 {
		return rep.Sizes[0].GOMAXPROCS
	}
	return runtime.GOMAXPROCS(0)
}

var _ method.Progress = (*peakProgress)(nil)
