// Package iterflow fits flow-based density models to tabular data: a chain of
// continuous-normalizing-flow blocks trained block by block (Local Flow
// Matching, arXiv 2410.02548; JKO-iFlow, arXiv 2212.14424) or globally (flow
// matching, maximum likelihood), with exact log-densities and sampling.
//
// Quick start:
//
//	ctx := context.Background()
//	x := [][]float64{{0.1, 2.3}, {1.2, -0.4}, ...} // n rows of d values
//	m, err := iterflow.Fit(ctx, x, iterflow.Options{}) // Local Flow Matching, defaults
//	if err != nil { ... }
//	lp, err := m.LogProb(ctx, x)          // log p(x) in nats, per row
//	xs, err := m.Sample(ctx, 1000, 1)     // 1000 new rows, seed 1
//	var buf bytes.Buffer
//	err = m.Save(&buf)                    // one self-contained stream
//	m2, err := iterflow.Load(&buf)        // identical LogProb
//
// Data are rows of equal length (Fit) or one row-major n×d slice (FitMatrix);
// log-densities are in nats in the units of the data given to Fit (the
// standardization's log-determinant is included). Every long call takes a
// context and returns an error wrapping ctx.Err() when it is cancelled.
// Options.Config gives full control over a run (pipeline.Config); LoadDir
// reads the run directories written by the iterflow command.
package iterflow
