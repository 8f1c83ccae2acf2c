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
