// Package theory holds closed forms for Gaussians that the flow methods can be
// checked against: the Ornstein–Uhlenbeck marginal, the exact JKO step towards
// N(0, I), the exact Local Flow Matching velocity for Gaussian data, and the
// Gaussian KL divergence and entropy (nats).
//
// Vectors are []float64 of length d; d×d matrices are row-major []float64 of
// length d·d. Covariances must be symmetric (to 1e-9 relative) and, where a
// function says so, positive definite.
//
// References: X. Cheng, Y. Xie, "Flow-based generative models as iterative
// algorithms in probability space", arXiv 2502.13394; C. Xu, X. Cheng, Y. Xie,
// "Normalizing flow neural networks by JKO scheme", arXiv 2212.14424; C. Xu,
// X. Cheng, Y. Xie, "Local Flow Matching generative models", arXiv 2410.02548.
package theory
