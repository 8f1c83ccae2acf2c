package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
)

// route is one endpoint: the methods it allows and its handler.
type route struct {
	allow string // for the Allow header, e.g. "GET, HEAD"
	get   bool   // GET and HEAD
	post  bool
	h     http.HandlerFunc
}

func (s *Server) routes() http.Handler {
	info := route{allow: "GET, HEAD", get: true, h: s.handleInfo}
	table := map[string]route{
		"/healthz":  {allow: "GET, HEAD", get: true, h: s.handleHealth},
		"/info":     info,
		"/v1/model": info,
		"/logprob":  {allow: "POST", post: true, h: s.handleLogProb},
		"/sample":   {allow: "POST", post: true, h: s.handleSample},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opt.Log.Error("serve: panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		rt, ok := table[r.URL.Path]
		if !ok {
			writeError(w, http.StatusNotFound, "no such endpoint; the endpoints are GET /healthz, GET /info, GET /v1/model, POST /logprob and POST /sample")
			return
		}
		isGet := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !(rt.get && isGet) && !(rt.post && r.Method == http.MethodPost) {
			w.Header().Set("Allow", rt.allow)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; use %s", quoteCell(r.Method), rt.allow))
			return
		}
		rt.h(w, r)
	})
}

// errorBody is the JSON form of every error response. Row and Column locate
// a bad cell, counting from 0, when the error is about one.
type errorBody struct {
	Error  string `json:"error"`
	Row    *int   `json:"row,omitempty"`
	Column *int   `json:"column,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	bw := bufio.NewWriter(w)
	json.NewEncoder(bw).Encode(v) // values are checked finite before; write errors mean the client left
	bw.Flush()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeRequestError(w http.ResponseWriter, e *requestError) {
	b := errorBody{Error: e.msg}
	if e.row >= 0 {
		b.Row = &e.row
	}
	if e.col >= 0 {
		b.Column = &e.col
	}
	writeJSON(w, e.status, b)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		Dim    int    `json:"dim"`
		Method string `json:"method"`
	}{"ok", s.info.Dim, s.info.Method})
}

// solverInfo is the JSON form of the solver settings.
type solverInfo struct {
	Method    string  `json:"method"`
	Steps     int     `json:"steps,omitempty"`
	RTol      float64 `json:"rtol,omitempty"`
	ATol      float64 `json:"atol,omitempty"`
	Trace     string  `json:"trace"`
	Probes    int     `json:"probes,omitempty"`
	BatchSize int     `json:"batch_size,omitempty"`
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	o := s.opt
	si := solverInfo{Method: o.Solver.Method.String(), Trace: o.Trace.String(), BatchSize: o.BatchSize}
	if o.Solver.Method.Fixed() {
		si.Steps = o.Solver.Steps
	} else {
		si.RTol, si.ATol = o.Solver.RTol, o.Solver.ATol
	}
	if o.Trace != flow.Exact {
		si.Probes = max(o.Probes, 1)
	}
	writeJSON(w, http.StatusOK, struct {
		Info
		Solver solverInfo     `json:"solver"`
		Limits map[string]any `json:"limits"`
	}{s.info, si, map[string]any{
		"max_body_bytes": o.MaxBodyBytes, "max_rows": o.MaxRows, "max_samples": o.MaxSamples,
		"max_concurrent": o.MaxConcurrent, "request_timeout_s": o.RequestTimeout.Seconds(),
	}})
}

// mediaType returns the lower-case media type of a Content-Type header, or ""
// when it is missing or unparsable.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// wantsCSV reports whether the Accept header asks for text/csv.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mediaType(strings.TrimSpace(part)) == "text/csv" {
			return true
		}
	}
	return false
}

// curlHint is the advice added to a 415 for curl's default body type: `curl
// -d` sends a form unless told otherwise.
func curlHint(mt string) string {
	if mt == "application/x-www-form-urlencoded" {
		return " (curl -d sends a form; add -H 'Content-Type: application/json')"
	}
	return ""
}

// isJSON reports whether mt is application/json or a +json type.
func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func (s *Server) handleLogProb(w http.ResponseWriter, r *http.Request) {
	if s.info.Source != "" {
		writeError(w, http.StatusNotImplemented, fmt.Sprintf(
			"this model cannot compute log-densities: it was trained from the source %q, not N(0, I)", s.info.Source))
		return
	}
	mt := mediaType(r.Header.Get("Content-Type"))
	if !isJSON(mt) && mt != "text/csv" {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported content type %s; send application/json or text/csv%s", quoteCell(mt), curlHint(mt)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.RequestTimeout)
	defer cancel()
	body := http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	rd := rowDecoder{d: s.info.Dim, maxRows: s.opt.MaxRows}
	if len(s.info.Columns) == s.info.Dim {
		rd.columns = s.info.Columns
	}
	var x []float64
	var n int
	var err error
	if mt == "text/csv" {
		x, n, err = rd.decodeCSV(body, s.opt.MaxBodyBytes)
	} else {
		x, n, err = rd.decodeJSON(body, s.opt.MaxBodyBytes)
	}
	if err != nil {
		s.bodyError(w, r, err)
		return
	}
	if !s.acquire(ctx) {
		s.busy(ctx, w, r)
		return
	}
	defer s.release()
	fo := s.flowOptions()
	if s.opt.Trace != flow.Exact {
		seed := s.nextSeed()
		fo.Rand = rand.New(rand.NewPCG(seed, 1))
	}
	lp, st, err := s.b.LogProb(ctx, x, n, fo)
	if err != nil {
		var re *model.RowError
		if errors.As(err, &re) && ctx.Err() == nil {
			s.opt.Log.Info("serve: row failed", "path", r.URL.Path, "row", re.Row, "err", re.Err)
			writeRequestError(w, &requestError{status: http.StatusUnprocessableEntity, row: re.Row, col: -1,
				msg: fmt.Sprintf("row %d: the log-density could not be computed (the ODE solve failed); the row may lie far outside the training data%s", re.Row, countNote)})
			return
		}
		s.computeError(ctx, w, r, err)
		return
	}
	for i, v := range lp {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			writeRequestError(w, &requestError{status: http.StatusUnprocessableEntity, row: i, col: -1,
				msg: fmt.Sprintf("row %d: the log-density is not finite (%v); the row may lie far outside the training data%s", i, v, countNote)})
			return
		}
	}
	if wantsCSV(r) {
		writeCSV(w, []string{"logprob"}, lp, n, 1)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		LogProb []float64 `json:"logprob"`
		Unit    string    `json:"unit"`
		NFE     int       `json:"nfe"`
	}{lp, "nats", st.NFE})
}

