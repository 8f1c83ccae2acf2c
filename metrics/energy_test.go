package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func bruteEnergy(x, y []float64, n, m, d int) float64 {
	dist := func(a, b []float64) float64 { return math.Sqrt(sqDist(a, b)) }
	var sxy, sxx, syy float64
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			sxy += dist(x[i*d:(i+1)*d], y[j*d:(j+1)*d])
		}
		for j := 0; j < n; j++ {
			sxx += dist(x[i*d:(i+1)*d], x[j*d:(j+1)*d])
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			syy += dist(y[i*d:(i+1)*d], y[j*d:(j+1)*d])
		}
	}
	return 2*sxy/float64(n*m) - sxx/float64(n*n) - syy/float64(m*m)
}

// cdfEnergy1D is 2∫(F_n − G_m)² dt with the empirical CDFs, integrated
// exactly over the pieces between consecutive pooled points.
func cdfEnergy1D(x, y []float64) float64 {
	a, b := slices.Clone(x), slices.Clone(y)
	slices.Sort(a)
	slices.Sort(b)
	z := slices.Concat(a, b)
	slices.Sort(z)
	var s float64
	for k := 0; k+1 < len(z); k++ {
		t := z[k]
		f := float64(sortedCount(a, t)) / float64(len(a))
		g := float64(sortedCount(b, t)) / float64(len(b))
		s += (f - g) * (f - g) * (z[k+1] - z[k])
	}
	return 2 * s
}

// sortedCount returns #{v ≤ t} in the sorted slice a.
func sortedCount(a []float64, t float64) int {
	i, found := slices.BinarySearch(a, t)
	for found && i < len(a) && a[i] == t {
		i++
	}
	return i
}

func TestEnergyDistanceHandValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		// E|X−Y| = (2+3+1+2)/4 = 2, E|X−X'| = E|Y−Y'| = (0+1+1+0)/4 = 1/2:
		// 2·2 − 1/2 − 1/2 = 3 (= 2∫(F−G)² = 2(1/4 + 1 + 1/4)).
		{"{0,1} vs {2,3}", []float64{0, 1}, []float64{2, 3}, 3},
		// One point each at distance 5: 2·5.
		{"{0} vs {5}", []float64{0}, []float64{5}, 10},
		// Identical samples.
		{"{0,1,4} vs itself", []float64{0, 1, 4}, []float64{4, 0, 1}, 0},
	} {
		got, err := EnergyDistance(tc.x, tc.y, len(tc.x), len(tc.y), 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-14 {
			t.Errorf("%s: energy distance %.17g, want %g", tc.name, got, tc.want)
		}
	}
}

func TestEnergyDistanceMatchesFormulas(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	// d = 3 against the brute-force V-statistic; n = 90 spans three chunks.
	x := gauss(rng, 90, 3, 0)
	y := gauss(rng, 37, 3, 0.4)
	got, err := EnergyDistance(x, y, 90, 37, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteEnergy(x, y, 90, 37, 3); math.Abs(got-want) > 1e-12 {
		t.Errorf("energy distance %.15g, brute force %.15g", got, want)
	}
	// d = 1 against 2∫(F_n − G_m)².
	x1 := gauss(rng, 80, 1, 0)
	y1 := gauss(rng, 55, 1, 0.7)
	got, _ = EnergyDistance(x1, y1, 80, 55, 1)
	if want := cdfEnergy1D(x1, y1); math.Abs(got-want) > 1e-12 {
		t.Errorf("1D energy distance %.15g, 2∫(F−G)² = %.15g", got, want)
	}
}

// For y = x + δ with δ beyond the range of x, every y_j − x_i > 0, so
// E|X−Y| = δ exactly and E = 2δ − 2·E|X−X'|: it grows like 2δ.
func TestEnergyDistanceOfAShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const n = 200
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.Float64() // in [0, 1)
	}
	var within float64
	for i := range x {
		for j := range x {
			within += math.Abs(x[i] - x[j])
		}
	}
	within /= n * n
	for _, delta := range []float64{1, 10, 1000} {
		y := make([]float64, n)
		for i := range y {
			y[i] = x[i] + delta
		}
		got, _ := EnergyDistance(x, y, n, n, 1)
		if want := 2*delta - 2*within; math.Abs(got-want) > 1e-12*delta {
			t.Errorf("δ = %g: energy distance %.15g, want 2δ − 2E|X−X'| = %.15g", delta, got, want)
		}
	}
	if _, err := EnergyDistance(x, x, n, n, 2); err == nil || err.Error() != "metrics: energy distance: got 200 and 200 values for 200×2 and 200×2 samples (need at least 1 rows each)" {
		t.Errorf("shape error: %v", err)
	}
}
