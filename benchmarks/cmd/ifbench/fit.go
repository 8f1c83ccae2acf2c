package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/ode"
	"github.com/iterflow/iterflow/pipeline"
)

// fitResult is what `ifbench fit` reports for one iterflow contender. NLLs
// are in nats per point on the standardized scale of the split files.
type fitResult struct {
	Method        string  `json:"method"`
	Settings      string  `json:"settings"`
	Budget        float64 `json:"budget_seconds"`
	TrainSeconds  float64 `json:"train_seconds"`
	TestNLL       float64 `json:"test_nll"`
	TestNLLSE     float64 `json:"test_nll_se"`
	NLLSolver     string  `json:"nll_solver"`
	NLLTrace      string  `json:"nll_trace"`
	NLLNFE        int     `json:"nll_nfe"`
	NLLSeconds    float64 `json:"nll_seconds"`
	LogProbPerSec float64 `json:"logprob_points_per_second"`
	Steps         int     `json:"train_steps"`
	SampleSeconds float64 `json:"sample_seconds"`
	SampleNFE     int     `json:"sample_nfe"`
	Samples       int     `json:"samples"`
}

// cmdFit trains one iterflow method on the split files of a dataset under a
// wall-clock budget for the whole training (blocks, pushes and validation
// included: pipeline's train.seconds), then scores the test split with
// dopri5 and the exact trace and draws samples (samples.npy, standardized
// scale).
func cmdFit(args []string) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	split := fs.String("split", "", "directory written by `ifbench splits`")
	method := fs.String("method", "lfm", "iterflow method: lfm, otcfm, cfm, jko")
	budget := fs.Float64("budget", 20, "wall-clock training budget in seconds (all blocks together)")
	seed := fs.Uint64("seed", 1, "training and sampling seed")
	ns := fs.Int("samples", 10000, "samples drawn for MMD and sliced W2")
	rtol := fs.Float64("rtol", 1e-6, "dopri5 relative tolerance of the test NLL and the samples")
	atol := fs.Float64("atol", 1e-6, "dopri5 absolute tolerance")
	out := fs.String("out", "", "output directory (result.json, samples.npy)")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile of the training (not the scoring) to this file")
	config := fs.String("config", "", "YAML config (iterflow train's keys) over the method's defaults; its method key must agree with -method when both are set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *split == "" || *out == "" {
		return fmt.Errorf("fit: -split and -out are required")
	}
	train, err := readNPY(filepath.Join(*split, "train.npy"))
	if err != nil {
		return err
	}
	val, err := readNPY(filepath.Join(*split, "val.npy"))
	if err != nil {
		return err
	}
	test, err := readNPY(filepath.Join(*split, "test.npy"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	cfg := pipeline.DefaultConfigFor(*method)
	if *config != "" {
		if cfg, err = pipeline.LoadConfig(*config); err != nil {
			return err
		}
		if cfg.Method != *method {
			return fmt.Errorf("fit: -config %s has method %q, -method is %q", *config, cfg.Method, *method)
		}
	}
	cfg.Seed = *seed
	// One wall-clock budget for the whole training, pushes and validation
	// included (pipeline's train.seconds), as the peers get.
	cfg.Train.Seconds = *budget
	ctx := context.Background()
	t0 := time.Now()
	var steps stepCounter
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return fmt.Errorf("fit: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("fit: cpu profile: %w", err)
		}
	}
	m, err := pipeline.Fit(ctx, cfg, train, val, nil, &steps)
	if *cpuprof != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("fit %s on %s: %w", *method, *split, err)
	}
	res := fitResult{Method: "iterflow " + *method, Budget: *budget, TrainSeconds: time.Since(t0).Seconds(), Samples: *ns}
	res.Steps = int(steps)
	res.Settings = fmt.Sprintf("%s; %d steps in all", describe(&cfg, cfg.JKO.MaxBlocks), res.Steps)
	fmt.Fprintf(os.Stderr, "ifbench fit %s: trained in %.1f s\n", *method, res.TrainSeconds)
	opt := flow.Options{Solver: ode.Options{Method: ode.Dopri5, RTol: *rtol, ATol: *atol}, Trace: flow.Exact,
		Rand: rand.New(rand.NewPCG(*seed, 0x5a)), BatchSize: 4096}
	t1 := time.Now()
	lp, st, err := m.LogProb(ctx, test.X, test.N, opt)
	if err != nil {
		return fmt.Errorf("fit %s: test log-likelihood: %w", *method, err)
	}
	res.NLLSeconds = time.Since(t1).Seconds()
	res.LogProbPerSec = float64(test.N) / res.NLLSeconds
	res.NLLNFE = st.NFE
	fmt.Fprintf(os.Stderr, "ifbench fit %s: test NLL in %.1f s\n", *method, res.NLLSeconds)
	res.NLLSolver = fmt.Sprintf("dopri5 rtol %g atol %g", *rtol, *atol)
	res.NLLTrace = "exact"
	var s, s2 float64
	for _, v := range lp {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("fit %s: test log-likelihood is %g", *method, v)
		}
		s += -v
		s2 += v * v
	}
	nt := float64(test.N)
	res.TestNLL = s / nt
	res.TestNLLSE = math.Sqrt(math.Max(s2/nt-res.TestNLL*res.TestNLL, 0) / nt)
	t2 := time.Now()
	x, sst, err := m.Sample(ctx, *ns, opt)
	if err != nil {
		return fmt.Errorf("fit %s: sample: %w", *method, err)
	}
	res.SampleSeconds = time.Since(t2).Seconds()
	res.SampleNFE = sst.NFE
	if err := writeNPY(filepath.Join(*out, "samples.npy"), x, *ns, m.Dim()); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(*out, "result.json"), res); err != nil {
		return err
	}
	return printJSON(res)
}

// describe names the settings of an iterflow contender for the table.
func describe(cfg *pipeline.Config, blocks int) string {
	h := make([]string, len(cfg.Model.Hidden))
	for i, w := range cfg.Model.Hidden {
		h[i] = fmt.Sprint(w)
	}
	net := fmt.Sprintf("MLP %s %s", strings.Join(h, "×"), cfg.Model.Activation)
	tr := fmt.Sprintf("Adam %g, batch %d, ≤%d it/block, EMA %g", cfg.Train.LR, cfg.Train.BatchSize, cfg.Train.Iters, cfg.Train.EMA)
	switch cfg.Method {
	case "lfm":
		return fmt.Sprintf("%d OU blocks γ=%g·%g^k + free, %s interpolant; %s; %s", cfg.LFM.Blocks, cfg.LFM.GammaC, cfg.LFM.GammaRho, cfg.LFM.Interpolant, net, tr)
	case "jko":
		return fmt.Sprintf("≤%d blocks h=%g·%g^k; %s; %s", blocks, cfg.JKO.H0, cfg.JKO.Rho, net, tr)
	}
	return fmt.Sprintf("%s; %s", net, tr)
}

// stepCounter is a method.Progress that counts training steps over all
// blocks, for the settings column of the table.
type stepCounter int

func (*stepCounter) StartBlock(k, total, iters int, label string) {}
func (c *stepCounter) Step(loss float64)                          { *c++ }
func (*stepCounter) EndBlock()                                    {}