// sampleRequest is the JSON body of POST /sample.
type sampleRequest struct {
	N    *int    `json:"n"`
	Seed *uint64 `json:"seed"`
}

func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	mt := mediaType(r.Header.Get("Content-Type"))
	if !isJSON(mt) {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported content type %s; send application/json%s", quoteCell(mt), curlHint(mt)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.RequestTimeout)
	defer cancel()
	body := http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req sampleRequest
	if err := dec.Decode(&req); err != nil {
		s.bodyError(w, r, sampleDecodeError(err, s.opt.MaxBodyBytes))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = badRequest("unexpected data after the JSON value")
		}
		s.bodyError(w, r, sampleDecodeError(err, s.opt.MaxBodyBytes))
		return
	}
	switch {
	case req.N == nil:
		writeError(w, http.StatusBadRequest, `the body must give "n", the number of samples, e.g. {"n": 100, "seed": 7}`)
		return
	case *req.N < 1:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("n = %d; want at least 1 sample", *req.N))
		return
	case *req.N > s.opt.MaxSamples:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("n = %d exceeds the limit of %d samples per request", *req.N, s.opt.MaxSamples))
		return
	}
	n := *req.N
	var seed uint64
	if req.Seed != nil {
		seed = *req.Seed
	} else {
		seed = s.nextSeed()
	}
	if !s.acquire(ctx) {
		s.busy(ctx, w, r)
		return
	}
	defer s.release()
	fo := s.flowOptions()
	fo.Rand = SampleRand(seed)
	x, _, err := s.b.Sample(ctx, n, fo)
	if err != nil {
		s.computeError(ctx, w, r, err)
		return
	}
	d := s.info.Dim
	if len(x) != n*d {
		s.opt.Log.Error("serve: sample returned the wrong shape", "values", len(x), "n", n, "d", d)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.opt.Log.Error("serve: non-finite sample", "row", i/d, "column", i%d, "value", v, "seed", seed)
			writeError(w, http.StatusInternalServerError, "internal error: a sample was not finite")
			return
		}
	}
	if wantsCSV(r) {
		cols := s.info.Columns
		if len(cols) != d {
			cols = make([]string, d)
			for j := range cols {
				cols[j] = "x" + strconv.Itoa(j)
			}
		}
		w.Header().Set("X-Seed", strconv.FormatUint(seed, 10))
		writeCSV(w, cols, x, n, d)
		return
	}
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = x[i*d : (i+1)*d : (i+1)*d]
	}
	writeJSON(w, http.StatusOK, struct {
		Samples [][]float64 `json:"samples"`
		Seed    uint64      `json:"seed"`
	}{rows, seed})
}

