package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/pipeline"
)

// Environment variables read when the matching flag is not given.
const (
	threadsEnv     = "ITERFLOW_THREADS"
	blasThreadsEnv = "ITERFLOW_BLAS_THREADS"
)

// threadSplit is how the cores are shared: Threads is GOMAXPROCS (the
// goroutines of Go code: batch workers, nn's elementwise splits, pure-Go
// GEMM), BLASThreads the OpenBLAS threads per matrix product, and Workers
// the batches solved at once by sample, logprob and evaluate, chosen so that
// Workers × BLASThreads ≤ Threads: OpenBLAS threads are OS threads outside
// the Go scheduler, so more would make them fight the goroutines for cores.
type threadSplit struct {
	Threads, BLASThreads, Workers int
}

// bindThreadFlags defines the global --threads and --blas-threads flags.
func bindThreadFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.Int("threads", 0, "cores to use: GOMAXPROCS, and with --blas-threads the batch workers (default $"+threadsEnv+", else all cores)")
	pf.Int("blas-threads", 0, "OpenBLAS threads per matrix product in the fast build (default $"+blasThreadsEnv+", else with --threads: all of them for train, 1 for other commands; else OpenBLAS's own default); likelihood and sampling batches run on threads/blas-threads workers")
}

// resolveThreads reads --threads/--blas-threads (or $ITERFLOW_THREADS,
// $ITERFLOW_BLAS_THREADS) and returns the split; zero fields mean "leave as
// is". With --threads N alone the BLAS threads are N for train (one batch at
// a time: the matrix products take every core) and 1 for the other commands
// (N batch workers with one OpenBLAS thread each). Errors name the flag or
// variable and the bad value.
func resolveThreads(cmd *cobra.Command) (threadSplit, error) {
	get := func(flag, env string) (int, error) {
		v, err := cmd.Flags().GetInt(flag)
		if err != nil {
			return 0, nil // the command has no such flag (a test harness)
		}
		if !cmd.Flags().Changed(flag) {
			s := os.Getenv(env)
			if s == "" {
				return 0, nil
			}
			v, err = strconv.Atoi(s)
			if err != nil || v < 1 {
				return 0, fmt.Errorf("$%s = %q: want a whole number >= 1", env, s)
			}
			return v, nil
		}
		if v < 1 {
			return 0, fmt.Errorf("--%s %d: want >= 1", flag, v)
		}
		return v, nil
	}
	var s threadSplit
	var err error
	if s.Threads, err = get("threads", threadsEnv); err != nil {
		return s, err
	}
	if s.BLASThreads, err = get("blas-threads", blasThreadsEnv); err != nil {
		return s, err
	}
	if s.Threads > 0 && s.BLASThreads == 0 {
		// Measured (docs/scaling.md): training is one large batch at a time,
		// fastest with every core in each matrix product; likelihoods and
		// sampling solve many batches, fastest with one BLAS thread per
		// batch worker.
		s.BLASThreads = 1
		if cmd.Name() == "train" {
			s.BLASThreads = s.Threads
		}
	}
	if s.Threads > 0 && s.BLASThreads > s.Threads {
		return s, fmt.Errorf("--blas-threads %d exceeds --threads %d", s.BLASThreads, s.Threads)
	}
	return s, nil
}

// threadsWarning returns the warning for a thread count (from --threads or
// $ITERFLOW_THREADS) above the ncpu CPUs of the machine, or "" when threads
// is 0 (not set) or at most ncpu. Such a count still runs: the goroutines
// then share the cores.
func threadsWarning(cmd *cobra.Command, threads, ncpu int) string {
	if threads <= ncpu {
		return ""
	}
	src := fmt.Sprintf("--threads %d", threads)
	if !cmd.Flags().Changed("threads") {
		src = fmt.Sprintf("$%s = %d", threadsEnv, threads)
	}
	return fmt.Sprintf("warning: %s exceeds the %s of this machine", src, wording.Plural(ncpu, "CPU"))
}

// setupThreads applies the thread split of the global flags before a command
// runs: GOMAXPROCS = --threads, the OpenBLAS thread count = --blas-threads.
// With neither flag nor variable set it changes nothing (Go uses every core,
// OpenBLAS its own default). A thread count above runtime.NumCPU() is used
// as given, with one warning on stderr. It is the root command's
// PersistentPreRunE.
func setupThreads(cmd *cobra.Command, _ []string) error {
	s, err := resolveThreads(cmd)
	if err != nil {
		return err
	}
	if w := threadsWarning(cmd, s.Threads, runtime.NumCPU()); w != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "iterflow: "+w)
	}
	if s.Threads > 0 {
		runtime.GOMAXPROCS(s.Threads)
	}
	if s.BLASThreads > 0 {
		nn.SetBLASThreads(s.BLASThreads)
	}
	return nil
}

// flowWorkers returns the number of batch workers for flow.Options.Workers:
// --threads / --blas-threads when --threads (or $ITERFLOW_THREADS) is set,
// else 0 (flow.DefaultWorkers: GOMAXPROCS / nn.BLASThreads).
func flowWorkers(cmd *cobra.Command) int {
	s, err := resolveThreads(cmd)
	if err != nil || s.Threads == 0 {
		return 0
	}
	return max(1, s.Threads/s.BLASThreads)
}

// pairAheadBLASThreads returns the BLAS thread count for a train run of cfg
// that pairs its batches ahead (otcfm with the exact coupling: the next
// batch's assignment is solved on another goroutine while the step trains;
// see method.FMConfig.PairInline): one core fewer than GOMAXPROCS, so that
// the step's matrix products and the pairing do not fight for the cores.
// It returns 0 (leave the count alone) for other methods, for the pure-Go
// build, on one core, and when the user chose the count: --blas-threads,
// $ITERFLOW_BLAS_THREADS, or the BLAS library's own variables
// (OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS). Measured on 2
// cores (moons, batch 1024): 30.5–33.5 ms per step with one OpenBLAS
// thread, 30.5–39 ms with two.
func pairAheadBLASThreads(cmd *cobra.Command, cfg *pipeline.Config) int {
	exact := cfg.Method == "otcfm" && (cfg.FM.Coupling == "" || cfg.FM.Coupling == "exact")
	if !exact || nn.Backend() == "pure-go" || cmd.Flags().Changed("blas-threads") {
		return 0
	}
	for _, env := range []string{blasThreadsEnv, "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"} {
		if os.Getenv(env) != "" {
			return 0
		}
	}
	if n := runtime.GOMAXPROCS(0); n >= 2 {
		return n - 1
	}
	return 0
}
