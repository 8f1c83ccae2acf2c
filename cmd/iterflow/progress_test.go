package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/pipeline"
)

// Both progress variants can be told where a resumed block starts.
var (
	_ method.ResumedProgress = (*lineProgress)(nil)
	_ method.ResumedProgress = (*barProgress)(nil)
)

// A block resumed at step 16150 of 20000 ends with "20000 steps", not
// "stopped after 3850 of 20000 steps"; one stopped again says how far the
// block got in all.
func TestLineProgressResumedBlock(t *testing.T) {
	for _, tc := range []struct {
		from, run int
		want      string
	}{
		{16150, 3850, "block 1/1 (OU step): 20000 steps, loss 2.0000, "},
		{16150, 100, "block 1/1 (OU step): stopped after 16250 of 20000 steps, loss 2.0000, "},
		{0, 20000, "block 1/1 (OU step): 20000 steps, loss 2.0000, "},
	} {
		var b bytes.Buffer
		p := &lineProgress{w: &b}
		p.StartBlock(0, 1, 20000, "OU step")
		if tc.from > 0 {
			p.Resume(tc.from)
		}
		for i := 0; i < tc.run; i++ {
			p.Step(2)
		}
		p.EndBlock()
		if line := b.String(); !strings.HasPrefix(line, tc.want) || strings.Count(line, "\n") != 1 {
			t.Errorf("resumed at %d, %d steps: %q, want the prefix %q", tc.from, tc.run, line, tc.want)
		}
	}
	// The next block starts afresh.
	var b bytes.Buffer
	p := &lineProgress{w: &b}
	p.StartBlock(1, 3, 10, "OU step")
	p.Resume(7)
	for i := 0; i < 3; i++ {
		p.Step(1)
	}
	p.EndBlock()
	p.StartBlock(2, 3, 10, "free")
	p.Step(1)
	p.EndBlock()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "block 2/3 (OU step): 10 steps, loss 1.0000, ") || !strings.Contains(lines[0], "for 1 more block") ||
		!strings.HasPrefix(lines[1], "block 3/3 (free): stopped after 1 of 10 steps, ") {
		t.Errorf("lines %q", lines)
	}
}

// The bar of a resumed block starts at the resumed step.
func TestBarProgressResumedBlock(t *testing.T) {
	var b bytes.Buffer
	p := &barProgress{w: &b}
	p.StartBlock(0, 1, 100, "OU step")
	p.Resume(60)
	p.Step(1)
	if got := p.bar.State().CurrentNum; got != 61 {
		t.Errorf("bar at %d after resuming at 60 and one step, want 61", got)
	}
	p.EndBlock()
}

func TestInterruptedMessage(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&pipeline.NotResumableError{Method: "jko", Err: fmt.Errorf("train: %w", context.Canceled)},
			"iterflow: interrupted; nothing was written (jko runs do not resume: start it again)"},
		{fmt.Errorf("train: %w", &pipeline.NotResumableError{Method: "mle", Err: context.Canceled}),
			"iterflow: interrupted; nothing was written (mle runs do not resume: start it again)"},
		{fmt.Errorf("sample: %w", context.Canceled), "iterflow: interrupted; nothing was written"},
	} {
		if !errors.Is(tc.err, context.Canceled) {
			t.Fatalf("%v does not wrap context.Canceled", tc.err)
		}
		if got := interruptedMessage(tc.err); got != tc.want {
			t.Errorf("interruptedMessage(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
