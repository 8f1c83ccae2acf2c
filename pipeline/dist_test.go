package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/nn"
)

// TestRunDataParallel runs the same tiny LFM job in one process and over
// two in-process ranks (dist.Local) and checks that the weights agree to
// max |Δw| ≤ 1e-4, the test NLL and its standard error to 1e-4 nats, and
// that only rank 0 writes (one run directory; the worker's Result has no
// Dir).
func TestRunDataParallel(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig("moons", filepath.Join(dir, "single"))
	cfg.ToySamples = 500
	single, err := Run(context.Background(), cfg, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = filepath.Join(dir, "dp")
	cs := dist.Local(2)
	res := make([]*Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[r], errs[r] = Run(context.Background(), cfg, Options{Version: "test", Comm: cs[r]})
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if res[0].Dir != cfg.Out || res[1].Dir != "" {
		t.Fatalf("run directories: rank 0 %q, rank 1 %q; want %q and none", res[0].Dir, res[1].Dir, cfg.Out)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("the temp dir holds %v, want only single and dp", names)
	}
	dw := 0.0
	for k, f := range single.Model.Fields {
		a := f.(*nn.MLP[float32]).Params()
		for r := range res {
			b := res[r].Model.Fields[k].(*nn.MLP[float32]).Params()
			for i := range a {
				dw = max(dw, math.Abs(float64(a[i])-float64(b[i])))
			}
		}
	}
	dn := math.Abs(single.Metrics.TestNLL - res[0].Metrics.TestNLL)
	t.Logf("max |Δw| %.3g, |Δ test NLL| %.3g (NLL %.4f ± %.4f vs %.4f ± %.4f)", dw, dn,
		single.Metrics.TestNLL, single.Metrics.TestNLLSE, res[0].Metrics.TestNLL, res[0].Metrics.TestNLLSE)
	if dw > 1e-4 || dn > 1e-4 || math.Abs(single.Metrics.TestNLLSE-res[0].Metrics.TestNLLSE) > 1e-4 {
		t.Fatalf("data-parallel run differs: max |Δw| %g, |Δ NLL| %g, SE %g vs %g", dw, dn, res[0].Metrics.TestNLLSE, single.Metrics.TestNLLSE)
	}
}

func TestRunDataParallelRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(c *Config, o *Options)
		want string
	}{
		{"method", func(c *Config, o *Options) { c.Method = "jko" }, "data-parallel training (2 ranks) supports method lfm only, got jko"},
		{"budget", func(c *Config, o *Options) { c.Train.Seconds = 5 }, "data-parallel training (2 ranks) takes no time budget (train.seconds, train.block_seconds); give train.iters"},
		{"rollback", func(c *Config, o *Options) { o.OnDiverge = "rollback" }, "on-diverge rollback: data-parallel runs (2 ranks) keep no checkpoint to roll back to; use stop"},
		{"batch", func(c *Config, o *Options) { c.Train.BatchSize = 1 }, "data-parallel training: batch size 1 is smaller than the 2 ranks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := tinyConfig("moons", filepath.Join(dir, "run"))
			o := Options{Comm: dist.Local(2)[1]}
			tc.mod(&c, &o)
			_, err := Run(context.Background(), c, o)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("a refused run wrote %d entries", len(ents))
			}
		})
	}
}
