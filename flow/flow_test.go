package flow

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/iterflow/iterflow/ode"
)

var (
	rk4    = ode.Options{Method: ode.RK4, Steps: 100}
	dopri5 = ode.Options{Method: ode.Dopri5, RTol: 1e-9, ATol: 1e-9}
	ctx    = context.Background()
)

// expm returns e^{sign·C} for a d×d row-major C, by gonum's mat.Exp.
func expm(c []float64, d int, sign float64) []float64 {
	s := make([]float64, len(c))
	for i := range c {
		s[i] = sign * c[i]
	}
	var e mat.Dense
	e.Exp(mat.NewDense(d, d, s))
	return e.RawMatrix().Data
}

// apply returns the rows of x (n×d) multiplied by the d×d matrix m: m x_i.
func apply(m, x []float64, n, d int) []float64 {
	out := make([]float64, n*d)
	for r := 0; r < n; r++ {
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				out[r*d+i] += m[i*d+j] * x[r*d+j]
			}
		}
	}
	return out
}

func stdNormal(z []float64, n, d int) []float64 {
	out := make([]float64, n)
	StdNormalLogProb(z, n, d, out)
	return out
}

func randRows(rng *rand.Rand, n, d int, scale float64) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return x
}

func newTanh(rng *rand.Rand, d int) tanhField {
	f := tanhField{d: d, a: randRows(rng, d, d, 0.8), b: randRows(rng, 1, d, 0.5), c: randRows(rng, 1, d, 0.5), s: randRows(rng, 1, d, 0.8)}
	return f
}

func maxDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func TestStdNormalLogProb(t *testing.T) {
	got := stdNormal([]float64{0, 0, 1, -2}, 2, 2)
	want := []float64{-math.Log(2 * math.Pi), -math.Log(2*math.Pi) - 2.5}
	if maxDiff(got, want) > 1e-15 {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestLinearLogProb checks methods.md §5.5: for f(x) = C x on [0, 1],
// log p(x) = log N(e^{C}x) + tr C (data→latent) or log N(e^{−C}x) − tr C.
func TestLinearLogProb(t *testing.T) {
	const d, n = 2, 7
	c := []float64{0.3, -0.7, 0.5, 0.1}
	rng := rand.New(rand.NewPCG(1, 1))
	x := randRows(rng, n, d, 1.5)
	for _, reverse := range []bool{false, true} {
		sign := 1.0
		if reverse {
			sign = -1
		}
		z := apply(expm(c, d, sign), x, n, d)
		want := stdNormal(z, n, d)
		for i := range want {
			want[i] += sign * 0.4 // tr C = 0.4
		}
		ch := &Chain{Blocks: []Block{{Field: linearField{d, c}, Reverse: reverse}}}
		for _, so := range []ode.Options{rk4, dopri5} {
			got, _, err := ch.LogProb(ctx, x, n, Options{Solver: so})
			if err != nil {
				t.Fatal(err)
			}
			if e := maxDiff(got, want); e > 1e-6 {
				t.Errorf("Reverse=%v %v: LogProb off by %.3g (got %v, want %v)", reverse, so.Method, e, got, want)
			}
			gz, _, err := ch.Forward(ctx, x, n, Options{Solver: so})
			if err != nil {
				t.Fatal(err)
			}
			if e := maxDiff(gz, z); e > 1e-6 {
				t.Errorf("Reverse=%v %v: Forward off by %.3g", reverse, so.Method, e)
			}
		}
	}
}

// TestCubicTimeLogProb: v = 3t²x, latent→data, maps z to e·z, so
// log p(x) = log N(x/e) − d.
func TestCubicTimeLogProb(t *testing.T) {
	const d, n = 3, 5
	rng := rand.New(rand.NewPCG(2, 2))
	x := randRows(rng, n, d, 2)
	z := make([]float64, len(x))
	for i := range x {
		z[i] = x[i] / math.E
	}
	want := stdNormal(z, n, d)
	for i := range want {
		want[i] -= d
	}
	ch := &Chain{Blocks: []Block{{Field: cubicTimeField{d}, Reverse: true}}}
	for _, so := range []ode.Options{rk4, dopri5} {
		got, _, err := ch.LogProb(ctx, x, n, Options{Solver: so})
		if err != nil {
			t.Fatal(err)
		}
		if e := maxDiff(got, want); e > 1e-6 {
			t.Errorf("%v: LogProb off by %.3g", so.Method, e)
		}
	}
}

func TestZeroField(t *testing.T) {
	ch := &Chain{Blocks: []Block{{Field: linearField{2, make([]float64, 4)}}, {Field: linearField{2, make([]float64, 4)}, Reverse: true}}}
	got, _, err := ch.LogProb(ctx, []float64{0, 0}, 1, Options{Solver: rk4})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-(-1.837877)) > 1e-6 {
		t.Errorf("log p(0) = %.7f, want -1.837877", got[0])
	}
}

// TestTraceEstimators checks methods.md §5.6 with C = [[1, 2], [3, 4]]: the
// exact trace is 5; a Rademacher probe gives εᵀCε = 5 ± 5, i.e. 0 or 10; the
// Hutchinson mean converges to 5; FD Hutchinson equals Hutchinson with the
// same probes for a linear field.
func TestTraceEstimators(t *testing.T) {
	const d, n = 2, 4000
	b := Block{Field: linearField{d, []float64{1, 2, 3, 4}}}
	solver := ode.Options{Method: ode.RK4, Steps: 5}
	logdet := func(opt Options) []float64 {
		t.Helper()
		rng := rand.New(rand.NewPCG(9, 9))
		x := randRows(rng, n, d, 1)
		ld := make([]float64, n)
		opt.Solver = solver
		if _, err := b.PushLogDet(ctx, x, n, ld, opt); err != nil {
			t.Fatal(err)
		}
		return ld
	}
	exact := logdet(Options{})
	for i, v := range exact {
		if math.Abs(v-5) > 1e-12 {
			t.Fatalf("exact trace row %d: %v, want 5", i, v)
		}
	}
	// Single Rademacher probe: exactly 0 or 10.
	rad := logdet(Options{Trace: Hutchinson, Probe: Rademacher, Rand: rand.New(rand.NewPCG(1, 2))})
	count := map[float64]int{}
	for i, v := range rad {
		switch {
		case math.Abs(v) < 1e-12:
			count[0]++
		case math.Abs(v-10) < 1e-12:
			count[10]++
		default:
			t.Fatalf("Rademacher row %d: %v, want 0 or 10", i, v)
		}
	}
	if count[0] < n/3 || count[10] < n/3 {
		t.Errorf("Rademacher values %v, want both 0 and 10 about equally often", count)
	}
	// Four Rademacher probes are averaged, not summed: values in {0, 2.5, 5, 7.5, 10}.
	rad4 := logdet(Options{Trace: Hutchinson, Probe: Rademacher, Probes: 4, Rand: rand.New(rand.NewPCG(1, 3))})
	for i, v := range rad4 {
		if q := v / 2.5; math.Abs(q-math.Round(q)) > 1e-12 || v < -1e-12 || v > 10+1e-12 {
			t.Fatalf("4 Rademacher probes row %d: %v, want a multiple of 2.5 in [0, 10]", i, v)
		}
	}
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"gaussian", Options{Trace: Hutchinson, Probe: Gaussian, Rand: rand.New(rand.NewPCG(3, 4))}},
		{"rademacher", Options{Trace: Hutchinson, Probe: Rademacher, Rand: rand.New(rand.NewPCG(5, 6))}},
		{"gaussian K=3", Options{Trace: Hutchinson, Probe: Gaussian, Probes: 3, Rand: rand.New(rand.NewPCG(7, 8))}},
		{"fd rademacher", Options{Trace: FDHutchinson, Probe: Rademacher, Rand: rand.New(rand.NewPCG(5, 7))}},
	} {
		v := logdet(tc.opt)
		var mean, m2 float64
		for _, x := range v {
			mean += x
		}
		mean /= n
		for _, x := range v {
			m2 += (x - mean) * (x - mean)
		}
		se := math.Sqrt(m2 / (n - 1) / n)
		if math.Abs(mean-5) > 4*se {
			t.Errorf("%s: mean %.4f ± %.4f, want 5 within 4 standard errors", tc.name, mean, se)
		}
	}
	// FD Hutchinson is exact for a linear field: same probes, same values.
	for _, p := range []Probe{Gaussian, Rademacher} {
		h := logdet(Options{Trace: Hutchinson, Probe: p, Probes: 2, Rand: rand.New(rand.NewPCG(11, 12))})
		fd := logdet(Options{Trace: FDHutchinson, Probe: p, Probes: 2, Rand: rand.New(rand.NewPCG(11, 12))})
		if e := maxDiff(h, fd); e > 1e-8 {
			t.Errorf("%v: FD Hutchinson differs from Hutchinson by %.3g", p, e)
		}
	}
}

