package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/iterflow/iterflow/internal/wording"
	"github.com/iterflow/iterflow/method"
	"github.com/iterflow/iterflow/pipeline"
)

// globals returns the root's persistent flags --quiet and --json.
func globals(cmd *cobra.Command) (quiet, jsonOut bool) {
	quiet, _ = cmd.Flags().GetBool("quiet")
	jsonOut, _ = cmd.Flags().GetBool("json")
	return quiet, jsonOut
}

// reporters returns where a command's info lines, training progress and row
// counters go: nothing with --quiet, progress bars with ETA when stderr is a
// terminal, plain lines with ETA otherwise.
func reporters(cmd *cobra.Command) (log io.Writer, prog method.Progress, count pipeline.Counter) {
	quiet, _ := globals(cmd)
	if quiet {
		return nil, nil, nil
	}
	w := cmd.ErrOrStderr()
	if isTerminal(w) {
		return w, &barProgress{w: w}, &barCounter{w: w}
	}
	return w, &lineProgress{w: w}, &lineCounter{w: w, every: 10 * time.Second}
}

// infof writes an info line to log unless it is nil (--quiet).
func infof(log io.Writer, format string, args ...any) {
	if log != nil {
		fmt.Fprintf(log, format+"\n", args...)
	}
}

// barProgress draws one progress bar per block with the running loss and ETA.
type barProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	label string
	k, n  int
	acc   float64
	cnt   int
}

func (p *barProgress) StartBlock(k, total, iters int, label string) {
	p.k, p.n, p.label = k, total, label
	p.acc, p.cnt = 0, 0
	p.bar = progressbar.NewOptions(iters,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("block %d/%d (%s)", k+1, total, label)),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("steps"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

// Resume starts the block's bar at step, the steps done before this process
// resumed the block (method.ResumedProgress).
func (p *barProgress) Resume(step int) {
	if p.bar != nil {
		_ = p.bar.Set(step)
	}
}

func (p *barProgress) Step(loss float64) {
	p.acc += loss
	p.cnt++
	if p.cnt == 50 {
		p.bar.Describe(fmt.Sprintf("block %d/%d (%s) loss %.4f", p.k+1, p.n, p.label, p.acc/float64(p.cnt)))
		p.acc, p.cnt = 0, 0
	}
	_ = p.bar.Add(1)
}

func (p *barProgress) EndBlock() {
	_ = p.bar.Finish()
}

// lineProgress writes one line per finished block, with the ETA of the
// remaining blocks, and a line with the block's ETA every 30 s within a long
// block, for logs that are not a terminal (no carriage-return redraws).
// A block resumed from a checkpoint counts its steps from the resumed step
// (Resume); ETAs use the rate of the steps taken in this process.
type lineProgress struct {
	w           io.Writer
	k, n, steps int
	iters       int
	// from is the step the block was resumed at (0: started afresh) and
	// firstK the first block this process trained.
	from, firstK int
	label        string
	acc          float64
	cnt          int
	start, first time.Time
	last         time.Time
}

func (p *lineProgress) StartBlock(k, total, iters int, label string) {
	p.k, p.n, p.label, p.iters, p.steps, p.from, p.acc, p.cnt = k, total, label, iters, 0, 0, 0, 0
	p.start = time.Now()
	p.last = p.start
	if k == 0 || p.first.IsZero() {
		p.first, p.firstK = p.start, k
	}
}

// Resume says that the block continues after step steps done by an earlier
// process (method.ResumedProgress): the block's lines count from there.
func (p *lineProgress) Resume(step int) {
	p.steps, p.from = step, step
}

func (p *lineProgress) Step(loss float64) {
	p.steps++
	p.acc += loss
	p.cnt++
	if p.cnt > 50 {
		p.acc, p.cnt = loss, 1
	}
	if p.steps%16 == 0 {
		if now := time.Now(); now.Sub(p.last) >= 30*time.Second && p.steps < p.iters {
			p.last = now
			el := now.Sub(p.start)
			eta := time.Duration(float64(el) * float64(p.iters-p.steps) / float64(p.steps-p.from))
			fmt.Fprintf(p.w, "block %d/%d (%s): step %d/%d, loss %.4f, ETA %s for this block\n", p.k+1, p.n, p.label, p.steps, p.iters, p.acc/float64(p.cnt), fmtDur(eta))
		}
	}
}

func (p *lineProgress) EndBlock() {
	mean := 0.0
	if p.cnt > 0 {
		mean = p.acc / float64(p.cnt)
	}
	now := time.Now()
	if p.steps < p.iters {
		// Stopped early (a time budget, an interrupt or an error): the
		// caller says why; an ETA for more blocks would mislead.
		fmt.Fprintf(p.w, "block %d/%d (%s): stopped after %d of %s, loss %.4f, %.1f s\n", p.k+1, p.n, p.label, p.steps, wording.Plural(p.iters, "step"), mean, now.Sub(p.start).Seconds())
		return
	}
	eta := ""
	if left := p.n - p.k - 1; left > 0 {
		perBlock := now.Sub(p.first) / time.Duration(p.k+1-p.firstK)
		eta = fmt.Sprintf(", ETA %s for %s", fmtDur(perBlock*time.Duration(left)), wording.Plural(left, "more block"))
	}
	fmt.Fprintf(p.w, "block %d/%d (%s): %s, loss %.4f, %.1f s%s\n", p.k+1, p.n, p.label, wording.Plural(p.steps, "step"), mean, now.Sub(p.start).Seconds(), eta)
}

// barCounter draws a progress bar over rows with ETA.
type barCounter struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (c *barCounter) Start(label string, total int) {
	c.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(c.w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.w) }),
	)
}

func (c *barCounter) Add(n int) { _ = c.bar.Add(n) }

func (c *barCounter) Finish() { _ = c.bar.Finish() }

// lineCounter writes a line with the ETA at most every `every` while rows are
// processed, and one line at the end.
type lineCounter struct {
	w           io.Writer
	every       time.Duration
	label       string
	total, done int
	start, last time.Time
}

func (c *lineCounter) Start(label string, total int) {
	c.label, c.total, c.done = label, total, 0
	c.start = time.Now()
	c.last = c.start
}

func (c *lineCounter) Add(n int) {
	c.done += n
	now := time.Now()
	if c.done >= c.total || now.Sub(c.last) < c.every {
		return
	}
	c.last = now
	el := now.Sub(c.start)
	eta := time.Duration(float64(el) * float64(c.total-c.done) / float64(c.done))
	fmt.Fprintf(c.w, "%s: %d/%s (%.0f%%), %s elapsed, ETA %s\n", c.label, c.done, wording.Plural(c.total, "row"), 100*float64(c.done)/float64(c.total), fmtDur(el), fmtDur(eta))
}

func (c *lineCounter) Finish() {
	fmt.Fprintf(c.w, "%s: %d/%s in %s\n", c.label, c.done, wording.Plural(c.total, "row"), fmtDur(time.Since(c.start)))
}

// fmtDur formats a duration to 0.1 s below a minute, to the second above.
func fmtDur(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// isTerminal reports whether w is a terminal (progress bars redraw in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
