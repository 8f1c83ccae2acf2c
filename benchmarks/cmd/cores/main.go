// Command cores is the multi-core benchmark of iterflow (issue 8): it times,
// for each split of the cores between Go (GOMAXPROCS), OpenBLAS threads per
// matrix product and flow batch workers (flow.Options.Workers),
//
//   - one training step of the velocity network: MLP [x (2), t] → 256 → 256 →
//     256 → 2, softplus, float32, batch 4096, forward, MSE, backward, Adam;
//   - exact-trace LogProb throughput (rows/s) for d = 2, 11 and 43 (MLP
//     [x, t] → 64 → 64 → d, float64, rk4 with 2 steps, batches of 512 rows);
//   - push-forward throughput (Block.Push, d = 2, the 256-wide network in
//     float64, rk4 with 4 steps, batches of 2048 rows);
//   - streaming scoring throughput: a 200,000-row CSV read with
//     data.NewRowReader in chunks of 65,536 rows and scored as in `iterflow
//     logprob` (d = 2, 64-wide network, rk4 with 2 steps).
//
// Each configuration runs -reps times and the best time is kept (the
// machine may be shared). LogProb results are compared bitwise across the
// worker counts of one GOMAXPROCS value (the determinism check). It writes
// cores-<backend>.json and cores-<backend>.md (backend pure-go or openblas)
// to -out; benchmarks/results/cores.md and cores.json merge the two builds'
// files. On machines with more cores, -max-procs (default: all) extends the
// table to GOMAXPROCS 4, 8, ….
//
// Usage (pure Go, then OpenBLAS; the OpenBLAS build needs cgo and
// libopenblas-dev, and OPENBLAS_CORETYPE=Haswell on CPUs that OpenBLAS 0.3.21
// does not recognise):
//
//	go run ./benchmarks/cmd/cores -out benchmarks/results
//	OPENBLAS_CORETYPE=Haswell go run -tags openblas ./benchmarks/cmd/cores -out benchmarks/results
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// split is one sharing of the cores.
type split struct {
	Procs   int `json:"gomaxprocs"`
	BLAS    int `json:"blas_threads"`
	Workers int `json:"workers"`
}

func (s split) String() string {
	return fmt.Sprintf("GOMAXPROCS %d, BLAS %d, workers %d", s.Procs, s.BLAS, s.Workers)
}

// result is the best time of one measurement under one split.
type result struct {
	Split   split   `json:"split"`
	Task    string  `json:"task"`
	Seconds float64 `json:"best_seconds"`
	Rows    int     `json:"rows,omitempty"`
	RowsPS  float64 `json:"rows_per_second,omitempty"`
	MS      float64 `json:"ms,omitempty"`
}

type report struct {
	Backend       string   `json:"backend"`
	BLASCore      string   `json:"blas_core"`
	CoreType      string   `json:"openblas_coretype"`
	NumCPU        int      `json:"num_cpu"`
	GoVersion     string   `json:"go_version"`
	Reps          int      `json:"reps"`
	Results       []result `json:"results"`
	Deterministic bool     `json:"logprob_bitwise_identical_across_workers"`
	Date          string   `json:"date"`
}

func main() {
	out := flag.String("out", "benchmarks/results", "output directory for cores.json and cores.md")
	reps := flag.Int("reps", 3, "runs per configuration; the best is kept")
	maxProcs := flag.Int("max-procs", runtime.NumCPU(), "largest GOMAXPROCS tried (1, 2, 4, … up to it)")
	flag.Parse()
	if err := run(*out, *reps, *maxProcs); err != nil {
		fmt.Fprintln(os.Stderr, "cores:", err)
		os.Exit(1)
	}
}

