// Package interp holds the pieces that define a flow-matching regression
// problem: interpolants between paired samples (x0 at t = 0, x1 at t = 1),
// couplings that produce the pairs (the dependent OU coupling of Local Flow
// Matching), distributions of the time t, and step-size schedules.
//
// Rows are samples: every slice is a row-major n×d matrix. Functions are
// generic over float32 (training) and float64.
//
// References: Xu, Cheng, Xie, Local Flow Matching, arXiv 2410.02548 §3;
// Albergo & Vanden-Eijnden, stochastic interpolants, arXiv 2209.15571;
// Lipman et al., Flow Matching, arXiv 2210.02747.
package interp

// Float is the set of element types the functions of this package accept.
type Float interface{ ~float32 | ~float64 }
