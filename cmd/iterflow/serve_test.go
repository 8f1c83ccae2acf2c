package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iterflow/iterflow/flow"
	"github.com/iterflow/iterflow/pipeline"
)

// lockedBuffer is a strings.Builder safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeCommand starts `iterflow serve RUN --addr 127.0.0.1:0 --solver rk4`
// in-process, scores two rows over HTTP and compares them with the library,
// then cancels the context and checks the command returns cleanly.
func TestServeCommand(t *testing.T) {
	_, rd, _ := trainTiny(t)
	root := newRootCmd()
	var errb lockedBuffer
	root.SetOut(io.Discard)
	root.SetErr(&errb)
	root.SetArgs([]string{"serve", rd, "--addr", "127.0.0.1:0", "--solver", "rk4", "--steps", "8"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no address printed; stderr: %q", errb.String())
	}
	resp, err := http.Post("http://"+addr+"/logprob", "application/json", strings.NewReader(`{"rows": [[0.1, 0.2], [1.5, -0.3]]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		LogProb []float64 `json:"logprob"`
		Unit    string    `json:"unit"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || got.Unit != "nats" || len(got.LogProb) != 2 {
		t.Fatalf("status %d, body %+v", resp.StatusCode, got)
	}
	r, err := pipeline.OpenRun(rd)
	if err != nil {
		t.Fatal(err)
	}
	ec := r.Config.Eval
	ec.Solver, ec.Steps = "rk4", 8
	want, _, err := r.Model.LogProb(context.Background(), []float64{0.1, 0.2, 1.5, -0.3}, 2, flow.Options{Solver: mustODE(t, ec), BatchSize: ec.BatchSize})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got.LogProb[i] != want[i] {
			t.Errorf("row %d: served %v, library %v", i, got.LogProb[i], want[i])
		}
	}

	// A row of the wrong width is a 400 naming the row.
	resp, err = http.Post("http://"+addr+"/logprob", "application/json", strings.NewReader(`[[1, 2], [1, 2, 3]]`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "row 1 has 3 values; the model expects 2") {
		t.Errorf("bad row: status %d, body %s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}
