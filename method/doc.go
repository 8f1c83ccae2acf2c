// Package method holds the block-wise training algorithms of iterflow. Each
// method produces the same thing: a chain of velocity-field blocks mapping data
// to N(0, I), so that likelihood, sampling and reports treat every method alike.
//
// Local Flow Matching (lfm.go) trains one flow-matching sub-model per step of
// the Ornstein–Uhlenbeck process (Xu, Cheng, Xie, arXiv 2410.02548).
// JKO-iFlow (jko.go) trains one block per step of the JKO scheme for
// KL(ρ‖N(0, I)), a Wasserstein proximal step with step size h_k (Xu, Cheng,
// Xie, arXiv 2212.14424).
package method
