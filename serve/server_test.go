package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
)

// testModel is a small real model: d = 3, two MLP blocks and a linear block
// behind a standardization.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	spec := nn.Spec{Dim: 3, Hidden: []int{8, 8}, Act: nn.Tanh, Beta: 1, TimeInput: true}
	rng := rand.New(rand.NewPCG(5, 6))
	m := &model.Model{Method: "lfm", Spec: spec, Columns: []string{"a", "b", "c"},
		Standardizer: &data.Standardizer{Mean: []float64{1, -2, 0.5}, Std: []float64{2, 0.5, 1.5}}}
	for k := 0; k < 2; k++ {
		net, err := nn.NewMLP[float32](spec, rng)
		if err != nil {
			t.Fatal(err)
		}
		m.Fields = append(m.Fields, net)
		m.Blocks = append(m.Blocks, model.BlockInfo{Kind: "ou", Gamma: 0.1 * float64(k+1)})
	}
	lin := nn.NewLinear[float32](3)
	copy(lin.Params(), []float32{0.1, -0.2, 0.05, 0.3, -0.1, 0.2, 0, 0.1, -0.3, 0.2, -0.1, 0.05})
	m.Fields = append(m.Fields, lin)
	m.Blocks = append(m.Blocks, model.BlockInfo{Kind: "free"})
	return m
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestServer(t testing.TB, m *model.Model, opt Options) *Server {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quietLog()
	}
	s, err := New(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends a request to h and returns the status, headers and body.
func do(h http.Handler, method, path, ctype, body string, hdr ...string) (int, http.Header, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

func errorOf(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e
}

// startServer runs s.Serve on a loopback port and returns its base URL and a
// function that stops it and returns Serve's result.
func startServer(t *testing.T, s *Server) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop := func() error {
		once.Do(func() { cancel(); serr = <-done })
		return serr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func randomRows(rng *rand.Rand, n, d int) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = 2 * rng.NormFloat64()
	}
	return x
}

func rowsJSON(x []float64, n, d int) string {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = x[i*d : (i+1)*d]
	}
	b, _ := json.Marshal(map[string]any{"rows": rows})
	return string(b)
}

func rowsCSV(x []float64, n, d int, header string) string {
	var sb strings.Builder
	if header != "" {
		sb.WriteString(header + "\n")
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			if j > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(strconv.FormatFloat(x[i*d+j], 'g', -1, 64))
		}
		sb.WriteString("\r\n")
	}
	return sb.String()
}

