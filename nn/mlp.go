package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// evalRows is the row-chunk size of Velocity, VelocityJVP and VJP: work
// buffers never exceed evalRows rows, whatever n is.
const evalRows = 2048

// traceTangentRows is the target number of tangent rows (chunk·d) pushed
// through the hidden layers at once by VelocityTrace. 1024 rows of width 256
// keep a chunk's tangents (2 MiB in float64) near the core's L2 cache: with
// 8192 rows the same evaluation took ~25% more CPU time at d = 64 (n = 100,
// 256×3 hidden), the extra going to OpenBLAS packing and zeroing the
// product's operands from memory.
const traceTangentRows = 1024

// layer locates one affine layer y = x·W + b inside the flat parameter
// vector: W (in×out, row-major) starts at w, b (out) at b.
type layer struct {
	in, out int
	w, b    int
}

// MLP is a fully connected velocity field v(x, t) = W_L·σ(…σ(W_1·[x, t] + b_1)…) + b_L
// (written here with row vectors: each layer is y = x·W_l + b_l), generic over
// float32 (training) and float64 (likelihoods).
//
// Besides the velocity it gives the exact divergence tr(∂v/∂x) by forward-mode
// tangent propagation, Jacobian-vector products, vector-Jacobian products with
// respect to inputs and parameters, and a batched Forward/Backward for
// training with a per-row time.
//
// An MLP owns work buffers that grow to the largest batch seen and are reused,
// so after warm-up its methods do not allocate (the pure-Go gonum GEMM and the
// goroutine split of large elementwise passes allocate a little internally).
// Consequently an MLP is not safe for concurrent use: give each goroutine its
// own Clone.
//
// Methods that take batches panic when a slice is shorter than the shapes
// given (n×Dim and so on): that is a programming error, like an out-of-range
// index, not bad user input.
type MLP[T Float] struct {
	// Spec is the architecture. It must not be modified after NewMLP.
	Spec Spec

	params []T
	layers []layer
	ws     workspace[T]
}

// workspace holds the reusable buffers of an MLP.
type workspace[T Float] struct {
	// Forward's cache, read by Backward.
	fn     int   // rows cached; 0 when Forward has not run
	fx     []T   // the input matrix: rows [x, t] (fn×(Dim+1)) with TimeInput, else x (fn×Dim)
	fh, fd [][]T // per hidden layer: σ(a_l) and σ'(a_l), fn×width_l

	// Chunked evaluation (Velocity, VelocityTrace, VelocityJVP, VJP).
	eh, ed [][]T // per hidden layer, chunk×width_l

	// Scratch shared by all methods (never read across calls).
	pre    []T // pre-activations, rows×maxWidth
	g1, g2 []T // backward signals or tangents, rows×maxWidth
	bias0  []T // first-layer bias b_0 + t·w_t, width_0
	wlt    []T // last-layer weight transposed, Dim×width_last
	ones   []T // all ones (column sums as matrix-vector products)

	sib []*MLP[T] // siblings for the goroutines of VelocityTrace (shared parameters)
}

// NewMLP builds an MLP for spec with PyTorch's default nn.Linear
// initialisation: every weight and bias of a layer with fan-in in_l is drawn
// from U(−1/√in_l, 1/√in_l) using rng. It returns an error if spec is invalid
// (see Spec.Validate) or rng is nil.
func NewMLP[T Float](spec Spec, rng *rand.Rand) (*MLP[T], error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("nn: NewMLP: %w", err)
	}
	if rng == nil {
		return nil, errors.New("nn: NewMLP: rng is nil")
	}
	m := newMLP[T](spec)
	for _, l := range m.layers {
		bound := 1 / math.Sqrt(float64(l.in))
		w := m.params[l.w : l.w+l.in*l.out]
		for i := range w {
			w[i] = T(bound * (2*rng.Float64() - 1))
		}
		b := m.params[l.b : l.b+l.out]
		for i := range b {
			b[i] = T(bound * (2*rng.Float64() - 1))
		}
	}
	return m, nil
}

// newMLP lays out a zero-parameter MLP for a valid spec.
func newMLP[T Float](spec Spec) *MLP[T] {
	spec.Hidden = append([]int(nil), spec.Hidden...)
	m := &MLP[T]{Spec: spec}
	in := spec.inDim()
	off := 0
	widths := append(append([]int(nil), spec.Hidden...), spec.Dim)
	for _, out := range widths {
		l := layer{in: in, out: out, w: off, b: off + in*out}
		off = l.b + out
		m.layers = append(m.layers, l)
		in = out
	}
	m.params = make([]T, off)
	nh := len(spec.Hidden)
	m.ws.fh = make([][]T, nh)
	m.ws.fd = make([][]T, nh)
	m.ws.eh = make([][]T, nh)
	m.ws.ed = make([][]T, nh)
	return m
}

// Dim returns d, the dimension of x and of the velocity.
func (m *MLP[T]) Dim() int { return m.Spec.Dim }

// NumParams returns the number of scalar parameters, len(Params()).
func (m *MLP[T]) NumParams() int { return len(m.params) }

// Params returns the flat parameter vector. The network reads it directly, so
// changes made in place (an optimizer step, loading a checkpoint) take
// effect at once. Layout, layer by layer: W_l (in_l×out_l, row-major, so that
// y = x·W_l + b_l with x a row vector), then b_l (out_l). With TimeInput the
// last row of W_0 multiplies t.
func (m *MLP[T]) Params() []T { return m.params }

// LayerShapes returns (in_l, out_l) for each affine layer: in_0 = Dim (+1 with
// TimeInput), out_l = Hidden[l] for the hidden layers, and out = Dim for the
// last one.
func (m *MLP[T]) LayerShapes() [][2]int {
	s := make([][2]int, len(m.layers))
	for i, l := range m.layers {
		s[i] = [2]int{l.in, l.out}
	}
	return s
}

// Clone returns a deep copy of m with its own parameters and work buffers.
// Forward's cache is not copied: call Forward on the clone before Backward.
func (m *MLP[T]) Clone() *MLP[T] {
	c := newMLP[T](m.Spec)
	copy(c.params, m.params)
	return c
}

// Convert returns a copy of m with element type U, each parameter converted
// (for example float32 training weights to a float64 network for likelihood
// evaluation).
func Convert[U, T Float](m *MLP[T]) *MLP[U] {
	c := newMLP[U](m.Spec)
	for i, p := range m.params {
		c.params[i] = U(p)
	}
	return c
}

// weights returns W_l and b_l of layer l as slices of the parameter vector
// (or of a gradient vector with the same layout).
func weights[T Float](l layer, p []T) (w, b []T) {
	return p[l.w : l.w+l.in*l.out], p[l.b : l.b+l.out]
}