// TestProbeFixedPerSolve checks that the probe is drawn once per solve and
// held fixed: for f = 3t²x the Hutchinson estimate of ∫₀¹ div f dt with a
// fixed probe ε is ∫ 3t² |ε|² dt = |ε|², where ε_i is row i of the first n·d
// NormFloat64 draws of opt.Rand; dopri5 then needs few steps.
func TestProbeFixedPerSolve(t *testing.T) {
	const d, n = 4, 50
	b := Block{Field: cubicJVP{cubicTimeField{d}}}
	x := randRows(rand.New(rand.NewPCG(1, 1)), n, d, 1)
	ld := make([]float64, n)
	st, err := b.PushLogDet(ctx, x, n, ld, Options{Solver: dopri5, Trace: Hutchinson, Probe: Gaussian, Rand: rand.New(rand.NewPCG(2, 2))})
	if err != nil {
		t.Fatal(err)
	}
	eps := randRows(rand.New(rand.NewPCG(2, 2)), n, d, 1)
	for i, v := range ld {
		var want float64
		for _, e := range eps[i*d : (i+1)*d] {
			want += e * e
		}
		if math.Abs(v-want) > 1e-8 {
			t.Fatalf("row %d: %v, want |ε|² = %v", i, v, want)
		}
	}
	if st.Steps > 100 {
		t.Errorf("dopri5 took %d steps, want few (probe fixed per solve)", st.Steps)
	}
}

// cubicJVP adds Jacobian-vector products to cubicTimeField.
type cubicJVP struct{ cubicTimeField }

func (f cubicJVP) VelocityJVP(t float64, x []float64, n int, u, v, jv []float64) {
	f.Velocity(t, x, n, v)
	f.Velocity(t, u, n, jv)
}

func twoBlockChain(seed uint64) *Chain {
	rng := rand.New(rand.NewPCG(seed, 1))
	ch, err := NewChain(Block{Field: newTanh(rng, 2)}, Block{Field: newTanh(rng, 2), Reverse: true})
	if err != nil {
		panic(err)
	}
	return ch
}