// The done-when test: the real server on a loopback port, 32 goroutines
// scoring different rows in JSON and CSV, each value equal to model.LogProb
// in-process with the same solver settings.
func TestLogProbConcurrentMatchesLibrary(t *testing.T) {
	m := testModel(t)
	s := newTestServer(t, m, Options{MaxConcurrent: 4, QueueTimeout: time.Minute})
	base, stop := startServer(t, s)
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			n := 1 + g%7
			x := randomRows(rng, n, 3)
			want, _, err := m.LogProb(context.Background(), x, n, s.flowOptions())
			if err != nil {
				errs <- err
				return
			}
			var resp *http.Response
			if g%2 == 0 {
				resp, err = http.Post(base+"/logprob", "application/json", strings.NewReader(rowsJSON(x, n, 3)))
			} else {
				resp, err = http.Post(base+"/logprob", "text/csv", strings.NewReader(rowsCSV(x, n, 3, "a,b,c")))
			}
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var got struct {
				LogProb []float64 `json:"logprob"`
				Unit    string    `json:"unit"`
				NFE     int       `json:"nfe"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("worker %d: status %d, decode %v", g, resp.StatusCode, err)
				return
			}
			if got.Unit != "nats" || got.NFE <= 0 || len(got.LogProb) != n {
				errs <- fmt.Errorf("worker %d: response %+v", g, got)
				return
			}
			for i := range want {
				if got.LogProb[i] != want[i] {
					errs <- fmt.Errorf("worker %d row %d: server %v, library %v", g, i, got.LogProb[i], want[i])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve returned %v after a clean shutdown", err)
	}
}

func TestLogProbBadRows(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{MaxRows: 3})
	h := s.Handler()
	const note = " (rows and columns count from 0)"
	cases := []struct {
		name, ctype, body string
		status            int
		msg               string
		row, col          int // -1: absent
	}{
		{"wrong width", "application/json", `{"rows": [[1,2,3],[1,2,3],[1,2,3,4]]}`, 400,
			"row 2 has 4 values; the model expects 3" + note, 2, -1},
		{"short row bare array", "application/json", `[[1,2,3],[1,2]]`, 400,
			"row 1 has 2 values; the model expects 3" + note, 1, -1},
		{"string cell", "application/json", `[[1,"x",3]]`, 400,
			`row 0, column 1 ("b"): the string "x" is not a number` + note, 0, 1},
		{"NaN string", "application/json", `[[1,2,3],[1,2,"NaN"]]`, 400,
			`row 1, column 2 ("c"): the string "NaN" is not a number` + note, 1, 2},
		{"null cell", "application/json", `[[null,2,3]]`, 400,
			`row 0, column 0 ("a"): null is not a number` + note, 0, 0},
		{"overflow", "application/json", `[[1,2,1e999]]`, 400,
			`row 0, column 2 ("c"): "1e999" is out of the float64 range` + note, 0, 2},
		{"nested", "application/json", `[[1,[2],3]]`, 400,
			`row 0, column 1 ("b"): a nested array or object is not a number` + note, 0, 1},
		{"row not array", "application/json", `{"rows": [[1,2,3], 4]}`, 400,
			"row 1 is not an array of numbers" + note, 1, -1},
		{"empty rows", "application/json", `{"rows": []}`, 400, "no rows: send at least one row of numbers", -1, -1},
		{"empty object", "application/json", `{}`, 400, "no rows: send at least one row of numbers", -1, -1},
		{"unknown field", "application/json", `{"rows": [[1,2,3]], "x": 1}`, 400,
			`unknown field "x" in the JSON body (the body holds "rows": [[...], ...])`, -1, -1},
		{"syntax", "application/json", `[[1,2,3]`, 400, "the JSON body ends early", -1, -1},
		{"bad char", "application/json", `[[1,2,x]]`, 400,
			"invalid JSON at byte offset 6: invalid character 'x' looking for beginning of value", -1, -1},
		{"trailing", "application/json", `[[1,2,3]] [[1,2,3]]`, 400, "unexpected data after the JSON value", -1, -1},
		{"too many rows", "application/json", `[[1,2,3],[1,2,3],[1,2,3],[1,2,3]]`, 413,
			"the request has more than 3 rows, the limit per request; split it into smaller requests", -1, -1},
		{"csv width", "text/csv", "a,b,c\n1,2,3\n1,2\n", 400, "row 1 has 2 values; the model expects 3" + note, 1, -1},
		{"csv NaN", "text/csv", "1,2,3\n1,NaN,3\n", 400,
			`row 1, column 1 ("b"): "NaN" is not allowed: values must be finite` + note, 1, 1},
		{"csv Inf", "text/csv", "1,2,-Inf\n", 400,
			`row 0, column 2 ("c"): "-Inf" is not allowed: values must be finite` + note, 0, 2},
		{"csv word", "text/csv", "1,2,3\n1,two,3\n", 400,
			`row 1, column 1 ("b"): "two" is not a number` + note, 1, 1},
		{"csv unknown header", "text/csv", "b,a,z\n1,2,3\n", 400,
			`the CSV header does not match the model's columns a,b,c: unknown "z"; missing "c" (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv short header", "text/csv", "c, a\n1,2\n", 400,
			`the CSV header does not match the model's columns a,b,c: missing "b" (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv repeated header", "text/csv", "a,b,a\n1,2,3\n", 400,
			`the CSV header does not match the model's columns a,b,c: missing "c"; repeated "a" (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv case header with unknown", "text/csv", "A,b,c,a\n1,2,3,4\n", 400,
			`the CSV header does not match the model's columns a,b,c: unknown "A" (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv ambiguous case header", "text/csv", "A,b,c,A \n1,2,3,4\n", 400,
			`the CSV header does not match the model's columns a,b,c: ambiguous "A" and "A" (both match "a" ignoring case) (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv BOM unknown header", "text/csv", "\ufeffx,b,c\n1,2,3\n", 400,
			`the CSV header does not match the model's columns a,b,c: unknown "x"; missing "a" (give each column name once, in any order, or send no header)`, -1, -1},
		{"csv semicolon header", "text/csv", "a;b;c\n1;2;3\n", 400,
			`the first CSV row "a;b;c" is one field, the model has 3 columns; the server reads comma-separated CSV (fields separated by ',')`, -1, -1},
		{"csv semicolon numbers", "text/csv", "1.5;2;3\n1;2;3\n", 400,
			`the first CSV row "1.5;2;3" is one field, the model has 3 columns; the server reads comma-separated CSV (fields separated by ',')`, -1, -1},
		{"csv tab header", "text/csv", "a\tb\tc\n1\t2\t3\n", 400,
			`the first CSV row "a\tb\tc" is one field, the model has 3 columns; the server reads comma-separated CSV (fields separated by ',')`, -1, -1},
		{"csv semicolon rows", "text/csv", "1,2,3\n1;2;3\n", 400,
			"row 1 has 1 value; the model expects 3" + note + "; the server reads comma-separated CSV (fields separated by ',')", 1, -1},
		{"csv permuted NaN", "text/csv", "c,a,b\n1,2,NaN\n", 400,
			`row 0, column 2 ("b"): "NaN" is not allowed: values must be finite` + note, 0, 2},
		{"csv only header", "text/csv", "a,b,c\n", 400, "no rows: send at least one row of numbers", -1, -1},
		{"csv quote", "text/csv", "1,\"2,3\n", 400, "invalid CSV on line 1, column 8: extraneous or missing \" in quoted-field", -1, -1},
		{"csv too many", "text/csv", "1,2,3\n1,2,3\n1,2,3\n1,2,3\n", 413,
			"the request has more than 3 rows, the limit per request; split it into smaller requests", -1, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := do(h, "POST", "/logprob", c.ctype, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d (%s)", code, c.status, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			e := errorOf(t, body)
			if e.Error != c.msg {
				t.Errorf("error\n got %q\nwant %q", e.Error, c.msg)
			}
			if (e.Row == nil) != (c.row < 0) || (e.Row != nil && *e.Row != c.row) {
				t.Errorf("row field %v, want %d", e.Row, c.row)
			}
			if (e.Column == nil) != (c.col < 0) || (e.Column != nil && *e.Column != c.col) {
				t.Errorf("column field %v, want %d", e.Column, c.col)
			}
		})
	}
}

