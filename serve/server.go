// Package serve is the HTTP scoring service of iterflow: it holds one trained
// model.Model and answers log-density (POST /logprob) and sampling
// (POST /sample) requests, with limits on body size, rows per request,
// concurrent work and time, and JSON errors that name the bad row and column
// but never echo file paths or Go error internals.
//
// Endpoints:
//
//	GET  /healthz          {"status":"ok","dim":d,"method":"lfm"}
//	GET  /info, /v1/model  dimension, column names, method, blocks, solver, limits
//	POST /logprob          rows in (JSON or CSV), {"logprob":[...],"unit":"nats"} out
//	POST /sample           {"n":N,"seed":S} in, {"samples":[[...],...],"seed":S} out
//
// Rows are sent as JSON ({"rows": [[...], ...]} or a bare array of rows) or
// as CSV (Content-Type text/csv, comma-separated; a leading UTF-8 byte-order
// mark is skipped; a first row of the model's column names, in any order and
// matched as data.HeaderIndex does (an exact match wins, else the one match
// ignoring case), is a header: the columns are reordered to the model's, and
// a header with unknown, missing, repeated or ambiguous names is a 400 naming
// them). With "Accept: text/csv" the results come back as CSV
// (a /sample CSV response carries its seed in the X-Seed header). Errors are
// always JSON {"error": "...", "row": i, "column": j}, with row and column
// present when the error is about one; indices count from 0. Status codes:
// 400 bad rows or fields, 404 unknown path, 405 wrong method (with Allow),
// 408 body not received within ReadTimeout, 413 body or row count over the
// limit, 415 unsupported content type, 422 a non-finite log-density, 501
// log-densities of a model without an N(0, I) latent, 503 busy or over the
// time limit (with Retry-After), 500 "internal error" (details only in the
// log).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/ode"
)

// Defaults used where Options leaves a field 0.
const (
	DefaultMaxBodyBytes      = 8 << 20 // 8 MiB
	DefaultMaxRows           = 10000
	DefaultMaxSamples        = 10000
	DefaultQueueTimeout      = 2 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultRequestTimeout    = 30 * time.Second
	DefaultDrainTimeout      = 10 * time.Second
)

// Options configures a Server. The zero value selects every default; negative
// values are rejected by New.
type Options struct {
	// MaxBodyBytes caps the request body in bytes (0 selects 8 MiB); larger
	// bodies get 413.
	MaxBodyBytes int64
	// MaxRows caps the rows of one /logprob request (0 selects 10000); more
	// rows get 413.
	MaxRows int
	// MaxSamples caps n of one /sample request (0 selects 10000); a larger n
	// gets 400.
	MaxSamples int
	// MaxConcurrent caps the requests solving ODEs at the same time (0 selects
	// runtime.GOMAXPROCS(0)). Bodies are read and parsed before a slot is
	// taken, so slow clients do not hold slots.
	MaxConcurrent int
	// QueueTimeout is how long a request waits for a free slot before it gets
	// 503 with a Retry-After header (0 selects 2 s).
	QueueTimeout time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server timeouts used by Serve (0 selects 5 s, 10 s, 60 s and 60 s).
	// ReadTimeout bounds reading the whole request, so a client that trickles
	// its body gets 408. WriteTimeout should exceed RequestTimeout.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// RequestTimeout is the deadline of each request's work, parsing and
	// solving (0 selects 30 s); a request past it gets 503.
	RequestTimeout time.Duration
	// DrainTimeout is how long Serve waits for in-flight requests after its
	// context is canceled before closing connections (0 selects 10 s).
	DrainTimeout time.Duration
	// Solver configures the ODE solves of /logprob and /sample. The zero value
	// selects dopri5 with RTol = ATol = 1e-5 (methods.md §1: likelihoods
	// need tight tolerances). dopri5 chooses its steps per batch, so a row's
	// log-density depends slightly (about the tolerance) on the rows sent with
	// it; a fixed-step method (rk4) makes each row's value independent of its
	// batch.
	Solver ode.Options
	// Trace is the divergence estimator of /logprob (zero value: flow.Exact,
	// the exact trace, deterministic). The stochastic estimators draw their
	// probes from a per-request generator seeded like /sample's.
	Trace flow.Trace
	// Probes is the number of Hutchinson probes per row (0 selects 1).
	Probes int
	// BatchSize is the rows per solve (0 selects flow.DefaultBatchSize).
	BatchSize int
	// Seed is the base of the seeds of requests that do not give one: the
	// k-th such request (k = 1, 2, ...) uses Seed + k.
	Seed uint64
	// Log receives the details of internal errors (never sent to clients) and
	// of timeouts; nil selects slog.Default().
	Log *slog.Logger
}