func TestInverseForward(t *testing.T) {
	const n = 20
	ch := twoBlockChain(3)
	x := randRows(rand.New(rand.NewPCG(4, 4)), n, 2, 1.5)
	for _, so := range []ode.Options{dopri5, {Method: ode.RK4, Steps: 50}} {
		opt := Options{Solver: so}
		z, _, err := ch.Forward(ctx, x, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		if maxDiff(z, x) < 1e-2 {
			t.Fatalf("%v: Forward barely moved the points", so.Method)
		}
		back, _, err := ch.Inverse(ctx, z, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxDiff(back, x); e > 1e-5 {
			t.Errorf("%v: Inverse(Forward(x)) off by %.3g", so.Method, e)
		}
	}
}

// TestDensityIntegratesToOne sums exp(LogProb) of a nonlinear 2-block chain
// over the grid [−8, 8]² with step 0.05.
func TestDensityIntegratesToOne(t *testing.T) {
	const h, lo, m = 0.05, -8.0, 320
	ch := twoBlockChain(5)
	x := make([]float64, 0, 2*m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			x = append(x, lo+(float64(i)+0.5)*h, lo+(float64(j)+0.5)*h)
		}
	}
	logp, st, err := ch.LogProb(ctx, x, m*m, Options{Solver: ode.Options{Method: ode.RK4, Steps: 8}})
	if err != nil {
		t.Fatal(err)
	}
	var mass float64
	for _, l := range logp {
		mass += math.Exp(l) * h * h
	}
	t.Logf("mass %.6f", mass)
	if math.Abs(mass-1) > 0.02 {
		t.Errorf("total mass %.5f, want 1 ± 0.02", mass)
	}
	if want := (Stats{NFE: 2 * 8 * 4, Steps: 16, Batches: 25, Workers: 1}); st != want { // test fields are not Cloners: 1 worker
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestSampleAndLogProb(t *testing.T) {
	const n = 50
	ch := twoBlockChain(6)
	opt := Options{Solver: dopri5, Rand: rand.New(rand.NewPCG(7, 7))}
	x, logp, _, err := ch.SampleAndLogProb(ctx, n, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The samples are those of Sample with the same seed.
	xs, _, err := ch.Sample(ctx, n, Options{Solver: dopri5, Rand: rand.New(rand.NewPCG(7, 7))})
	if err != nil {
		t.Fatal(err)
	}
	// dopri5 chooses its steps on the augmented state, so the samples agree
	// to the tolerance only.
	if e := maxDiff(x, xs); e > 1e-7 {
		t.Errorf("SampleAndLogProb samples differ from Sample by %.3g", e)
	}
	want, _, err := ch.LogProb(ctx, x, n, Options{Solver: dopri5})
	if err != nil {
		t.Fatal(err)
	}
	if e := maxDiff(logp, want); e > 1e-5 {
		t.Errorf("SampleAndLogProb logp differs from LogProb by %.3g", e)
	}
	// With rk4 the samples are exactly those of Sample, and logp matches
	// LogProb to the discretization error.
	so := ode.Options{Method: ode.RK4, Steps: 40}
	x, logp, _, err = ch.SampleAndLogProb(ctx, n, Options{Solver: so, Rand: rand.New(rand.NewPCG(7, 7))})
	if err != nil {
		t.Fatal(err)
	}
	xs, _, _ = ch.Sample(ctx, n, Options{Solver: so, Rand: rand.New(rand.NewPCG(7, 7))})
	if e := maxDiff(x, xs); e != 0 {
		t.Errorf("rk4: SampleAndLogProb samples differ from Sample by %.3g", e)
	}
	want, _, _ = ch.LogProb(ctx, x, n, Options{Solver: so})
	if e := maxDiff(logp, want); e > 1e-5 {
		t.Errorf("rk4: SampleAndLogProb logp differs from LogProb by %.3g", e)
	}
}

func TestSampleReproducible(t *testing.T) {
	const n = 30
	ch := twoBlockChain(8)
	opt := func(seed uint64) Options {
		return Options{Solver: ode.Options{Method: ode.RK4, Steps: 10}, Rand: rand.New(rand.NewPCG(seed, 0))}
	}
	a, _, err := ch.Sample(ctx, n, opt(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := ch.Sample(ctx, n, opt(1))
	c, _, _ := ch.Sample(ctx, n, opt(2))
	if maxDiff(a, b) != 0 {
		t.Error("same seed gave different samples")
	}
	if maxDiff(a, c) == 0 {
		t.Error("different seeds gave the same samples")
	}
	// Sample is Inverse of n·d row-major NormFloat64 draws.
	rng := rand.New(rand.NewPCG(1, 0))
	z := make([]float64, 2*n)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	x, _, err := ch.Inverse(ctx, z, n, opt(1))
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(a, x) != 0 {
		t.Error("Sample differs from Inverse of the documented latent draws")
	}
}

func TestStatsAndBatching(t *testing.T) {
	const n = 10
	ch := twoBlockChain(9)
	x := randRows(rand.New(rand.NewPCG(1, 1)), n, 2, 1)
	so := ode.Options{Method: ode.RK4, Steps: 6}
	full, st, err := ch.LogProb(ctx, x, n, Options{Solver: so})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{NFE: 2 * 6 * 4, Steps: 12, Batches: 1, Workers: 1}); st != want {
		t.Errorf("LogProb stats %+v, want %+v", st, want)
	}
	small, st, err := ch.LogProb(ctx, x, n, Options{Solver: so, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{NFE: 48, Steps: 12, Batches: 4, Workers: 1}); st != want {
		t.Errorf("BatchSize 3 stats %+v, want %+v", st, want)
	}
	if e := maxDiff(full, small); e != 0 {
		t.Errorf("rk4 LogProb depends on the batch size: %.3g", e)
	}
	_, st, err = ch.Forward(ctx, x, n, Options{Solver: ode.Options{Method: ode.Midpoint, Steps: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{NFE: 2 * 5 * 2, Steps: 10, Batches: 1, Workers: 1}); st != want {
		t.Errorf("Forward midpoint stats %+v, want %+v", st, want)
	}
	_, st, err = ch.LogProb(ctx, x, n, Options{Solver: so, Trace: Hutchinson, Probes: 3, Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if st.NFE != 48 {
		t.Errorf("Hutchinson K=3: NFE %d, want 48 (right-hand side evaluations)", st.NFE)
	}
	// Dopri5 reports the batch with most evaluations.
	_, st, err = ch.LogProb(ctx, x, n, Options{Solver: dopri5, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if st.Batches != 3 || st.NFE != 2*2+6*(st.Steps+st.Rejected) {
		t.Errorf("dopri5 stats %+v inconsistent", st)
	}
}

func TestPushAndPushLogDet(t *testing.T) {
	const n, d = 6, 2
	c := []float64{0.3, -0.7, 0.5, 0.1}
	x := randRows(rand.New(rand.NewPCG(3, 3)), n, d, 1)
	want := apply(expm(c, d, -1), x, n, d)
	for _, withDet := range []bool{false, true} {
		y := append([]float64(nil), x...)
		b := Block{Field: linearField{d, c}, Reverse: true}
		var err error
		ld := []float64{1, 2, 3, 4, 5, 6}
		if withDet {
			_, err = b.PushLogDet(ctx, y, n, ld, Options{Solver: rk4})
		} else {
			_, err = b.Push(ctx, y, n, Options{Solver: rk4})
		}
		if err != nil {
			t.Fatal(err)
		}
		if e := maxDiff(y, want); e > 1e-7 {
			t.Errorf("withDet=%v: pushed rows off by %.3g", withDet, e)
		}
		if withDet {
			for i, v := range ld {
				if math.Abs(v-(float64(i+1)-0.4)) > 1e-12 {
					t.Errorf("logdet[%d] = %v, want %v", i, v, float64(i+1)-0.4)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	lin := linearField{2, []float64{1, 2, 3, 4}}
	ch := &Chain{Blocks: []Block{{Field: lin}, {Field: velocityOnly{lin}}}}
	good := &Chain{Blocks: []Block{{Field: lin}, {Field: lin, Reverse: true}}}
	x := []float64{1, 2, 3, 4}
	so := ode.Options{Method: ode.RK4, Steps: 2}
	rng := rand.New(rand.NewPCG(1, 1))
	run := func(f func() error) string {
		err := f()
		if err == nil {
			return "<nil>"
		}
		return err.Error()
	}
	for _, tc := range []struct {
		name string
		err  string
		want string
	}{
		{"length", run(func() error { _, _, err := good.LogProb(ctx, x[:3], 2, Options{Solver: so}); return err }),
			"flow: LogProb: len(x) = 3, want n×d = 2×2 = 4"},
		{"n", run(func() error { _, _, err := good.Forward(ctx, nil, 0, Options{Solver: so}); return err }),
			"flow: Forward: n = 0 rows, want n >= 1"},
		{"inverse length", run(func() error { _, _, err := good.Inverse(ctx, x, 3, Options{Solver: so}); return err }),
			"flow: Inverse: len(z) = 4, want n×d = 3×2 = 6"},
		{"non-finite", run(func() error {
			_, _, err := good.LogProb(ctx, []float64{1, 2, math.Inf(-1), 4}, 2, Options{Solver: so})
			return err
		}), "flow: LogProb: x[2] = -Inf (row 1, column 0) is not finite"},
		{"not a TraceField", run(func() error { _, _, err := ch.LogProb(ctx, x, 2, Options{Solver: so}); return err }),
			"flow: LogProb: block 1: the exact trace needs a TraceField, got flow.velocityOnly"},
		{"not a JVPField", run(func() error {
			_, _, err := ch.LogProb(ctx, x, 2, Options{Solver: so, Trace: Hutchinson, Rand: rng})
			return err
		}), "flow: LogProb: block 1: the hutchinson trace estimator needs a JVPField, got flow.velocityOnly"},
		{"Rand missing", run(func() error {
			_, _, err := good.LogProb(ctx, x, 2, Options{Solver: so, Trace: Hutchinson})
			return err
		}), "flow: LogProb: the hutchinson trace estimator needs Options.Rand"},
		{"Rand missing fd", run(func() error {
			_, err := Block{Field: lin}.PushLogDet(ctx, x, 2, make([]float64, 2), Options{Solver: so, Trace: FDHutchinson})
			return err
		}), "flow: PushLogDet: the fd-hutchinson trace estimator needs Options.Rand"},
		{"Rand missing sample", run(func() error { _, _, err := good.Sample(ctx, 2, Options{Solver: so}); return err }),
			"flow: Sample: sampling needs Options.Rand"},
		{"sample n", run(func() error {
			_, _, _, err := good.SampleAndLogProb(ctx, -1, Options{Solver: so, Rand: rng})
			return err
		}), "flow: SampleAndLogProb: n = -1 rows, want n >= 1"},
		{"logdet length", run(func() error {
			_, err := Block{Field: lin}.PushLogDet(ctx, x, 2, make([]float64, 3), Options{Solver: so})
			return err
		}), "flow: PushLogDet: len(logdet) = 3, want n = 2"},
		{"block not a TraceField", run(func() error {
			_, err := Block{Field: velocityOnly{lin}}.PushLogDet(ctx, x, 2, make([]float64, 2), Options{Solver: so})
			return err
		}), "flow: PushLogDet: the exact trace needs a TraceField, got flow.velocityOnly"},
		{"nil block field", run(func() error { _, err := Block{}.Push(ctx, x, 2, Options{Solver: so}); return err }),
			"flow: Push: block has a nil Field"},
		{"solver options", run(func() error { _, _, err := good.Forward(ctx, x, 2, Options{}); return err }),
			"flow: Forward: ode: euler needs Options.Steps >= 1, got 0"},
		{"batch size", run(func() error { _, _, err := good.Forward(ctx, x, 2, Options{Solver: so, BatchSize: -1}); return err }),
			"flow: Forward: Options.BatchSize = -1, want >= 1 (0 selects 4096)"},
		{"probes", run(func() error {
			_, _, err := good.LogProb(ctx, x, 2, Options{Solver: so, Trace: Hutchinson, Rand: rng, Probes: -2})
			return err
		}), "flow: LogProb: Options.Probes = -2, want >= 1 (0 selects 1)"},
		{"sigma0", run(func() error {
			_, _, err := good.LogProb(ctx, x, 2, Options{Solver: so, Trace: FDHutchinson, Rand: rng, Sigma0: -1})
			return err
		}), "flow: LogProb: Options.Sigma0 = -1, want a finite value > 0 (0 selects 0.01)"},
		{"trace", run(func() error {
			_, _, err := good.LogProb(ctx, x, 2, Options{Solver: so, Trace: 5, Rand: rng})
			return err
		}),
			"flow: LogProb: unknown trace estimator Trace(5)"},
		{"probe", run(func() error {
			_, _, err := good.LogProb(ctx, x, 2, Options{Solver: so, Trace: Hutchinson, Probe: 4, Rand: rng})
			return err
		}), "flow: LogProb: unknown probe distribution Probe(4)"},
		{"empty chain", run(func() error { _, _, err := (&Chain{}).Forward(ctx, x, 2, Options{Solver: so}); return err }),
			"flow: Forward: chain has no blocks"},
		{"dims", run(func() error { _, err := NewChain(Block{Field: lin}, Block{Field: cubicTimeField{3}}); return err }),
			"flow: block 1 has dimension 3, block 0 has 2"},
		{"nil field", run(func() error { _, err := NewChain(Block{Field: lin}, Block{}); return err }),
			"flow: block 1: block has a nil Field"},
		{"zero dim", run(func() error { return (&Chain{Blocks: []Block{{Field: cubicTimeField{0}}}}).Validate() }),
			"flow: block 0: block has dimension 0, want >= 1"},
	} {
		if tc.err != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.err, tc.want)
		}
	}
}

func TestSolveErrorNamesBlock(t *testing.T) {
	ch := &Chain{Blocks: []Block{{Field: linearField{2, make([]float64, 4)}}, {Field: linearField{2, make([]float64, 4)}}, {Field: nanField{2}}}}
	_, _, err := ch.Forward(ctx, []float64{1, 2}, 1, Options{Solver: ode.Options{Method: ode.Euler, Steps: 4}})
	var se *ode.SolveError
	want := "flow: Forward: block 2: ode: euler failed at t = 0.75 (step size 0.25, state norm 0.943): non-finite derivative: f(t, y)[0] = NaN"
	if !errors.As(err, &se) || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	// Inverse visits block 2 first.
	_, _, err = ch.Inverse(ctx, []float64{1, 2}, 1, Options{Solver: ode.Options{Method: ode.Euler, Steps: 4}})
	if err == nil || !strings.HasPrefix(err.Error(), "flow: Inverse: block 2: ode: euler failed at t = 1 ") {
		t.Errorf("Inverse error %v", err)
	}
	_, err = Block{Field: nanField{2}}.Push(ctx, []float64{1, 2}, 1, Options{Solver: ode.Options{Method: ode.Euler, Steps: 4}})
	if err == nil || !strings.HasPrefix(err.Error(), "flow: Push: ode: euler failed") {
		t.Errorf("Push error %v", err)
	}
}

func TestCancel(t *testing.T) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err := twoBlockChain(1).LogProb(c, []float64{1, 2}, 1, Options{Solver: rk4})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "flow: LogProb: block 0: ode: rk4 failed at t = 0 ") {
		t.Errorf("error %v, want a canceled solve in block 0", err)
	}
}

func TestParseNames(t *testing.T) {
	for _, tr := range []Trace{Exact, Hutchinson, FDHutchinson} {
		got, err := ParseTrace(tr.String())
		if err != nil || got != tr {
			t.Errorf("ParseTrace(%q) = %v, %v", tr.String(), got, err)
		}
		var u Trace
		b, _ := tr.MarshalText()
		if err := u.UnmarshalText(b); err != nil || u != tr {
			t.Errorf("text round trip of %v: %v, %v", tr, u, err)
		}
	}
	for _, p := range []Probe{Gaussian, Rademacher} {
		got, err := ParseProbe(p.String())
		if err != nil || got != p {
			t.Errorf("ParseProbe(%q) = %v, %v", p.String(), got, err)
		}
		var u Probe
		b, _ := p.MarshalText()
		if err := u.UnmarshalText(b); err != nil || u != p {
			t.Errorf("text round trip of %v: %v, %v", p, u, err)
		}
	}
	if _, err := ParseTrace("hutch"); err == nil || err.Error() != `flow: unknown trace estimator "hutch" (want exact, hutchinson or fd-hutchinson)` {
		t.Errorf("ParseTrace error %v", err)
	}
	if _, err := ParseProbe("normal"); err == nil || err.Error() != `flow: unknown probe distribution "normal" (want gaussian or rademacher)` {
		t.Errorf("ParseProbe error %v", err)
	}
	if got := []string{Exact.String(), FDHutchinson.String(), Rademacher.String()}; strings.Join(got, ",") != "exact,fd-hutchinson,rademacher" {
		t.Errorf("names %v", got)
	}
}

// TestTanhFieldDerivatives checks the test field's trace and JVP against
// central finite differences of its velocity.
func TestTanhFieldDerivatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	f := newTanh(rng, 3)
	x := randRows(rng, 1, 3, 1)
	u := randRows(rng, 1, 3, 1)
	v, jv, div := make([]float64, 3), make([]float64, 3), make([]float64, 1)
	f.VelocityJVP(0.3, x, 1, u, v, jv)
	f.VelocityTrace(0.3, x, 1, v, div)
	const eps = 1e-6
	vp, vm := make([]float64, 3), make([]float64, 3)
	xp, xm := make([]float64, 3), make([]float64, 3)
	for i := range x {
		xp[i], xm[i] = x[i]+eps*u[i], x[i]-eps*u[i]
	}
	f.Velocity(0.3, xp, 1, vp)
	f.Velocity(0.3, xm, 1, vm)
	for i := range jv {
		if fd := (vp[i] - vm[i]) / (2 * eps); math.Abs(fd-jv[i]) > 1e-8 {
			t.Errorf("JVP[%d] = %v, finite difference %v", i, jv[i], fd)
		}
	}
	var tr float64
	for j := 0; j < 3; j++ {
		copy(xp, x)
		copy(xm, x)
		xp[j] += eps
		xm[j] -= eps
		f.Velocity(0.3, xp, 1, vp)
		f.Velocity(0.3, xm, 1, vm)
		tr += (vp[j] - vm[j]) / (2 * eps)
	}
	if math.Abs(tr-div[0]) > 1e-8 {
		t.Errorf("trace %v, finite difference %v", div[0], tr)
	}
}

// TestAllocsIndependentOfBatches checks that buffers are reused across
// batches: the allocation count of LogProb does not grow with the number of
// batches.
func TestAllocsIndependentOfBatches(t *testing.T) {
	const n = 64
	ch := &Chain{Blocks: []Block{{Field: linearField{2, []float64{0.3, -0.7, 0.5, 0.1}}}, {Field: linearField{2, []float64{1, 0, 0, 1}}}}}
	x := randRows(rand.New(rand.NewPCG(1, 1)), n, 2, 1)
	allocs := func(bs int, tr Trace) float64 {
		return testing.AllocsPerRun(5, func() {
			opt := Options{Solver: ode.Options{Method: ode.RK4, Steps: 3}, BatchSize: bs, Trace: tr, Rand: rand.New(rand.NewPCG(1, 1))}
			if _, _, err := ch.LogProb(ctx, x, n, opt); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, tr := range []Trace{Exact, Hutchinson, FDHutchinson} {
		one, many := allocs(n, tr), allocs(4, tr)
		if many != one {
			t.Errorf("%v: %v allocations with 16 batches, %v with 1", tr, many, one)
		}
	}
}