func TestLogProbFormats(t *testing.T) {
	m := testModel(t)
	s := newTestServer(t, m, Options{})
	h := s.Handler()
	x := []float64{0.5, -1, 2, 1.25, -2, 0}
	want, _, err := m.LogProb(context.Background(), x, 2, s.flowOptions())
	if err != nil {
		t.Fatal(err)
	}
	// CSV in (header, spaces, blank line), CSV out; every value round-trips.
	code, hdr, body := do(h, "POST", "/logprob", "text/csv; charset=utf-8", "a, b, c\n0.5, -1, 2\n\n1.25,-2,0\n", "Accept", "text/csv")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d, %q: %s", code, hdr.Get("Content-Type"), body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "logprob" {
		t.Fatalf("CSV response %q: %v", body, err)
	}
	for i := range want {
		if v, _ := strconv.ParseFloat(recs[i+1][0], 64); v != want[i] {
			t.Errorf("CSV row %d: %v, want %v", i, v, want[i])
		}
	}
	// A header in another order: the columns are reordered to the model's.
	code, _, body = do(h, "POST", "/logprob", "text/csv", "c,a, b\n2,0.5,-1\n0,1.25,-2\n")
	var perm struct{ LogProb []float64 }
	if code != 200 || json.Unmarshal([]byte(body), &perm) != nil || len(perm.LogProb) != 2 || perm.LogProb[0] != want[0] || perm.LogProb[1] != want[1] {
		t.Errorf("permuted header: %d %s, want %v", code, body, want)
	}
	// A byte-order mark (Excel) before the header, and a header that names
	// the columns in another case and order: matched as iterflow logprob
	// matches them.
	for _, body := range []string{"\ufeffa,b,c\n0.5,-1,2\n1.25,-2,0\n", "\ufeffC,A,b\n2,0.5,-1\n0,1.25,-2\n", "A,B,C\n0.5,-1,2\n1.25,-2,0\n", "\ufeff0.5,-1,2\n1.25,-2,0\n"} {
		code, _, got := do(h, "POST", "/logprob", "text/csv", body)
		var res struct{ LogProb []float64 }
		if code != 200 || json.Unmarshal([]byte(got), &res) != nil || len(res.LogProb) != 2 || res.LogProb[0] != want[0] || res.LogProb[1] != want[1] {
			t.Errorf("body %q: %d %s, want %v", body, code, got, want)
		}
	}
	// Bare JSON array, +json content type.
	code, _, body = do(h, "POST", "/logprob", "application/vnd.api+json", `[[0.5,-1,2],[1.25,-2,0]]`)
	var got struct{ LogProb []float64 }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.LogProb) != 2 || got.LogProb[0] != want[0] || got.LogProb[1] != want[1] {
		t.Errorf("bare array: %d %s, want %v", code, body, want)
	}
}

