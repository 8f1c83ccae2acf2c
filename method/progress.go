package method

// Progress receives training progress from a block-wise trainer, e.g. to draw
// a progress bar per block. All calls come from the trainer's goroutine.
type Progress interface {
	// StartBlock announces block k (0-based) of total, trained for iters steps;
	// label says what the block learns (e.g. "OU step γ=0.25").
	StartBlock(k, total, iters int, label string)
	// Step reports that one training step finished with the given loss.
	Step(loss float64)
	// EndBlock closes the block's report.
	EndBlock()
}

type noProgress struct{}

func (noProgress) StartBlock(int, int, int, string) {}
func (noProgress) Step(float64)                     {}
func (noProgress) EndBlock()                        {}

// ResumedProgress is implemented by a Progress that can be told where a
// resumed block starts. A trainer continuing a block from a checkpoint
// (Checkpointing.Resume, mid-block) calls Resume(step) right after
// StartBlock, before the block's first Step, with step the number of steps
// the block had done before (0 < step ≤ iters). The Progress then counts the
// block's steps from there, so a finished block reports all of its steps,
// not only those of this process. Implementations of Progress without it
// keep working: they see only the steps taken in this process.
type ResumedProgress interface {
	Progress
	// Resume says that the current block starts at step (steps already done).
	Resume(step int)
}

// resumeProgress tells prog that the current block resumes after first steps
// (when first > 0 and prog implements ResumedProgress).
func resumeProgress(prog Progress, first int) {
	if first <= 0 {
		return
	}
	if rp, ok := prog.(ResumedProgress); ok {
		rp.Resume(first)
	}
}
