package nn

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// The crosscheck holds every build to golden values written by the pure-Go
// build, so that CI shows the pure and openblas builds agree. Regenerate the
// golden file, in the pure build only, with
//
//	go test ./nn -run Crosscheck -update
//
// The network (d = 3, Hidden [16, 16], softplus β = 2, TimeInput), its
// parameters and all inputs are stored in the file, so the check depends on
// the arithmetic only, not on the initialisation or the random streams.
//
// Tolerance: element i passes when |got_i − want_i| ≤ rtol·max(|want_i|, s/100)
// with s = max_j |want_j| (the floor keeps elements that cancel to nearly zero
// from demanding more than the arithmetic can give); rtol = 1e-9 for float64
// and 1e-4 for float32.
var update = flag.Bool("update", false, "rewrite testdata/crosscheck.json (pure-Go build only)")

const crosscheckFile = "testdata/crosscheck.json"

// crosscheckSpec is the network of the crosscheck.
var crosscheckSpec = Spec{Dim: 3, Hidden: []int{16, 16}, Act: Softplus, Beta: 2, TimeInput: true}

// crosscheckOut holds the results of one element type, stored as float64.
type crosscheckOut struct {
	Velocity  []float64 `json:"velocity"`   // n×d at time T
	TraceV    []float64 `json:"trace_v"`    // n×d, velocity from VelocityTrace
	Div       []float64 `json:"div"`        // n, tr ∂v/∂x
	VJPGrad   []float64 `json:"vjp_grad"`   // NumParams, Σ_i w_iᵀ ∂v/∂θ
	VJPDx     []float64 `json:"vjp_dx"`     // n×d, w_iᵀ ∂v/∂x
	Forward   []float64 `json:"forward"`    // n×d, Forward with per-row times TV
	Loss      float64   `json:"loss"`       // MSELoss(forward, Target)
	TrainGrad []float64 `json:"train_grad"` // NumParams, Backward of the loss
	TrainDx   []float64 `json:"train_dx"`   // n×d, ∂loss/∂x
}

type crosscheckGolden struct {
	Backend string        `json:"backend"`
	N       int           `json:"n"`
	Params  []float64     `json:"params"`
	T       float64       `json:"t"`
	X       []float64     `json:"x"`      // n×d
	W       []float64     `json:"w"`      // n×d, VJP cotangents
	TV      []float64     `json:"tv"`     // n, per-row times for Forward
	Target  []float64     `json:"target"` // n×d, MSE target
	F64     crosscheckOut `json:"f64"`
	F32     crosscheckOut `json:"f32"`
}

// newCrosscheckInputs draws the network and inputs (used only by -update).
func newCrosscheckInputs(t *testing.T) *crosscheckGolden {
	const n = 37 // not a multiple of the vector widths
	rng := rand.New(rand.NewPCG(20240611, 7))
	m, err := NewMLP[float64](crosscheckSpec, rng)
	if err != nil {
		t.Fatal(err)
	}
	g := &crosscheckGolden{N: n, Params: append([]float64(nil), m.Params()...), T: 0.37}
	d := crosscheckSpec.Dim
	normals := func(k int, s float64) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = s * rng.NormFloat64()
		}
		return v
	}
	g.X, g.W, g.Target = normals(n*d, 1.5), normals(n*d, 1), normals(n*d, 1)
	g.TV = make([]float64, n)
	for i := range g.TV {
		g.TV[i] = rng.Float64()
	}
	return g
}

func toT[T Float](s []float64) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = T(v)
	}
	return out
}

func to64[T Float](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// crosscheckRun evaluates the crosscheck network in element type T.
func crosscheckRun[T Float](t *testing.T, g *crosscheckGolden) crosscheckOut {
	m, err := NewMLP[T](crosscheckSpec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if m.NumParams() != len(g.Params) {
		t.Fatalf("NumParams() = %d, golden file has %d", m.NumParams(), len(g.Params))
	}
	copy(m.Params(), toT[T](g.Params))
	n, d := g.N, crosscheckSpec.Dim
	x, w, tv, target := toT[T](g.X), toT[T](g.W), toT[T](g.TV), toT[T](g.Target)
	tt := T(g.T)

	var o crosscheckOut
	v := make([]T, n*d)
	m.Velocity(tt, x, n, v)
	o.Velocity = to64(v)

	div := make([]T, n)
	m.VelocityTrace(tt, x, n, v, div)
	o.TraceV, o.Div = to64(v), to64(div)

	grad, dx := make([]T, m.NumParams()), make([]T, n*d)
	m.VJP(tt, x, n, w, grad, dx)
	o.VJPGrad, o.VJPDx = to64(grad), to64(dx)

	dv := make([]T, n*d)
	m.Forward(x, tv, n, v)
	o.Forward = to64(v)
	o.Loss = MSELoss(v, target, dv, n)
	clear(grad)
	m.Backward(dv, grad, dx)
	o.TrainGrad, o.TrainDx = to64(grad), to64(dx)
	return o
}

func TestCrosscheck(t *testing.T) {
	path := filepath.FromSlash(crosscheckFile)
	if *update {
		if Backend() != "pure-go" {
			t.Fatalf("-update under backend %q: the golden values must come from the pure-Go build", Backend())
		}
		g := newCrosscheckInputs(t)
		g.Backend = Backend()
		g.F64 = crosscheckRun[float64](t, g)
		g.F32 = crosscheckRun[float32](t, g)
		b, err := json.MarshalIndent(g, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./nn -run Crosscheck -update)", err)
	}
	var g crosscheckGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, c := range []struct {
		name string
		rtol float64
		want crosscheckOut
		got  func() crosscheckOut
	}{
		{"f64", 1e-9, g.F64, func() crosscheckOut { return crosscheckRun[float64](t, &g) }},
		{"f32", 1e-4, g.F32, func() crosscheckOut { return crosscheckRun[float32](t, &g) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.got()
			worst := 0.0
			cmp := func(name string, got, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Errorf("%s: len %d, golden %d", name, len(got), len(want))
					return
				}
				s := 0.0
				for _, w := range want {
					s = math.Max(s, math.Abs(w))
				}
				for i := range want {
					scale := math.Max(math.Abs(want[i]), s/100)
					e := math.Abs(got[i]-want[i]) / scale
					if !(e <= c.rtol) { // also catches NaN
						t.Errorf("%s[%d] = %.17g, golden %.17g (rel err %.2g > %g)", name, i, got[i], want[i], e, c.rtol)
						return
					}
					worst = math.Max(worst, e)
				}
			}
			cmp("Velocity", got.Velocity, c.want.Velocity)
			cmp("VelocityTrace v", got.TraceV, c.want.TraceV)
			cmp("VelocityTrace div", got.Div, c.want.Div)
			cmp("VJP grad", got.VJPGrad, c.want.VJPGrad)
			cmp("VJP dx", got.VJPDx, c.want.VJPDx)
			cmp("Forward", got.Forward, c.want.Forward)
			cmp("MSELoss", []float64{got.Loss}, []float64{c.want.Loss})
			cmp("Backward grad", got.TrainGrad, c.want.TrainGrad)
			cmp("Backward dx", got.TrainDx, c.want.TrainDx)
			t.Logf("backend %s vs golden from %s: worst rel err %.2g", Backend(), g.Backend, worst)
		})
	}
}