func TestStatusCodes(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{MaxBodyBytes: 64, MaxSamples: 5})
	h := s.Handler()
	big := rowsJSON(make([]float64, 30), 10, 3)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		msg, allow                      string
	}{
		{"body too big", "POST", "/logprob", "application/json", big, 413,
			"the request body exceeds the limit of 64 bytes; split it into smaller requests", ""},
		{"csv too big", "POST", "/logprob", "text/csv", strings.Repeat("1,2,3\n", 20), 413,
			"the request body exceeds the limit of 64 bytes; split it into smaller requests", ""},
		{"no content type", "POST", "/logprob", "", `[[1,2,3]]`, 415,
			`unsupported content type ""; send application/json or text/csv`, ""},
		{"xml", "POST", "/logprob", "application/xml", `<a/>`, 415,
			`unsupported content type "application/xml"; send application/json or text/csv`, ""},
		{"curl form", "POST", "/logprob", "application/x-www-form-urlencoded", `{"rows":[[1,2,3]]}`, 415,
			`unsupported content type "application/x-www-form-urlencoded"; send application/json or text/csv (curl -d sends a form; add -H 'Content-Type: application/json')`, ""},
		{"curl form sample", "POST", "/sample", "application/x-www-form-urlencoded", `{"n":2}`, 415,
			`unsupported content type "application/x-www-form-urlencoded"; send application/json (curl -d sends a form; add -H 'Content-Type: application/json')`, ""},
		{"sample csv in", "POST", "/sample", "text/csv", `5`, 415,
			`unsupported content type "text/csv"; send application/json`, ""},
		{"get logprob", "GET", "/logprob", "", "", 405, `method "GET" is not allowed here; use POST`, "POST"},
		{"post healthz", "POST", "/healthz", "application/json", "{}", 405, `method "POST" is not allowed here; use GET, HEAD`, "GET, HEAD"},
		{"delete info", "DELETE", "/info", "", "", 405, `method "DELETE" is not allowed here; use GET, HEAD`, "GET, HEAD"},
		{"unknown", "GET", "/etc/passwd", "", "", 404,
			"no such endpoint; the endpoints are GET /healthz, GET /info, GET /v1/model, POST /logprob and POST /sample", ""},
		{"sample n too big", "POST", "/sample", "application/json", `{"n": 6}`, 400, "n = 6 exceeds the limit of 5 samples per request", ""},
		{"sample n zero", "POST", "/sample", "application/json", `{"n": 0}`, 400, "n = 0; want at least 1 sample", ""},
		{"sample no n", "POST", "/sample", "application/json", `{"seed": 3}`, 400,
			`the body must give "n", the number of samples, e.g. {"n": 100, "seed": 7}`, ""},
		{"sample unknown", "POST", "/sample", "application/json", `{"n": 2, "m": 1}`, 400,
			`unknown field "m" in the JSON body (the body holds "n" and an optional "seed")`, ""},
		{"sample type", "POST", "/sample", "application/json", `{"n": "2"}`, 400,
			`field "n" must be a non-negative integer, got a JSON string`, ""},
		{"sample negative seed", "POST", "/sample", "application/json", `{"n": 2, "seed": -1}`, 400,
			`field "seed" must be a non-negative integer, got a JSON number -1`, ""},
		{"sample empty", "POST", "/sample", "application/json", ``, 400,
			`the body is empty or ends early; send {"n": 100, "seed": 7}`, ""},
		{"sample syntax", "POST", "/sample", "application/json", `{"n": x}`, 400,
			"invalid JSON: invalid character 'x' looking for beginning of value", ""},
		{"sample trailing", "POST", "/sample", "application/json", `{"n": 2} 3`, 400, "unexpected data after the JSON value", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := do(h, c.method, c.path, c.ctype, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d (%s)", code, c.status, body)
			}
			if e := errorOf(t, body); e.Error != c.msg {
				t.Errorf("error\n got %q\nwant %q", e.Error, c.msg)
			}
			if got := hdr.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
		})
	}
}

