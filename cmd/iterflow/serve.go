package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/pipeline"
	"github.com/iterflow/iterflow/serve"
)

func newServeCmd() *cobra.Command {
	var (
		addr       string
		sf         solverFlags
		opt        serve.Options
		reqTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve RUN",
		Short: "Serve a trained model over HTTP: POST /logprob, POST /sample, GET /healthz, GET /info (/v1/model)",
		Long: `Load the model of the run directory RUN once and answer HTTP requests until interrupted:

  POST /logprob   rows in (JSON {"rows": [[...], ...]} or a bare array; or text/csv, optionally with a
                  header of the model's column names in any order: the columns are reordered), at most
                  --max-rows rows; log-densities out: {"logprob": [...], "unit": "nats"} (CSV with
                  "Accept: text/csv"). Values are in the units of the training data.
  POST /sample    {"n": N, "seed": S} → {"samples": [[...], ...], "seed": S}; N at most --max-samples
                  (default ` + strconv.Itoa(serve.DefaultMaxSamples) + `), S optional; CSV with "Accept: text/csv" (seed in X-Seed)
  GET  /healthz   {"status": "ok", "dim": d, "method": ...}
  GET  /info      dimension, column names, method, blocks, solver and limits
  GET  /v1/model  the same as /info

Bad rows get a 400 whose message names the row and column (counting from 0), a CSV header with unknown,
missing or repeated column names a 400 naming them, and a /sample "n" over --max-samples a 400; bodies
over --max-body and requests over --max-rows get a 413; when --max-concurrent requests are being scored,
a new one waits up to 2 s and then gets a 503 with Retry-After. Error responses never contain file paths
or internals.
The solver defaults to the run's evaluation settings (flags override). With dopri5 a row's value depends
slightly on the other rows of its request (the step size is chosen per batch); use --solver rk4 for
batch-independent values. SIGINT/SIGTERM stop the server after in-flight requests finish.`,
		Example: `  iterflow serve runs/white-wine-lfm --addr 127.0.0.1:8080
  curl -s localhost:8080/logprob -H 'Content-Type: application/json' -d '{"rows": [[7.0, 0.27, ...]]}'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRun,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := pipeline.OpenRun(args[0])
			if err != nil {
				return err
			}
			ec, seed := r.Config.Eval, r.Config.Seed
			sf.apply(cmd.Flags(), &ec, &seed)
			so, err := ec.ODE("solver")
			if err != nil {
				return err
			}
			tr, err := flow.ParseTrace(ec.Trace)
			if err != nil {
				return fmt.Errorf("--trace: %w", err)
			}
			opt.Solver, opt.Trace, opt.BatchSize, opt.Seed = so, tr, ec.BatchSize, seed
			opt.RequestTimeout = reqTimeout
			s, err := serve.New(r.Model, opt)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %s: %w", addr, err)
			}
			log, _, _ := reporters(cmd)
			infof(log, "serving %s (d = %d, %s) on http://%s; stop with Ctrl-C", args[0], r.Model.Dim(), r.Model.Method, ln.Addr())
			return s.Serve(cmd.Context(), ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.Int64Var(&opt.MaxBodyBytes, "max-body", serve.DefaultMaxBodyBytes, "largest request body in bytes")
	f.IntVar(&opt.MaxRows, "max-rows", serve.DefaultMaxRows, "most rows per /logprob request")
	f.IntVar(&opt.MaxSamples, "max-samples", serve.DefaultMaxSamples, "most samples per /sample request (n above it gets a 400)")
	f.IntVar(&opt.MaxConcurrent, "max-concurrent", 0, "requests scored at once (0: GOMAXPROCS)")
	f.DurationVar(&reqTimeout, "request-timeout", serve.DefaultRequestTimeout, "time limit of one request's scoring or sampling")
	sf.bind(f, true)
	return cmd
}
