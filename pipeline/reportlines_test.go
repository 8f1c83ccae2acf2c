package pipeline

import (
	"strings"
	"testing"
)

// The training paragraph names pools and warm starts (", each block from a
// fresh initialization" or "warm-started …") only for the methods
// that have them (lfm, jko), and sample distances print with significant
// digits, so a tiny sliced W2 is not "0.0000".
func TestReportTrainingLines(t *testing.T) {
	for _, tc := range []struct {
		method string
		pooled bool
	}{{"lfm", true}, {"jko", true}, {"cfm", false}, {"otcfm", false}, {"rf", false}, {"mle", false}} {
		cfg := DefaultConfig()
		cfg.Method = tc.method
		ds := &Dataset{Name: "toy"}
		met := &Metrics{N: 10, D: 2, SampleSlicedW2: 3.2e-12, SampleMMD2: 1.5e-13}
		rep := renderReport(&cfg, ds, met, &trained{summary: "one block"}, nil)
		if got := strings.Contains(rep, "Pools pushed with") && strings.Contains(rep, ", each block "); got != tc.pooled {
			t.Errorf("%s: pools and warm start named = %v, want %v", tc.method, got, tc.pooled)
		}
		if strings.Contains(rep, "Pools pushed with") != strings.Contains(rep, ", each block ") {
			t.Errorf("%s: only one of pools and warm start named", tc.method)
		}
		if !strings.Contains(rep, "sliced W2 3.2e-12 (200 random directions), MMD² 1.5e-13 (") {
			t.Errorf("%s: the sample distances are not printed with significant digits", tc.method)
		}
	}
}

// lfm with no OU block and no free block has nothing to train: the error
// names the keys and the flags.
func TestLFMNoBlocksError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Data = "moons"
	cfg.LFM.Blocks, cfg.LFM.FreeBlock = 0, false
	want := "lfm.blocks: 0 with free_block false leaves no block to train; set blocks ≥ 1 (--blocks) or free_block (--free-block)"
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
