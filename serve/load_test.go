package serve

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load-test limits: the test refuses durations and client counts beyond
// these, and stops after loadMaxRequests requests whatever the duration.
const (
	loadMaxSeconds  = 600
	loadMaxClients  = 256
	loadMaxRequests = 2_000_000
	// loadHeapSlack is the growth of the heap in use (after a GC) allowed
	// between the warm-up sample and the end of the load, on top of 50% of
	// the warm-up figure: in-flight requests of 32 clients hold well under
	// 1 MiB each, so growth beyond this is a leak.
	loadHeapSlack = 16 << 20
	// loadIdleSlack is the growth of the idle heap allowed from before the
	// server started to after it stopped and every connection closed.
	loadIdleSlack = 8 << 20
)

// latencyHist is a log-linear latency histogram with about 1% resolution
// from 1 µs to 1000 s, so that recording a request allocates nothing and the
// test's own memory does not grow with the number of requests.
type latencyHist struct {
	counts [2200]uint64
	n      uint64
	max    time.Duration
}

const histBase = 1.01

func (h *latencyHist) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = int(math.Log(us) / math.Log(histBase))
	}
	i = min(max(i, 0), len(h.counts)-1)
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the upper edge of the bucket holding the q-quantile.
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var c uint64
	for i, k := range h.counts {
		c += k
		if c >= rank {
			return min(time.Duration(math.Pow(histBase, float64(i+1))*float64(time.Microsecond)), h.max)
		}
	}
	return h.max
}

func TestLatencyHistQuantiles(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.011 {
			t.Errorf("quantile(%v) = %v, want %v within 1.1%%", c.q, got, c.want)
		}
	}
	if h.max != time.Second || h.n != 1000 {
		t.Errorf("max %v, n %d; want 1s, 1000", h.max, h.n)
	}
}

// heapInUse returns HeapInuse after a full GC, in bytes.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// loadClient is one client's tallies.
type loadClient struct {
	lat                      latencyHist
	ok, busy                 int
	jsonLP, csvLP, sample    int
	rows                     int
	firstErr                 error
	errs                     int
	statusCounts             map[int]int
	bodyBuf                  bytes.Buffer
	latJSON, latCSV, latSamp latencyHist
}

