package data

import (
	"fmt"
	"math"
)

// BitsPerDim converts a negative log-likelihood in nats per sample to bits
// per dimension: nll/(d·ln 2). nll must be the NLL of the data in their
// original units (for 8-bit images: pixel values 0..255 plus uniform
// dequantization noise in [0, 1), i.e. a density on [0, 256)^d), which is what
// a model reports when every preprocessing log-determinant (Standardizer,
// Logit, scaling) is included. A uniform density on [0, 256)^d has
// NLL = d·ln 256 and 8 bits/dim.
//
// If the model saw the data divided by a constant (x/256 in [0, 1)) and its
// NLL leaves out that scaling, use BitsPerDimScaled. It panics if d ≤ 0 (a
// programming error: the dimension comes from the data, not the user).
func BitsPerDim(nll float64, d int) float64 {
	if d <= 0 {
		panic(fmt.Sprintf("data: BitsPerDim with dimension %d", d))
	}
	return nll / (float64(d) * math.Ln2)
}

// BitsPerDimScaled is BitsPerDim for an NLL (nats per sample) measured on data
// divided by scale (> 0) in every dimension, for example scale = 256 when a
// model sees 8-bit dequantized pixels as x/256 in [0, 1): the density of the
// original data is p_x(x) = p(x/scale)·scale^(−d), so
//
//	bits/dim = (nll + d·ln scale)/(d·ln 2).
//
// A uniform model on [0, 1)^d (nll = 0) with scale 256 gives 8 bits/dim, as in
// the convention of Theis, van den Oord, Bethge (arXiv 1511.01844, §3.1) and
// RealNVP (arXiv 1605.08803, §4.1). It panics if d ≤ 0 or scale is not a
// positive finite number (programming errors).
func BitsPerDimScaled(nll float64, d int, scale float64) float64 {
	if !(scale > 0) || math.IsInf(scale, 0) {
		panic(fmt.Sprintf("data: BitsPerDimScaled with scale %v, want a positive finite number", scale))
	}
	return BitsPerDim(nll+float64(d)*math.Log(scale), d)
}