// SampleRand returns the random source /sample uses for a request with the
// given seed: math/rand/v2's PCG seeded with (seed, 0). Calling
// model.Model.Sample with it and the server's solver reproduces a response.
func SampleRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func sampleDecodeError(err error, limit int64) error {
	err = readErr(err, limit)
	var re *requestError
	if errors.As(err, &re) {
		return re
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("invalid JSON: %s", strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		return badRequest("field %q must be a non-negative integer, got a JSON %s", te.Field, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(`the body is empty or ends early; send {"n": 100, "seed": 7}`)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s in the JSON body (the body holds \"n\" and an optional \"seed\")",
			strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return err
}

// flowOptions returns the flow.Options of the server's solves, without Rand.
func (s *Server) flowOptions() flow.Options {
	return flow.Options{Solver: s.opt.Solver, Trace: s.opt.Trace, Probes: s.opt.Probes, BatchSize: s.opt.BatchSize}
}

// bodyError answers an error from reading or parsing the body: request errors
// as they are, timeouts as 408, anything else generically.
func (s *Server) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		writeRequestError(w, re)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		s.opt.Log.Warn("serve: slow client: request body not received in time", "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, "the request body was not received in time")
	default:
		s.opt.Log.Warn("serve: reading the request body failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusBadRequest, "the request body could not be read")
	}
}

// busy answers a request that got no concurrency slot.
func (s *Server) busy(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() != nil {
		return // the client left
	}
	secs := max(1, int(math.Ceil(s.opt.QueueTimeout.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if ctx.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the request did not finish within the time limit of %v; try again later", s.opt.RequestTimeout))
		return
	}
	writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the server is busy (%d requests running); try again in %d s", s.opt.MaxConcurrent, secs))
}

// computeError answers an error of the model's solve: a timeout as 503 with
// the limit, anything else as a generic 500 with the detail logged.
func (s *Server) computeError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		s.opt.Log.Info("serve: client left during the solve", "path", r.URL.Path, "remote", r.RemoteAddr)
	case ctx.Err() != nil:
		s.opt.Log.Warn("serve: request timed out", "path", r.URL.Path, "timeout", s.opt.RequestTimeout, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the request did not finish within the time limit of %v; send fewer rows", s.opt.RequestTimeout))
	default:
		s.opt.Log.Error("serve: solve failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// writeCSV writes the n×k matrix v under the header cols, each value in the
// shortest form that parses back to the same float64.
func writeCSV(w http.ResponseWriter, cols []string, v []float64, n, k int) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	for j, c := range cols {
		if j > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(csvField(c))
	}
	bw.WriteByte('\n')
	var buf []byte
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			if j > 0 {
				bw.WriteByte(',')
			}
			buf = strconv.AppendFloat(buf[:0], v[i*k+j], 'g', -1, 64)
			bw.Write(buf)
		}
		bw.WriteByte('\n')
	}
	bw.Flush()
}

// csvField quotes a header field when it holds a comma, quote or newline.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
