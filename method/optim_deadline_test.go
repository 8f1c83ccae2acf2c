package method

import (
	"testing"
	"time"
)

// TestOptimForBlockSharesTheDeadline checks the per-block share of a run's
// deadline: the time left divided by the blocks left, capped by BlockSeconds.
func TestOptimForBlockSharesTheDeadline(t *testing.T) {
	o := Optim{Deadline: time.Now().Add(10 * time.Second)}
	got := o.forBlock(1, 5).BlockSeconds // 4 blocks left
	if got < 2.4 || got > 2.5 {
		t.Errorf("share of 10 s over 4 blocks: %v s, want about 2.5", got)
	}
	o.BlockSeconds = 1
	if got := o.forBlock(1, 5).BlockSeconds; got != 1 {
		t.Errorf("BlockSeconds 1 caps the share: got %v", got)
	}
	past := Optim{Deadline: time.Now().Add(-time.Second)}
	if got := past.forBlock(0, 2).BlockSeconds; got != 1e-3 {
		t.Errorf("past the deadline: %v, want 1e-3 (one step)", got)
	}
	if got := (Optim{}).forBlock(0, 3); got.BlockSeconds != 0 {
		t.Errorf("no deadline: BlockSeconds %v, want 0", got.BlockSeconds)
	}
}