// splits lists the configurations: for each GOMAXPROCS p, every BLAS thread
// count b dividing p (only b = p in the pure-Go build, where BLAS threads are
// GOMAXPROCS) and workers 1 and p/b.
func splits(maxProcs int) []split {
	var s []split
	for p := 1; p <= maxProcs; p *= 2 {
		for b := 1; b <= p; b *= 2 {
			if nn.Backend() == "pure-go" && b != p {
				continue
			}
			for _, w := range []int{1, p / b, p} {
				if w*b > p && w != 1 && !(nn.Backend() == "pure-go" && w == p) {
					continue
				}
				if !slices.Contains(s, split{p, b, w}) {
					s = append(s, split{p, b, w})
				}
			}
		}
	}
	return s
}

func apply(s split) {
	runtime.GOMAXPROCS(s.Procs)
	nn.SetBLASThreads(s.BLAS)
}

// best returns the shortest of reps runs of f.
func best(reps int, f func() error) (float64, error) {
	b := 0.0
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		if s := time.Since(t0).Seconds(); r == 0 || s < b {
			b = s
		}
	}
	return b, nil
}

func mlp[T nn.Float](d int, hidden []int, seed uint64) *nn.MLP[T] {
	m, err := nn.NewMLP[T](nn.Spec{Dim: d, Hidden: hidden, Act: nn.Softplus, TimeInput: true}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		panic(err)
	}
	return m
}

func rows(n, d int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func run(out string, reps, maxProcs int) error {
	ctx := context.Background()
	rep := report{Backend: nn.Backend(), BLASCore: nn.BLASCore(), CoreType: os.Getenv("OPENBLAS_CORETYPE"),
		NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), Reps: reps, Deterministic: true,
		Date: time.Now().UTC().Format(time.DateOnly)}

	// Training step (float32, batch 4096).
	const tb, td = 4096, 2
	net := mlp[float32](td, []int{256, 256, 256}, 1)
	adam := nn.NewAdam[float32](net.NumParams(), 1e-3)
	grad := make([]float32, net.NumParams())
	xt, tt := make([]float32, tb*td), make([]float32, tb)
	tgt, v, dv := make([]float32, tb*td), make([]float32, tb*td), make([]float32, tb*td)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range xt {
		xt[i], tgt[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	for i := range tt {
		tt[i] = float32(r.Float64())
	}
	step := func() error {
		clear(grad)
		net.Forward(xt, tt, tb, v)
		nn.MSELoss(v, tgt, dv, tb)
		net.Backward(dv, grad, nil)
		adam.Step(net.Params(), grad)
		return nil
	}

	// LogProb chains and data.
	const ln = 4096
	type lpCase struct {
		d     int
		chain *flow.Chain
		x     []float64
	}
	var lps []lpCase
	for _, d := range []int{2, 11, 43} {
		lps = append(lps, lpCase{d, &flow.Chain{Blocks: []flow.Block{{Field: mlp[float64](d, []int{64, 64}, uint64(d))}}}, rows(ln, d, uint64(d))})
	}
	lopt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 2}, Trace: flow.Exact, BatchSize: 512}
	ref := map[int][]float64{} // d·1000 + procs → LogProb with 1 worker

	// Push.
	const pn = 16384
	pblk := flow.Block{Field: nn.Convert[float64](net)}
	px := rows(pn, 2, 9)
	popt := flow.Options{Solver: ode.Options{Method: ode.RK4, Steps: 4}, BatchSize: 2048}

	// Streaming: a 200k-row CSV.
	const sn = 200_000
	tmp, err := os.MkdirTemp("", "cores-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	csvPath := filepath.Join(tmp, "rows.csv")
	if err := writeCSV(csvPath, rows(sn, 2, 11), sn, 2); err != nil {
		return err
	}
	schain := &flow.Chain{Blocks: []flow.Block{{Field: mlp[float64](2, []int{64, 64}, 12)}}}

	for _, s := range splits(maxProcs) {
		apply(s)
		fmt.Fprintf(os.Stderr, "%s (OpenBLAS reports %d threads)\n", s, nn.BLASThreads())
		if s.Workers == 1 {
			sec, err := best(reps, func() error {
				return step()
			})
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, result{Split: s, Task: "train step, batch 4096, f32", Seconds: sec, MS: 1000 * sec})
		}
		for _, c := range lps {
			o := lopt
			o.Workers = s.Workers
			var lp []float64
			sec, err := best(reps, func() error {
				var err error
				lp, _, err = c.chain.LogProb(ctx, c.x, ln, o)
				return err
			})
			if err != nil {
				return err
			}
			key := c.d*1000 + s.Procs
			if s.Workers == 1 {
				ref[key] = lp
			} else if rf, ok := ref[key]; ok && !slices.Equal(rf, lp) {
				rep.Deterministic = false
			}
			rep.Results = append(rep.Results, result{Split: s, Task: fmt.Sprintf("LogProb exact, d = %d", c.d), Seconds: sec, Rows: ln, RowsPS: ln / sec})
		}
		o := popt
		o.Workers = s.Workers
		y := make([]float64, len(px))
		sec, err := best(reps, func() error {
			copy(y, px)
			_, err := pblk.Push(ctx, y, pn, o)
			return err
		})
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, result{Split: s, Task: "Push, d = 2", Seconds: sec, Rows: pn, RowsPS: pn / sec})
		so := lopt
		so.Workers = s.Workers
		sec, err = best(1, func() error { return stream(ctx, csvPath, schain, so) })
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, result{Split: s, Task: "stream CSV + LogProb, d = 2", Seconds: sec, Rows: sn, RowsPS: sn / sec})
	}
	return write(out, rep)
}

