// Package flow holds continuous normalizing flows built from blocks: a block is
// one velocity field on t in [0, 1], a chain is a sequence of blocks mapping
// data to latent N(0, I). A chain gives Forward (data to latent), Inverse,
// LogProb (nats per sample, by the instantaneous change of variables), Sample
// and SampleAndLogProb, with the divergence by the exact trace, the Hutchinson
// estimator or its finite-difference variant.
//
// References: Chen et al., Neural ODEs, arXiv 1806.07366; Grathwohl et al.,
// FFJORD, arXiv 1810.01367 (Hutchinson trace); Xu, Cheng, Xie, JKO-iFlow,
// arXiv 2212.14424 (finite-difference Hutchinson).
package flow