func TestHealthAndInfo(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{MaxRows: 7})
	h := s.Handler()
	code, _, body := do(h, "GET", "/healthz", "", "")
	if code != 200 || body != `{"status":"ok","dim":3,"method":"lfm"}`+"\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	for _, path := range []string{"/info", "/v1/model"} {
		code, _, body = do(h, "GET", path, "", "")
		var info struct {
			Dim     int
			Columns []string
			Method  string
			Blocks  []model.BlockInfo
			Solver  solverInfo
			Limits  map[string]float64
		}
		if err := json.Unmarshal([]byte(body), &info); err != nil || code != 200 {
			t.Fatalf("%s: %d %s %v", path, code, body, err)
		}
		if info.Dim != 3 || strings.Join(info.Columns, ",") != "a,b,c" || len(info.Blocks) != 3 || info.Blocks[2].Kind != "free" ||
			info.Solver != (solverInfo{Method: "dopri5", RTol: 1e-5, ATol: 1e-5, Trace: "exact"}) || info.Limits["max_rows"] != 7 {
			t.Errorf("%s: %+v", path, info)
		}
	}
}

func TestSampleReproducible(t *testing.T) {
	m := testModel(t)
	s := newTestServer(t, m, Options{Seed: 100})
	h := s.Handler()
	type resp struct {
		Samples [][]float64
		Seed    uint64
	}
	get := func(body string) resp {
		t.Helper()
		code, _, out := do(h, "POST", "/sample", "application/json", body)
		var r resp
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 200 {
			t.Fatalf("%s: %d %s %v", body, code, out, err)
		}
		return r
	}
	a, b := get(`{"n": 5, "seed": 7}`), get(`{"n":5,"seed":7}`)
	want, _, err := m.Sample(context.Background(), 5, flow.Options{Solver: s.opt.Solver, Rand: SampleRand(7)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Samples) != 5 || a.Seed != 7 {
		t.Fatalf("got %d samples, seed %d", len(a.Samples), a.Seed)
	}
	for i, row := range a.Samples {
		if len(row) != 3 {
			t.Fatalf("row %d has width %d", i, len(row))
		}
		for j, v := range row {
			if v != b.Samples[i][j] || v != want[i*3+j] {
				t.Errorf("sample [%d,%d]: %v, again %v, library %v", i, j, v, b.Samples[i][j], want[i*3+j])
			}
		}
	}
	// Without a seed: Options.Seed + 1, then + 2.
	if c, d := get(`{"n": 2}`), get(`{"n": 2}`); c.Seed != 101 || d.Seed != 102 || c.Samples[0][0] == d.Samples[0][0] {
		t.Errorf("derived seeds %d, %d; first values %v, %v", c.Seed, d.Seed, c.Samples[0][0], d.Samples[0][0])
	}
	code, hdr, out := do(h, "POST", "/sample", "application/json", `{"n": 5, "seed": 7}`, "Accept", "text/csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 200 || err != nil || len(recs) != 6 || strings.Join(recs[0], ",") != "a,b,c" || hdr.Get("X-Seed") != "7" {
		t.Fatalf("CSV sample: %d %q %v", code, out, err)
	}
	if v, _ := strconv.ParseFloat(recs[5][2], 64); v != want[14] {
		t.Errorf("CSV sample [4,2] = %v, want %v", v, want[14])
	}
}

// fake is a backend whose calls block until release is closed (or their
// context ends), signalling entered first.
type fake struct {
	entered chan struct{}
	release chan struct{}
	err     error
	out     []float64 // LogProb's result when set
}

func newFake() *fake { return &fake{entered: make(chan struct{}, 100), release: make(chan struct{})} }

func (f *fake) LogProb(ctx context.Context, x []float64, n int, opt flow.Options) ([]float64, flow.Stats, error) {
	f.entered <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, flow.Stats{}, fmt.Errorf("ode: dopri5 failed at t = 0.5: %w", ctx.Err())
	}
	if f.err != nil {
		return nil, flow.Stats{}, f.err
	}
	if f.out != nil {
		return f.out, flow.Stats{NFE: 1}, nil
	}
	return make([]float64, n), flow.Stats{NFE: 1}, nil
}

