package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/iterflow/iterflow/dist"
	"github.com/iterflow/iterflow/nn"
)

// runRanks runs cfg on size in-process ranks (dist.Local) and returns every
// rank's Result.
func runRanks(t *testing.T, size int, cfg Config) []*Result {
	t.Helper()
	cs := dist.Local(size)
	res := make([]*Result, size)
	errs := make([]error, size)
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
	return res
}

// weightDiff returns max |a_i − b_i| over the weights of all blocks.
func weightDiff(a, b *Result) float64 {
	dw := 0.0
	for k, f := range a.Model.Fields {
		pa, pb := f.(*nn.MLP[float32]).Params(), b.Model.Fields[k].(*nn.MLP[float32]).Params()
		for i := range pa {
			dw = max(dw, math.Abs(float64(pa[i])-float64(pb[i])))
		}
	}
	return dw
}

// TestRunDataParallel runs the same tiny job in one process and over two
// in-process ranks (dist.Local), for lfm and otcfm with the OT plan on the
// global batch (cfm and rf are covered in package method), and otcfm with
// fm.ot_batch local (checkLocalOT), and checks that the weights agree to max |Δw| ≤ 1e-4,
// the test NLL and its standard error to 1e-4 nats, and that only rank 0
// writes (one run directory; the worker's Result has no Dir).
func TestRunDataParallel(t *testing.T) {
	for _, m := range []string{"lfm", "otcfm"} {
		t.Run(m, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tinyConfig("moons", filepath.Join(dir, "single"))
			cfg.Method = m
			cfg.ToySamples = 500
			single, err := Run(context.Background(), cfg, Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Out = filepath.Join(dir, "dp")
			res := runRanks(t, 2, cfg)
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
			dw := max(weightDiff(single, res[0]), weightDiff(single, res[1]))
			dn := math.Abs(single.Metrics.TestNLL - res[0].Metrics.TestNLL)
			t.Logf("max |Δw| %.3g, |Δ test NLL| %.3g (NLL %.4f ± %.4f vs %.4f ± %.4f)", dw, dn,
				single.Metrics.TestNLL, single.Metrics.TestNLLSE, res[0].Metrics.TestNLL, res[0].Metrics.TestNLLSE)
			if dw > 1e-4 || dn > 1e-4 || math.Abs(single.Metrics.TestNLLSE-res[0].Metrics.TestNLLSE) > 1e-4 {
				t.Fatalf("data-parallel run differs: max |Δw| %g, |Δ NLL| %g, SE %g vs %g", dw, dn, res[0].Metrics.TestNLLSE, single.Metrics.TestNLLSE)
			}
			if m == "otcfm" {
				checkLocalOT(t, cfg, res[0])
			}
		})
	}
}

// checkLocalOT runs cfg (otcfm) over two in-process ranks with fm.ot_batch
// local: the ranks end with bitwise the same weights, config.yaml records
// the key, and the plan differs from the global one (max |Δw| vs the
// global run > 1e-4). The agreement with a single process that pairs in two
// blocks is checked in package method (TestFMDataParallelMatchesSingle).
func checkLocalOT(t *testing.T, cfg Config, global *Result) {
	t.Helper()
	cfg.Out, cfg.FM.OTBatch = cfg.Out+"-local", "local"
	local := runRanks(t, 2, cfg)
	if d := weightDiff(local[0], local[1]); d != 0 {
		t.Fatalf("local OT: the ranks' weights differ by %g", d)
	}
	d := weightDiff(global, local[0])
	t.Logf("local vs global OT batch: max |Δw| %.3g, test NLL %.4f vs %.4f", d, local[0].Metrics.TestNLL, global.Metrics.TestNLL)
	if d <= 1e-4 {
		t.Fatalf("local pairing changed the weights by only %g", d)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Out, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ot_batch: local") {
		t.Fatalf("config.yaml does not record ot_batch: local:\n%s", b)
	}
}

func TestOTBatchKey(t *testing.T) {
	c := DefaultConfigFor("otcfm")
	if c.FM.OTBatch != "global" {
		t.Fatalf("default fm.ot_batch %q, want global", c.FM.OTBatch)
	}
	c.FM.OTBatch = "ranks"
	if err := c.Validate(); err == nil || err.Error() != `fm.ot_batch: unknown OT batch "ranks" (want global or local)` {
		t.Fatalf("error = %v", err)
	}
	for _, v := range []string{"", "global", "local"} {
		c.FM.OTBatch = v
		if err := c.Validate(); err != nil {
			t.Errorf("fm.ot_batch %q: %v", v, err)
		}
	}
}

func TestRunDataParallelRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(c *Config, o *Options)
		want string
	}{
		{"method", func(c *Config, o *Options) { c.Method = "jko" }, "data-parallel training (2 ranks) supports methods lfm, cfm, otcfm and rf only, got jko"},
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
