package metrics

import "fmt"

// Cost records what an evaluation (sampling, LogProb, a training epoch)
// cost: NFE is the number of velocity-field evaluations (function
// evaluations of the ODE solver, each on a whole batch, summed over blocks),
// Seconds the wall time in seconds, and Rows the number of samples
// processed.
type Cost struct {
	NFE     int
	Seconds float64
	Rows    int
}

// PointsPerSecond returns the throughput Rows/Seconds in samples per second,
// or 0 when Seconds is not positive (no time was recorded).
func (c Cost) PointsPerSecond() float64 {
	if !(c.Seconds > 0) {
		return 0
	}
	return float64(c.Rows) / c.Seconds
}

// Add returns the componentwise sum of c and o (for example over blocks or
// batches).
func (c Cost) Add(o Cost) Cost {
	return Cost{NFE: c.NFE + o.NFE, Seconds: c.Seconds + o.Seconds, Rows: c.Rows + o.Rows}
}

// String formats c as "NFE 120, 1.5 s, 4096 rows (2731 rows/s)".
func (c Cost) String() string {
	return fmt.Sprintf("NFE %d, %.3g s, %d rows (%.4g rows/s)", c.NFE, c.Seconds, c.Rows, c.PointsPerSecond())
}
