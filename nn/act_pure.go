//go:build !openblas || !cgo

package nn

import "math"

// This file is the pure-Go implementation of the activation kernels whose
// contract is stated in act_kernels.go. The float32 kernel evaluates in
// float64 (package math has no float32 functions) and rounds the results.

// actEval32 evaluates σ, σ′ and σ″ of activation a elementwise in float32;
// see act_kernels.go for the contract.
func actEval32(a Activation, beta float32, x, y, d, dd []float32) {
	b := float64(beta)
	if b == 0 {
		b = 1
	}
	switch a {
	case Softplus:
		for i, xi := range x {
			s, ds, dds := softplus(b, float64(xi))
			y[i] = float32(s)
			if d != nil {
				d[i] = float32(ds)
			}
			if dd != nil {
				dd[i] = float32(dds)
			}
		}
	case Tanh:
		for i, xi := range x {
			s, ds, dds := tanhAct(float64(xi))
			y[i] = float32(s)
			if d != nil {
				d[i] = float32(ds)
			}
			if dd != nil {
				dd[i] = float32(dds)
			}
		}
	case ELU:
		for i, xi := range x {
			s, ds, dds := elu(float64(xi))
			y[i] = float32(s)
			if d != nil {
				d[i] = float32(ds)
			}
			if dd != nil {
				dd[i] = float32(dds)
			}
		}
	case SiLU:
		for i, xi := range x {
			s, ds, dds := silu(float64(xi))
			y[i] = float32(s)
			if d != nil {
				d[i] = float32(ds)
			}
			if dd != nil {
				dd[i] = float32(dds)
			}
		}
	case ReLU:
		for i, xi := range x {
			var s, ds float32
			if xi > 0 {
				s, ds = xi, 1
			}
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = 0
			}
		}
	default:
		panic("nn: actEval32: unknown activation " + a.String())
	}
}

// actEval64 evaluates σ, σ′ and σ″ of activation a elementwise in float64;
// see act_kernels.go for the contract.
func actEval64(a Activation, beta float64, x, y, d, dd []float64) {
	if beta == 0 {
		beta = 1
	}
	switch a {
	case Softplus:
		for i, xi := range x {
			s, ds, dds := softplus(beta, xi)
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = dds
			}
		}
	case Tanh:
		for i, xi := range x {
			s, ds, dds := tanhAct(xi)
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = dds
			}
		}
	case ELU:
		for i, xi := range x {
			s, ds, dds := elu(xi)
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = dds
			}
		}
	case SiLU:
		for i, xi := range x {
			s, ds, dds := silu(xi)
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = dds
			}
		}
	case ReLU:
		for i, xi := range x {
			var s, ds float64
			if xi > 0 {
				s, ds = xi, 1
			}
			y[i] = s
			if d != nil {
				d[i] = ds
			}
			if dd != nil {
				dd[i] = 0
			}
		}
	default:
		panic("nn: actEval64: unknown activation " + a.String())
	}
}

// sigmoidPair returns sigmoid(z) and 1 − sigmoid(z) = sigmoid(−z), both
// computed without cancellation or overflow, given e = exp(−|z|).
func sigmoidPair(z, e float64) (s, sc float64) {
	p := 1 / (1 + e) // sigmoid(|z|)
	q := e * p       // sigmoid(−|z|)
	if z >= 0 {
		return p, q
	}
	return q, p
}

// softplus returns σ(x) = log(1 + exp(βx))/β, σ′(x) = sigmoid(βx) and
// σ″(x) = β·sigmoid(βx)·sigmoid(−βx), in the form
// max(x, 0) + log1p(exp(−|βx|))/β, which neither overflows nor cancels and
// returns x exactly once exp(−βx) is negligible.
func softplus(beta, x float64) (y, d, dd float64) {
	z := beta * x
	e := math.Exp(-math.Abs(z))
	y = math.Max(x, 0) + math.Log1p(e)/beta
	s, sc := sigmoidPair(z, e)
	return y, s, beta * s * sc
}

// tanhAct returns tanh(x), sech²(x) = 1 − tanh²(x) and −2·tanh(x)·sech²(x).
// sech² is computed as 4e/(1+e)² with e = exp(−2|x|), which keeps full
// relative accuracy in the tails where 1 − tanh² would cancel.
func tanhAct(x float64) (y, d, dd float64) {
	y = math.Tanh(x)
	e := math.Exp(-2 * math.Abs(x))
	d = 4 * e / ((1 + e) * (1 + e))
	return y, d, -2 * y * d
}

// elu returns ELU (α = 1) and its first two derivatives; at x = 0 both
// branches give σ′(0) = 1, and σ″(0) is taken from the left branch (1).
func elu(x float64) (y, d, dd float64) {
	if x > 0 {
		return x, 1, 0
	}
	e := math.Exp(x)
	return math.Expm1(x), e, e
}

// silu returns x·sigmoid(x), its derivative s·(1 + x·(1 − s)) and its second
// derivative s·(1 − s)·(2 + x·(1 − 2s)), with s = sigmoid(x).
func silu(x float64) (y, d, dd float64) {
	s, sc := sigmoidPair(x, math.Exp(-math.Abs(x)))
	return x * s, s * (1 + x*sc), s * sc * (2 + x*(sc-s))
}