// TestLoad drives the real server on a loopback port with many concurrent
// clients for ITERFLOW_LOAD_SECONDS seconds (make loadtest: 60): a mix of
// /logprob in JSON and CSV (1–200 rows, some answered as CSV) and /sample
// (1–200 samples). It asserts that every response is 2xx except 503 "busy"
// answers (with Retry-After) when the slots are saturated, that every 200
// carries the right number of finite values, that the heap in use (after a
// GC) does not grow between the warm-up and the end of the load, and that
// the goroutine count and the idle heap return to their baselines after the
// shutdown. ITERFLOW_LOAD_CLIENTS sets the clients (default 32). It logs the
// requests per second, latency percentiles and heap figures.
func TestLoad(t *testing.T) {
	secStr := os.Getenv("ITERFLOW_LOAD_SECONDS")
	if secStr == "" {
		t.Skip("load test: set ITERFLOW_LOAD_SECONDS (e.g. make loadtest, 60 s) to run it")
	}
	secs, err := strconv.ParseFloat(secStr, 64)
	if err != nil || !(secs > 0 && secs <= loadMaxSeconds) {
		t.Fatalf("ITERFLOW_LOAD_SECONDS = %q; want a number of seconds in (0, %d]", secStr, loadMaxSeconds)
	}
	clients := 32
	if s := os.Getenv("ITERFLOW_LOAD_CLIENTS"); s != "" {
		clients, err = strconv.Atoi(s)
		if err != nil || clients < 1 || clients > loadMaxClients {
			t.Fatalf("ITERFLOW_LOAD_CLIENTS = %q; want an integer in [1, %d]", s, loadMaxClients)
		}
	}
	dur := time.Duration(secs * float64(time.Second))

	m := testModel(t)
	goroutines0 := runtime.NumGoroutine()
	idle0 := heapInUse()
	// Two slots (or GOMAXPROCS) for 32 clients: a short queue timeout makes
	// the server shed load with 503 rather than queue for long.
	s := newTestServer(t, m, Options{QueueTimeout: 500 * time.Millisecond, MaxRows: 200, MaxSamples: 200})
	base, stop := startServer(t, s)
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: 30 * time.Second}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}

	start := time.Now()
	deadline := start.Add(dur)
	var total atomic.Int64
	var wg sync.WaitGroup
	res := make([]*loadClient, clients)
	for g := range res {
		c := &loadClient{statusCounts: map[int]int{}}
		res[g] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0x10ad))
			for time.Now().Before(deadline) && total.Add(1) <= loadMaxRequests {
				c.do(hc, base, rng)
			}
		}()
	}

	// Heap in use at the end of the warm-up (10% of the time), at the middle
	// and near the end (95%), while the clients run.
	type mark struct {
		name string
		frac float64
		heap uint64
		at   time.Duration
	}
	marks := []mark{{name: "warm", frac: 0.1}, {name: "middle", frac: 0.5}, {name: "end", frac: 0.95}}
	for i := range marks {
		time.Sleep(time.Until(start.Add(time.Duration(marks[i].frac * float64(dur)))))
		marks[i].heap = heapInUse()
		marks[i].at = time.Since(start)
	}
	wg.Wait()
	elapsed := time.Since(start)

	if err := stop(); err != nil {
		t.Errorf("Serve returned %v after the load", err)
	}
	tr.CloseIdleConnections()

	var all, lj, lc, ls latencyHist
	var ok, busy, errs, jsonLP, csvLP, sample, rows int
	statuses := map[int]int{}
	for g, c := range res {
		all.merge(&c.lat)
		lj.merge(&c.latJSON)
		lc.merge(&c.latCSV)
		ls.merge(&c.latSamp)
		ok += c.ok
		busy += c.busy
		errs += c.errs
		jsonLP += c.jsonLP
		csvLP += c.csvLP
		sample += c.sample
		rows += c.rows
		for k, v := range c.statusCounts {
			statuses[k] += v
		}
		if c.firstErr != nil {
			t.Errorf("client %d: %d errors, the first: %v", g, c.errs, c.firstErr)
		}
	}
	if ok == 0 {
		t.Fatalf("no request succeeded (statuses %v)", statuses)
	}

	warm, end := marks[0].heap, marks[2].heap
	if bound := warm + warm/2 + loadHeapSlack; end > bound {
		t.Errorf("heap in use grew under load from %.1f MiB (warm-up) to %.1f MiB (end); the bound is %.1f MiB",
			mibf(warm), mibf(end), mibf(bound))
	}

	// Goroutines: the server's and the clients' connection goroutines end
	// once the server has stopped and the idle connections are closed.
	var goroutines int
	for wait := time.Now().Add(5 * time.Second); ; {
		goroutines = runtime.NumGoroutine()
		if goroutines <= goroutines0 || time.Now().After(wait) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if goroutines > goroutines0 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines 5 s after the shutdown, %d before the server started:\n%s", goroutines, goroutines0, buf)
	}
	idle1 := heapInUse()
	if idle1 > idle0+loadIdleSlack {
		t.Errorf("idle heap in use %.1f MiB after the shutdown, %.1f MiB before the server started (bound +%d MiB)",
			mibf(idle1), mibf(idle0), loadIdleSlack>>20)
	}

	n := ok + busy + errs
	t.Logf("load: %d clients, %.1f s, %d requests (%.0f/s; %d logprob JSON, %d logprob CSV, %d sample; %d rows scored or drawn), "+
		"%d ok, %d busy 503, %d errors; latency p50 %v p90 %v p99 %v max %v "+
		"(logprob JSON p50/p99 %v/%v, CSV %v/%v, sample %v/%v); heap in use warm %.1f MiB, middle %.1f MiB, end %.1f MiB, "+
		"idle before %.1f MiB, after %.1f MiB; goroutines before %d, after %d; GOMAXPROCS %d, slots %d",
		clients, elapsed.Seconds(), n, float64(n)/elapsed.Seconds(), jsonLP, csvLP, sample, rows,
		ok, busy, errs, rd(all.quantile(0.5)), rd(all.quantile(0.9)), rd(all.quantile(0.99)), rd(all.max),
		rd(lj.quantile(0.5)), rd(lj.quantile(0.99)), rd(lc.quantile(0.5)), rd(lc.quantile(0.99)),
		rd(ls.quantile(0.5)), rd(ls.quantile(0.99)),
		mibf(warm), mibf(marks[1].heap), mibf(end), mibf(idle0), mibf(idle1), goroutines0, goroutines,
		runtime.GOMAXPROCS(0), s.opt.MaxConcurrent)
}

