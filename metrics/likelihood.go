package metrics

import "math"

// NLL returns the mean negative log-likelihood of a test set, in nats per
// sample, and its standard error: mean = (1/n) Σ −logp_i and
// se = s/√n with s the sample standard deviation (divisor n − 1) of −logp.
// logp holds log-densities in nats (for example flow.Chain.LogProb output),
// in the units of the data the model was evaluated on.
//
// An empty logp gives NaN for both (there is no estimate); a single value
// gives se = +Inf (no spread can be estimated). A −Inf log-density (zero
// model density) gives mean = +Inf; a NaN entry propagates to both results,
// so callers should check the log-densities for NaN first.
func NLL(logp []float64) (mean, se float64) {
	n := len(logp)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	var s float64
	for _, v := range logp {
		s -= v
	}
	mean = s / float64(n)
	if n == 1 {
		return mean, math.Inf(1)
	}
	var ss float64
	for _, v := range logp {
		dv := -v - mean
		ss += dv * dv
	}
	return mean, math.Sqrt(ss / float64(n-1) / float64(n))
}

// BitsPerDim converts an NLL in nats per sample of d-dimensional data to bits
// per dimension: nll/(d·ln 2).
//
// Dequantization note: for 8-bit data (images, values 0..255) dequantized
// with uniform noise, bits/dim is defined for the density of the data at the
// 0..256 scale; a model evaluated on those values gives the right number
// directly (a uniform model on [0, 256)^d gives 8). If the model saw the data
// scaled by 1/256 (values in [0, 1)), its NLL is d·ln 256 nats too small: add
// d·ln 256 to the NLL first, bpd = (nll + d·ln 256)/(d·ln 2) (Theis, van den
// Oord & Bethge, "A note on the evaluation of generative models", arXiv
// 1511.01844; data.BitsPerDimScaled does this for any scale).
// Likewise any other invertible preprocessing contributes its log-det.
//
// d < 1 gives NaN (there is no per-dimension value).
func BitsPerDim(nll float64, d int) float64 {
	if d < 1 {
		return math.NaN()
	}
	return nll / (float64(d) * math.Ln2)
}
