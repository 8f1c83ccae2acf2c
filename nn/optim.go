package nn

import (
	"fmt"
	"math"
	"runtime"
)

// Adam is the Adam optimizer with bias correction (Kingma & Ba,
// arXiv:1412.6980, Alg. 1) and optional decoupled weight decay as in AdamW
// (Loshchilov & Hutter, arXiv:1711.05101). Its moment estimates have the
// element type T of the parameters; the update arithmetic is done in float64.
type Adam[T Float] struct {
	// LR is the learning rate used by the next Step; a schedule may change it
	// between steps.
	LR float64
	// Beta1 and Beta2 are the decay rates of the first and second moment
	// estimates (defaults 0.9 and 0.999).
	Beta1, Beta2 float64
	// Eps is added to √v̂ in the denominator (default 1e-8).
	Eps float64
	// WeightDecay is the decoupled weight-decay rate λ: each Step first
	// multiplies the parameters by (1 − LR·λ) (PyTorch AdamW). 0 disables it.
	WeightDecay float64

	m, v []T
	step int
}

// NewAdam returns an Adam optimizer for nparams parameters with learning rate
// lr, β1 = 0.9, β2 = 0.999, ε = 1e-8 and no weight decay.
func NewAdam[T Float](nparams int, lr float64) *Adam[T] {
	return &Adam[T]{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		m: make([]T, max(nparams, 0)), v: make([]T, max(nparams, 0))}
}

// Step applies one bias-corrected Adam update with the current LR to params
// given the gradient grad (both of length nparams):
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
//	θ ← θ − LR·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
//
// Vectors of at least 2·32768 parameters are updated on up to GOMAXPROCS
// goroutines (each element independently, so the result is the same). It
// panics if the lengths differ from nparams (a programming error).
func (a *Adam[T]) Step(params, grad []T) {
	if len(params) != len(a.m) || len(grad) != len(a.m) {
		panic(fmt.Sprintf("nn: Adam.Step: len(params) = %d, len(grad) = %d, want %d", len(params), len(grad), len(a.m)))
	}
	a.step++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.step))
	c2 := 1 - math.Pow(b2, float64(a.step))
	n := len(grad)
	if p := min(runtime.GOMAXPROCS(0), n/adamParMin); p > 1 {
		// Elementwise: the split gives exactly the serial result.
		splitPoints(n, p, func(lo, hi int) { a.update(params, grad, lo, hi, c1, c2) })
		return
	}
	a.update(params, grad, 0, n, c1, c2)
}

// adamParMin is the number of parameters per goroutine from which Adam.Step
// splits its update.
const adamParMin = 1 << 15

// update applies the Adam update to elements lo ≤ i < hi, with the bias
// corrections c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ.
func (a *Adam[T]) update(params, grad []T, lo, hi int, c1, c2 float64) {
	b1, b2 := a.Beta1, a.Beta2
	decay := 1 - a.LR*a.WeightDecay
	am, av := a.m[lo:hi], a.v[lo:hi]
	ps := params[lo:hi]
	// lr·(m/c1)/(√(v/c2) + ε) = lrT·m/(√v + ε√c2) with lrT = lr·√c2/c1
	// (Kingma and Ba's form, arXiv 1412.6980 §2): one division and one
	// square root per element instead of three divisions.
	sc2 := math.Sqrt(c2)
	lrT, epsT := a.LR*sc2/c1, a.Eps*sc2
	grad = grad[lo:hi]
	am, av, ps = am[:len(grad)], av[:len(grad)], ps[:len(grad)]
	for i, gi := range grad {
		g := float64(gi)
		m := b1*float64(am[i]) + (1-b1)*g
		v := b2*float64(av[i]) + (1-b2)*g*g
		am[i], av[i] = T(m), T(v)
		p := float64(ps[i])
		if a.WeightDecay != 0 {
			p *= decay
		}
		ps[i] = T(p - lrT*m/(math.Sqrt(v)+epsT))
	}
}

