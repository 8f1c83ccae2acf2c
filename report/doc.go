// Package report writes run reports: GitHub-flavoured markdown tables and PNG
// figures (scatter panels, image grids, loss curves, marginal histograms) drawn
// with gonum.org/v1/plot. Every file is written atomically.
//
// Matrices are row-major n×d []float64 slices, one sample per row; images are
// rows of h·w grayscale values.
package report
