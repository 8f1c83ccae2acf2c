// Package method holds the block-wise training algorithms of iterflow. Each
// method produces the same thing: a chain of velocity-field blocks mapping data
// to N(0, I), so that likelihood, sampling and reports treat every method alike.
//
// Local Flow Matching (lfm.go) trains one flow-matching sub-model per step of
// the Ornstein–Uhlenbeck process (Xu, Cheng, Xie, arXiv 2410.02548).
// JKO-iFlow (jko.go) trains one block per step of the JKO scheme for
// KL(ρ‖N(0, I)), a Wasserstein proximal step with step size h_k (Xu, Cheng,
// Xie, arXiv 2212.14424). The global flow-matching baselines (fm.go) train
// one block from a source sampler to the data: conditional flow matching with
// independent pairs (I-CFM; rectified flow, arXiv 2209.03003) or minibatch OT
// pairs (OT-CFM, arXiv 2302.00482), with reflow; fewstep.go samples any chain
// with a fixed NFE budget and distills a block into a one-step map.
package method