func (f *fake) Sample(ctx context.Context, n int, opt flow.Options) ([]float64, flow.Stats, error) {
	_, st, err := f.LogProb(ctx, nil, n, opt)
	return make([]float64, 2*n), st, err
}

func fakeServer(t *testing.T, f *fake, opt Options) *Server {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quietLog()
	}
	s, err := newServer(f, Info{Dim: 2, Method: "fake"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBusyReturns503(t *testing.T) {
	f := newFake()
	s := fakeServer(t, f, Options{MaxConcurrent: 1, QueueTimeout: 50 * time.Millisecond})
	h := s.Handler()
	first := make(chan int)
	go func() {
		code, _, _ := do(h, "POST", "/logprob", "application/json", `[[1,2]]`)
		first <- code
	}()
	<-f.entered
	code, hdr, body := do(h, "POST", "/sample", "application/json", `{"n": 1}`)
	if code != 503 || hdr.Get("Retry-After") != "1" ||
		errorOf(t, body).Error != "the server is busy (1 requests running); try again in 1 s" {
		t.Errorf("saturated: %d %q %s", code, hdr.Get("Retry-After"), body)
	}
	close(f.release)
	if c := <-first; c != 200 {
		t.Errorf("first request: %d", c)
	}
	// The slot is free again.
	if code, _, body := do(h, "POST", "/logprob", "application/json", `[[1,2]]`); code != 200 {
		t.Errorf("after release: %d %s", code, body)
	}
}

func TestRequestTimeoutAndInternalErrors(t *testing.T) {
	f := newFake()
	var logs bytes.Buffer
	var mu sync.Mutex
	s := fakeServer(t, f, Options{RequestTimeout: 30 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))})
	code, _, body := do(s.Handler(), "POST", "/logprob", "application/json", `[[1,2]]`)
	if code != 503 || errorOf(t, body).Error != "the request did not finish within the time limit of 30ms; send fewer rows" {
		t.Errorf("timeout: %d %s", code, body)
	}
	// A failure with a path in it: the client sees only "internal error".
	f2 := newFake()
	f2.err = errors.New("open /srv/models/secret/model.safetensors: permission denied")
	close(f2.release)
	s2 := fakeServer(t, f2, Options{Log: s.opt.Log})
	code, _, body = do(s2.Handler(), "POST", "/logprob", "application/json", `[[1,2]]`)
	if code != 500 || body != `{"error":"internal error"}`+"\n" {
		t.Errorf("internal: %d %q", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "/srv/models/secret/model.safetensors") || !strings.Contains(logs.String(), "request timed out") {
		t.Errorf("log lacks the details: %s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A client that sends its headers and then trickles the body gets 408 after
// ReadTimeout and does not hold a concurrency slot.
func TestSlowClientTimesOut(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{ReadTimeout: 200 * time.Millisecond, MaxConcurrent: 1})
	base, _ := startServer(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /logprob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[[1,")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() { // trickle a byte every 50 ms until the connection breaks
		for i := 0; i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			if _, err := conn.Write([]byte("2")); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a slow client: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || !strings.Contains(string(b), "the request body was not received in time") {
		t.Errorf("slow client: %d %s", resp.StatusCode, b)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("slow client answered after %v", el)
	}
	// Other clients are still served.
	r2, err := http.Post(base+"/logprob", "application/json", strings.NewReader(`[[1,2,3]]`))
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("after a slow client: %v %v", r2, err)
	}
	r2.Body.Close()
}

// Canceling Serve's context lets in-flight requests finish, then Serve
// returns nil; with a short DrainTimeout it cuts them off and says so.
func TestShutdownDrains(t *testing.T) {
	f := newFake()
	s := fakeServer(t, f, Options{DrainTimeout: 5 * time.Second})
	base, stop := startServer(t, s)
	got := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/logprob", "application/json", strings.NewReader(`[[1,2]]`))
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-f.entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(f.release)
	if c := <-got; c != 200 {
		t.Errorf("in-flight request: %d", c)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}

	f2 := newFake()
	s2 := fakeServer(t, f2, Options{DrainTimeout: 50 * time.Millisecond})
	base2, stop2 := startServer(t, s2)
	go func() {
		if resp, err := http.Post(base2+"/logprob", "application/json", strings.NewReader(`[[1,2]]`)); err == nil {
			resp.Body.Close()
		}
	}()
	<-f2.entered
	if err := stop2(); err == nil || err.Error() != "serve: requests still running after the drain timeout of 50ms were cut off" {
		t.Errorf("drain timeout: %v", err)
	}
	close(f2.release)
}

func TestNewErrors(t *testing.T) {
	m := testModel(t)
	if _, err := New(m, Options{MaxRows: -1}); err == nil || err.Error() != "serve: Options.MaxRows is negative (0 selects the default)" {
		t.Errorf("negative: %v", err)
	}
	if _, err := New(nil, Options{}); err == nil || err.Error() != "serve: the model is nil" {
		t.Errorf("nil: %v", err)
	}
	bad := testModel(t)
	bad.Columns = []string{"a"}
	if _, err := New(bad, Options{}); err == nil || err.Error() != "serve: model: 1 column names, want 3" {
		t.Errorf("invalid model: %v", err)
	}
	if _, err := New(m, Options{Trace: flow.Trace(9)}); err == nil || err.Error() != "serve: Options.Trace: unknown trace estimator Trace(9)" {
		t.Errorf("trace: %v", err)
	}
	src := testModel(t)
	src.Source = "moons"
	s := newTestServer(t, src, Options{})
	if code, _, body := do(s.Handler(), "POST", "/logprob", "application/json", `[[1,2,3]]`); code != 501 {
		t.Errorf("source model: %d %s", code, body)
	}
}

// A non-finite log-density is reported as 422 naming its row, never sent as NaN.
func TestNonFiniteLogProb(t *testing.T) {
	f := newFake()
	f.out = []float64{-1, math.Inf(-1)}
	close(f.release)
	s := fakeServer(t, f, Options{})
	code, _, body := do(s.Handler(), "POST", "/logprob", "application/json", `[[1,2],[3,4]]`)
	e := errorOf(t, body)
	if code != 422 || e.Error != "row 1: the log-density is not finite (-Inf); the row may lie far outside the training data (rows and columns count from 0)" ||
		e.Row == nil || *e.Row != 1 {
		t.Errorf("status %d: %s", code, body)
	}
}

// The stochastic trace estimators draw their probes from PCG(Options.Seed + k, 1)
// for the k-th request, so a response can be reproduced in-process.
func TestLogProbHutchinson(t *testing.T) {
	m := testModel(t)
	s := newTestServer(t, m, Options{Trace: flow.Hutchinson, Probes: 2, Seed: 40})
	x := []float64{0.5, -1, 2}
	code, _, body := do(s.Handler(), "POST", "/logprob", "application/json", `[[0.5,-1,2]]`)
	var got struct{ LogProb []float64 }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("%d %s", code, body)
	}
	fo := s.flowOptions()
	fo.Rand = rand.New(rand.NewPCG(41, 1))
	want, _, err := m.LogProb(context.Background(), x, 1, fo)
	if err != nil {
		t.Fatal(err)
	}
	if got.LogProb[0] != want[0] {
		t.Errorf("Hutchinson: server %v, library %v", got.LogProb, want)
	}
}

func TestListenAndServe(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{})
	if err := s.ListenAndServe(context.Background(), "127.0.0.1:-5"); err == nil || !strings.HasPrefix(err.Error(), "serve: listen tcp") {
		t.Errorf("bad address: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.ListenAndServe(ctx, "127.0.0.1:0"); err != nil {
		t.Errorf("canceled at once: %v", err)
	}
}

func BenchmarkLogProbHandler(b *testing.B) {
	m := testModel(b)
	s := newTestServer(b, m, Options{})
	h := s.Handler()
	rng := rand.New(rand.NewPCG(1, 2))
	body := rowsJSON(randomRows(rng, 256, 3), 256, 3)
	b.ReportAllocs()
	for b.Loop() {
		if code, _, out := do(h, "POST", "/logprob", "application/json", body); code != 200 {
			b.Fatal(out)
		}
	}
}

// TestExtremeRowIs422NamingTheRow sends rows far outside the training data
// (1e300), after a normal row and alone: the solve fails, and the answer is
// a 422 naming the row, not a 500.
func TestExtremeRowIs422NamingTheRow(t *testing.T) {
	s := newTestServer(t, testModel(t), Options{})
	for _, tc := range []struct {
		body string
		row  int
	}{
		{`{"rows": [[0.1, 0.2, 0.3], [1e300, 0.2, 0.3]]}`, 1},
		{`{"rows": [[1e300, 0.2, 0.3]]}`, 0},
	} {
		code, _, body := do(s.Handler(), "POST", "/logprob", "application/json", tc.body)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d, body %s", tc.body, code, body)
		}
		e := errorOf(t, body)
		want := fmt.Sprintf("row %d: the log-density could not be computed (the ODE solve failed)", tc.row)
		if e.Row == nil || *e.Row != tc.row || !strings.HasPrefix(e.Error, want) {
			t.Errorf("%s: error %+v", tc.body, e)
		}
	}
}
