package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/ode"
)

// lbenchResult is the Go half of the likelihood-speed benchmark for one d.
type lbenchResult struct {
	D      int     `json:"d"`
	N      int     `json:"n"`
	Hidden []int   `json:"hidden"`
	Trace  string  `json:"trace"`
	RTol   float64 `json:"rtol"`
	ATol   float64 `json:"atol"`
	// Seconds is the median over Repeat solves of the whole batch; Runs
	// holds every solve's seconds.
	Seconds       float64   `json:"seconds"`
	Repeat        int       `json:"repeat"`
	Runs          []float64 `json:"runs"`
	NFE           int       `json:"nfe"`
	PointsPerSec  float64   `json:"points_per_second"`
	SecondsPerNFE float64   `json:"seconds_per_nfe"`
	// EvalSeconds is the time of one velocity-and-trace evaluation on the
	// whole batch, measured apart from the solver.
	EvalSeconds float64 `json:"eval_seconds"`
	MeanLogProb float64 `json:"mean_logprob"`
	// Backend, BLASCore and BLASThreads record the numerical backend of the
	// run (nn.Backend, nn.BLASCore, nn.BLASThreads).
	Backend     string `json:"backend"`
	BLASCore    string `json:"blas_core"`
	BLASThreads int    `json:"blas_threads"`
}

// parseInts parses "256,256,256".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad integer list %q: %w", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// cmdLBench builds a seeded velocity field v(x, t) (MLP with t input,
// softplus), writes its weights (layer.L.weight in×out, layer.L.bias) and n
// points x ~ N(0, I) as NPY files for the Python peers, and times iterflow's
// exact LogProb of one block integrated from t = 0 (data) to t = 1 (latent)
// with dopri5: log p(x) = log N(z; 0, I) + ∫ div v dt.
func cmdLBench(args []string) error {
	fs := flag.NewFlagSet("lbench", flag.ContinueOnError)
	d := fs.Int("d", 2, "dimension")
	n := fs.Int("n", 1000, "points")
	hid := fs.String("hidden", "256,256,256", "hidden widths")
	rtol := fs.Float64("rtol", 1e-8, "dopri5 relative tolerance")
	atol := fs.Float64("atol", 1e-8, "dopri5 absolute tolerance")
	trace := fs.String("trace", "exact", "exact or hutchinson (one Rademacher probe)")
	seed := fs.Uint64("seed", 1, "seed of the weights and points")
	out := fs.String("out", "", "output directory")
	repeat := fs.Int("repeat", 3, "timed solves; the median is reported")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("lbench: -out is required")
	}
	if *repeat < 1 {
		return fmt.Errorf("lbench: -repeat %d, want ≥ 1", *repeat)
	}
	hidden, err := parseInts(*hid)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	tr, err := flow.ParseTrace(*trace)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 0x1b))
	spec := nn.Spec{Dim: *d, Hidden: hidden, Act: nn.Softplus, Beta: 1, TimeInput: true}
	mlp, err := nn.NewMLP[float64](spec, rng)
	if err != nil {
		return err
	}
	p := mlp.Params()
	off := 0
	for l, s := range mlp.LayerShapes() {
		w := p[off : off+s[0]*s[1]]
		off += s[0] * s[1]
		b := p[off : off+s[1]]
		off += s[1]
		if err := writeNPY(filepath.Join(*out, fmt.Sprintf("layer.%d.weight.npy", l)), w, s[0], s[1]); err != nil {
			return err
		}
		if err := writeNPY(filepath.Join(*out, fmt.Sprintf("layer.%d.bias.npy", l)), b, s[1]); err != nil {
			return err
		}
	}
	x := make([]float64, *n**d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	if err := writeNPY(filepath.Join(*out, "x.npy"), x, *n, *d); err != nil {
		return err
	}
	chain, err := flow.NewChain(flow.Block{Field: mlp})
	if err != nil {
		return err
	}
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: *rtol, ATol: *atol}, Trace: tr,
		Probe: flow.Rademacher, Probes: 1, Rand: rand.New(rand.NewPCG(*seed, 0x2c)), BatchSize: *n}
	ctx := context.Background()
	// Warm-up on a few rows (buffers, BLAS threads).
	if _, _, err := chain.LogProb(ctx, x[:min(*n, 16)**d], min(*n, 16), opt); err != nil {
		return fmt.Errorf("lbench d=%d: %w", *d, err)
	}
	// Repeat the timed solve (a single 20-NFE solve takes well under a
	// second, so one run is at the mercy of scheduling noise); every solve
	// draws the same probes from a fresh generator, so lp and the NFE are
	// the same each time.
	var lp []float64
	var st flow.Stats
	runs := make([]float64, *repeat)
	for r := range runs {
		opt.Rand = rand.New(rand.NewPCG(*seed, 0x2c))
		t0 := time.Now()
		lp, st, err = chain.LogProb(ctx, x, *n, opt)
		if err != nil {
			return fmt.Errorf("lbench d=%d: %w", *d, err)
		}
		runs[r] = time.Since(t0).Seconds()
	}
	sec := median(runs)
	if err := writeNPY(filepath.Join(*out, "logp_iterflow.npy"), lp, *n); err != nil {
		return err
	}
	// One evaluation of the augmented right-hand side on the whole batch.
	v := make([]float64, *n**d)
	div := make([]float64, *n)
	reps := 3
	t1 := time.Now()
	for r := 0; r < reps; r++ {
		if tr == flow.Exact {
			mlp.VelocityTrace(0.5, x, *n, v, div)
		} else {
			mlp.VelocityJVP(0.5, x, *n, x, v, v)
		}
	}
	eval := time.Since(t1).Seconds() / float64(reps)
	var mean float64
	for _, q := range lp {
		mean += q
	}
	res := lbenchResult{D: *d, N: *n, Hidden: hidden, Trace: tr.String(), RTol: *rtol, ATol: *atol, Seconds: sec, Repeat: *repeat, Runs: runs,
		NFE: st.NFE, PointsPerSec: float64(*n) / sec, SecondsPerNFE: sec / float64(max(st.NFE, 1)),
		EvalSeconds: eval, MeanLogProb: mean / float64(*n),
		Backend: nn.Backend(), BLASCore: nn.BLASCore(), BLASThreads: nn.BLASThreads()}
	if err := writeJSON(filepath.Join(*out, "iterflow.json"), res); err != nil {
		return err
	}
	return printJSON(res)
}

// median returns the median of xs (the mean of the middle two for an even
// count), without reordering xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
