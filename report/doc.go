// Package report writes run reports: GitHub-flavoured markdown tables and PNG
// figures (scatter panels, 2D density heat maps, image grids, loss curves, per-block
// movement, marginal histograms, corner plots of pairwise marginals) drawn
// with gonum.org/v1/plot. Every file is written atomically.
//
// Matrices are row-major n×d []float64 slices, one sample per row; images are
// rows of h·w grayscale values.
package report