// Steps returns the number of Step calls so far (t in the bias correction).
func (a *Adam[T]) Steps() int { return a.step }

// State returns the first and second moment estimates (the optimizer's own
// slices, not copies) and the step count, for checkpoints.
func (a *Adam[T]) State() (m, v []T, step int) { return a.m, a.v, a.step }

// SetState restores moments and step count saved by State, copying m and v.
// It returns an error if their lengths differ from the optimizer's parameter
// count or step is negative.
func (a *Adam[T]) SetState(m, v []T, step int) error {
	if len(m) != len(a.m) || len(v) != len(a.v) {
		return fmt.Errorf("nn: Adam.SetState: len(m) = %d, len(v) = %d, want %d", len(m), len(v), len(a.m))
	}
	if step < 0 {
		return fmt.Errorf("nn: Adam.SetState: step = %d, want >= 0", step)
	}
	copy(a.m, m)
	copy(a.v, v)
	a.step = step
	return nil
}

// ClipGradNorm rescales grad in place to L2 norm maxNorm when its norm
// exceeds maxNorm > 0 (torch.nn.utils.clip_grad_norm_, without its 1e-6
// slack) and returns the norm before clipping, computed in float64. A
// maxNorm <= 0 disables clipping. A non-finite norm is returned unchanged and
// grad is left as is, so that the caller can detect the divergence.
func ClipGradNorm[T Float](grad []T, maxNorm float64) float64 {
	var s float64
	for _, g := range grad {
		s += float64(g) * float64(g)
	}
	norm := math.Sqrt(s)
	if maxNorm > 0 && norm > maxNorm && !math.IsInf(norm, 0) {
		scale := maxNorm / norm
		for i, g := range grad {
			grad[i] = T(float64(g) * scale)
		}
	}
	return norm
}

// StepLR is a step-decay learning-rate schedule (PyTorch's StepLR):
// lr(step) = Base·Gamma^⌊step/Every⌋.
type StepLR struct {
	// Base is the initial learning rate.
	Base float64
	// Gamma is the multiplicative decay applied every Every steps.
	Gamma float64
	// Every is the decay period in steps; Every <= 0 gives a constant Base.
	Every int
}

// At returns the learning rate for the 0-based step number step (negative
// steps count as 0).
func (s StepLR) At(step int) float64 {
	if s.Every <= 0 || step <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(step/s.Every))
}

// EMA keeps an exponential moving average of parameters, the weights usually
// used for sampling and evaluation after training.
type EMA[T Float] struct {
	// Decay is the weight of the old average, e.g. 0.999.
	Decay float64
	// Shadow is the averaged parameter vector.
	Shadow []T
	// Warmup, when set, uses the decay min(Decay, (1 + k)/(10 + k)) at the
	// k-th update (k = 0, 1, …), the num_updates rule of TensorFlow's
	// ExponentialMovingAverage: early averages are not dominated by the
	// initial weights, so short runs are meaningful.
	Warmup bool
	// Updates counts the calls of Update.
	Updates int
}

// NewEMA returns an EMA whose Shadow starts as a copy of params.
func NewEMA[T Float](params []T, decay float64) *EMA[T] {
	return &EMA[T]{Decay: decay, Shadow: append([]T(nil), params...)}
}

// Update sets Shadow ← a·Shadow + (1 − a)·params with a = Decay (or the
// warm-up decay, see Warmup); arithmetic in float64. It panics if
// len(params) != len(Shadow).
func (e *EMA[T]) Update(params []T) {
	if len(params) != len(e.Shadow) {
		panic(fmt.Sprintf("nn: EMA.Update: len(params) = %d, want %d", len(params), len(e.Shadow)))
	}
	a := e.Decay
	if e.Warmup {
		k := float64(e.Updates)
		a = min(a, (1+k)/(10+k))
	}
	e.Updates++
	for i, p := range params {
		e.Shadow[i] = T(a*float64(e.Shadow[i]) + (1-a)*float64(p))
	}
}