func mibf(b uint64) float64 { return float64(b) / (1 << 20) }

func rd(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// do sends one request of a random kind and checks the answer.
func (c *loadClient) do(hc *http.Client, base string, rng *rand.Rand) {
	n := 1 + rng.IntN(200)
	var req *http.Request
	var err error
	kind := rng.IntN(10)
	csvOut := rng.IntN(4) == 0
	switch {
	case kind < 4:
		c.jsonLP++
		req, err = http.NewRequest(http.MethodPost, base+"/logprob", strings.NewReader(rowsJSON(randomRows(rng, n, 3), n, 3)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case kind < 7:
		c.csvLP++
		header := ""
		if rng.IntN(2) == 0 {
			header = "a,b,c"
		}
		req, err = http.NewRequest(http.MethodPost, base+"/logprob", strings.NewReader(rowsCSV(randomRows(rng, n, 3), n, 3, header)))
		if err == nil {
			req.Header.Set("Content-Type", "text/csv")
		}
	default:
		c.sample++
		body := fmt.Sprintf(`{"n": %d}`, n)
		if rng.IntN(2) == 0 {
			body = fmt.Sprintf(`{"n": %d, "seed": %d}`, n, rng.Uint64())
		}
		req, err = http.NewRequest(http.MethodPost, base+"/sample", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		c.fail(err)
		return
	}
	if csvOut {
		req.Header.Set("Accept", "text/csv")
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		c.fail(err)
		return
	}
	c.bodyBuf.Reset()
	_, err = c.bodyBuf.ReadFrom(resp.Body)
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		c.fail(fmt.Errorf("%s: reading the body: %w", req.URL.Path, err))
		return
	}
	c.statusCounts[resp.StatusCode]++
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" &&
		strings.Contains(c.bodyBuf.String(), "the server is busy") {
		c.busy++
		return
	}
	if resp.StatusCode != http.StatusOK {
		c.fail(fmt.Errorf("%s with %d rows: status %d: %s", req.URL.Path, n, resp.StatusCode, c.bodyBuf.String()))
		return
	}
	if err := checkBody(req.URL.Path, c.bodyBuf.Bytes(), n, csvOut); err != nil {
		c.fail(err)
		return
	}
	c.ok++
	c.rows += n
	c.lat.add(lat)
	switch {
	case kind < 4:
		c.latJSON.add(lat)
	case kind < 7:
		c.latCSV.add(lat)
	default:
		c.latSamp.add(lat)
	}
}

func (c *loadClient) fail(err error) {
	c.errs++
	if c.firstErr == nil {
		c.firstErr = err
	}
}

// checkBody checks that a 200 answer holds n finite values per row (1 for
// /logprob, d = 3 for /sample) in the requested format.
func checkBody(path string, body []byte, n int, csvOut bool) error {
	width := 1
	if path == "/sample" {
		width = 3
	}
	var vals [][]float64
	if csvOut {
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(recs) < 1 {
			return fmt.Errorf("%s: CSV answer does not parse: %v", path, err)
		}
		for _, r := range recs[1:] {
			row := make([]float64, len(r))
			for j, f := range r {
				if row[j], err = strconv.ParseFloat(f, 64); err != nil {
					return fmt.Errorf("%s: CSV cell %q: %v", path, f, err)
				}
			}
			vals = append(vals, row)
		}
	} else if path == "/sample" {
		var got struct {
			Samples [][]float64 `json:"samples"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return fmt.Errorf("%s: JSON answer: %v", path, err)
		}
		vals = got.Samples
	} else {
		var got struct {
			LogProb []float64 `json:"logprob"`
			Unit    string    `json:"unit"`
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Unit != "nats" {
			return fmt.Errorf("%s: JSON answer (unit %q): %v", path, got.Unit, err)
		}
		for _, v := range got.LogProb {
			vals = append(vals, []float64{v})
		}
	}
	if len(vals) != n {
		return fmt.Errorf("%s: %d rows in the answer, want %d", path, len(vals), n)
	}
	for i, r := range vals {
		if len(r) != width {
			return fmt.Errorf("%s: row %d has %d values, want %d", path, i, len(r), width)
		}
		for _, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: row %d holds %v", path, i, v)
			}
		}
	}
	return nil
}