func writeCSV(path string, x []float64, n, d int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("a,b\n")
	var b []byte
	for i := 0; i < n; i++ {
		b = b[:0]
		for j := 0; j < d; j++ {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, x[i*d+j], 'g', -1, 64)
		}
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// stream reads path in chunks of 65,536 rows and scores each chunk.
func stream(ctx context.Context, path string, c *flow.Chain, opt flow.Options) error {
	rd, err := data.NewRowReader(path, data.LoadOptions{})
	if err != nil {
		return err
	}
	defer rd.Close()
	const chunk = 65536
	buf := make([]float64, chunk*rd.D())
	for {
		n, err := rd.Next(buf, chunk)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, _, err := c.LogProb(ctx, buf[:n*rd.D()], n, opt); err != nil {
			return err
		}
	}
}

func write(out string, rep report) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	name := "cores-" + rep.Backend
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Backend %s (BLAS core %q, OPENBLAS_CORETYPE %q), %d CPUs, %s, %s\n\n", rep.Backend, rep.BLASCore, rep.CoreType, rep.NumCPU, rep.GoVersion, rep.Date)
	fmt.Fprintf(&sb, "Best of %d runs per cell (the machine is shared). LogProb bitwise identical across worker counts: %v.\n\n", rep.Reps, rep.Deterministic)
	var tasks []string
	var sps []split
	for _, r := range rep.Results {
		if !slices.Contains(tasks, r.Task) {
			tasks = append(tasks, r.Task)
		}
		if !slices.Contains(sps, r.Split) {
			sps = append(sps, r.Split)
		}
	}
	sb.WriteString("| GOMAXPROCS | BLAS threads | workers |")
	for _, t := range tasks {
		if strings.HasPrefix(t, "train") {
			fmt.Fprintf(&sb, " %s (ms) |", t)
		} else {
			fmt.Fprintf(&sb, " %s (rows/s) |", t)
		}
	}
	sb.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(tasks)) + "\n")
	for _, s := range sps {
		fmt.Fprintf(&sb, "| %d | %d | %d |", s.Procs, s.BLAS, s.Workers)
		for _, t := range tasks {
			cell := " – |"
			for _, r := range rep.Results {
				if r.Split == s && r.Task == t {
					if r.MS > 0 {
						cell = fmt.Sprintf(" %.1f |", r.MS)
					} else {
						cell = fmt.Sprintf(" %.0f |", r.RowsPS)
					}
				}
			}
			sb.WriteString(cell)
		}
		sb.WriteString("\n")
	}
	return os.WriteFile(filepath.Join(out, name+".md"), []byte(sb.String()), 0o644)
}
