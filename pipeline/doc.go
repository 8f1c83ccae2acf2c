// Package pipeline runs iterflow's main job: read a table (the built-in
// digits or the user's CSV/NPY file), split and preprocess it, train a chain
// of blocks, evaluate the test log-likelihood with an accurate solver and the
// exact trace beside a full-covariance Gaussian baseline, draw samples, and
// write a run directory (weights, resolved config, metrics.json, report.md,
// PNG plots).
package pipeline
