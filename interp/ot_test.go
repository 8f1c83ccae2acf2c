package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestParseCoupling(t *testing.T) {
	for _, c := range []Coupling{Independent, ExactOT, SinkhornOT} {
		got, err := ParseCoupling(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCoupling(%q) = %v, %v", c.String(), got, err)
		}
	}
	if got, err := ParseCoupling("EXACT"); err != nil || got != ExactOT {
		t.Errorf("ParseCoupling(EXACT) = %v, %v", got, err)
	}
	_, err := ParseCoupling("ot")
	want := `unknown coupling "ot" (want one of independent, exact, sinkhorn)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseCoupling(ot): %v, want %q", err, want)
	}
	if s := Coupling(9).String(); s != "Coupling(9)" {
		t.Errorf("String of invalid coupling: %q", s)
	}
}

// twoBlobs returns b points (d = 2) in two tight blobs at x = −3 (label 0) and
// x = +3 (label 1), half each, in random order.
func twoBlobs(rng *rand.Rand, b int) ([]float64, []int) {
	x := make([]float64, 2*b)
	lab := make([]int, b)
	for i := 0; i < b; i++ {
		lab[i] = i % 2
	}
	rng.Shuffle(b, func(i, j int) { lab[i], lab[j] = lab[j], lab[i] })
	for i, l := range lab {
		x[2*i] = -3 + 6*float64(l) + 0.3*rng.NormFloat64()
		x[2*i+1] = 0.3 * rng.NormFloat64()
	}
	return x, lab
}

func TestPairExactBlobsKeepLabels(t *testing.T) {
	const b = 64
	for _, kind := range []Coupling{ExactOT, SinkhornOT} {
		for seed := uint64(0); seed < 5; seed++ {
			rng := rand.New(rand.NewPCG(seed, 1))
			x0, _ := twoBlobs(rng, b)
			x1, lab := twoBlobs(rng, b)
			orig := append([]float64(nil), x1...)
			before := meanPairCost(x0, x1, b, 2)
			p := OTPairer{Kind: kind, Eps: 0.01}
			if err := p.Pair(x0, x1, b, b, 2, lab, rng); err != nil {
				t.Fatal(err)
			}
			perm := p.Perm()
			for i := 0; i < b; i++ {
				// Labels move with their points.
				if want := 0; x1[2*i] > 0 {
					want = 1
					if lab[i] != want {
						t.Fatalf("%v: row %d at x=%v carries label %d", kind, i, x1[2*i], lab[i])
					}
				} else if lab[i] != want {
					t.Fatalf("%v: row %d at x=%v carries label %d", kind, i, x1[2*i], lab[i])
				}
				if x1[2*i] != orig[2*perm[i]] || x1[2*i+1] != orig[2*perm[i]+1] {
					t.Fatalf("%v: row %d is not old row Perm()[i] = %d", kind, i, perm[i])
				}
				// Sources at −3 go to targets at −3, sources at +3 to +3.
				if (x0[2*i] < 0) != (x1[2*i] < 0) {
					t.Fatalf("%v seed %d: source row %d at x=%.2f paired with target at x=%.2f", kind, seed, i, x0[2*i], x1[2*i])
				}
			}
			if kind == ExactOT {
				seen := make([]bool, b)
				for _, j := range perm {
					if seen[j] {
						t.Fatalf("exact pairing repeats target row %d", j)
					}
					seen[j] = true
				}
			}
			if p.LastCost() >= before {
				t.Fatalf("%v: pairing did not lower the transport cost: %v → %v", kind, before, p.LastCost())
			}
		}
	}
}

func TestPairExactIsOptimalAndF32Agrees(t *testing.T) {
	const b, d = 7, 3
	rng := rand.New(rand.NewPCG(5, 5))
	x0 := make([]float64, b*d)
	x1 := make([]float64, b*d)
	for i := range x0 {
		x0[i], x1[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	cost := make([]float64, b*b)
	SqEuclideanCost(x0, x1, b, b, d, cost)
	best := bruteForceAssignment(cost, b) / b
	x0f := make([]float32, b*d)
	x1f := make([]float32, b*d)
	for i := range x0 {
		x0f[i], x1f[i] = float32(x0[i]), float32(x1[i])
	}
	var p OTPairer
	p.Kind = ExactOT
	if err := p.Pair(x0, x1, b, b, d, nil, nil); err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.LastCost()-best) > 1e-12 {
		t.Fatalf("paired cost %v, brute-force optimum %v", p.LastCost(), best)
	}
	perm64 := append([]int(nil), p.Perm()...)
	if err := p.PairF32(x0f, x1f, b, b, d, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i, j := range p.Perm() {
		if j != perm64[i] {
			t.Fatalf("float32 pairing differs: %v vs %v", p.Perm(), perm64)
		}
	}
}

func TestPairIndependentKeepsOrder(t *testing.T) {
	x0 := []float64{1, 2, 3}
	x1 := []float64{3, 2, 1}
	lab := []int{7, 8, 9}
	p := OTPairer{Kind: Independent}
	if err := p.Pair(x0, x1, 3, 3, 1, lab, nil); err != nil {
		t.Fatal(err)
	}
	if x1[0] != 3 || x1[2] != 1 || lab[0] != 7 || lab[2] != 9 {
		t.Fatalf("independent coupling moved rows: %v %v", x1, lab)
	}
}

func TestPairErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, 256)
	cases := []struct {
		p      OTPairer
		x0, x1 []float64
		b0, b1 int
		d      int
		labels []int
		rng    *rand.Rand
		want   string
	}{
		{OTPairer{Kind: ExactOT}, x, x[:200], 128, 100, 2, nil, rng, "minibatch sizes differ: source 128 rows, target 100 rows"},
		{OTPairer{Kind: ExactOT}, x[:10], x[:10], 5, 5, 3, nil, rng, "interp: OT pairing: source has 10 values, want 5 rows × 3 = 15"},
		{OTPairer{Kind: ExactOT}, x[:15], x[:10], 5, 5, 3, nil, rng, "interp: OT pairing: target has 10 values, want 5 rows × 3 = 15"},
		{OTPairer{Kind: ExactOT}, x[:10], x[:10], 5, 5, 2, []int{1}, rng, "interp: OT pairing: 1 labels for 5 target rows"},
		{OTPairer{Kind: ExactOT}, nil, nil, 0, 0, 2, nil, rng, "interp: OT pairing: empty minibatch (0 rows)"},
		{OTPairer{Kind: SinkhornOT}, x[:10], x[:10], 5, 5, 2, nil, rng, "interp: OT pairing: sinkhorn needs a finite Eps > 0 (relative to the mean cost), got 0"},
		{OTPairer{Kind: SinkhornOT, Eps: 0.1}, x[:10], x[:10], 5, 5, 2, nil, nil, "interp: OT pairing: sinkhorn sampling needs a non-nil rng"},
		{OTPairer{Kind: Coupling(7)}, x[:10], x[:10], 5, 5, 2, nil, rng, "interp: OT pairing: unknown coupling Coupling(7)"},
		{OTPairer{Kind: ExactOT}, x[:10], []float64{0, 0, 0, math.NaN(), 0, 0, 0, 0, 0, 0}, 5, 5, 2, nil, rng, "interp: OT pairing: target row 1, coordinate 1 is NaN"},
	}
	for _, c := range cases {
		err := c.p.Pair(c.x0, c.x1, c.b0, c.b1, c.d, c.labels, c.rng)
		if err == nil || err.Error() != c.want {
			t.Errorf("Pair: error %v, want %q", err, c.want)
		}
	}
	var p OTPairer
	x32 := make([]float32, 256)
	err := p.PairF32(x32, x32[:200], 128, 100, 2, nil, nil)
	if want := "minibatch sizes differ: source 128 rows, target 100 rows"; err == nil || err.Error() != want {
		t.Errorf("PairF32: error %v, want %q", err, want)
	}
}

func TestPairNoAllocAfterFirst(t *testing.T) {
	const b, d = 32, 2
	rng := rand.New(rand.NewPCG(3, 3))
	x0 := make([]float32, b*d)
	x1 := make([]float32, b*d)
	for i := range x0 {
		x0[i], x1[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	lab := make([]int, b)
	for _, kind := range []Coupling{ExactOT, SinkhornOT} {
		p := OTPairer{Kind: kind, Eps: 0.1}
		if err := p.PairF32(x0, x1, b, b, d, lab, rng); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if err := p.PairF32(x0, x1, b, b, d, lab, rng); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: PairF32 allocates %v objects per call", kind, allocs)
		}
	}
}