// withDefaults returns o with defaults filled in, or an error naming the first
// negative field.
func (o Options) withDefaults() (Options, error) {
	checks := []struct {
		name string
		neg  bool
	}{
		{"MaxBodyBytes", o.MaxBodyBytes < 0}, {"MaxRows", o.MaxRows < 0}, {"MaxSamples", o.MaxSamples < 0},
		{"MaxConcurrent", o.MaxConcurrent < 0}, {"QueueTimeout", o.QueueTimeout < 0},
		{"ReadHeaderTimeout", o.ReadHeaderTimeout < 0}, {"ReadTimeout", o.ReadTimeout < 0},
		{"WriteTimeout", o.WriteTimeout < 0}, {"IdleTimeout", o.IdleTimeout < 0},
		{"RequestTimeout", o.RequestTimeout < 0}, {"DrainTimeout", o.DrainTimeout < 0},
		{"Probes", o.Probes < 0}, {"BatchSize", o.BatchSize < 0},
	}
	for _, c := range checks {
		if c.neg {
			return o, fmt.Errorf("serve: Options.%s is negative (0 selects the default)", c.name)
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&o.MaxRows, DefaultMaxRows)
	def(&o.MaxSamples, DefaultMaxSamples)
	def(&o.MaxConcurrent, runtime.GOMAXPROCS(0))
	defDur(&o.QueueTimeout, DefaultQueueTimeout)
	defDur(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defDur(&o.ReadTimeout, DefaultReadTimeout)
	defDur(&o.WriteTimeout, DefaultWriteTimeout)
	defDur(&o.IdleTimeout, DefaultIdleTimeout)
	defDur(&o.RequestTimeout, DefaultRequestTimeout)
	defDur(&o.DrainTimeout, DefaultDrainTimeout)
	if o.Solver == (ode.Options{}) {
		o.Solver = ode.Options{Method: ode.Dopri5, RTol: ode.DefaultRTol, ATol: ode.DefaultATol}
	}
	if err := o.Solver.Validate(); err != nil {
		return o, fmt.Errorf("serve: Options.Solver: %w", err)
	}
	switch o.Trace {
	case flow.Exact, flow.Hutchinson, flow.FDHutchinson:
	default:
		return o, fmt.Errorf("serve: Options.Trace: unknown trace estimator %v", o.Trace)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, nil
}

// backend is the part of model.Model the server uses; tests substitute fakes.
// Both methods must be safe for concurrent use (model.Model's are: each call
// builds its own float64 copy of the chain).
type backend interface {
	LogProb(ctx context.Context, x []float64, n int, opt flow.Options) ([]float64, flow.Stats, error)
	Sample(ctx context.Context, n int, opt flow.Options) ([]float64, flow.Stats, error)
}

// Info describes the served model, as GET /info returns it.
type Info struct {
	// Dim is the data dimension d.
	Dim int `json:"dim"`
	// Columns names the d data columns (may be empty).
	Columns []string `json:"columns"`
	// Method is the training method ("lfm", "jko", ...).
	Method string `json:"method"`
	// Blocks describes the chain's blocks in the data-to-latent order.
	Blocks []model.BlockInfo `json:"blocks"`
	// Source is the latent source of flow-matching models ("" for N(0, I)).
	// Models with another source cannot answer /logprob.
	Source string `json:"source,omitempty"`
	// Dequantized marks the columns dequantized with U[0, 1) noise in training.
	Dequantized []bool `json:"dequantized,omitempty"`
}

// Server answers scoring requests for one model. It is safe for concurrent
// use; create it with New.
type Server struct {
	b       backend
	info    Info
	opt     Options
	slots   chan struct{} // the semaphore of MaxConcurrent
	counter atomic.Uint64 // requests that drew a seed from Options.Seed
	handler http.Handler
}

// New returns a Server for m, which it validates. The server reads m but
// never modifies it; do not modify m while the server runs. Errors: an
// invalid model or a negative or invalid option, naming the field.
func New(m *model.Model, opt Options) (*Server, error) {
	if m == nil {
		return nil, errors.New("serve: the model is nil")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	info := Info{Dim: m.Dim(), Columns: m.Columns, Method: m.Method, Blocks: m.Blocks,
		Source: m.Source, Dequantized: m.Dequantized}
	return newServer(m, info, opt)
}

func newServer(b backend, info Info, opt Options) (*Server, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if info.Columns == nil {
		info.Columns = []string{}
	}
	s := &Server{b: b, info: info, opt: opt, slots: make(chan struct{}, opt.MaxConcurrent)}
	s.handler = s.routes()
	return s, nil
}

// Info returns the description of the served model.
func (s *Server) Info() Info { return s.info }

// Handler returns the server's http.Handler, for embedding in another
// service (see the example). It applies the body, row, concurrency and
// per-request time limits; the connection timeouts are the embedding
// http.Server's.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx is canceled, then stops accepting
// connections and waits up to DrainTimeout for in-flight requests before
// closing the rest. It returns nil after a clean shutdown, an error saying
// the drain timed out, or the listener's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		ReadTimeout:       s.opt.ReadTimeout,
		WriteTimeout:      s.opt.WriteTimeout,
		IdleTimeout:       s.opt.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.opt.Log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.opt.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(dctx)
	<-done // Serve has returned http.ErrServerClosed
	if err != nil {
		srv.Close()
		return fmt.Errorf("serve: requests still running after the drain timeout of %v were cut off", s.opt.DrainTimeout)
	}
	return nil
}

// ListenAndServe listens on the TCP address addr (e.g. "127.0.0.1:8080") and
// calls Serve. Errors: the address cannot be listened on, or those of Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return s.Serve(ctx, ln)
}

// acquire takes a slot of the concurrency semaphore, waiting up to
// QueueTimeout. It reports false when none came free in time or ctx ended.
func (s *Server) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.opt.QueueTimeout)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *Server) release() { <-s.slots }

// nextSeed returns Options.Seed + k for the k-th call.
func (s *Server) nextSeed() uint64 { return s.opt.Seed + s.counter.Add(1) }
